// Groups cannot widen an admin's groups or fake success (issue 11), through real HTTP against the emulated org,
// every verdict read straight from Salesforce: only scimforce's own groups nest, admin-made public groups are
// read-only unless groups.manageExisting opts them in, `@{` in a name is stored as sent, and odd members are a 4xx.
import { afterEach, describe, expect, it } from 'vitest'
import { auth, expectScimError, SCIM, type Harness } from '../helper.js'
import { createGroup, groupMembers, groupsHarness, patchGroup, seedUser, sorted } from './groups-helpers.js'

let h: Harness | undefined
async function closeAll (): Promise<void> {
  await h?.close()
  h = undefined
}
afterEach(closeAll)

type Rec = Record<string, unknown>

async function start (manageExisting?: string[]): Promise<{ h: Harness, sales: string, all: string, support: string, ada: string, grace: string }> {
  h = await groupsHarness(manageExisting === undefined ? {} : { manageExisting })
  const seed = h.emulator.seed
  return {
    h,
    sales: String(seed.groups['Sales Team']),
    all: String(seed.groups['All Internal Users']),
    support: String(seed.groups['Support Team']),
    ada: String(seed.users['ada.lovelace@scimforce.demo']),
    grace: String(seed.users['grace.hopper@scimforce.demo']),
  }
}

/** The GroupMember rows that nest `member` into `group`, read from the org. */
const nesting = (h: Harness, group: string, member: string): Rec[] =>
  h.emulator.org.query(`SELECT Id FROM GroupMember WHERE GroupId = '${group}' AND UserOrGroupId = '${member}'`) as unknown as Rec[]

const name = (h: Harness, id: string): unknown => (h.emulator.org.get('Group', id) as Rec | undefined)?.Name

describe('only groups scimforce created nest into a group', () => {
  it('refuses All Internal Users into Sales Team, opted in or not, and writes no GroupMember row', async () => {
    for (const opt of [undefined, ['Sales Team']]) {
      const { h, sales, all, ada, grace } = await start(opt)
      const res = await patchGroup(h, sales, [{ op: 'add', path: 'members', value: [{ value: all }] }])
      expect(res.status).toBeGreaterThanOrEqual(400)
      expect(res.status).toBeLessThan(500)
      if (opt !== undefined) {
        expectScimError(res, 400, 'invalidValue')
        expect(res.body.detail).toMatch(/Only groups scimforce created can be members of a group/)
      }
      expect(nesting(h, sales, all)).toEqual([])
      expect(groupMembers(h, sales)).toEqual(sorted([ada, grace]))
      await closeAll()
    }
  })

  it('refuses an admin\'s group in a group scimforce made (PATCH, PUT and POST), and takes one of its own', async () => {
    const { h, support, all, ada } = await start()
    const own = String((await createGroup(h, { displayName: 'Own Parent', members: [{ value: ada }] })).id)
    const child = String((await createGroup(h, { displayName: 'Own Child' })).id)
    expectScimError(await patchGroup(h, own, [{ op: 'add', path: 'members', value: [{ value: support }, { value: ada }] }]), 400, 'invalidValue')
    expectScimError(await h.http.put(`${SCIM}/Groups/${own}`).set(auth).send({ displayName: 'Own Parent', members: [{ value: ada }, { value: all }] }), 400, 'invalidValue')
    const before = h.emulator.org.count('Group')
    const post = await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: 'Wider', members: [{ value: all, type: 'Group' }] })
    expectScimError(post, 400, 'invalidValue')
    expect(post.body.detail).toContain(all)
    expect(h.emulator.org.count('Group')).toBe(before)
    expect(groupMembers(h, own)).toEqual([ada])
    expect((await patchGroup(h, own, [{ op: 'add', path: 'members', value: [{ value: child, type: 'Group' }] }])).status).toBe(200)
    expect(groupMembers(h, own)).toEqual(sorted([ada, child]))
  })
})

