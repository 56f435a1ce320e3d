// SCIM groups mapped by configuration to existing permission sets, permission set groups, profiles and roles:
// linked (never created), membership = assignment, ownership, profile/role priority and fallback, the start-up
// check of the mappings. Asserts PermissionSetAssignment rows and User.ProfileId / UserRoleId in the emulated org.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { GroupMapping } from '../../src/config/types.js'
import { checkGroupMappings } from '../../src/scim/group-targets.js'
import { auth, expectScimError, SCIM, type Harness } from '../helper.js'
import { assignees, createGroup, groupsHarness, patchGroup, seedUser, sorted, userField } from './groups-helpers.js'

let h: Harness
let seed: Harness['emulator']['seed']
let ada: string
let grace: string

const silent = { info () {}, warn () {}, error () {}, debug () {}, trace () {}, fatal () {}, child () { return silent }, level: 'silent' } as never

function mappings (s: Harness['emulator']['seed']): GroupMapping[] {
  return [
    { displayName: 'Sales Ops', kind: 'permissionSet', target: 'Sales_Ops', priority: 0 },
    { displayName: 'SF PS *', kind: 'permissionSet', target: '*', priority: 0 },
    { displayName: 'Sales Bundle', kind: 'permissionSetGroup', target: 'Sales_Bundle', priority: 0 },
    { displayName: 'Marketing', kind: 'profile', target: 'Marketing User', priority: 10 },
    // System Administrator is admin-grade: the mapping has to allow it (issue 11).
    { displayName: 'Admins', kind: 'profile', target: String(s.profiles['System Administrator']), priority: 20, allowPrivileged: true },
    { displayName: 'Support Agents', kind: 'role', target: 'Support_Agent', priority: 5 },
    { displayName: 'Role *', kind: 'role', target: '*', priority: 0 },
  ]
}

beforeEach(async () => {
  // The emulator's seed Ids are the same on every start, so the mapping can name a profile by Id.
  const probe = await groupsHarness()
  const ids = probe.emulator.seed
  await probe.close()
  // The 'Admins' mapping makes users System Administrators, who are outside the managed scope unless privileged
  // users are allowed (issue 11); these tests read such users back through SCIM.
  h = await groupsHarness({ mappings: mappings(ids) }, undefined, { allowPrivileged: true })
  seed = h.emulator.seed
  ada = String(seed.users['ada.lovelace@scimforce.demo'])
  grace = String(seed.users['grace.hopper@scimforce.demo'])
})
afterEach(async () => { await h.close() })

type Rec = Record<string, unknown>

