// The managed scope (issue 11): the integration user and privileged users do not exist for SCIM, on every path,
// at the moment of the call; ids are normalised before the tombstone; values with `@{` are never a false 2xx.
// Every verdict reads Salesforce straight from the emulated org.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auth, expectScimError, SCIM, startHarness, type Harness } from '../helper.js'

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const replace = (value: Record<string, unknown>): Record<string, unknown> => ({ schemas: [PATCH_OP], Operations: [{ op: 'replace', value }] })

let h: Harness
let n = 0
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

const sf = (id: string): Record<string, unknown> | undefined => h.emulator.org.get('User', id)
const seedUser = (name: string): string => String(h.emulator.seed.users[name])

/** A plain user created through SCIM: in scope. */
async function scimUser (extra: Record<string, unknown> = {}): Promise<string> {
  const userName = `scope.${Date.now().toString(36)}.${n++}@pickup.example`
  const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName, name: { givenName: 'S', familyName: 'Cope' }, emails: [{ value: userName, primary: true }], ...extra }).expect(201)
  return String(res.body.id)
}

/** Every way SCIM could reach a user: each must act as if it did not exist, and Salesforce must stay unchanged. */
async function expectOutOfScope (id: string): Promise<void> {
  const before = structuredClone(sf(id))
  const username = String(before?.Username)
  expectScimError(await h.http.get(`${SCIM}/Users/${id}`).set(auth), 404)
  expectScimError(await h.http.get(`${SCIM}/Users/${id.toLowerCase()}`).set(auth), 404)
  const filtered = await h.http.get(`${SCIM}/Users`).query({ filter: `userName eq "${username}"` }).set(auth).expect(200)
  expect(filtered.body.totalResults).toBe(0)
  const all = await h.http.get(`${SCIM}/Users`).query({ count: 1000 }).set(auth).expect(200)
  expect((all.body.Resources as Array<{ id: string }>).map((r) => r.id)).not.toContain(id)
  expectScimError(await h.http.patch(`${SCIM}/Users/${id}`).set(auth).send(replace({ title: 'owned', externalId: 'evil' })), 404)
  expectScimError(await h.http.patch(`${SCIM}/Users/${id}`).set(auth).send({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'evil@evil.example' }] }), 404)
  expectScimError(await h.http.put(`${SCIM}/Users/${id}`).set(auth).send({ userName: 'evil@evil.example', title: 'owned', active: false }), 404)
  expectScimError(await h.http.delete(`${SCIM}/Users/${id}`).set(auth), 404)
  const post = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: username, name: { givenName: 'E', familyName: 'Vil' }, emails: [{ value: 'evil@evil.example', primary: true }], active: true })
  expectScimError(post, 409, 'uniqueness')
  expect(post.body.detail).toMatch(/outside scimforce's managed scope/)
  const after = sf(id)
  expect(after?.Username).toBe(before?.Username)
  expect(after?.Email).toBe(before?.Email)
  expect(after?.Title).toBe(before?.Title)
  expect(after?.IsActive).toBe(before?.IsActive)
  expect(after?.FederationIdentifier).toBe(before?.FederationIdentifier)
  expect(after?.SystemModstamp).toBe(before?.SystemModstamp)
}

