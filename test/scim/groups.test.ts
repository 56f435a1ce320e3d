// SCIM Groups as Salesforce public groups, end to end through real HTTP against the emulated org, asserting the
// Group and GroupMember rows that result: every IdP shape, ownership, idempotence, rename, delete, filters.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { auth, basicAuth, expectScimError, SCIM, type Harness } from '../helper.js'
import { createGroup, groupMembers, groupsHarness, patchGroup, seedUser, sorted, usernameOf } from './groups-helpers.js'

let h: Harness
let ada: string
let grace: string
let salesTeam: string

beforeEach(async () => {
  // Sales Team is an admin-made public group: these tests manage it, so the config opts it in (README "Groups").
  h = await groupsHarness({ manageExisting: ['Sales Team'] })
  ada = String(h.emulator.seed.users['ada.lovelace@scimforce.demo'])
  grace = String(h.emulator.seed.users['grace.hopper@scimforce.demo'])
  // Seeded by hand in Salesforce (not by scimforce): Ada and Grace are members.
  salesTeam = String(h.emulator.seed.groups['Sales Team'])
})
afterEach(async () => { await h.close() })

type Rec = Record<string, unknown>
const group = (id: string): Rec => h.emulator.org.get('Group', id) as Rec

describe('POST /Groups: a new public group', () => {
  it('creates a Regular group with a derived DeveloperName and one GroupMember per member, and answers 201', async () => {
    const u = seedUser(h)
    const res = await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: 'Field Sales', externalId: 'entra-g-1', members: [{ value: ada }, { value: u }] })
    expect(res.status).toBe(201)
    const id = res.body.id as string
    expect(id).toMatch(/^00G[A-Za-z0-9]{15}$/)
    expect(res.headers.location).toMatch(new RegExp(`/scim/v2/Groups/${id}$`))
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Field Sales', externalId: 'entra-g-1', meta: { resourceType: 'Group', location: res.headers.location } })
    expect(sorted((res.body.members as Rec[]).map((m) => String(m.value)))).toEqual(sorted([ada, u]))
    expect(group(id)).toMatchObject({ Name: 'Field Sales', DeveloperName: 'Field_Sales', Type: 'Regular' })
    expect(groupMembers(h, id)).toEqual(sorted([ada, u]))
    expect(await h.store.isGroupCreated(id)).toBe(true)
    expect(sorted(await h.store.membersOf(id))).toEqual(sorted([ada, u]))
  })

  it('takes WSO2 IS\'s shape: Basic auth, empty schemas, a PRIMARY/ prefix, members with display = userName', async () => {
    const body = await createGroup(h, { schemas: [], displayName: 'PRIMARY/sales-emea', members: [{ value: ada, display: 'ada.lovelace@scimforce.demo' }] }, basicAuth)
    expect(body.displayName).toBe('sales-emea')
    expect(group(String(body.id)).Name).toBe('sales-emea')
    expect(groupMembers(h, String(body.id))).toEqual([ada])
  })

  it('takes Entra\'s shape (an extra schema URN, no members) and Okta\'s lower-case member type', async () => {
    const entra = await createGroup(h, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'], displayName: 'Entra Group', externalId: 'f648-entra' })
    expect(groupMembers(h, String(entra.id))).toEqual([])
    const okta = await createGroup(h, { displayName: 'Okta Group', members: [{ value: grace, type: 'user' }] })
    expect(groupMembers(h, String(okta.id))).toEqual([grace])
  })

  it('resolves members given by userName only (display without value)', async () => {
    const body = await createGroup(h, { displayName: 'By Name', members: [{ display: 'ada.lovelace@scimforce.demo' }] }, basicAuth)
    expect(groupMembers(h, String(body.id))).toEqual([ada])
  })

  it('refuses an unknown member with 400 and creates nothing', async () => {
    const before = h.emulator.org.count('Group')
    const missing = await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: 'Ghosts', members: [{ value: '005Hu0000000ZZZIAY' }] })
    expectScimError(missing, 400, 'invalidValue')
    expect(missing.body.detail).toMatch(/005Hu0000000ZZZIAY/i)
    expectScimError(await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: 'Junk', members: [{ value: 'string id 1' }] }), 400, 'invalidValue')
    expectScimError(await h.http.post(`${SCIM}/Groups`).set(auth).send({ members: [] }), 400, 'invalidValue')
    expect(h.emulator.org.count('Group')).toBe(before)
  })

  it('answers a repeated POST (an IdP retry) with the same group, not a second one', async () => {
    const first = await createGroup(h, { displayName: 'Retry Me', members: [{ value: ada }] })
    const before = h.emulator.org.count('Group')
    const second = await createGroup(h, { displayName: 'Retry Me', members: [{ value: ada }, { value: grace }] })
    expect(second.id).toBe(first.id)
    expect(h.emulator.org.count('Group')).toBe(before)
    expect(groupMembers(h, String(first.id))).toEqual(sorted([ada, grace]))
  })

  it('gives a group whose name derives to a taken DeveloperName a suffixed one', async () => {
    const a = await createGroup(h, { displayName: 'Sales & Ops' })
    const b = await createGroup(h, { displayName: 'Sales Ops' })
    expect(a.id).not.toBe(b.id)
    expect(group(String(a.id)).DeveloperName).toBe('Sales_Ops')
    expect(String(group(String(b.id)).DeveloperName)).toMatch(/^Sales_Ops_[a-z0-9]+$/)
  })
})