describe('permission sets', () => {
  it('links the existing permission set (its Id is the SCIM id) and assigns it to the members', async () => {
    const ps = String(seed.permissionSets.Sales_Ops)
    const before = h.emulator.org.count('PermissionSet')
    const u1 = seedUser(h)
    const g = await createGroup(h, { displayName: 'Sales Ops', members: [{ value: u1 }] })
    expect(g.id).toBe(ps)
    expect(h.emulator.org.count('PermissionSet')).toBe(before)
    // Ada was assigned by an admin; she stays, and the group shows her.
    expect(assignees(h, ps)).toEqual(sorted([ada, u1]))
    expect(sorted((g.members as Rec[]).map((m) => String(m.value)))).toEqual(sorted([ada, u1]))
    const read = await h.http.get(`${SCIM}/Groups/${ps}`).set(auth).expect(200)
    expect(read.body).toMatchObject({ id: ps, displayName: 'Sales Ops' })
  })

  it('removes only the assignments scimforce made; an admin\'s stays when the IdP removes the member', async () => {
    const ps = String(seed.permissionSets.Sales_Ops)
    const u1 = seedUser(h)
    await createGroup(h, { displayName: 'Sales Ops', members: [{ value: u1 }] })
    await patchGroup(h, ps, [{ op: 'remove', path: 'members', value: [{ value: u1 }, { value: ada }] }])
    expect(assignees(h, ps)).toEqual([ada])
    // Full replace by Okta: nobody named; still only scimforce's go.
    await patchGroup(h, ps, [{ op: 'add', path: 'members', value: [{ value: u1 }] }])
    await patchGroup(h, ps, [{ op: 'replace', path: 'members', value: [] }])
    expect(assignees(h, ps)).toEqual([ada])
  })

  it('maps a displayName pattern to the permission set its matched text names, both ways', async () => {
    const ps = String(seed.permissionSets.Service_Console)
    const u1 = seedUser(h)
    const g = await createGroup(h, { displayName: 'SF PS Service_Console', members: [{ value: u1 }] })
    expect(g.id).toBe(ps)
    expect(assignees(h, ps)).toEqual([u1])
    const byName = await h.http.get(`${SCIM}/Groups`).query({ filter: 'displayName eq "SF PS Service_Console"' }).set(auth).expect(200)
    expect(byName.body.Resources.map((r: Rec) => r.id)).toEqual([ps])
    const list = await h.http.get(`${SCIM}/Groups`).set(auth).expect(200)
    const names = (list.body.Resources as Rec[]).map((r) => r.displayName)
    expect(names).toEqual(expect.arrayContaining(['Sales Team', 'Sales Ops', 'SF PS Service_Console', 'SF PS API_Enabled', 'Sales Bundle', 'Marketing', 'Admins', 'Support Agents', 'Role Sales_Rep']))
    // Sales_Ops answers to its exact mapping, not also to "SF PS Sales_Ops" (one record, one SCIM group).
    expect(names).not.toContain('SF PS Sales_Ops')
    expect(list.body.totalResults).toBe(names.length)
    expectScimError(await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: 'SF PS Sales_Ops' }), 409, 'uniqueness')
  })

  it('refuses a group whose mapping names a missing record, with the fix in the detail, and creates nothing', async () => {
    const before = h.emulator.org.count('Group')
    const res = await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: 'SF PS No_Such_Set' })
    expectScimError(res, 400, 'invalidValue')
    expect(res.body.detail).toMatch(/permission set 'No_Such_Set'.*groups\.mappings\[1\]/)
    expect(h.emulator.org.count('Group')).toBe(before)
  })

  it('applies a change atomically: one refused assignment leaves every assignment as it was', async () => {
    const platform = String(seed.permissionSets.Platform_Apps)
    const platformUser = seedUser(h, undefined, { ProfileId: String(seed.profiles['Standard Platform User']) })
    const standardUser = seedUser(h)
    await createGroup(h, { displayName: 'SF PS Platform_Apps' })
    // Platform_Apps needs the Salesforce Platform licence: the standard user's assignment fails, and so does all.
    const res = await patchGroup(h, platform, [{ op: 'add', path: 'members', value: [{ value: platformUser }, { value: standardUser }] }])
    expectScimError(res, 400, 'invalidValue')
    expect(String(res.body.detail)).toContain(standardUser)
    expect(assignees(h, platform)).toEqual([])
    expect(await h.store.membersOf(platform)).toEqual([])
    await patchGroup(h, platform, [{ op: 'add', path: 'members', value: [{ value: platformUser }] }])
    expect(assignees(h, platform)).toEqual([platformUser])
  })

  it('deletes by removing scimforce\'s assignments and leaving the permission set; a later POST links it again', async () => {
    const ps = String(seed.permissionSets.Sales_Ops)
    const u1 = seedUser(h)
    await createGroup(h, { displayName: 'Sales Ops', externalId: 'okta-9', members: [{ value: u1 }] })
    await h.http.delete(`${SCIM}/Groups/${ps}`).set(auth).expect(204)
    expect(h.emulator.org.get('PermissionSet', ps)).toBeDefined()
    expect(assignees(h, ps)).toEqual([ada])
    expectScimError(await h.http.get(`${SCIM}/Groups/${ps}`).set(auth), 404)
    const again = await createGroup(h, { displayName: 'Sales Ops' })
    expect(again.id).toBe(ps)
    expect(again.externalId).toBeUndefined()
  })
})

describe('permission set groups', () => {
  it('assigns through PermissionSetGroupId and leaves the admin\'s assignment', async () => {
    const psg = String(seed.permissionSetGroups.Sales_Bundle)
    const u1 = seedUser(h)
    const g = await createGroup(h, { displayName: 'Sales Bundle', members: [{ value: u1 }] })
    expect(g.id).toBe(psg)
    expect(assignees(h, psg)).toEqual(sorted([grace, u1]))
    await patchGroup(h, psg, [{ op: 'remove', path: 'members', value: [{ value: u1 }, { value: grace }] }])
    expect(assignees(h, psg)).toEqual([grace])
  })
})

