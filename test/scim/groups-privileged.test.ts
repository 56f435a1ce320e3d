// Issue 11: admin-grade group targets are opt-in. A pattern mapping whose prefix also covers an admin-grade
// permission set or the top role assigns nothing through real HTTP (read straight from the emulated org), a set
// made admin-grade after it was linked stops being a SCIM group, and start-up refuses an exact admin-grade mapping.
import { afterEach, describe, expect, it } from 'vitest'
import type { GroupMapping } from '../../src/config/types.js'
import { PrivilegedTargetError, checkGroupMappings, checkGroupMappingsAtStart } from '../../src/scim/group-targets.js'
import { auth, SCIM, type Harness } from '../helper.js'
import { assignees, createGroup, groupsHarness, patchGroup, userField } from './groups-helpers.js'

type Rec = Record<string, unknown>

let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

const silent = { info () {}, warn () {}, error () {}, debug () {}, trace () {}, fatal () {}, child () { return silent }, level: 'silent' } as never

// The admin chose the prefix User_; the seeded User_Admin (Manage Users) happens to carry it too.
const patterns = (allowPrivileged?: true): GroupMapping[] => [
  { displayName: 'SF PS *', kind: 'permissionSet', target: 'User_*', priority: 0, ...(allowPrivileged === true ? { allowPrivileged } : {}) },
  { displayName: 'Role *', kind: 'role', target: 'C*', priority: 0 },
]

async function harness (allowPrivileged?: true): Promise<{ h: Harness, ada: string, userAdmin: string }> {
  h = await groupsHarness({ mappings: patterns(allowPrivileged) })
  const ada = String(h.emulator.seed.users['ada.lovelace@scimforce.demo'])
  const userAdmin = String(h.emulator.seed.permissionSets.User_Admin)
  // An ordinary set under the same prefix, made in Salesforce by the admin.
  h.emulator.org.insert('PermissionSet', { Name: 'User_Reports', Label: 'User Reports' })
  return { h, ada, userAdmin }
}

describe('admin-grade targets of pattern mappings, at request time', () => {
  it('refuses a POST naming an admin-grade permission set with 403 and a detail that names the key; nothing is assigned', async () => {
    const { h, ada, userAdmin } = await harness()
    const res = await h.http.post(`${SCIM}/Groups`).set(auth).set('Content-Type', 'application/scim+json')
      .send({ displayName: 'SF PS Admin', members: [{ value: ada }] })
    expect(res.status).toBe(403)
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/)
    expect(res.body.detail).toContain('User_Admin')
    expect(res.body.detail).toContain('ManageUsers')
    expect(res.body.detail).toContain('groups.mappings[0] says allowPrivileged: true')
    expect(assignees(h, userAdmin)).toEqual([])
  })

  it('does not know the admin-grade set by id, by filter or in the list; PATCH assigns nothing', async () => {
    const { h, ada, userAdmin } = await harness()
    expect((await h.http.get(`${SCIM}/Groups/${userAdmin}`).set(auth)).status).toBe(404)
    const patched = await patchGroup(h, userAdmin, [{ op: 'add', path: 'members', value: [{ value: ada }] }])
    expect(patched.status).toBe(404)
    const byName = await h.http.get(`${SCIM}/Groups`).query({ filter: 'displayName eq "SF PS Admin"' }).set(auth).expect(200)
    expect(byName.body.totalResults).toBe(0)
    const list = await h.http.get(`${SCIM}/Groups`).set(auth).expect(200)
    const names = (list.body.Resources as Rec[]).map((r) => r.displayName)
    expect(names).toContain('SF PS Reports')
    expect(names).not.toContain('SF PS Admin')
    expect(assignees(h, userAdmin)).toEqual([])
  })

  it('still links an ordinary set under the prefix, and stops as soon as that set becomes admin-grade', async () => {
    const { h, ada } = await harness()
    const grace = String(h.emulator.seed.users['grace.hopper@scimforce.demo'])
    const g = await createGroup(h, { displayName: 'SF PS Reports', members: [{ value: ada }] })
    const id = String(g.id)
    expect(assignees(h, id)).toEqual([ada])
    // An admin grants Modify All Data to the set a minute later: the next request sees it.
    h.emulator.org.update('PermissionSet', id, { PermissionsModifyAllData: true })
    expect((await patchGroup(h, id, [{ op: 'add', path: 'members', value: [{ value: grace }] }])).status).toBe(404)
    expect(assignees(h, id)).toEqual([ada])
  })

  it('refuses the top of the role hierarchy (CEO) and leaves UserRoleId alone', async () => {
    const { h, ada } = await harness()
    const before = userField(h, ada, 'UserRoleId')
    const res = await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: 'Role EO', members: [{ value: ada }] })
    expect(res.status).toBe(403)
    expect(res.body.detail).toContain('top of the role hierarchy')
    expect(userField(h, ada, 'UserRoleId')).toBe(before)
  })

  it('assigns the admin-grade set when the mapping says allowPrivileged: true', async () => {
    const { h, ada, userAdmin } = await harness(true)
    const g = await createGroup(h, { displayName: 'SF PS Admin', members: [{ value: ada }] })
    expect(g.id).toBe(userAdmin)
    expect(assignees(h, userAdmin)).toEqual([ada])
  })
})

