// Writes whose outcome is unknown (issue 16), with SF_TIMEOUT_MS shorter than the emulated org's latency: a late
// PATCH never overwrites the 2xx that followed it, a timed-out POST retried as a plain POST is 201 with the same id,
// a 500 after the commit is not replayed, and a group whose create was dropped after the commit is deleted by its
// DELETE. Each test also checks that the fault really fired (a 503 first, the write landing late).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RetryPolicy } from '../../src/salesforce/gateway.js'
import { seedUser } from '../scim/groups-helpers.js'
import { scim, sleep, startReliabilityHarness, type ReliabilityHarness } from './harness.js'

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
/** SF_TIMEOUT_MS 600: 300 ms per HTTP request, the IdP answered within 600 ms. */
const TIMEOUT_MS = 600
/** The emulated org's latency during a slow spell: well past the timeout. */
const SLOW_MS = 1_200
/** A breaker that one slow spell does not open, so each test sees its own faults. */
const RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 10, maxDelayMs: 50, breaker: { consecutiveFailures: 50, minCalls: 100 } }

let h: ReliabilityHarness
let n = 0
beforeAll(async () => {
  h = await startReliabilityHarness({ seed: 16, retry: RETRY, timeoutMs: TIMEOUT_MS, emulator: { licenseTotals: { Salesforce: 1_000 } } })
})
afterAll(async () => { await h.close() })

const userBody = (userName: string): Record<string, unknown> => ({ userName, name: { givenName: 'Una', familyName: 'Known' }, emails: [{ value: userName, primary: true }] })
const sfUsers = (userName: string): Array<Record<string, unknown>> => h.emulator.org.filter('User', (r) => r.Username === userName)
const sfGroups = (name: string): Array<Record<string, unknown>> => h.emulator.org.filter('Group', (r) => r.Name === name)

/** Polls until `test` holds (the late write has reached the org), at most `ms`. */
async function until (test: () => boolean, ms = 5_000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (test()) return true
    await sleep(25)
  }
  return test()
}

/**
 * The IdP's answer to a request it retries while it is answered 503 (as every IdP does): what the tests judge is
 * the answer it ends with (never a 409 for its own user), not a 503 that a loaded machine's slowness may add.
 */
async function retried (send: () => ReturnType<typeof scim>): ReturnType<typeof scim> {
  for (let i = 0; ; i++) {
    const a = await send()
    if (a.status !== 503 || i >= 20) return a
    await sleep(100)
  }
}

async function createUser (): Promise<string> {
  const userName = `unknown${++n}.${Date.now().toString(36)}@pickup.example`
  const res = await retried(async () => await scim('POST', `${h.scim}/Users`, userBody(userName)))
  expect(res.status).toBe(201)
  return res.body?.id as string
}