describe('profiles: priority and fallback', () => {
  it('gives a user in several profile groups the highest priority, and falls back to the next, then to the default', async () => {
    const marketing = String(seed.profiles['Marketing User'])
    const admin = String(seed.profiles['System Administrator'])
    const u1 = seedUser(h)
    await createGroup(h, { displayName: 'Marketing', members: [{ value: u1 }] })
    expect(userField(h, u1, 'ProfileId')).toBe(marketing)
    await createGroup(h, { displayName: 'Admins', members: [{ value: u1 }] })
    expect(userField(h, u1, 'ProfileId')).toBe(admin)
    // Joining the lower-priority group again changes nothing: Admins still wins.
    await patchGroup(h, marketing, [{ op: 'add', path: 'members', value: [{ value: u1 }] }])
    expect(userField(h, u1, 'ProfileId')).toBe(admin)
    await patchGroup(h, admin, [{ op: 'remove', path: 'members', value: [{ value: u1 }] }])
    expect(userField(h, u1, 'ProfileId')).toBe(marketing)
    await patchGroup(h, marketing, [{ op: 'remove', path: `members[value eq "${u1}"]` }])
    expect(userField(h, u1, 'ProfileId')).toBe(h.config.users.defaults.ProfileId)
  })

  it('shows the IdP\'s members of a profile group (not only the winners), also in the user\'s groups', async () => {
    const marketing = String(seed.profiles['Marketing User'])
    const admin = String(seed.profiles['System Administrator'])
    const u1 = seedUser(h)
    await createGroup(h, { displayName: 'Marketing', members: [{ value: u1 }] })
    await createGroup(h, { displayName: 'Admins', members: [{ value: u1 }] })
    const g = await h.http.get(`${SCIM}/Groups/${marketing}`).set(auth).expect(200)
    expect((g.body.members as Rec[]).map((m) => m.value)).toEqual([u1])
    const user = await h.http.get(`${SCIM}/Users/${u1}`).set(auth).expect(200)
    expect(sorted((user.body.groups as Rec[]).map((x) => String(x.value)))).toEqual(sorted([marketing, admin]))
  })

  it('leaves a profile an admin set by hand since, when the user leaves the group', async () => {
    const readOnly = String(seed.profiles['Read Only'])
    const u1 = seedUser(h)
    const marketing = String((await createGroup(h, { displayName: 'Marketing', members: [{ value: u1 }] })).id)
    h.emulator.org.update('User', u1, { ProfileId: readOnly })
    await patchGroup(h, marketing, [{ op: 'remove', path: 'members', value: [{ value: u1 }] }])
    expect(userField(h, u1, 'ProfileId')).toBe(readOnly)
  })

  it('deleting a profile group falls its members back and leaves the profile', async () => {
    const u1 = seedUser(h)
    const marketing = String((await createGroup(h, { displayName: 'Marketing', members: [{ value: u1 }] })).id)
    await h.http.delete(`${SCIM}/Groups/${marketing}`).set(auth).expect(204)
    expect(userField(h, u1, 'ProfileId')).toBe(h.config.users.defaults.ProfileId)
    expect(h.emulator.org.get('Profile', marketing)).toBeDefined()
  })
})

describe('roles', () => {
  it('sets UserRoleId by priority, falls back to no role, and leaves a role an admin set', async () => {
    const salesRep = String(seed.roles['Sales Rep'])
    const support = String(seed.roles['Support Agent'])
    const u1 = seedUser(h)
    const rep = await createGroup(h, { displayName: 'Role Sales_Rep', members: [{ value: u1 }] })
    expect(rep.id).toBe(salesRep)
    expect(userField(h, u1, 'UserRoleId')).toBe(salesRep)
    await createGroup(h, { displayName: 'Support Agents', members: [{ value: u1 }] })
    expect(userField(h, u1, 'UserRoleId')).toBe(support)
    await patchGroup(h, support, [{ op: 'remove', path: 'members', value: [{ value: u1 }] }])
    expect(userField(h, u1, 'UserRoleId')).toBe(salesRep)
    await patchGroup(h, salesRep, [{ op: 'remove', path: 'members', value: [{ value: u1 }] }])
    expect(userField(h, u1, 'UserRoleId')).toBeNull()
    // Grace's VP Sales role was set by an admin: joining and leaving a role group ends with her own role again
    // only if nobody changed it meanwhile; here an admin did, so it stays.
    await patchGroup(h, salesRep, [{ op: 'add', path: 'members', value: [{ value: grace }] }])
    expect(userField(h, grace, 'UserRoleId')).toBe(salesRep)
    h.emulator.org.update('User', grace, { UserRoleId: String(seed.roles.CEO) })
    await patchGroup(h, salesRep, [{ op: 'remove', path: 'members', value: [{ value: grace }] }])
    expect(userField(h, grace, 'UserRoleId')).toBe(seed.roles.CEO)
  })
})