describe('admin-grade permission set groups, at request time (their own record cannot say)', () => {
  const bundles = (allowPrivileged?: true): GroupMapping[] => [
    { displayName: 'PSG *', kind: 'permissionSetGroup', target: '*_Bundle', priority: 0, ...(allowPrivileged === true ? { allowPrivileged } : {}) },
  ]
  /** Grants Modify All Data to a group's aggregate permission set, as an admin adding an admin set to it would. */
  function makeAdminGrade (h: Harness, groupId: string): void {
    const aggregate = h.emulator.org.find('PermissionSet', (p) => p.PermissionSetGroupId === groupId)
    expect(aggregate).toBeDefined()
    h.emulator.org.update('PermissionSet', String(aggregate?.Id), { PermissionsModifyAllData: true })
  }

  it('a group made admin-grade after start-up is refused (POST 403, by id 404, not listed, PATCH assigns nothing)', async () => {
    h = await groupsHarness({ mappings: bundles() })
    const seed = h.emulator.seed
    const ada = String(seed.users['ada.lovelace@scimforce.demo'])
    const grace = String(seed.users['grace.hopper@scimforce.demo'])
    const sales = String(seed.permissionSetGroups.Sales_Bundle)
    const support = String(seed.permissionSetGroups.Support_Bundle)
    // An ordinary group links and assigns.
    expect((await createGroup(h, { displayName: 'PSG Sales', members: [{ value: ada }] })).id).toBe(sales)
    expect(assignees(h, sales)).toEqual(expect.arrayContaining([ada]))
    makeAdminGrade(h, support)
    const post = await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: 'PSG Support', members: [{ value: ada }] })
    expect(post.status).toBe(403)
    expect(post.body.detail).toContain('Support_Bundle')
    expect(post.body.detail).toContain('allowPrivileged: true')
    expect(assignees(h, support)).toEqual([])
    expect((await h.http.get(`${SCIM}/Groups/${support}`).set(auth)).status).toBe(404)
    const names = ((await h.http.get(`${SCIM}/Groups`).set(auth).expect(200)).body.Resources as Rec[]).map((r) => r.displayName)
    expect(names).toContain('PSG Sales')
    expect(names).not.toContain('PSG Support')
    // The linked group turns admin-grade a minute later: the next request sees it.
    const before = assignees(h, sales)
    makeAdminGrade(h, sales)
    expect((await patchGroup(h, sales, [{ op: 'add', path: 'members', value: [{ value: grace }, { value: ada }] }])).status).toBe(404)
    expect(assignees(h, sales)).toEqual(before)
  })

  it('allowPrivileged on the mapping lets it through; an exact mapping to one is refused at start-up', async () => {
    h = await groupsHarness({ mappings: bundles(true) })
    const ada = String(h.emulator.seed.users['ada.lovelace@scimforce.demo'])
    const support = String(h.emulator.seed.permissionSetGroups.Support_Bundle)
    makeAdminGrade(h, support)
    expect((await createGroup(h, { displayName: 'PSG Support', members: [{ value: ada }] })).id).toBe(support)
    expect(assignees(h, support)).toEqual([ada])
    const mappings: GroupMapping[] = [{ displayName: 'Support', kind: 'permissionSetGroup', target: 'Support_Bundle', priority: 0 }]
    const config = { ...h.config, groups: { defaultTarget: 'publicGroup' as const, mappings } }
    const err = await checkGroupMappingsAtStart(h.app.scimforce.gateway, config, silent).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(PrivilegedTargetError)
    expect((err as PrivilegedTargetError).refused).toEqual([expect.stringMatching(/^groups\.mappings\[0\]\.permissionSetGroup \("Support"\): the permission set group 'Support_Bundle' holds a permission set that grants an admin permission/)])
  })
})

