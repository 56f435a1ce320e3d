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
    expect(res.totalSize).toBe(6)
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
    expect(q.json).toEqual({ totalSize: 1, records: [{ attributes: { type: 'AggregateResult' }, n: 6 }] })
  })
})

/** Polls until check() holds (or fails the test after `ms`). */
async function until (check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time')
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

describe('errors after the commit (issue 16)', () => {
  const usersNamed = (user: Record<string, unknown>): number => s.em.org.query(`SELECT Id FROM User WHERE Username = '${user.Username as string}'`).length

  it('answer 502 from the gateway after the record exists', async () => {
    const user = newUser(s.em)
    s.em.faults.failNext(1, { errorAfterCommit: 502 }, { method: 'POST' })
    const res = await s.call('POST', `${DATA}/sobjects/User`, { body: user })
    expect(res.status).toBe(502)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(res.text).toContain('502 Bad Gateway')
    expect(usersNamed(user)).toBe(1)
    // jsforce reports it by status, with nothing that says the user was created.
    const conn = await s.connect()
    s.em.faults.failNext(1, { errorAfterCommit: 504 }, { method: 'POST' })
    const again = newUser(s.em)
    const err = await caught(() => conn.sobject('User').create(again))
    expect(err.name).toBe('ERROR_HTTP_504')
    expect(usersNamed(again)).toBe(1)
  })

  it('answer 500 UNKNOWN_EXCEPTION after an update was applied, and after a whole composite committed', async () => {
    const ada = s.em.seed.users['ada.lovelace@scimforce.demo'] as string
    s.em.faults.failNext(1, { errorAfterCommit: 500 }, { method: 'PATCH' })
    const res = await s.call('PATCH', `${DATA}/sobjects/User/${ada}`, { body: { Title: 'Applied anyway' } })
    expect([res.status, errorCode(res.json)]).toEqual([500, 'UNKNOWN_EXCEPTION'])
    expect(res.headers.get('sforce-limit-info')).toMatch(/^api-usage=/)
    expect(s.em.org.get('User', ada)?.Title).toBe('Applied anyway')

    s.em.faults.failNext(1, { errorAfterCommit: 502 }, { pathIncludes: '/composite' })
    const composite = await s.call('POST', `${DATA}/composite`, {
      body: { allOrNone: true, compositeRequest: [{ method: 'POST', url: `${DATA}/sobjects/Group`, referenceId: 'g', body: { Name: 'Orphan Candidate' } }] },
    })
    expect(composite.status).toBe(502)
    expect(s.em.org.query('SELECT Id FROM Group WHERE Name = \'Orphan Candidate\'')).toHaveLength(1)
  })

  it('come as a random rate with one of 500, 502 or 504', async () => {
    s.em.faults.set({ rates: { errorAfterCommit: 1 } })
    // Per call: the rate, then the status; the 500 draws two more for its ErrorId.
    const draws = [0.5, 0.9, 0.5, 0.1, 0.3, 0.3, 0.5, 0.5]
    s.em.faults.random = () => draws.shift() ?? 0.9
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await s.call('POST', `${DATA}/sobjects/Group`, { body: { Name: `Rate ${i}` } })).status)
    expect(statuses).toEqual([504, 500, 502])
    expect(s.em.org.query('SELECT Id FROM Group WHERE Name LIKE \'Rate %\'')).toHaveLength(3)
  })

  it('refuse a status other than 500, 502 or 504', () => {
    expect(() => s.em.faults.failNext(1, { errorAfterCommit: 503 as 500 })).toThrow(RangeError)
    expect(() => s.em.faults.failNext(1, { latencyMs: -1 })).toThrow(RangeError)
    expect(() => s.em.faults.failNext(1, {} as { latencyMs: number })).toThrow(RangeError)
  })
})

