import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { DATA, caught, newUser, start, type Started } from './helpers.js'

let s: Started
beforeEach(async () => { s = await start() })
afterEach(async () => { await s.em.close() })

function errorCode (json: unknown): string | undefined {
  return (json as Array<{ errorCode: string }>)[0]?.errorCode
}

describe('one-shot faults', () => {
  it('fail the next matching calls before touching the org', async () => {
    const before = s.em.org.count('User')
    s.em.faults.failNext(1, 'serverUnavailable', { method: 'POST', pathIncludes: '/sobjects/User' })
    const res = await s.call('POST', `${DATA}/sobjects/User`, { body: newUser(s.em) })
    expect(res.status).toBe(503)
    expect(errorCode(res.json)).toBe('SERVER_UNAVAILABLE')
    expect(res.headers.get('sforce-limit-info')).toMatch(/^api-usage=/)
    expect(s.em.org.count('User')).toBe(before)
    // Consumed: the next call succeeds.
    expect((await s.call('POST', `${DATA}/sobjects/User`, { body: newUser(s.em) })).status).toBe(201)
  })

  it('only match the method and path given', async () => {
    s.em.faults.failNext(1, 'unknownException', { method: 'PATCH' })
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(200)
    const res = await s.call('PATCH', `${DATA}/sobjects/User/${s.em.seed.users['ada.lovelace@scimforce.demo'] as string}`, { body: { Title: 'x' } })
    expect(res.status).toBe(500)
    expect(errorCode(res.json)).toBe('UNKNOWN_EXCEPTION')
    expect((res.json as Array<{ message: string }>)[0]?.message).toMatch(/^An unexpected error occurred\. Please include this ErrorId if you contact support: \d+-\d+ \(-\d+\)$/)
    expect(s.em.org.get('User', s.em.seed.users['ada.lovelace@scimforce.demo'] as string)?.Title).toBe('Account Executive')
  })

  it('UNABLE_TO_LOCK_ROW names the record, and jsforce surfaces it on writes', async () => {
    const conn = await s.connect()
    const ada = s.em.seed.users['ada.lovelace@scimforce.demo'] as string
    s.em.faults.failNext(1, 'unableToLockRow')
    const err = await caught(() => conn.sobject('User').update({ Id: ada, Title: 'x' }))
    expect(err.name).toBe('UNABLE_TO_LOCK_ROW')
    expect(err.message).toBe(`unable to obtain exclusive access to this record or 1 records: ${ada}`)
  })

  it('requestLimit and custom faults', async () => {
    s.em.faults.failNext(1, 'requestLimit')
    const limited = await s.call('GET', `${DATA}/limits`)
    expect([limited.status, limited.json]).toEqual([403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]])
    s.em.faults.failNext(2, { status: 409, errorCode: 'CUSTOM_CODE', message: 'made up' })
    expect((await s.call('GET', `${DATA}/limits`)).json).toEqual([{ message: 'made up', errorCode: 'CUSTOM_CODE' }])
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(409)
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(200)
  })

  it('jsforce retries a 503 on GET by itself, not on POST', async () => {
    const conn = await s.connect()
    s.em.faults.failNext(1, 'serverUnavailable', { method: 'GET' })
    const res = await conn.query('SELECT COUNT() FROM User')
    expect(res.totalSize).toBe(5)
    expect(s.em.counters.snapshot().byStatus['503']).toBe(1)
    s.em.faults.failNext(1, 'serverUnavailable', { method: 'POST' })
    expect((await caught(() => conn.sobject('Group').create({ Name: 'Nope' }))).name).toBe('SERVER_UNAVAILABLE')
  })

  it('dropConnection drops the socket without applying the write', async () => {
    const user = newUser(s.em)
    s.em.faults.failNext(1, 'dropConnection', { method: 'POST' })
    await expect(s.call('POST', `${DATA}/sobjects/User`, { body: user })).rejects.toThrow()
    expect(s.em.org.query(`SELECT Id FROM User WHERE Username = '${user.Username as string}'`)).toEqual([])
  })

  it('dropAfterCommit drops the socket after the write happened', async () => {
    const conn = await s.connect()
    const user = newUser(s.em)
    s.em.faults.failNext(1, 'dropAfterCommit', { method: 'POST' })
    const err = await caught(() => conn.sobject('User').create(user))
    expect(err.message).toMatch(/socket hang up|ECONNRESET|terminated/i)
    expect(s.em.org.query(`SELECT Id FROM User WHERE Username = '${user.Username as string}'`)).toHaveLength(1)
  })
})