describe('GET /Groups/{id} and lists', () => {
  it('reads a group with its members (userName as display), and leaves them out when asked', async () => {
    const res = await h.http.get(`${SCIM}/Groups/${salesTeam}`).set(auth).expect(200)
    expect(res.body).toMatchObject({ id: salesTeam, displayName: 'Sales Team' })
    expect(res.body.members).toEqual(expect.arrayContaining([
      expect.objectContaining({ value: ada, display: 'ada.lovelace@scimforce.demo', type: 'User', $ref: expect.stringMatching(new RegExp(`/Users/${ada}$`)) }),
    ]))
    expect((res.body.members as Rec[])).toHaveLength(2)
    const lean = await h.http.get(`${SCIM}/Groups/${salesTeam}`).query({ excludedAttributes: 'members' }).set(auth).expect(200)
    expect(lean.body.members).toBeUndefined()
    expect(lean.body.displayName).toBe('Sales Team')
    const only = await h.http.get(`${SCIM}/Groups/${salesTeam}`).query({ attributes: 'displayName' }).set(auth).expect(200)
    expect(Object.keys(only.body).sort()).toEqual(['displayName', 'id', 'schemas'])
  })

  it('answers 404 for unknown ids, user ids and malformed ids', async () => {
    for (const id of ['00GHu0000000ZZZMAY', ada, 'nonsense']) {
      expectScimError(await h.http.get(`${SCIM}/Groups/${id}`).set(auth), 404)
    }
  })

  it('finds a group by displayName as WSO2 asks (Eq, unquoted, PRIMARY/ prefix), Entra asks and Okta asks', async () => {
    const wso2 = await h.http.get(`${SCIM}/Groups`).query('filter=displayName%20Eq%20PRIMARY/Sales%20Team&startIndex=1&count=1').set(basicAuth).expect(200)
    expect(wso2.body).toMatchObject({ totalResults: 1, itemsPerPage: 1, startIndex: 1 })
    expect(wso2.body.Resources[0]).toMatchObject({ id: salesTeam, displayName: 'Sales Team' })
    // Lists leave members out unless asked (a lookup before every change must not read a large group).
    expect(wso2.body.Resources[0].members).toBeUndefined()
    const entra = await h.http.get(`${SCIM}/Groups`).query({ filter: 'displayName eq "sales team"', excludedAttributes: 'members' }).set(auth).expect(200)
    expect(entra.body.Resources.map((r: Rec) => r.id)).toEqual([salesTeam])
    // A Bearer client's names are taken as they come: PRIMARY/ is part of the name.
    const bearer = await h.http.get(`${SCIM}/Groups`).query({ filter: 'displayName eq "PRIMARY/Sales Team"' }).set(auth).expect(200)
    expect(bearer.body.totalResults).toBe(0)
    const none = await h.http.get(`${SCIM}/Groups`).query({ filter: 'displayName eq "No Such Group"' }).set(auth).expect(200)
    expect(none.body).toMatchObject({ totalResults: 0, Resources: [] })
  })

  it('filters on externalId, members.value and id, and returns members when attributes asks', async () => {
    const g = await createGroup(h, { displayName: 'Filtered', externalId: 'ext-42', members: [{ value: grace }] })
    const byExt = await h.http.get(`${SCIM}/Groups`).query({ filter: 'externalId eq "ext-42"' }).set(auth).expect(200)
    expect(byExt.body.Resources.map((r: Rec) => r.id)).toEqual([g.id])
    expect(byExt.body.Resources[0].externalId).toBe('ext-42')
    const byMember = await h.http.get(`${SCIM}/Groups`).query({ filter: `members[value eq "${grace}"]` }).set(auth).expect(200)
    expect(sorted(byMember.body.Resources.map((r: Rec) => String(r.id)))).toEqual(sorted([salesTeam, String(g.id)]))
    const byMemberValue = await h.http.get(`${SCIM}/Groups`).query({ filter: `members.value eq "${grace}" and displayName eq "Filtered"`, attributes: 'displayName,members' }).set(auth).expect(200)
    expect(byMemberValue.body.Resources).toHaveLength(1)
    expect(byMemberValue.body.Resources[0].members).toEqual([expect.objectContaining({ value: grace, display: 'grace.hopper@scimforce.demo' })])
    const byId = await h.http.get(`${SCIM}/Groups`).query({ filter: `id eq "${salesTeam}"` }).set(auth).expect(200)
    expect(byId.body.Resources.map((r: Rec) => r.id)).toEqual([salesTeam])
    expectScimError(await h.http.get(`${SCIM}/Groups`).query({ filter: 'title eq "x"' }).set(auth), 400, 'invalidFilter')
  })

  it('pages: totals, startIndex, count and count=0', async () => {
    for (let i = 0; i < 5; i++) await createGroup(h, { displayName: `Page ${i}` })
    const all = await h.http.get(`${SCIM}/Groups`).set(auth).expect(200)
    const total = all.body.totalResults as number
    expect(total).toBe(7) // 5 + the two seeded public groups
    const ids = (all.body.Resources as Rec[]).map((r) => r.id)
    const seen: unknown[] = []
    for (let start = 1; start <= total; start += 3) {
      const page = await h.http.get(`${SCIM}/Groups`).query({ startIndex: start, count: 3 }).set(auth).expect(200)
      expect(page.body).toMatchObject({ totalResults: total, startIndex: start, itemsPerPage: Math.min(3, total - start + 1) })
      seen.push(...(page.body.Resources as Rec[]).map((r) => r.id))
    }
    expect(seen).toEqual(ids)
    const zero = await h.http.get(`${SCIM}/Groups`).query({ count: 0 }).set(auth).expect(200)
    expect(zero.body).toMatchObject({ totalResults: total, itemsPerPage: 0, Resources: [] })
  })

  it('answers POST /Groups/.search as the same GET, and refuses a SearchRequest field of the wrong type', async () => {
    const search = { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'] }
    const found = await h.http.post(`${SCIM}/Groups/.search`).set(auth).send({ ...search, filter: 'displayName eq "Sales Team"', attributes: ['displayName', 'members'], startIndex: 1, count: '5' }).expect(200)
    expect(found.body).toMatchObject({ totalResults: 1, startIndex: 1, itemsPerPage: 1 })
    expect(Object.keys(found.body.Resources[0]).sort()).toEqual(['displayName', 'id', 'members', 'schemas'])
    expect(sorted(found.body.Resources[0].members.map((m: Rec) => String(m.value)))).toEqual(sorted([ada, grace]))
    // Dropping a bad filter in silence would hand the client every group instead of the one it asked for.
    for (const bad of [{ filter: 5 }, { sortOrder: {} }, { count: [1] }, { attributes: [1, 2] }, { excludedAttributes: { a: 1 } }]) {
      expectScimError(await h.http.post(`${SCIM}/Groups/.search`).set(auth).send({ ...search, ...bad }), 400, 'invalidValue')
    }
    // Sorting is supported (ServiceProviderConfig says so) by displayName, id and externalId; other keys are refused.
    const bySort = await h.http.post(`${SCIM}/Groups/.search`).set(auth).send({ ...search, sortBy: 'displayName' })
    expect(bySort.status).toBe(200)
    expectScimError(await h.http.post(`${SCIM}/Groups/.search`).set(auth).send({ ...search, sortBy: 'members' }), 400, 'invalidValue')
    expectScimError(await h.http.post(`${SCIM}/Groups/.search`).set(auth).send({ filter: 'displayName pr' }), 400, 'invalidSyntax')
  })
})

describe('PATCH /Groups/{id}', () => {
  it('applies Entra\'s Add and Remove with value arrays, answering 200 without the member list', async () => {
    const u1 = seedUser(h)
    const u2 = seedUser(h)
    const g = await createGroup(h, { displayName: 'Entra Team', members: [{ value: u1 }] })
    const res = await patchGroup(h, String(g.id), [
      { op: 'Add', path: 'members', value: [{ $ref: null, value: u2 }, { $ref: null, value: ada }] },
      { op: 'Remove', path: 'members', value: [{ value: u1 }] },
    ])
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: g.id, displayName: 'Entra Team' })
    expect(res.body.members).toBeUndefined()
    expect(groupMembers(h, String(g.id))).toEqual(sorted([u2, ada]))
    const withMembers = await patchGroup(h, String(g.id), [{ op: 'add', path: 'members', value: [{ value: grace }] }], auth, '?attributes=members')
    expect(sorted((withMembers.body.members as Rec[]).map((m) => String(m.value)))).toEqual(sorted([u2, ada, grace]))
  })

  it('applies Okta\'s remove-by-filter plus add in one PATCH, its path-less rename, and a full replace', async () => {
    const u1 = seedUser(h)
    const u2 = seedUser(h)
    const g = await createGroup(h, { displayName: 'Okta Team', members: [{ value: u1 }, { value: ada }] })
    const id = String(g.id)
    expect((await patchGroup(h, id, [
      { op: 'remove', path: `members[value eq "${u1}"]` },
      { op: 'add', path: 'members', value: [{ value: u2, display: usernameOf(h, u2) }] },
    ])).status).toBe(200)
    expect(groupMembers(h, id)).toEqual(sorted([ada, u2]))
    const renamed = await patchGroup(h, id, [{ op: 'replace', value: { id, displayName: 'Okta Team 2' } }])
    expect(renamed.body.displayName).toBe('Okta Team 2')
    expect(group(id)).toMatchObject({ Name: 'Okta Team 2', DeveloperName: 'Okta_Team' })
    await patchGroup(h, id, [{ op: 'replace', path: 'members', value: [{ value: u1 }, { value: grace }] }])
    expect(groupMembers(h, id)).toEqual(sorted([u1, grace]))
    expectScimError(await h.http.patch(`${SCIM}/Groups/${id}`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { id: salesTeam, displayName: 'x' } }] }), 400, 'mutability')
  })

  it('applies WSO2\'s PATCH mode: add with value and display, one remove per member, and a displayName rename', async () => {
    const u1 = seedUser(h)
    const g = await createGroup(h, { schemas: [], displayName: 'PRIMARY/wso2-team', members: [{ value: ada, display: 'ada.lovelace@scimforce.demo' }] }, basicAuth)
    const id = String(g.id)
    const add = await patchGroup(h, id, [{ op: 'add', path: 'members', value: [{ value: u1, display: usernameOf(h, u1) }] }], basicAuth)
    expect(add.status).toBe(200)
    expect(add.body.displayName).toBe('wso2-team')
    await patchGroup(h, id, [{ op: 'remove', path: `members[value eq "${ada}"]` }], basicAuth)
    expect(groupMembers(h, id)).toEqual([u1])
    await patchGroup(h, id, [{ op: 'replace', path: 'displayName', value: 'PRIMARY/wso2-team-renamed' }], basicAuth)
    expect(group(id).Name).toBe('wso2-team-renamed')
  })

  it('is idempotent: adding a member twice, removing an absent one and repeating a request converge without error', async () => {
    const u1 = seedUser(h)
    const g = await createGroup(h, { displayName: 'Idempotent', members: [{ value: u1 }] })
    const id = String(g.id)
    const ops = [{ op: 'add', path: 'members', value: [{ value: u1 }, { value: ada }] }, { op: 'remove', path: 'members', value: [{ value: grace }] }]
    expect((await patchGroup(h, id, ops)).status).toBe(200)
    expect((await patchGroup(h, id, ops)).status).toBe(200)
    expect(groupMembers(h, id)).toEqual(sorted([u1, ada]))
    expect(h.emulator.org.count('GroupMember')).toBe(3 + 2) // the seeded Sales Team's two and Support Queue's one, and these two
    // A later operation on the same member wins, as RFC 7644 §3.5.2 applies them in order.
    await patchGroup(h, id, [{ op: 'remove', path: 'members', value: [{ value: ada }] }, { op: 'add', path: 'members', value: [{ value: ada }] }])
    expect(groupMembers(h, id)).toEqual(sorted([u1, ada]))
  })

  it('never removes a membership an admin made in Salesforce, only those scimforce made', async () => {
    const u1 = seedUser(h)
    // Sales Team's Ada and Grace were added by hand; scimforce adds u1.
    await patchGroup(h, salesTeam, [{ op: 'add', path: 'members', value: [{ value: u1 }] }])
    expect(groupMembers(h, salesTeam)).toEqual(sorted([ada, grace, u1]))
    await patchGroup(h, salesTeam, [{ op: 'remove', path: 'members', value: [{ value: ada }, { value: u1 }] }])
    expect(groupMembers(h, salesTeam)).toEqual(sorted([ada, grace]))
    // "Remove all members" also takes only what scimforce made.
    await patchGroup(h, salesTeam, [{ op: 'add', path: 'members', value: [{ value: u1 }] }])
    await patchGroup(h, salesTeam, [{ op: 'remove', path: 'members' }])
    expect(groupMembers(h, salesTeam)).toEqual(sorted([ada, grace]))
    // Adding a member an admin added already does not make it scimforce's.
    await patchGroup(h, salesTeam, [{ op: 'add', path: 'members', value: [{ value: grace }] }])
    await patchGroup(h, salesTeam, [{ op: 'remove', path: 'members', value: [{ value: grace }] }])
    expect(groupMembers(h, salesTeam)).toEqual(sorted([ada, grace]))
  })

  it('keeps ownership exact when adding to a group scimforce made (the one-call path): a hand-made row stays the admin\'s', async () => {
    const [u1, u2] = [seedUser(h), seedUser(h)]
    const g = await createGroup(h, { displayName: 'Own Group', members: [{ value: u1 }] })
    const id = String(g.id)
    h.emulator.org.insert('GroupMember', { GroupId: id, UserOrGroupId: u2 })
    await patchGroup(h, id, [{ op: 'add', path: 'members', value: [{ value: u1 }, { value: u2 }, { value: ada }] }])
    expect(groupMembers(h, id)).toEqual(sorted([u1, u2, ada]))
    expect(sorted(await h.store.membersOf(id))).toEqual(sorted([u1, ada]))
    await patchGroup(h, id, [{ op: 'remove', path: 'members', value: [{ value: u1 }, { value: u2 }, { value: ada }] }])
    expect(groupMembers(h, id)).toEqual([u2])
    const missing = await patchGroup(h, id, [{ op: 'add', path: 'members', value: [{ value: '005Hu0000000ZZZIAY' }, { value: u1 }] }])
    expectScimError(missing, 400, 'invalidValue')
    expect(groupMembers(h, id)).toEqual([u2])
    expect(await h.store.membersOf(id)).toEqual([])
  })

  it('refuses unknown members, unknown paths and malformed bodies with SCIM errors, changing nothing', async () => {
    const g = await createGroup(h, { displayName: 'Strict', members: [{ value: ada }] })
    const id = String(g.id)
    expectScimError(await h.http.patch(`${SCIM}/Groups/${id}`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: '005Hu0000000ZZZIAY' }] }] }), 400, 'invalidValue')
    expectScimError(await h.http.patch(`${SCIM}/Groups/${id}`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: 'string id 1' }] }), 400, 'invalidValue')
    expectScimError(await h.http.patch(`${SCIM}/Groups/${id}`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }), 400, 'invalidPath')
    expectScimError(await h.http.patch(`${SCIM}/Groups/${id}`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'remove', path: 'displayName' }] }), 400, 'mutability')
    expectScimError(await h.http.patch(`${SCIM}/Groups/${id}`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [] }), 400, 'invalidValue')
    expectScimError(await h.http.patch(`${SCIM}/Groups/00GHu0000000ZZZMAY`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: ada }] }] }), 404)
    expect(groupMembers(h, id)).toEqual([ada])
    expect(group(id).Name).toBe('Strict')
  })
})