describe('an admin-made public group is read-only to SCIM unless groups.manageExisting names it', () => {
  it('without the opt-in: PATCH, PUT and a rename are 403 naming the key, DELETE only hides it; Salesforce is untouched', async () => {
    const { h, sales, ada, grace } = await start()
    const u = seedUser(h)
    await h.http.get(`${SCIM}/Groups/${sales}`).set(auth).expect(200)
    const refusals = [
      await patchGroup(h, sales, [{ op: 'add', path: 'members', value: [{ value: u }] }]),
      await patchGroup(h, sales, [{ op: 'remove', path: 'members', value: [{ value: ada }] }]),
      await patchGroup(h, sales, [{ op: 'replace', path: 'displayName', value: 'Everyone' }]),
      await h.http.put(`${SCIM}/Groups/${sales}`).set(auth).send({ displayName: 'Sales Team', members: [{ value: u }] }),
    ]
    for (const res of refusals) {
      expectScimError(res, 403)
      expect(res.body.detail).toMatch(/groups\.manageExisting/)
    }
    // A POST of its name does not link it either.
    const post = await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: 'Sales Team', members: [{ value: u }] })
    expectScimError(post, 409, 'uniqueness')
    expect(post.body.detail).toMatch(/groups\.manageExisting/)
    expect(groupMembers(h, sales)).toEqual(sorted([ada, grace]))
    expect(name(h, sales)).toBe('Sales Team')
    await h.http.delete(`${SCIM}/Groups/${sales}`).set(auth).expect(204)
    expect(name(h, sales)).toBe('Sales Team')
    expect(groupMembers(h, sales)).toEqual(sorted([ada, grace]))
  })

  it('with the opt-in (by name, or by Id): members and name are writable, and only scimforce\'s rows ever leave', async () => {
    for (const key of ['sales team', 'id']) {
      // The seed is deterministic: Sales Team has the same Id in every fresh emulated org.
      const seeded = await start([])
      const sales = seeded.sales
      await closeAll()
      const { h, ada, grace } = await start([key === 'id' ? sales.slice(0, 15) : key])
      const u = seedUser(h)
      expect((await patchGroup(h, sales, [{ op: 'add', path: 'members', value: [{ value: u }] }])).status).toBe(200)
      expect(groupMembers(h, sales)).toEqual(sorted([ada, grace, u]))
      await h.http.put(`${SCIM}/Groups/${sales}`).set(auth).send({ displayName: 'Sales Team', members: [{ value: grace }] }).expect(200)
      expect(groupMembers(h, sales)).toEqual(sorted([ada, grace]))
      if (key === 'id') {
        expect((await patchGroup(h, sales, [{ op: 'replace', path: 'displayName', value: 'Sales Crew' }])).status).toBe(200)
        expect(name(h, sales)).toBe('Sales Crew')
      }
      await closeAll()
    }
  })
})