describe('latency after the commit and long tails (issue 16)', () => {
  it('hold the answer after the commit: the record is in the org while the client still waits', async () => {
    const user = newUser(s.em)
    s.em.faults.failNext(1, { latencyAfterCommitMs: 400 }, { method: 'POST' })
    let answered = false
    const pending = s.call('POST', `${DATA}/sobjects/User`, { body: user }).then(res => { answered = true; return res })
    await until(() => s.em.org.query(`SELECT Id FROM User WHERE Username = '${user.Username as string}'`).length === 1)
    expect(answered).toBe(false)
    const res = await pending
    expect(res.status).toBe(201)
  })

  it('let a client that gives up before the commit see the write land later', async () => {
    const user = newUser(s.em)
    const token = await s.token()
    s.em.faults.failNext(1, { latencyMs: 300 }, { method: 'POST' })
    const started = Date.now()
    await expect(fetch(`${s.url}${DATA}/sobjects/User`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(user),
      signal: AbortSignal.timeout(100),
    })).rejects.toThrow()
    const named = (): number => s.em.org.query(`SELECT Id FROM User WHERE Username = '${user.Username as string}'`).length
    // Timed out and nothing written yet ...
    expect(named()).toBe(0)
    // ... then it commits anyway, about when the delay ends.
    await until(() => named() === 1)
    expect(Date.now() - started).toBeGreaterThanOrEqual(280)
  })

  it('is a setting of its own beside latencyMs, in the options, set() and the control API, and reset() restores it', async () => {
    const slow = await start({ latencyAfterCommitMs: 120 })
    try {
      expect(slow.em.faults.get()).toMatchObject({ latencyMs: 0, latencyAfterCommitMs: 120 })
      await slow.token()
      const t0 = Date.now()
      await slow.call('GET', `${DATA}/limits`)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(115)
      slow.em.faults.set({ latencyAfterCommitMs: 0 })
      slow.em.faults.reset()
      expect(slow.em.faults.get().latencyAfterCommitMs).toBe(120)
    } finally {
      await slow.em.close()
    }
    const put = await s.call('PUT', '/__emulator/faults', { auth: false, body: { latencyAfterCommitMs: 7, longTail: { rate: 0.25, ms: 50 } } })
    expect(put.json).toMatchObject({ latencyMs: 0, latencyAfterCommitMs: 7, longTail: { rate: 0.25, ms: 50, afterCommit: false } })
    expect((await s.call('PUT', '/__emulator/faults', { auth: false, body: { latencyAfterCommitMs: -3 } })).status).toBe(400)
    expect((await s.call('PUT', '/__emulator/faults', { auth: false, body: { longTail: { rate: 2 } } })).status).toBe(400)
    // A rejected change changes nothing.
    expect((await s.call('PUT', '/__emulator/faults', { auth: false, body: { latencyMs: 9, longTail: { nope: 1 } } })).status).toBe(400)
    expect(s.em.faults.get()).toMatchObject({ latencyMs: 0, latencyAfterCommitMs: 7 })
  })

  it('make a fraction of calls much slower, before or after the commit', async () => {
    await s.token()
    s.em.faults.set({ longTail: { rate: 0.5, ms: 300 } })
    const draws = [0.9, 0.1]
    s.em.faults.random = () => draws.shift() ?? 0.9
    const timed = async (): Promise<number> => {
      const t0 = Date.now()
      await s.call('GET', `${DATA}/limits`)
      return Date.now() - t0
    }
    const fast = await timed()
    const slow = await timed()
    expect(fast).toBeLessThan(250)
    expect(slow).toBeGreaterThanOrEqual(290)

    // After the commit: the group exists while the answer is still held.
    s.em.faults.set({ longTail: { rate: 1, ms: 400, afterCommit: true } })
    s.em.faults.random = () => 0
    let answered = false
    const pending = s.call('POST', `${DATA}/sobjects/Group`, { body: { Name: 'Slow Tail' } }).then(res => { answered = true; return res })
    await until(() => s.em.org.query('SELECT Id FROM Group WHERE Name = \'Slow Tail\'').length === 1)
    expect(answered).toBe(false)
    expect((await pending).status).toBe(201)
  })
})

describe('failNext on the n-th matching call', () => {
  it('lets the calls before it pass and fails from the n-th on', async () => {
    s.em.faults.failNext(2, 'serverUnavailable', { method: 'POST', pathIncludes: '/sobjects/Group', nth: 3 })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) {
      // GETs in between do not match, so they do not count.
      await s.call('GET', `${DATA}/limits`)
      statuses.push((await s.call('POST', `${DATA}/sobjects/Group`, { body: { Name: `Nth ${i}` } })).status)
    }
    expect(statuses).toEqual([201, 201, 503, 503, 201])
    expect(s.em.org.query('SELECT Name FROM Group WHERE Name LIKE \'Nth %\' ORDER BY Name').map(r => r.Name)).toEqual(['Nth 0', 'Nth 1', 'Nth 4'])
  })

  it('counts every matching call, even one another one-shot fails, and works through the control API', async () => {
    s.em.faults.failNext(1, 'unknownException', { pathIncludes: '/limits' })
    expect((await s.call('POST', '/__emulator/faults/fail-next', { auth: false, body: { count: 1, fault: { errorAfterCommit: 502 }, match: { pathIncludes: '/limits', nth: 2 } } })).status).toBe(204)
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(500)
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(502)
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(200)
    expect((await s.call('POST', '/__emulator/faults/fail-next', { auth: false, body: { fault: 'serverUnavailable', match: { nth: 0 } } })).status).toBe(400)
  })
})
