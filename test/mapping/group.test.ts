// Pure SCIM Group ⇄ Salesforce mapping: resolution both ways, IdP PATCH shapes as membership changes, winners,
// DeveloperName derivation and the user-store prefix.
import { describe, expect, it } from 'vitest'
import type { GroupsConfig } from '../../src/config/types.js'
import {
  deriveDeveloperName, desiredMembership, displayNameOf, electWinner, kindOfId, mentionedMembers, parseMember, planGroupPatch, planGroupPut,
  resolveDisplayName, stripUserStorePrefix, stripsUserStorePrefix,
} from '../../src/mapping/group.js'
import { asScimError, ScimError } from '../../src/scim/errors.js'

const ADA = '005Hu00000000GBIAY'
const GRACE = '005Hu00000000GAIAY'
const PROFILE_ID = '00eHu00000000GAIAY'

const config: GroupsConfig = {
  defaultTarget: 'publicGroup',
  mappings: [
    { displayName: 'Sales Ops', kind: 'permissionSet', target: 'Sales_Ops', priority: 0 },
    { displayName: 'SF PS *', kind: 'permissionSet', target: '*', priority: 0 },
    { displayName: '* Bundle', kind: 'permissionSetGroup', target: '*_Bundle', priority: 0 },
    { displayName: 'Marketing', kind: 'profile', target: 'Marketing User', priority: 10 },
    { displayName: 'Admins', kind: 'profile', target: PROFILE_ID, priority: 20 },
    { displayName: 'Also Admins', kind: 'profile', target: 'Read Only', priority: 20 },
  ],
}

function scimError (fn: () => unknown): ScimError {
  try {
    fn()
  } catch (err) {
    // The mapping layer throws its own MappingError; what the client sees is the ScimError it becomes.
    const scim = asScimError(err)
    if (scim instanceof ScimError) return scim
    throw err
  }
  throw new Error('expected a ScimError')
}

describe('resolveDisplayName / displayNameOf', () => {
  it('resolves exact names case-insensitively, patterns by their matched text, anything else to a public group', () => {
    expect(resolveDisplayName(config, 'sales ops')).toMatchObject({ kind: 'permissionSet', target: 'Sales_Ops', index: 0, byId: false })
    expect(resolveDisplayName(config, 'SF PS Service_Console')).toMatchObject({ kind: 'permissionSet', target: 'Service_Console', index: 1 })
    expect(resolveDisplayName(config, 'Support Bundle')).toMatchObject({ kind: 'permissionSetGroup', target: 'Support_Bundle' })
    expect(resolveDisplayName(config, 'Admins')).toMatchObject({ kind: 'profile', target: PROFILE_ID, byId: true })
    expect(resolveDisplayName(config, 'Field Sales')).toEqual({ kind: 'group' })
    expect(resolveDisplayName({ ...config, defaultTarget: 'none' }, 'Field Sales')).toEqual({ kind: 'none' })
    // `*` matches one character at least.
    expect(resolveDisplayName(config, 'SF PS ')).toEqual({ kind: 'group' })
  })

  it('names a record back: the first mapping that names it, patterns reversed, hidden permission sets never', () => {
    expect(displayNameOf(config, 'permissionSet', { Id: '0PS1', Name: 'Sales_Ops', Type: 'Regular' })).toBe('Sales Ops')
    expect(displayNameOf(config, 'permissionSet', { Id: '0PS2', Name: 'Service_Console', Type: 'Regular' })).toBe('SF PS Service_Console')
    expect(displayNameOf(config, 'permissionSet', { Id: '0PS3', Name: 'X00e', Type: 'Profile' })).toBeUndefined()
    expect(displayNameOf(config, 'permissionSetGroup', { Id: '0PG1', DeveloperName: 'Sales_Bundle' })).toBe('Sales Bundle')
    expect(displayNameOf(config, 'permissionSetGroup', { Id: '0PG1', DeveloperName: 'Other' })).toBeUndefined()
    expect(displayNameOf(config, 'profile', { Id: PROFILE_ID.slice(0, 15), Name: 'System Administrator' })).toBe('Admins')
    expect(displayNameOf(config, 'group', { Id: '00G1', Name: 'Field Sales', Type: 'Regular' })).toBe('Field Sales')
    // A public group named like a mapping is that mapping's, not a SCIM group; neither are system groups.
    expect(displayNameOf(config, 'group', { Id: '00G2', Name: 'Sales Ops', Type: 'Regular' })).toBeUndefined()
    expect(displayNameOf(config, 'group', { Id: '00G3', Name: 'CEO', Type: 'Role' })).toBeUndefined()
  })

  it('tells the kind of record from the key prefix (00e profile, 00E role)', () => {
    expect(kindOfId('00GHu00000000GIMAY')).toBe('group')
    expect(kindOfId('0PSHu00000000GFOAY')).toBe('permissionSet')
    expect(kindOfId('0PGHu00000000G9OAI')).toBe('permissionSetGroup')
    expect(kindOfId('00eHu00000000GAIAY')).toBe('profile')
    expect(kindOfId('00EHu00000000GAIAY')).toBe('role')
    expect(kindOfId(ADA)).toBeUndefined()
  })
})

