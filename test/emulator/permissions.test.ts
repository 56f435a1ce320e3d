// Permissions on profiles and permission sets, profile-owned assignments, PermissionSet.Type and the seeded admins.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { SalesforceError } from '../../src/emulator/errors.js'
import { Org } from '../../src/emulator/org.js'
import { seedOrg, type SeedIds } from '../../src/emulator/seed.js'
import { DATA, newUser, start, type Started } from './helpers.js'

const PRIVILEGED = 'SELECT Id FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSet.PermissionsModifyAllData = true OR PermissionSet.PermissionsManageUsers = true)'
const ORDINARY = PRIVILEGED.replace('Id IN', 'Id NOT IN')

let org: Org
let seed: SeedIds

function failure (fn: () => unknown): SalesforceError {
  try {
    fn()
  } catch (err) {
    if (err instanceof SalesforceError) return err
    throw err
  }
  throw new Error('expected a SalesforceError')
}

function addUser (username: string, profile = 'Standard User'): string {
  return org.insert('User', {
    Username: username,
    LastName: 'Test',
    Email: username,
    Alias: username.slice(0, 8),
    TimeZoneSidKey: 'Europe/London',
    LocaleSidKey: 'en_GB',
    EmailEncodingKey: 'UTF-8',
    LanguageLocaleKey: 'en_US',
    ProfileId: seed.profiles[profile],
  })
}

const ids = (soql: string): string[] => org.query(soql).map(r => String(r.Id)).sort()

beforeEach(() => {
  org = new Org()
  seed = seedOrg(org, { integrationUsername: 'integration@scimforce.demo' })
})

describe('seed', () => {
  it('has a privileged admin besides the integration user, a Manage Users set and a Session set', () => {
    const admin = org.get('User', seed.users['admin@scimforce.demo'] as string)
    expect(admin).toMatchObject({ Username: 'admin@scimforce.demo', IsActive: true, ProfileId: seed.profiles['System Administrator'] })
    expect(org.get('PermissionSet', seed.permissionSets.User_Admin as string)).toMatchObject({ Type: 'Regular', PermissionsManageUsers: true, PermissionsModifyAllData: false })
    expect(org.get('PermissionSet', seed.permissionSets.Session_Support as string)).toMatchObject({ Type: 'Session', HasActivationRequired: true })
  })

  it('gives System Administrator the admin permissions and Standard User none, on the profile and on its own set', () => {
    const admin = ['PermissionsModifyAllData', 'PermissionsViewAllData', 'PermissionsManageUsers', 'PermissionsCustomizeApplication', 'PermissionsAuthorApex']
    for (const [profile, expected] of [['System Administrator', true], ['Standard User', false]] as const) {
      const p = org.get('Profile', seed.profiles[profile] as string) as Record<string, unknown>
      const ps = org.get('PermissionSet', seed.profilePermissionSets[profile] as string) as Record<string, unknown>
      for (const name of admin) {
        expect(p[name]).toBe(expected)
        expect(ps[name]).toBe(expected)
      }
      expect(ps).toMatchObject({ IsOwnedByProfile: true, ProfileId: seed.profiles[profile], Type: 'Profile', PermissionsApiEnabled: true })
    }
  })
})

describe('profile-owned assignments', () => {
  it('exist for every user, created with the user and moved when the profile changes', () => {
    for (const u of org.rows('User')) {
      const own = org.query(`SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '${String(u.Id)}' AND PermissionSet.IsOwnedByProfile = true`)
      expect(own, String(u.Username)).toHaveLength(1)
    }
    const id = addUser('promoted@scimforce.test')
    const profileSet = (): unknown[] => org.query(`SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = '${id}' AND PermissionSet.IsOwnedByProfile = true`).map(r => r.PermissionSetId)
    expect(profileSet()).toEqual([seed.profilePermissionSets['Standard User']])
    org.update('User', id, { ProfileId: seed.profiles['System Administrator'] })
    expect(profileSet()).toEqual([seed.profilePermissionSets['System Administrator']])
  })

  it('cannot be deleted, and profile-owned or group sets cannot be assigned directly', () => {
    const [psa] = org.query(`SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '${seed.users['ada.lovelace@scimforce.demo'] as string}' AND PermissionSet.IsOwnedByProfile = true`)
    expect(failure(() => org.delete('PermissionSetAssignment', String(psa?.Id))).errorCode).toBe('DELETE_FAILED')
    const id = addUser('direct@scimforce.test')
    const err = failure(() => org.insert('PermissionSetAssignment', { AssigneeId: id, PermissionSetId: seed.profilePermissionSets['System Administrator'] }))
    expect(err).toMatchObject({ errorCode: 'FIELD_INTEGRITY_EXCEPTION', fields: ['PermissionSetId'] })
    const [aggregate] = org.query(`SELECT Id FROM PermissionSet WHERE PermissionSetGroupId = '${seed.permissionSetGroups.Sales_Bundle as string}'`)
    expect(failure(() => org.insert('PermissionSetAssignment', { AssigneeId: id, PermissionSetId: String(aggregate?.Id) })).errorCode).toBe('FIELD_INTEGRITY_EXCEPTION')
  })

  it('keep the profile and its own set in step when either one changes', () => {
    const profileId = seed.profiles['Marketing User'] as string
    const psId = seed.profilePermissionSets['Marketing User'] as string
    org.update('Profile', profileId, { PermissionsViewAllData: true })
    expect(org.get('PermissionSet', psId)?.PermissionsViewAllData).toBe(true)
    org.update('PermissionSet', psId, { PermissionsViewAllData: false, PermissionsAuthorApex: true })
    expect(org.get('Profile', profileId)).toMatchObject({ PermissionsViewAllData: false, PermissionsAuthorApex: true })
  })
})