const patchTitle = async (id: string, title: string): ReturnType<typeof scim> =>
  await scim('PATCH', `${h.scim}/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: title }] })

describe('writes with an unknown outcome', () => {
  it('PATCH A times out (503), PATCH B answers 200: after everything settles Salesforce and SCIM GET hold B', async () => {
    const id = await createUser()
    h.emulator.faults.set({ latencyMs: SLOW_MS })
    const a = await patchTitle(id, 'A')
    h.emulator.faults.set({ latencyMs: 0 })
    expect(a.status).toBe(503)
    // A is still in Salesforce's hands: it has not landed yet when B is sent.
    expect(h.emulator.org.get('User', id)?.Title).not.toBe('A')
    const b = await retried(async () => await patchTitle(id, 'B'))
    expect(b.status).toBe(200)
    expect(b.body?.title).toBe('B')
    await sleep(SLOW_MS)
    expect(h.emulator.org.get('User', id)?.Title).toBe('B')
    const got = await scim('GET', `${h.scim}/Users/${id}`)
    expect([got.status, got.body?.title]).toEqual([200, 'B'])
  })

  it('a GET sent while a timed-out PATCH is in flight answers what Salesforce will hold', async () => {
    const id = await createUser()
    h.emulator.faults.set({ latencyMs: SLOW_MS })
    const a = await patchTitle(id, 'Late')
    h.emulator.faults.set({ latencyMs: 0 })
    expect(a.status).toBe(503)
    const got = await retried(async () => await scim('GET', `${h.scim}/Users/${id}`))
    expect([got.status, got.body?.title]).toEqual([200, 'Late'])
  })

  it('a timed-out POST retried as a plain POST, after it landed or while it is in flight, answers 201 with the same id', async () => {
    for (const retrySooner of [false, true]) {
      const userName = `retry${++n}.${Date.now().toString(36)}@pickup.example`
      h.emulator.faults.set({ latencyMs: SLOW_MS })
      const first = await scim('POST', `${h.scim}/Users`, userBody(userName))
      h.emulator.faults.set({ latencyMs: 0 })
      expect(first.status).toBe(503)
      // The fault fired: the create had not landed when the IdP was answered.
      if (!retrySooner) expect(await until(() => sfUsers(userName).length === 1)).toBe(true)
      const second = await retried(async () => await scim('POST', `${h.scim}/Users`, userBody(userName)))
      expect(second.status, JSON.stringify(second.body)).toBe(201)
      const all = sfUsers(userName)
      expect(all).toHaveLength(1)
      expect(second.body?.id).toBe(all[0]?.Id)
    }
  })

  it('a userName / displayName look-up sent while a timed-out create is in flight waits for it: the IdP finds what it made', async () => {
    const userName = `lookup${++n}.${Date.now().toString(36)}@pickup.example`
    const name = `lookup${n}${Date.now().toString(36)}`
    const findUser = async (): ReturnType<typeof scim> => await scim('GET', `${h.scim}/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)
    const findGroup = async (): ReturnType<typeof scim> => await scim('GET', `${h.scim}/Groups?filter=${encodeURIComponent(`displayName eq "${name}" and displayName pr`)}`)
    for (const [create, find, landed] of [
      [async () => await scim('POST', `${h.scim}/Users`, userBody(userName)), findUser, () => sfUsers(userName)],
      [async () => await scim('POST', `${h.scim}/Groups`, { displayName: name }), findGroup, () => sfGroups(name)],
    ] as const) {
      h.emulator.faults.set({ latencyMs: SLOW_MS })
      const first = await create()
      h.emulator.faults.set({ latencyMs: 0 })
      expect(first.status).toBe(503)
      // The fault fired: when the IdP looks up the name, Salesforce has not created it yet.
      expect(landed()).toHaveLength(0)
      const found = await retried(find)
      expect(found.status).toBe(200)
      expect(found.body?.totalResults, 'an empty answer would make the IdP POST again').toBe(1)
      expect((found.body?.Resources as Array<{ id: string }>)[0]?.id).toBe(landed()[0]?.Id)
      expect(landed()).toHaveLength(1)
    }
  })

  it('a create answered 500 after Salesforce committed is not replayed: 201 with the one user it made', async () => {
    const userName = `after500.${Date.now().toString(36)}@pickup.example`
    h.emulator.faults.failNext(1, { errorAfterCommit: 500 }, { method: 'POST', pathIncludes: '/composite' })
    const res = await scim('POST', `${h.scim}/Users`, userBody(userName))
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(sfUsers(userName)).toHaveLength(1)
    expect(res.body?.id).toBe(sfUsers(userName)[0]?.Id)
    expect(h.emulator.counters.snapshot().byStatus['500'] ?? 0).toBeGreaterThan(0)
  })

  it('never adopts a user an admin made: a POST of that userName stays 409', async () => {
    const userName = `admin${++n}.${Date.now().toString(36)}@pickup.example`
    seedUser(h, `adm${n}`, { Username: userName, Email: userName, LastName: 'Admin' })
    for (let i = 0; i < 2; i++) expect((await scim('POST', `${h.scim}/Users`, userBody(userName))).status).toBe(409)
  })

  it('a group whose create was dropped after the commit is recorded as created on retry, and its DELETE removes it', async () => {
    const name = `drop${++n}${Date.now().toString(36)}`
    h.emulator.faults.failNext(1, 'dropAfterCommit', { method: 'POST', pathIncludes: '/composite' })
    const g1 = await scim('POST', `${h.scim}/Groups`, { displayName: name })
    expect(g1.status).toBe(503)
    expect(sfGroups(name)).toHaveLength(1)
    const g2 = await retried(async () => await scim('POST', `${h.scim}/Groups`, { displayName: name }))
    expect(g2.status, JSON.stringify(g2.body)).toBe(201)
    expect(g2.body?.id).toBe(sfGroups(name)[0]?.Id)
    expect(await h.store.isGroupCreated(g2.body?.id as string)).toBe(true)
    expect((await scim('DELETE', `${h.scim}/Groups/${String(g2.body?.id)}`)).status).toBe(204)
    expect(sfGroups(name)).toHaveLength(0)
  })

  it('a dropped group create that the IdP finds by name instead of re-POSTing is still deleted by its DELETE', async () => {
    const name = `found${++n}${Date.now().toString(36)}`
    h.emulator.faults.failNext(1, 'dropAfterCommit', { method: 'POST', pathIncludes: '/composite' })
    expect((await scim('POST', `${h.scim}/Groups`, { displayName: name })).status).toBe(503)
    const found = await scim('GET', `${h.scim}/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}`)
    const id = (found.body?.Resources as Array<{ id: string }>)[0]?.id
    expect(id).toBe(sfGroups(name)[0]?.Id)
    expect((await scim('DELETE', `${h.scim}/Groups/${String(id)}`)).status).toBe(204)
    expect(sfGroups(name)).toHaveLength(0)
  })

  it('a dropped group create that the IdP finds by name and then changes is scimforce\'s own: its members can be managed', async () => {
    const name = `manage${++n}${Date.now().toString(36)}`
    const first = await createUser()
    const second = await createUser()
    h.emulator.faults.failNext(1, 'dropAfterCommit', { method: 'POST', pathIncludes: '/composite' })
    expect((await scim('POST', `${h.scim}/Groups`, { displayName: name })).status).toBe(503)
    const found = await scim('GET', `${h.scim}/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}`)
    const id = String((found.body?.Resources as Array<{ id: string }>)[0]?.id)
    expect(id).toBe(sfGroups(name)[0]?.Id)
    const rows = (): string[] => h.emulator.org.filter('GroupMember', (r) => r.GroupId === id).map((r) => String(r.UserOrGroupId)).sort()
    const patch = async (ops: unknown[]): ReturnType<typeof scim> => await scim('PATCH', `${h.scim}/Groups/${id}`, { schemas: [PATCH_OP], Operations: ops })
    expect((await patch([{ op: 'add', path: 'members', value: [{ value: first }] }])).status).toBeLessThan(300)
    expect((await patch([{ op: 'add', path: 'members', value: [{ value: second }] }])).status).toBeLessThan(300)
    expect((await patch([{ op: 'remove', path: `members[value eq "${first}"]` }])).status).toBeLessThan(300)
    expect(rows()).toEqual([second])
    expect(await h.store.isGroupCreated(id)).toBe(true)
    expect((await h.store.membersOf(id)).sort()).toEqual([second])
  })

  it('a member removal whose connection dropped keeps the ownership mark, so the IdP\'s retry still removes the row', async () => {
    const name = `rm${++n}${Date.now().toString(36)}`
    const member = await createUser()
    const g = await scim('POST', `${h.scim}/Groups`, { displayName: name, members: [{ value: member }] })
    expect(g.status).toBe(201)
    const gid = String(g.body?.id)
    const rows = (): unknown[] => h.emulator.org.filter('GroupMember', (r) => r.GroupId === gid)
    expect(rows()).toHaveLength(1)
    const remove = { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${member}"]` }] }
    // The read goes through, the write's connection is dropped before Salesforce applies it.
    h.emulator.faults.failNext(1, 'dropConnection', { method: 'POST', pathIncludes: '/composite', nth: 2 })
    expect((await scim('PATCH', `${h.scim}/Groups/${gid}`, remove)).status).toBe(503)
    expect(rows()).toHaveLength(1)
    expect(await h.store.membersOf(gid)).toEqual([member])
    const again = await scim('PATCH', `${h.scim}/Groups/${gid}`, remove)
    expect(again.status).toBeLessThan(300)
    expect(rows()).toHaveLength(0)
    expect(await h.store.membersOf(gid)).toEqual([])
  })
})