describe('planGroupPatch', () => {
  it('reads Entra: Add/Remove of members with value arrays, in order', () => {
    const change = planGroupPatch([
      { op: 'Add', path: 'members', value: [{ $ref: null, value: ADA }] },
      { op: 'Remove', path: 'members', value: [{ value: GRACE }] },
    ])
    expect(change).toEqual({ ops: [{ ref: { id: ADA }, add: true }, { ref: { id: GRACE }, add: false }] })
  })

  it('reads Okta: remove by filter plus add, path-less replace with id and displayName, full replace', () => {
    expect(planGroupPatch([
      { op: 'remove', path: `members[value eq "${ADA}"]` },
      { op: 'add', path: 'members', value: [{ value: GRACE, display: 'grace' }] },
    ]).ops).toEqual([{ ref: { id: ADA }, add: false }, { ref: { id: GRACE }, add: true }])
    expect(planGroupPatch([{ op: 'replace', value: { id: '00G1', displayName: 'New' } }])).toEqual({ ops: [], displayName: 'New' })
    expect(planGroupPatch([{ op: 'replace', path: 'members', value: [{ value: ADA }] }, { op: 'add', path: 'members', value: [{ value: GRACE }] }]))
      .toEqual({ base: [{ id: ADA }], ops: [{ ref: { id: GRACE }, add: true }] })
  })

  it('reads WSO2 (members by display only) and the RFC forms: or-filters, remove all, externalId', () => {
    expect(planGroupPatch([{ op: 'add', path: 'members', value: [{ display: 'kim@pickup.example' }] }]).ops).toEqual([{ ref: { userName: 'kim@pickup.example' }, add: true }])
    expect(planGroupPatch([{ op: 'remove', path: `members[value eq "${ADA}" or value eq "${GRACE}"]` }]).ops).toHaveLength(2)
    expect(planGroupPatch([{ op: 'remove', path: 'members' }])).toEqual({ base: [], ops: [] })
    expect(planGroupPatch([{ op: 'replace', path: 'externalId', value: 'x' }, { op: 'remove', path: 'externalId' }]).externalId).toBeNull()
    expect(planGroupPatch([{ op: 'add', value: { members: [{ value: ADA }], displayName: 'D' } }])).toEqual({ ops: [{ ref: { id: ADA }, add: true }], displayName: 'D' })
  })

  it('reads member filters with the filter parser: quoted " or ", nesting, case and escapes are what the RFC says', () => {
    // A quoted value containing " or " is one value: the regex that split on " or " refused it as an invalid filter.
    expect(scimError(() => planGroupPatch([{ op: 'remove', path: 'members[value eq "a or b"]' }]))).toMatchObject({ scimType: 'invalidValue', message: expect.stringContaining("'a or b'") })
    expect(planGroupPatch([{ op: 'remove', path: `members[(Value EQ "${ADA}") OR (value eq "${GRACE}" or value eq "${ADA}")]` }]).ops)
      .toEqual([{ ref: { id: ADA }, add: false }, { ref: { id: GRACE }, add: false }, { ref: { id: ADA }, add: false }])
    expect(planGroupPatch([{ op: 'remove', path: `urn:ietf:params:scim:schemas:core:2.0:Group:members[value eq "\u0030${ADA.slice(1)}"]` }]).ops).toEqual([{ ref: { id: ADA }, add: false }])
    expect(scimError(() => planGroupPatch([{ op: 'remove', path: `members[value eq "${ADA}" and value eq "${GRACE}"]` }])).scimType).toBe('invalidFilter')
    expect(scimError(() => planGroupPatch([{ op: 'remove', path: 'members[value eq "x" or ]' }])).scimType).toBe('invalidFilter')
    expect(scimError(() => planGroupPatch([{ op: 'remove', path: 'members[value eq "x"] junk' }])).scimType).toBe('invalidPath')
    expect(scimError(() => planGroupPatch([{ op: 'replace', path: 'urn:ietf:params:scim:schemas:core:2.0:User:displayName', value: 'x' }])).scimType).toBe('invalidPath')
  })

  it('refuses what it cannot do precisely', () => {
    expect(scimError(() => planGroupPatch([{ op: 'remove' }])).scimType).toBe('noTarget')
    expect(scimError(() => planGroupPatch([{ op: 'replace', path: 'title', value: 'x' }])).scimType).toBe('invalidPath')
    expect(scimError(() => planGroupPatch([{ op: 'remove', path: 'displayName' }])).scimType).toBe('mutability')
    expect(scimError(() => planGroupPatch([{ op: 'remove', path: 'members[display eq "x"]' }])).scimType).toBe('invalidFilter')
    expect(scimError(() => planGroupPatch([{ op: 'add', path: 'members', value: 'string id 1' }])).scimType).toBe('invalidValue')
    expect(scimError(() => planGroupPatch([{ op: 'move', path: 'members' }])).scimType).toBe('invalidSyntax')
    expect(scimError(() => parseMember({})).scimType).toBe('invalidValue')
  })
})