describe('names and renames', () => {
  it('keeps a public group whose name a mapping claims out of SCIM, and refuses renames that would relink', async () => {
    const shadow = h.emulator.org.insert('Group', { Name: 'Sales Ops', DeveloperName: 'Sales_Ops_Shadow', Type: 'Regular' })
    expectScimError(await h.http.get(`${SCIM}/Groups/${shadow}`).set(auth), 404)
    const found = await h.http.get(`${SCIM}/Groups`).query({ filter: 'displayName eq "Sales Ops"' }).set(auth).expect(200)
    expect(found.body.Resources.map((r: Rec) => r.id)).toEqual([seed.permissionSets.Sales_Ops])
    const pub = await createGroup(h, { displayName: 'Plain Group' })
    const toMapped = await patchGroup(h, String(pub.id), [{ op: 'replace', path: 'displayName', value: 'Marketing' }])
    expectScimError(toMapped, 400, 'invalidValue')
    expect(String(toMapped.body.detail)).toMatch(/does not relink/)
    await createGroup(h, { displayName: 'Sales Ops' })
    const fromMapped = await patchGroup(h, String(seed.permissionSets.Sales_Ops), [{ op: 'replace', path: 'displayName', value: 'Sales Operations' }])
    expectScimError(fromMapped, 400, 'invalidValue')
    // Renaming to the name it has (Okta sends it with every change) is no change at all.
    expect((await patchGroup(h, String(seed.permissionSets.Sales_Ops), [{ op: 'replace', value: { displayName: 'Sales Ops' } }])).status).toBe(200)
  })

  it('refuses unmapped groups when groups.defaultTarget is none', async () => {
    await h.close()
    h = await groupsHarness({ defaultTarget: 'none', mappings: [{ displayName: 'Sales Ops', kind: 'permissionSet', target: 'Sales_Ops', priority: 0 }] })
    const res = await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: 'Random Team' })
    expectScimError(res, 400, 'invalidValue')
    expect(res.body.detail).toMatch(/defaultTarget is none/)
    const list = await h.http.get(`${SCIM}/Groups`).set(auth).expect(200)
    expect(list.body.Resources.map((r: Rec) => r.displayName)).toEqual(['Sales Ops'])
  })
})

describe('checkGroupMappings (start-up and doctor)', () => {
  it('finds nothing wrong with mappings that name existing records', async () => {
    expect(await checkGroupMappings(h.app.scimforce.gateway, { ...h.config, groups: { defaultTarget: 'publicGroup', mappings: mappings(seed) } }, silent)).toEqual([])
  })

  it('names each mapping whose record is missing or not assignable, or that shares a record with another', async () => {
    const problems = await checkGroupMappings(h.app.scimforce.gateway, {
      ...h.config,
      groups: {
        defaultTarget: 'publicGroup',
        mappings: [
          { displayName: 'Typo', kind: 'permissionSet', target: 'Sales_Opz', priority: 0 },
          { displayName: 'Hidden', kind: 'permissionSet', target: String(seed.profilePermissionSets['Standard User']), priority: 0 },
          { displayName: 'Role A', kind: 'role', target: 'Sales_Rep', priority: 0 },
          { displayName: 'Role B', kind: 'role', target: String(seed.roles['Sales Rep']), priority: 0 },
          { displayName: 'No Profile', kind: 'profile', target: 'Nonexistent Profile', priority: 1 },
        ],
      },
    }, silent)
    expect(problems).toHaveLength(4)
    expect(problems[0]).toMatch(/^groups\.mappings\[0\]\.permissionSet names "Sales_Opz", but Salesforce has no such permission set/)
    expect(problems[1]).toMatch(/^groups\.mappings\[1\]\.permissionSet/)
    expect(problems[2]).toMatch(/^groups\.mappings\[3\]\.role names the same role .* as groups\.mappings\[2\]/)
    expect(problems[3]).toMatch(/^groups\.mappings\[4\]\.profile names "Nonexistent Profile"/)
  })

  it('reports an unreachable Salesforce as a problem, not an exception', async () => {
    h.emulator.faults.exhaustDailyLimit()
    const problems = await checkGroupMappings(h.app.scimforce.gateway, { ...h.config, groups: { defaultTarget: 'publicGroup', mappings: mappings(seed) } }, silent)
    expect(problems).toEqual([expect.stringMatching(/could not be checked .*REQUEST_LIMIT_EXCEEDED/)])
  })
})