describe('outside the managed scope a user does not exist for SCIM', () => {
  it('the integration user (the OAuth identity)', async () => {
    await expectOutOfScope(seedUser('integration@scimforce.demo'))
    expect(sf(seedUser('integration@scimforce.demo'))?.IsActive).toBe(true)
  })

  it('the seeded admin (System Administrator profile)', async () => {
    await expectOutOfScope(seedUser('admin@scimforce.demo'))
  })

  it('an inactive admin is not rehired by a POST of its userName', async () => {
    const id = seedUser('admin@scimforce.demo')
    h.emulator.org.update('User', id, { IsActive: false })
    try {
      await expectOutOfScope(id)
      expect(sf(id)?.IsActive).toBe(false)
    } finally {
      h.emulator.org.update('User', id, { IsActive: true })
    }
  })

  it('a user made admin a moment ago through a profile change: no cache, refused at once', async () => {
    const id = await scimUser()
    await h.http.get(`${SCIM}/Users/${id}`).set(auth).expect(200)
    h.emulator.org.update('User', id, { ProfileId: h.emulator.seed.profiles['System Administrator'] as string })
    await expectOutOfScope(id)
  })

  it('a user made admin a moment ago through a permission set (Manage Users)', async () => {
    const id = await scimUser()
    await h.http.patch(`${SCIM}/Users/${id}`).set(auth).send(replace({ title: 'Driver' })).expect(200)
    h.emulator.org.insert('PermissionSetAssignment', { AssigneeId: id, PermissionSetId: h.emulator.seed.permissionSets.User_Admin as string })
    await expectOutOfScope(id)
  })

  it('the write itself carries the guard: one API call, and a halted guard writes nothing', async () => {
    const id = await scimUser()
    const before = h.emulator.counters.snapshot().apiCalls
    await h.http.patch(`${SCIM}/Users/${id}`).set(auth).send(replace({ title: 'Lead' })).expect(200)
    expect(h.emulator.counters.snapshot().apiCalls - before).toBe(1)
    expect(sf(id)?.Title).toBe('Lead')
  })

  it('users.allowPrivileged brings admins into reach, never the integration user', async () => {
    const p = await startHarness({ users: { allowPrivileged: true } })
    try {
      const admin = String(p.emulator.seed.users['admin@scimforce.demo'])
      await p.http.get(`${SCIM}/Users/${admin}`).set(auth).expect(200)
      const integration = String(p.emulator.seed.users['integration@scimforce.demo'])
      const title = p.emulator.org.get('User', integration)?.Title
      expectScimError(await p.http.get(`${SCIM}/Users/${integration}`).set(auth), 404)
      expectScimError(await p.http.patch(`${SCIM}/Users/${integration}`).set(auth).send(replace({ title: 'owned' })), 404)
      expect(p.emulator.org.get('User', integration)?.Title).toBe(title)
      const list = await p.http.get(`${SCIM}/Users`).query({ count: 1000 }).set(auth).expect(200)
      const ids = (list.body.Resources as Array<{ id: string }>).map((r) => r.id)
      expect(ids).toContain(admin)
      expect(ids).not.toContain(integration)
    } finally {
      await p.close()
    }
  })

  it('users.scope.profiles narrows the scope to the profiles named', async () => {
    const p = await startHarness({ users: { scope: { profiles: ['Marketing User'] } } })
    try {
      const grace = String(p.emulator.seed.users['grace.hopper@scimforce.demo'])
      expectScimError(await p.http.get(`${SCIM}/Users/${grace}`).set(auth), 404)
      const list = await p.http.get(`${SCIM}/Users`).set(auth).expect(200)
      expect(list.body.totalResults).toBe(0)
    } finally {
      await p.close()
    }
  })
})

describe('ids are normalised before every lookup and the tombstone', () => {
  it('a lower-case or 15-character variant of a deleted user\'s id stays deleted', async () => {
    const id = await scimUser()
    await h.http.delete(`${SCIM}/Users/${id}`).set(auth).expect(204)
    for (const variant of [id.toLowerCase(), id.toUpperCase(), id.slice(0, 15)]) {
      expectScimError(await h.http.get(`${SCIM}/Users/${variant}`).set(auth), 404)
      expectScimError(await h.http.patch(`${SCIM}/Users/${variant}`).set(auth).send(replace({ active: true })), 404)
      expectScimError(await h.http.put(`${SCIM}/Users/${variant}`).set(auth).send({ userName: 'x@pickup.example', active: true }), 404)
    }
    expect(sf(id)?.IsActive).toBe(false)
  })

  it('a live user is found by any form of its id', async () => {
    const id = await scimUser()
    const res = await h.http.get(`${SCIM}/Users/${id.slice(0, 15)}`).set(auth).expect(200)
    expect(res.body.id).toBe(id)
    await h.http.get(`${SCIM}/Users/${id.toLowerCase()}`).set(auth).expect(200)
  })
})

describe('values are data: @{ is stored literally, never a 2xx without the write', () => {
  it('a title with @{…} on POST creates the user with exactly that title', async () => {
    const userName = `lit.${Date.now().toString(36)}@pickup.example`
    const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName, name: { givenName: 'L', familyName: 'Iteral' }, title: 'T @{update.id} x' })
    expect(res.status).toBe(201)
    expect(res.body.title).toBe('T @{update.id} x')
    expect(sf(String(res.body.id))?.Title).toBe('T @{update.id} x')
  })

  it('a phone number with @{…} cannot block an offboarding PUT: the user is deactivated, the number stored as sent', async () => {
    const id = await scimUser()
    const before = structuredClone(sf(id))
    const res = await h.http.put(`${SCIM}/Users/${id}`).set(auth).send({ userName: String(before?.Username), active: false, phoneNumbers: [{ type: 'work', value: '+1 555 @{guard.records[0].Id}' }] })
    expect(res.status).toBe(200)
    expect(res.body.active).toBe(false)
    expect(sf(id)?.IsActive).toBe(false)
    expect(sf(id)?.Phone).toBe('+1 555 @{guard.records[0].Id}')
  })

  it('a PATCH of the title with @{…} stores it; on a user outside the scope it is 404 and nothing is written', async () => {
    const id = await scimUser({ title: 'Driver' })
    const res = await h.http.patch(`${SCIM}/Users/${id}`).set(auth).send(replace({ title: '@{update.id}' }))
    expect(res.status).toBe(200)
    expect(sf(id)?.Title).toBe('@{update.id}')
    const admin = seedUser('admin@scimforce.demo')
    const before = structuredClone(sf(admin))
    expectScimError(await h.http.patch(`${SCIM}/Users/${admin}`).set(auth).send(replace({ title: '@{update.id}' })), 404)
    expect(sf(admin)).toEqual(before)
  })
})