describe('admin-grade targets of exact mappings, at start-up', () => {
  const exact = (s: Harness['emulator']['seed']): GroupMapping[] => [
    { displayName: 'Sales Ops', kind: 'permissionSet', target: 'Sales_Ops', priority: 0 },
    { displayName: 'User Admins', kind: 'permissionSet', target: 'User_Admin', priority: 0 },
    { displayName: 'Admins', kind: 'profile', target: String(s.profiles['System Administrator']), priority: 10 },
    { displayName: 'Executives', kind: 'role', target: 'CEO', priority: 0 },
    { displayName: 'Sales', kind: 'role', target: 'VP_Sales', priority: 0 },
  ]

  it('stops the start naming each refused mapping, its key and the fix', async () => {
    h = await groupsHarness()
    const config = { ...h.config, groups: { defaultTarget: 'publicGroup' as const, mappings: exact(h.emulator.seed) } }
    const err = await checkGroupMappingsAtStart(h.app.scimforce.gateway, config, silent).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(PrivilegedTargetError)
    const refused = (err as PrivilegedTargetError).refused
    expect(refused).toEqual([
      expect.stringMatching(/^groups\.mappings\[1\]\.permissionSet \("User Admins"\): the permission set 'User_Admin' grants ManageUsers: .*groups\.mappings\[1\] says allowPrivileged: true$/),
      expect.stringMatching(/^groups\.mappings\[2\]\.profile \("Admins"\): the profile 'System Administrator' grants ModifyAllData, ViewAllData, ManageUsers, CustomizeApplication, AuthorApex: /),
      expect.stringMatching(/^groups\.mappings\[3\]\.role \("Executives"\): the role 'CEO' is at the top of the role hierarchy/),
    ])
    expect((err as Error).message).toMatch(/^refusing to start: group mappings name an admin-grade Salesforce record:\n/)
    expect((err as Error).message).toContain('set allowPrivileged: true on that mapping')
    // doctor's view: the same lines, refusals first.
    expect((await checkGroupMappings(h.app.scimforce.gateway, config, silent)).slice(0, 3)).toEqual(refused)
  })

  it('starts when each admin-grade mapping allows it', async () => {
    h = await groupsHarness()
    const mappings = exact(h.emulator.seed).map((m) => m.displayName === 'Sales Ops' || m.displayName === 'Sales' ? m : { ...m, allowPrivileged: true as const })
    const config = { ...h.config, groups: { defaultTarget: 'publicGroup' as const, mappings } }
    expect(await checkGroupMappingsAtStart(h.app.scimforce.gateway, config, silent)).toEqual([])
  })
})