describe('PUT /Groups/{id}', () => {
  it('makes the member list exactly the one sent (replace mode), removing only what scimforce made', async () => {
    const u1 = seedUser(h)
    const u2 = seedUser(h)
    await patchGroup(h, salesTeam, [{ op: 'add', path: 'members', value: [{ value: u1 }] }])
    const res = await h.http.put(`${SCIM}/Groups/${salesTeam}`).set(auth).send({ displayName: 'Sales Team', members: [{ value: u2 }, { value: grace }] }).expect(200)
    // u1 (scimforce's) left; Ada (an admin's) stays although the list leaves her out.
    expect(groupMembers(h, salesTeam)).toEqual(sorted([ada, grace, u2]))
    expect(sorted((res.body.members as Rec[]).map((m) => String(m.value)))).toEqual(sorted([ada, grace, u2]))
  })

  it('takes WSO2\'s membership PUT (the full list, merge mode) and keeps members when a merge-mode PUT has none', async () => {
    const u1 = seedUser(h)
    const g = await createGroup(h, { schemas: [], displayName: 'PRIMARY/merge-team', members: [{ value: ada, display: 'ada.lovelace@scimforce.demo' }] }, basicAuth)
    const id = String(g.id)
    await h.http.put(`${SCIM}/Groups/${id}`).set(basicAuth).send({ schemas: [], displayName: 'PRIMARY/merge-team', members: [{ value: ada, display: 'x' }, { value: u1, display: usernameOf(h, u1) }] }).expect(200)
    expect(groupMembers(h, id)).toEqual(sorted([ada, u1]))
    await h.http.put(`${SCIM}/Groups/${id}`).set(basicAuth).send({ schemas: [], displayName: 'PRIMARY/merge-team' }).expect(200)
    expect(groupMembers(h, id)).toEqual(sorted([ada, u1]))
    // A Bearer (replace-mode) PUT without members empties the group (of what scimforce made).
    await h.http.put(`${SCIM}/Groups/${id}`).set(auth).send({ displayName: 'merge-team' }).expect(200)
    expect(groupMembers(h, id)).toEqual([])
  })
})

