// The cost promise: one Salesforce API call per SCIM operation on the common path, tokens amortised.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auth, basicAuth, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

async function calls (fn: () => Promise<unknown>): Promise<{ api: number, token: number }> {
  const before = h.emulator.counters.snapshot()
  await fn()
  const after = h.emulator.counters.snapshot()
  return { api: after.apiCalls - before.apiCalls, token: after.tokenRequests - before.tokenRequests }
}

describe('Salesforce API calls per SCIM operation', () => {
  it('costs one call for POST, GET by id, filtered lookup, PUT, PATCH and DELETE, and no token per operation', async () => {
    // The first request obtains the token; it is the only token request of the run.
    await h.http.get(`${SCIM}/Users`).query({ count: 1 }).set(auth).expect(200)
    const tokensAtStart = h.emulator.counters.snapshot().tokenRequests
    expect(tokensAtStart).toBe(1)

    let id = ''
    expect(await calls(async () => {
      const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'cost@pickup.example', name: { givenName: 'Cost', familyName: 'Counter' } }).expect(201)
      id = res.body.id as string
    })).toEqual({ api: 1, token: 0 })
    expect(await calls(async () => { await h.http.get(`${SCIM}/Users/${id}`).set(auth).expect(200) })).toEqual({ api: 1, token: 0 })
    expect(await calls(async () => {
      await h.http.get(`${SCIM}/Users`).query('filter=userName%20Eq%20cost@pickup.example&startIndex=1&count=1').set(basicAuth).expect(200)
    })).toEqual({ api: 1, token: 0 })
    expect(await calls(async () => {
      await h.http.put(`${SCIM}/Users/${id}`).set(basicAuth).send({ schemas: [], userName: 'cost@pickup.example', title: 'Auditor' }).expect(200)
    })).toEqual({ api: 1, token: 0 })
    expect(await calls(async () => {
      await h.http.patch(`${SCIM}/Users/${id}`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Lead Auditor' }] }).expect(200)
    })).toEqual({ api: 1, token: 0 })
    expect(await calls(async () => { await h.http.delete(`${SCIM}/Users/${id}`).set(auth).expect(204) })).toEqual({ api: 1, token: 0 })
    // After DELETE the tombstone answers without asking Salesforce for writes.
    expect(await calls(async () => { await h.http.delete(`${SCIM}/Users/${id}`).set(auth).expect(404) })).toEqual({ api: 0, token: 0 })
    expect(h.emulator.counters.snapshot().tokenRequests).toBe(1)
  })

  it('refreshes an expired session once and goes on, without a second token per operation', async () => {
    const before = h.emulator.counters.snapshot().tokenRequests
    h.emulator.faults.expireSessions()
    await h.http.get(`${SCIM}/Users`).query({ count: 1 }).set(auth).expect(200)
    await h.http.get(`${SCIM}/Users`).query({ count: 1 }).set(auth).expect(200)
    expect(h.emulator.counters.snapshot().tokenRequests - before).toBe(1)
  })
})