describe('PermissionSet.Type', () => {
  it('makes a created set Regular, or Session when it requires activation; Standard and Session sets are assignable', () => {
    const regular = org.insert('PermissionSet', { Name: 'Plain', Label: 'Plain' })
    expect(org.get('PermissionSet', regular)?.Type).toBe('Regular')
    org.update('PermissionSet', regular, { HasActivationRequired: true })
    expect(org.get('PermissionSet', regular)?.Type).toBe('Session')
    const standard = org.systemInsert('PermissionSet', { Name: 'Sales_User', Label: 'Sales User', Type: 'Standard', IsCustom: false })
    const legacy = org.systemInsert('PermissionSet', { Name: 'Legacy_Set', Label: 'Legacy Set', Type: null })
    const id = addUser('types@scimforce.test')
    for (const ps of [seed.permissionSets.Session_Support as string, standard, legacy]) {
      expect(org.insert('PermissionSetAssignment', { AssigneeId: id, PermissionSetId: ps })).toMatch(/^0Pa/)
    }
    expect(failure(() => org.delete('PermissionSet', standard)).errorCode).toBe('DELETE_FAILED')
    expect(() => org.delete('PermissionSet', seed.permissionSets.Session_Support as string)).not.toThrow()
  })
})

describe('the privileged-user semi-join', () => {
  it('finds every user holding ModifyAllData or ManageUsers from a profile or a permission set, and NOT IN the rest', () => {
    const integration = seed.users['integration@scimforce.demo'] as string
    const admin = seed.users['admin@scimforce.demo'] as string
    const ada = seed.users['ada.lovelace@scimforce.demo'] as string
    expect(ids(PRIVILEGED)).toEqual([integration, admin].sort())
    expect(ids(ORDINARY)).toContain(ada)
    expect(ids(ORDINARY)).not.toContain(admin)
    // A user made admin a moment ago, through a permission set, is found at once; removing it undoes that.
    const psa = org.insert('PermissionSetAssignment', { AssigneeId: ada, PermissionSetId: seed.permissionSets.User_Admin })
    expect(ids(PRIVILEGED)).toContain(ada)
    org.delete('PermissionSetAssignment', psa)
    expect(ids(PRIVILEGED)).not.toContain(ada)
    // ... and through the profile.
    org.update('User', ada, { ProfileId: seed.profiles['System Administrator'] })
    expect(ids(PRIVILEGED)).toContain(ada)
  })
})

describe('over the REST API', () => {
  let s: Started
  beforeAll(async () => { s = await start() })
  afterAll(async () => { await s.em.close() })

  it('answers the semi-join as a query and inside a /composite subrequest, with the permission fields described', async () => {
    const admin = s.em.seed.users['admin@scimforce.demo'] as string
    const q = await s.call('GET', `${DATA}/query?q=${encodeURIComponent(PRIVILEGED)}`)
    expect(q.status).toBe(200)
    expect((q.json as { records: Array<{ Id: string }> }).records.map(r => r.Id)).toContain(admin)
    const created = await s.call('POST', `${DATA}/sobjects/User`, { body: newUser(s.em) })
    const newId = (created.json as { id: string }).id
    const res = await s.call('POST', `${DATA}/composite`, {
      body: {
        allOrNone: true,
        compositeRequest: [
          { method: 'GET', url: `${DATA}/query?q=${encodeURIComponent(`${PRIVILEGED} AND Id = '${admin}'`)}`, referenceId: 'guard' },
          { method: 'GET', url: `${DATA}/query?q=${encodeURIComponent(`${ORDINARY} AND Id = '${newId}'`)}`, referenceId: 'scope' },
        ],
      },
    })
    const [guard, scope] = (res.json as { compositeResponse: Array<{ httpStatusCode: number, body: { totalSize: number } }> }).compositeResponse
    expect(guard).toMatchObject({ httpStatusCode: 200, body: { totalSize: 1 } })
    expect(scope).toMatchObject({ httpStatusCode: 200, body: { totalSize: 1 } })
    const describe = await s.call('GET', `${DATA}/sobjects/PermissionSet/describe`)
    const names = (describe.json as { fields: Array<{ name: string }> }).fields.map(f => f.name)
    expect(names).toEqual(expect.arrayContaining(['PermissionsModifyAllData', 'PermissionsViewAllData', 'PermissionsManageUsers', 'PermissionsCustomizeApplication', 'PermissionsAuthorApex', 'Type']))
  })
})