describe('DELETE /Groups/{id}', () => {
  it('deletes a group scimforce made, with its members; the id is 404 afterwards', async () => {
    const g = await createGroup(h, { displayName: 'Short Lived', members: [{ value: ada }] })
    const id = String(g.id)
    await h.http.delete(`${SCIM}/Groups/${id}`).set(auth).expect(204)
    expect(h.emulator.org.get('Group', id)).toBeUndefined()
    expect(groupMembers(h, id)).toEqual([])
    expectScimError(await h.http.get(`${SCIM}/Groups/${id}`).set(auth), 404)
    expectScimError(await h.http.delete(`${SCIM}/Groups/${id}`).set(auth), 404)
  })

  it('leaves a group an admin made (removing only scimforce\'s members), hides it, and links it again on POST', async () => {
    const u1 = seedUser(h)
    await patchGroup(h, salesTeam, [{ op: 'add', path: 'members', value: [{ value: u1 }] }])
    await h.http.delete(`${SCIM}/Groups/${salesTeam}`).set(auth).expect(204)
    expect(group(salesTeam)).toBeDefined()
    expect(groupMembers(h, salesTeam)).toEqual(sorted([ada, grace]))
    expectScimError(await h.http.get(`${SCIM}/Groups/${salesTeam}`).set(auth), 404)
    const list = await h.http.get(`${SCIM}/Groups`).query({ filter: 'displayName eq "Sales Team"' }).set(auth).expect(200)
    expect(list.body.totalResults).toBe(0)
    const again = await createGroup(h, { displayName: 'Sales Team', members: [{ value: u1 }] })
    expect(again.id).toBe(salesTeam)
    expect(groupMembers(h, salesTeam)).toEqual(sorted([ada, grace, u1]))
    await h.http.get(`${SCIM}/Groups/${salesTeam}`).set(auth).expect(200)
  })
})

describe('GET /Users/{id} groups', () => {
  it('lists the user\'s groups ({value, display, $ref}) in the same single API call, unless excluded', async () => {
    const g = await createGroup(h, { displayName: 'Grace Fans', members: [{ value: grace }] })
    const before = h.emulator.counters.snapshot().apiCalls
    const res = await h.http.get(`${SCIM}/Users/${grace}`).set(auth).expect(200)
    expect(h.emulator.counters.snapshot().apiCalls - before).toBe(1)
    expect(sorted((res.body.groups as Rec[]).map((x) => String(x.value)))).toEqual(sorted([salesTeam, String(g.id)]))
    expect(res.body.groups).toEqual(expect.arrayContaining([{ value: g.id, display: 'Grace Fans', $ref: expect.stringMatching(new RegExp(`/Groups/${String(g.id)}$`)), type: 'direct' }]))
    const lean = await h.http.get(`${SCIM}/Users/${grace}`).query({ excludedAttributes: 'groups' }).set(auth).expect(200)
    expect(lean.body.groups).toBeUndefined()
  })
})