describe('no false success', () => {
  it('stores a displayName holding @{ literally (create with members, PATCH and PUT rename), as plain sObject writes', async () => {
    const { h, ada } = await start()
    for (const displayName of ['Team @{w0.id}', 'x@{update.id}', '@{c0[0].id}']) {
      const res = await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName, members: [{ value: ada }] })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      expect(res.body.displayName).toBe(displayName)
      expect(name(h, String(res.body.id))).toBe(displayName)
      expect(groupMembers(h, String(res.body.id))).toEqual([ada])
    }
    const own = String((await createGroup(h, { displayName: 'Plain' })).id)
    expect((await patchGroup(h, own, [{ op: 'replace', path: 'displayName', value: 'Plain @{w0.id}' }])).status).toBe(200)
    expect(name(h, own)).toBe('Plain @{w0.id}')
    const put = await h.http.put(`${SCIM}/Groups/${own}`).set(auth).send({ displayName: 'P @{x.y}', members: [{ value: ada }] })
    expect(put.status, JSON.stringify(put.body)).toBe(200)
    expect(name(h, own)).toBe('P @{x.y}')
    expect(groupMembers(h, own)).toEqual([ada])
    // `{` and `@` apart are ordinary characters, stored literally.
    const braces = await createGroup(h, { displayName: 'Ops {EMEA} @ HQ' })
    expect(name(h, String(braces.id))).toBe('Ops {EMEA} @ HQ')
  })

  it('If-Match other than * on a group is 412 (groups carry no version) and writes nothing; * goes through', async () => {
    const { h, ada, grace } = await start()
    const own = String((await createGroup(h, { displayName: 'Versioned', members: [{ value: ada }] })).id)
    const tag = 'W/"2026-01-01T00:00:00.000Z"'
    const patch = await h.http.patch(`${SCIM}/Groups/${own}`).set(auth).set('If-Match', tag)
      .send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: grace }] }] })
    expectScimError(patch, 412)
    expect(patch.body.detail).toMatch(/Groups carry no version.*If-Match can only be "\*"/)
    expectScimError(await h.http.put(`${SCIM}/Groups/${own}`).set(auth).set('If-Match', tag).send({ displayName: 'Renamed', members: [] }), 412)
    expectScimError(await h.http.delete(`${SCIM}/Groups/${own}`).set(auth).set('If-Match', tag), 412)
    expect(name(h, own)).toBe('Versioned')
    expect(groupMembers(h, own)).toEqual([ada])
    const star = await h.http.patch(`${SCIM}/Groups/${own}`).set(auth).set('If-Match', '*')
      .send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: grace }] }] })
    expect(star.status).toBeLessThan(300)
    expect(groupMembers(h, own)).toEqual(sorted([ada, grace]))
  })

  it('answers a member display of 5,000 characters (or holding @{) with 400, never 500, and writes nothing', async () => {
    const { h, ada } = await start()
    const long = 'm'.repeat(5000)
    const before = h.emulator.org.count('Group')
    for (const display of [long, 'a@{w0.id}.example']) {
      const res = await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: `Odd ${display.length}`, members: [{ display }] })
      expectScimError(res, 400, 'invalidValue')
      expect(String(res.body.detail).length).toBeLessThan(400)
    }
    expect(h.emulator.org.count('Group')).toBe(before)
    const own = String((await createGroup(h, { displayName: 'Long Display', members: [{ value: ada }] })).id)
    const patch = await patchGroup(h, own, [{ op: 'add', path: 'members', value: [{ display: long }] }])
    expectScimError(patch, 400, 'invalidValue')
    const put = await h.http.put(`${SCIM}/Groups/${own}`).set(auth).send({ displayName: 'Long Display', members: [{ display: long }] })
    expectScimError(put, 400, 'invalidValue')
    expect(groupMembers(h, own)).toEqual([ada])
  })

  it('stores odd group values literally: every answer is 2xx and left exactly what was sent', async () => {
    const { h, ada } = await start()
    const odd = ['@{w0.id}', 'a @{c0[0].id} b', '{!$User.Id}', 'Quote " and \' q', 'Back\\slash\\', 'Line\u2028Sep\u2029', '@ {x}', '%40%7Bw0.id%7D']
    for (const [i, text] of odd.entries()) {
      const res = await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: `G${i} ${text}`, externalId: `x ${text}`, members: [{ value: ada, display: text }] })
      // Nothing here is refused any more: `@{` in a name goes by plain sObject writes.
      expect(res.status, `${text}: ${JSON.stringify(res.body)}`).toBe(201)
      const id = String(res.body.id)
      expect(name(h, id)).toBe(`G${i} ${text}`)
      expect(groupMembers(h, id)).toEqual([ada])
      const back = await h.http.get(`${SCIM}/Groups/${id}`).set(auth).expect(200)
      expect(back.body).toMatchObject({ displayName: `G${i} ${text}`, externalId: `x ${text}` })
      const renamed = await patchGroup(h, id, [{ op: 'replace', path: 'displayName', value: `R${i} ${text}` }])
      expect(renamed.status, `${text}: ${JSON.stringify(renamed.body)}`).toBe(200)
      expect(name(h, id)).toBe(`R${i} ${text}`)
    }
  })
})

