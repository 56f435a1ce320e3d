// The refresh guard (connection.ts): a fresh token that Salesforce keeps rejecting ends in an error, not an endless
// refresh-and-replay loop; sessions that are ended again and again, each new token working, never lock scimforce out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auth, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness
let id: string
beforeAll(async () => {
  h = await startHarness()
  const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'refresh@session.example', name: { familyName: 'Refresh' } })
  expect(res.status).toBe(201)
  id = String(res.body.id)
})
afterAll(async () => { await h.close() })

const tokens = (): number => h.emulator.counters.snapshot().tokenRequests

describe('Salesforce sessions that end', () => {
  it('survives six expiries in a row, one token request each, with concurrent requests every time', async () => {
    for (let e = 0; e < 6; e++) {
      const before = tokens()
      h.emulator.faults.expireSessions()
      const answers = await Promise.all(Array.from({ length: 6 }, async (_, i) => i % 2 === 0
        ? await h.http.get(`${SCIM}/Users/${id}`).set(auth)
        : await h.http.get(`${SCIM}/Users`).query({ filter: 'userName eq "refresh@session.example"' }).set(auth)))
      expect(answers.map((a) => a.status), `expiry ${e + 1}`).toEqual([200, 200, 200, 200, 200, 200])
      expect(tokens() - before, `expiry ${e + 1}`).toBe(1)
    }
  })

  it('gives up with a 503 after a few refreshes when every fresh token is refused, and recovers afterwards', async () => {
    const before = tokens()
    h.emulator.faults.failNext(50, { status: 401, errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' })
    const res = await h.http.get(`${SCIM}/Users/${id}`).set(auth)
    expect(res.status).toBe(503)
    expect(tokens() - before).toBeGreaterThan(0)
    expect(tokens() - before).toBeLessThanOrEqual(4)
    h.emulator.faults.reset()
    h.emulator.faults.expireSessions()
    // The guard counts fruitless refreshes in a 10 s window; once a token serves a request again it is forgotten.
    await expect.poll(async () => (await h.http.get(`${SCIM}/Users/${id}`).set(auth)).status, { timeout: 15_000, interval: 500 }).toBe(200)
  })
})