describe('planGroupPut and desiredMembership', () => {
  it('replaces everything in replace mode and keeps what a merge-mode PUT leaves out', () => {
    expect(planGroupPut({ displayName: 'G', members: [{ value: ADA }] }, 'replace')).toEqual({ base: [{ id: ADA }], ops: [], displayName: 'G', externalId: null })
    expect(planGroupPut({ displayName: 'G' }, 'replace').base).toEqual([])
    expect(planGroupPut({ displayName: 'G' }, 'merge')).toEqual({ ops: [], displayName: 'G' })
  })

  it('gives each mentioned member its last word, userNames resolved', () => {
    const change = planGroupPatch([
      { op: 'add', path: 'members', value: [{ value: ADA }, { display: 'grace@x' }] },
      { op: 'remove', path: 'members', value: [{ value: ADA }] },
    ])
    expect(mentionedMembers(change)).toEqual([{ id: ADA }, { userName: 'grace@x' }])
    const { full, desired } = desiredMembership(change, new Map([['name:grace@x', GRACE]]))
    expect(full).toBe(false)
    expect([...desired]).toEqual([[ADA, false], [GRACE, true]])
  })
})

describe('electWinner', () => {
  const claim = (targetId: string, displayName: string): { targetId: string, userId: string, kind: 'profile', displayName: string } => ({ targetId, userId: ADA, kind: 'profile', displayName })

  it('picks the highest priority, then the earlier mapping, whatever the order of the claims', () => {
    expect(electWinner(config, [claim('00eA', 'Marketing'), claim('00eB', 'Admins')], 'profile')).toBe('00eB')
    expect(electWinner(config, [claim('00eB', 'Admins'), claim('00eA', 'Marketing')], 'profile')).toBe('00eB')
    expect(electWinner(config, [claim('00eC', 'Also Admins'), claim('00eB', 'Admins')], 'profile')).toBe('00eB')
    expect(electWinner(config, [], 'profile')).toBeUndefined()
    // A claim whose mapping left the configuration still counts, after the others.
    expect(electWinner(config, [claim('00eZ', 'Gone'), claim('00eA', 'Marketing')], 'profile')).toBe('00eA')
  })
})

describe('names', () => {
  it('derives DeveloperNames Salesforce accepts, deterministically, with a suffix on later attempts', () => {
    expect(deriveDeveloperName('Field Sales')).toBe('Field_Sales')
    expect(deriveDeveloperName('Sales & Ops -- EMEA!')).toBe('Sales_Ops_EMEA')
    expect(deriveDeveloperName('Équipe Ventes')).toBe('Equipe_Ventes')
    expect(deriveDeveloperName('2024 hires')).toBe('G_2024_hires')
    expect(deriveDeveloperName('營業')).toBe('Group')
    expect(deriveDeveloperName('x'.repeat(100))).toHaveLength(80)
    const a = deriveDeveloperName('Sales Ops', 1)
    expect(a).toMatch(/^Sales_Ops_[a-z0-9]+$/)
    expect(deriveDeveloperName('Sales Ops', 1)).toBe(a)
    expect(deriveDeveloperName('Sales Ops', 2)).not.toBe(a)
    for (const n of [a, deriveDeveloperName('_x_', 0), deriveDeveloperName('a__b', 0)]) {
      expect(n).toMatch(/^[A-Za-z][A-Za-z0-9_]*$/)
      expect(n).not.toMatch(/__|_$/)
    }
  })

  it('strips an upper-case user-store domain only, and by default for merge-mode Basic clients only', () => {
    expect(stripUserStorePrefix('PRIMARY/sales')).toBe('sales')
    expect(stripUserStorePrefix('SECONDARY-LDAP/Sales Team')).toBe('Sales Team')
    expect(stripUserStorePrefix('R&D/EMEA')).toBe('R&D/EMEA')
    expect(stripUserStorePrefix('Internal/everyone')).toBe('Internal/everyone')
    expect(stripUserStorePrefix('PRIMARY/')).toBe('PRIMARY/')
    const basic = { auth: { type: 'basic' as const, username: 'u', password: 'p' }, putMode: 'merge' as const }
    const bearer = { auth: { type: 'bearer' as const, token: 't' }, putMode: 'replace' as const }
    expect(stripsUserStorePrefix(basic)).toBe(true)
    expect(stripsUserStorePrefix({ ...basic, putMode: 'replace' })).toBe(false)
    expect(stripsUserStorePrefix(bearer)).toBe(false)
    expect(stripsUserStorePrefix({ ...bearer, stripUserStorePrefix: true })).toBe(true)
    expect(stripsUserStorePrefix({ ...basic, stripUserStorePrefix: false })).toBe(false)
  })
})
