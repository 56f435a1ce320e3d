// The cost promise for groups: Salesforce API calls per SCIM group operation (as the emulated org counts them),
// and a group of 5,000 members that is never read whole to add or remove one member.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auth, basicAuth, SCIM, type Harness } from '../helper.js'
import { calls, createGroup, groupMembers, groupsHarness, patchGroup, seedUser } from './groups-helpers.js'

let h: Harness
let big: string
const N = 5000

beforeAll(async () => {
  // Everyone In Sales is made below straight in the org (an admin's group): the config opts it in to SCIM writes.
  h = await groupsHarness({ mappings: [{ displayName: 'Sales Ops', kind: 'permissionSet', target: 'Sales_Ops', priority: 0 }], manageExisting: ['Everyone In Sales'] }, N + 100)
  // The token is fetched once; every count below is of REST calls only.
  await h.http.get(`${SCIM}/Groups`).query({ count: 1 }).set(auth).expect(200)
  // A large public group, made in Salesforce directly (no API accounting), and known to scimforce by name.
  big = h.emulator.org.insert('Group', { Name: 'Everyone In Sales', DeveloperName: 'Everyone_In_Sales', Type: 'Regular' })
  for (let i = 0; i < N; i++) {
    const u = seedUser(h, `big${String(i).padStart(4, '0')}`, { IsActive: false })
    h.emulator.org.insert('GroupMember', { GroupId: big, UserOrGroupId: u })
  }
}, 300_000)
afterAll(async () => { await h.close() })

describe('API calls per group operation', () => {
  it('costs 1 for GET, lookup, a new group and adding members to it; 2 for other membership changes', async () => {
    const u1 = seedUser(h)
    const u2 = seedUser(h)
    let id = ''
    expect(await calls(h, async () => { id = String((await createGroup(h, { displayName: 'Costed' })).id) })).toBe(1)
    expect(await calls(h, async () => { await createGroup(h, { displayName: 'Costed With Members', members: [{ value: u1 }] }) })).toBe(2)
    expect(await calls(h, async () => { await h.http.get(`${SCIM}/Groups/${id}`).set(auth).expect(200) })).toBe(1)
    expect(await calls(h, async () => { await h.http.get(`${SCIM}/Groups/${id}`).query({ excludedAttributes: 'members' }).set(auth).expect(200) })).toBe(1)
    expect(await calls(h, async () => {
      await h.http.get(`${SCIM}/Groups`).query('filter=displayName%20Eq%20PRIMARY/Costed&startIndex=1&count=1').set(basicAuth).expect(200)
    })).toBe(1)
    // Adding members to a group scimforce made: one composite reads what is there and inserts the rest.
    expect(await calls(h, async () => { expect((await patchGroup(h, id, [{ op: 'add', path: 'members', value: [{ value: u1 }, { value: u2 }] }])).status).toBe(200) })).toBe(1)
    expect(await calls(h, async () => { expect((await patchGroup(h, id, [{ op: 'add', path: 'members', value: [{ value: u1 }, { value: u2 }] }])).status).toBe(200) })).toBe(1)
    // Any other change reads first, then writes; a change that turns out to change nothing only reads.
    expect(await calls(h, async () => { expect((await patchGroup(h, id, [{ op: 'remove', path: 'members', value: [{ value: seedUser(h) }] }])).status).toBe(200) })).toBe(1)
    expect(await calls(h, async () => { expect((await patchGroup(h, id, [{ op: 'remove', path: `members[value eq "${u2}"]` }, { op: 'replace', path: 'displayName', value: 'Costed 2' }])).status).toBe(200) })).toBe(2)
    expect(await calls(h, async () => { await h.http.put(`${SCIM}/Groups/${id}`).set(auth).send({ displayName: 'Costed 2', members: [{ value: u2 }] }).expect(200) })).toBe(2)
    expect(await calls(h, async () => { await h.http.delete(`${SCIM}/Groups/${id}`).set(auth).expect(204) })).toBe(1)
    expect(await calls(h, async () => { await h.http.get(`${SCIM}/Users/${u1}`).set(auth).expect(200) })).toBe(1)
    const ps = String(h.emulator.seed.permissionSets.Sales_Ops)
    expect(await calls(h, async () => { await createGroup(h, { displayName: 'Sales Ops', members: [{ value: u1 }] }) })).toBe(3)
    expect(await calls(h, async () => { await patchGroup(h, ps, [{ op: 'add', path: 'members', value: [{ value: u2 }] }]) })).toBe(2)
    expect(h.emulator.counters.snapshot().tokenRequests).toBe(1)
  })
})

describe('a group of 5,000 members', () => {
  it('adds and removes one member without reading the others', async () => {
    const newcomer = seedUser(h)
    const before = h.emulator.counters.snapshot()
    expect(await calls(h, async () => {
      expect((await patchGroup(h, big, [{ op: 'add', path: 'members', value: [{ value: newcomer }] }])).status).toBe(200)
    })).toBe(2)
    expect(await calls(h, async () => {
      expect((await patchGroup(h, big, [{ op: 'remove', path: 'members', value: [{ value: newcomer }] }])).status).toBe(200)
    })).toBe(2)
    const after = h.emulator.counters.snapshot()
    const queries = after.queries.slice(before.queries.length)
    // Every GroupMember query names the members it is about; none pages through the group.
    const memberQueries = queries.filter((q) => q.includes('FROM GroupMember'))
    expect(memberQueries.length).toBeGreaterThan(0)
    for (const q of memberQueries) expect(q).toMatch(/UserOrGroupId IN \(/)
    expect(after.byEndpoint.queryMore ?? 0).toBe(before.byEndpoint.queryMore ?? 0)
    expect(groupMembers(h, big)).toHaveLength(N)
  })

  it('looks the group up by name in one call, without its members', async () => {
    expect(await calls(h, async () => {
      const res = await h.http.get(`${SCIM}/Groups`).query('filter=displayName%20Eq%20Everyone%20In%20Sales&startIndex=1&count=1').set(basicAuth).expect(200)
      expect(res.body.Resources[0]).toMatchObject({ id: big, displayName: 'Everyone In Sales' })
      expect(res.body.Resources[0].members).toBeUndefined()
    })).toBe(1)
  })

  it('reads all 5,000 members when GET asks for them (query batches of 2,000)', async () => {
    const res = await h.http.get(`${SCIM}/Groups/${big}`).set(auth).expect(200)
    expect(res.body.members).toHaveLength(N)
  })
})