describe('members come only from the managed scope of Users', () => {
  it('refuses the integration user and the org admin in a change that reads its members, and writes nothing', async () => {
    const { h, ada } = await start()
    const seed = h.emulator.seed
    const integration = String(seed.users['integration@scimforce.demo'])
    const admin = String(seed.users['admin@scimforce.demo'])
    const own = String((await createGroup(h, { displayName: 'Scoped Members', members: [{ value: ada }] })).id)
    for (const member of [{ value: integration }, { value: admin }, { value: admin.toLowerCase() }, { display: 'admin@scimforce.demo' }]) {
      const res = await h.http.put(`${SCIM}/Groups/${own}`).set(auth).send({ displayName: 'Scoped Members', members: [{ value: ada }, member] })
      expect(res.status).toBeGreaterThanOrEqual(400)
      expect(res.status).toBeLessThan(500)
    }
    expect(groupMembers(h, own)).toEqual([ada])
  })

  it('refuses them in the one-call add to a group scimforce created too (the scope rides in the same composite)', async () => {
    const { h, ada, grace } = await start()
    const seed = h.emulator.seed
    const integration = String(seed.users['integration@scimforce.demo'])
    const admin = String(seed.users['admin@scimforce.demo'])
    const own = String((await createGroup(h, { displayName: 'One Call Scope', members: [{ value: ada }] })).id)
    const calls = h.emulator.counters.snapshot().apiCalls
    for (const value of [integration, admin, admin.toLowerCase()]) {
      const res = await patchGroup(h, own, [{ op: 'add', path: 'members', value: [{ value: grace }, { value }] }])
      expect(res.status).toBeGreaterThanOrEqual(400)
      expect(res.status).toBeLessThan(500)
    }
    expect(groupMembers(h, own)).toEqual([ada])
    // An in-scope add is still one API call.
    const before = h.emulator.counters.snapshot().apiCalls
    expect((await patchGroup(h, own, [{ op: 'add', path: 'members', value: [{ value: grace }] }])).status).toBeLessThan(300)
    expect(h.emulator.counters.snapshot().apiCalls - before).toBe(1)
    expect(groupMembers(h, own)).toEqual(sorted([ada, grace]))
    expect(before).toBeGreaterThan(calls)
  })

  it('refuses them as the first members of a new group, and creates no group', async () => {
    const { h, ada } = await start()
    const admin = String(h.emulator.seed.users['admin@scimforce.demo'])
    const post = await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: 'Admins Via Scim', members: [{ value: ada }, { value: admin }] })
    expect(post.status).toBeGreaterThanOrEqual(400)
    expect(post.status).toBeLessThan(500)
    expect(h.emulator.org.query('SELECT Id FROM Group WHERE Name = \'Admins Via Scim\'')).toEqual([])
  })

  it('member lists never show them: GET by id, the list with members, and a user made admin a moment ago', async () => {
    const { h, sales, ada, grace } = await start()
    const seed = h.emulator.seed
    const integration = String(seed.users['integration@scimforce.demo'])
    const admin = String(seed.users['admin@scimforce.demo'])
    const fresh = seedUser(h)
    // Put there by an admin in Salesforce, not through SCIM.
    for (const u of [integration, admin, fresh]) h.emulator.org.insert('GroupMember', { GroupId: sales, UserOrGroupId: u })
    const shown = async (): Promise<string[]> => {
      const one = await h.http.get(`${SCIM}/Groups/${sales}`).set(auth).expect(200)
      const all = await h.http.get(`${SCIM}/Groups`).query({ filter: 'displayName eq "Sales Team"', attributes: 'members' }).set(auth).expect(200)
      const listed = ((all.body.Resources as Rec[])[0]?.members as Rec[] | undefined ?? []).map((m) => String(m.value))
      const byId = ((one.body.members as Rec[] | undefined) ?? []).map((m) => String(m.value))
      expect(listed.sort()).toEqual([...byId].sort())
      return byId.sort()
    }
    expect(await shown()).toEqual(sorted([ada, grace, fresh]))
    h.emulator.org.insert('PermissionSetAssignment', { AssigneeId: fresh, PermissionSetId: seed.permissionSets.User_Admin })
    expect(await shown()).toEqual(sorted([ada, grace]))
    // Salesforce still holds every row: hidden, not removed.
    expect(groupMembers(h, sales)).toEqual(sorted([ada, grace, integration, admin, fresh]))
  })

  it('refuses an admin made a moment ago through a permission set', async () => {
    const { h, ada } = await start()
    const fresh = seedUser(h)
    const own = String((await createGroup(h, { displayName: 'Fresh Admin Target', members: [{ value: ada }] })).id)
    h.emulator.org.insert('PermissionSetAssignment', { AssigneeId: fresh, PermissionSetId: h.emulator.seed.permissionSets.User_Admin })
    const res = await h.http.put(`${SCIM}/Groups/${own}`).set(auth).send({ displayName: 'Fresh Admin Target', members: [{ value: ada }, { value: fresh }] })
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
    expect(groupMembers(h, own)).toEqual([ada])
  })
})
