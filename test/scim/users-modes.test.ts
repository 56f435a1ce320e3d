// Configuration-dependent behaviour of the Users path: username suffix, delete modes, adopt, sorting.
import { afterEach, describe, expect, it } from 'vitest'
import { auth, expectScimError, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness | undefined
afterEach(async () => { await h?.close(); h = undefined })

type Rec = Record<string, unknown>
const patchOp = (Operations: unknown[]): Rec => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations })

describe('username suffix (sandboxes)', () => {
  it('appends the suffix in Salesforce and strips it in SCIM, in writes, reads and filters', async () => {
    h = await startHarness({ users: { usernameSuffix: '.uat' } })
    const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'ana@pickup.example', name: { familyName: 'Ana' } }).expect(201)
    expect(res.body.userName).toBe('ana@pickup.example')
    expect((h.emulator.org.get('User', res.body.id as string) as Rec).Username).toBe('ana@pickup.example.uat')
    // Email falls back to the userName without the suffix: it has to reach a real mailbox.
    expect((h.emulator.org.get('User', res.body.id as string) as Rec).Email).toBe('ana@pickup.example')
    const found = await h.http.get(`${SCIM}/Users`).query({ filter: 'userName eq "ana@pickup.example"' }).set(auth).expect(200)
    expect(found.body.totalResults).toBe(1)
    expect(found.body.Resources[0].userName).toBe('ana@pickup.example')
  })
})

describe('delete modes', () => {
  it('freeze: deactivates and freezes the UserLogin in the same call', async () => {
    h = await startHarness({ users: { deleteMode: 'freeze' } })
    const u = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'fred@pickup.example', name: { familyName: 'Fred' } }).expect(201)
    const before = h.emulator.counters.snapshot().apiCalls
    await h.http.delete(`${SCIM}/Users/${String(u.body.id)}`).set(auth).expect(204)
    expect(h.emulator.counters.snapshot().apiCalls - before).toBe(1)
    const login = h.emulator.org.query(`SELECT IsFrozen FROM UserLogin WHERE UserId = '${String(u.body.id)}'`) as unknown as Rec[]
    expect(login[0]?.IsFrozen).toBe(true)
    expect((h.emulator.org.get('User', u.body.id as string) as Rec).IsActive).toBe(false)
  })

  it('rename: frees the username for reuse, so a later POST creates a new user', async () => {
    h = await startHarness({ users: { deleteMode: 'rename' } })
    const u = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'rita@pickup.example', name: { familyName: 'Rita' } }).expect(201)
    await h.http.delete(`${SCIM}/Users/${String(u.body.id)}`).set(auth).expect(204)
    const renamed = (h.emulator.org.get('User', u.body.id as string) as Rec).Username as string
    expect(renamed).toMatch(/^deleted\.[0-9a-z]+\.rita@pickup\.example$/)
    const again = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'rita@pickup.example', name: { familyName: 'Rita' } }).expect(201)
    expect(again.body.id).not.toBe(u.body.id)
  })
})

describe('active conflicts', () => {
  it('adopt: a POST for an active user the IdP does not know takes it over (201, same id)', async () => {
    h = await startHarness({ users: { onActiveConflict: 'adopt' } })
    const first = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'owen@pickup.example', name: { familyName: 'Owen' } }).expect(201)
    const second = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'owen@pickup.example', name: { familyName: 'Owens' }, title: 'Lead' }).expect(201)
    expect(second.body.id).toBe(first.body.id)
    expect(h.emulator.org.get('User', first.body.id as string)).toMatchObject({ LastName: 'Owens', Title: 'Lead' })
  })
})

describe('sorting', () => {
  it('sorts by a mapped attribute in both directions and refuses unknown sort keys', async () => {
    h = await startHarness()
    for (const [n, t] of [['c', 'Zed'], ['a', 'Alpha'], ['b', 'Mid']]) {
      await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: `${String(n)}@sort.example`, name: { familyName: String(n) }, title: t }).expect(201)
    }
    const asc = await h.http.get(`${SCIM}/Users`).query({ filter: 'userName ew "@sort.example"', sortBy: 'title' }).set(auth).expect(200)
    expect((asc.body.Resources as Rec[]).map((r) => r.title)).toEqual(['Alpha', 'Mid', 'Zed'])
    const desc = await h.http.get(`${SCIM}/Users`).query({ filter: 'userName ew "@sort.example"', sortBy: 'userName', sortOrder: 'descending' }).set(auth).expect(200)
    expect((desc.body.Resources as Rec[]).map((r) => r.userName)).toEqual(['c@sort.example', 'b@sort.example', 'a@sort.example'])
    expectScimError(await h.http.get(`${SCIM}/Users`).query({ sortBy: 'password' }).set(auth), 400, 'invalidValue')
  })
})

describe('honest failures', () => {
  it('an outage is a 503 with Retry-After, never a 404, and creates nothing', async () => {
    h = await startHarness()
    const before = h.emulator.org.count('User')
    h.emulator.faults.failNext(5, 'serverUnavailable', { method: 'POST' })
    const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'out@pickup.example', name: { familyName: 'Out' } })
    expectScimError(res, 503)
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
    expect(h.emulator.org.count('User')).toBe(before)
  })

  it('a lock error is retried and then succeeds', async () => {
    h = await startHarness()
    const u = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'lock@pickup.example', name: { familyName: 'Lock' } }).expect(201)
    h.emulator.faults.failNext(1, 'unableToLockRow', { method: 'POST', pathIncludes: 'composite' })
    const res = await h.http.patch(`${SCIM}/Users/${String(u.body.id)}`).set(auth).send(patchOp([{ op: 'replace', path: 'title', value: 'Locked' }]))
    expect(res.status).toBe(200)
    expect((h.emulator.org.get('User', u.body.id as string) as Rec).Title).toBe('Locked')
  })

  it('a spent daily API limit is a 429 with Retry-After, reads included, never a 404', async () => {
    h = await startHarness()
    const u = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'lim@pickup.example', name: { familyName: 'Lim' } }).expect(201)
    h.emulator.faults.exhaustDailyLimit()
    const get = await h.http.get(`${SCIM}/Users/${String(u.body.id)}`).set(auth)
    expectScimError(get, 429)
    expect(get.headers['retry-after']).toBeDefined()
    expectScimError(await h.http.get(`${SCIM}/Users`).query({ filter: 'userName eq "lim@pickup.example"' }).set(auth), 429)
    expectScimError(await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'lim2@pickup.example', name: { familyName: 'Lim' } }), 429)
  })

  it('a create whose connection drops after the commit answers with the user, without a duplicate', async () => {
    h = await startHarness()
    h.emulator.faults.failNext(1, 'dropAfterCommit', { method: 'POST', pathIncludes: 'composite' })
    const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'drop@pickup.example', name: { familyName: 'Drop' } })
    expect(res.status).toBe(201)
    const rows = h.emulator.org.query("SELECT Id FROM User WHERE Username = 'drop@pickup.example'") as unknown as Rec[]
    expect(rows).toHaveLength(1)
    expect(res.body.id).toBe(rows[0]?.Id)
  })

  it('bad Salesforce credentials are a 503 whose body does not say why', async () => {
    h = await startHarness({ config: (c) => ({ ...c, salesforce: { ...c.salesforce, clientSecret: 'not-the-secret' } }) })
    const res = await h.http.get(`${SCIM}/Users`).set(auth)
    expectScimError(res, 503)
    expect(JSON.stringify(res.body)).not.toMatch(/secret|invalid_client|integration@/)
  })
})