describe('random rates, latency, the daily limit and reset', () => {
  it('apply error rates with an injectable RNG', async () => {
    s.em.faults.set({ rates: { serverUnavailable: 0.5 } })
    const draws = [0.9, 0.1]
    s.em.faults.random = () => draws.shift() ?? 0.9
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(200)
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(503)
    expect(s.em.faults.get().rates.serverUnavailable).toBe(0.5)
    expect(() => s.em.faults.set({ rates: { serverUnavailable: 2 } })).toThrow(RangeError)
  })

  it('add latency to REST and token responses', async () => {
    s.em.faults.set({ latencyMs: 150 })
    const t0 = Date.now()
    await s.token()
    await s.call('GET', `${DATA}/limits`)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290)
    s.em.faults.reset()
    expect(s.em.faults.get().latencyMs).toBe(0)
  })

  it('stop at the daily API limit with 403 REQUEST_LIMIT_EXCEEDED', async () => {
    const small = await start({ dailyApiLimit: 3 })
    try {
      const conn = await small.connect()
      for (let i = 0; i < 3; i++) expect((await small.call('GET', `${DATA}/limits`)).status).toBe(200)
      const res = await small.call('GET', `${DATA}/limits`)
      expect(res.status).toBe(403)
      expect(res.json).toEqual([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }])
      expect(res.headers.get('sforce-limit-info')).toBe('api-usage=3/3')
      expect((await caught(() => conn.query('SELECT Id FROM User'))).name).toBe('REQUEST_LIMIT_EXCEEDED')
      // Token requests still work: they do not count.
      expect(await small.token()).toMatch(/!/)
    } finally {
      await small.em.close()
    }
  })

  it('exhaustDailyLimit lasts until reset()', async () => {
    s.em.faults.exhaustDailyLimit()
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(403)
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(403)
    s.em.faults.failNext(5, 'serverUnavailable')
    s.em.faults.reset()
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(200)
  })
})

describe('the admin HTTP API', () => {
  it('sets and reads faults, expires sessions, reads and resets counters', async () => {
    const put = await s.call('PUT', '/__emulator/faults', { auth: false, body: { latencyMs: 5, rates: { unableToLockRow: 0.25 } } })
    expect(put.json).toMatchObject({ latencyMs: 5, rates: { unableToLockRow: 0.25, serverUnavailable: 0 } })
    expect((await s.call('PUT', '/__emulator/faults', { auth: false, body: { rates: { nope: 1 } } })).status).toBe(400)
    expect((await s.call('POST', '/__emulator/faults/reset', { auth: false })).status).toBe(204)
    expect((await s.call('GET', '/__emulator/faults', { auth: false })).json).toMatchObject({ latencyMs: 0, dailyLimitExhausted: false })

    expect((await s.call('POST', '/__emulator/faults/fail-next', { auth: false, body: { count: 1, fault: 'unknownException', match: { pathIncludes: '/limits' } } })).status).toBe(204)
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(500)

    const token = await s.token()
    expect((await s.call('POST', '/__emulator/sessions/expire', { auth: false })).status).toBe(204)
    expect((await s.call('GET', `${DATA}/limits`, { auth: token })).status).toBe(401)

    expect((await s.call('POST', '/__emulator/faults/exhaust-daily-limit', { auth: false })).status).toBe(204)
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(403)
    await s.call('POST', '/__emulator/faults/reset', { auth: false })

    const counters = await s.call('GET', '/__emulator/counters', { auth: false })
    // The 500 counted; the 401s (ours, then the helper's cached token) and the 403 were refused before
    // counting but show in byStatus.
    expect(counters.json).toMatchObject({ apiCalls: 1, byEndpoint: { limits: 1 }, byStatus: { 500: 1, 401: 2, 403: 1 } })
    expect((await s.call('POST', '/__emulator/counters/reset', { auth: false })).status).toBe(204)
    expect((await s.call('GET', '/__emulator/counters', { auth: false })).json).toMatchObject({ apiCalls: 0, tokenRequests: 0 })
    const seed = await s.call('GET', '/__emulator/seed', { auth: false })
    expect((seed.json as { profiles: Record<string, string> }).profiles['Standard User']).toBe(s.em.seed.profiles['Standard User'])
    const q = await s.call('GET', `/__emulator/query?q=${encodeURIComponent('SELECT COUNT(Id) n FROM User')}`, { auth: false })
    expect(q.json).toEqual({ totalSize: 1, records: [{ attributes: { type: 'AggregateResult' }, n: 5 }] })
  })
})
