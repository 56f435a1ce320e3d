// The gateway's retry policy on a virtual clock: what is retried and what never is, exponential backoff with
// jitter, the time budget and per-attempt timeouts, and the circuit breaker wired in. No real waiting.
import { describe, expect, it } from 'vitest'
import { SalesforceError } from '../../src/salesforce/errors.js'
import { CIRCUIT_OPEN, createGateway, DEFAULT_RETRY, type RetryPolicy } from '../../src/salesforce/gateway.js'
import { normalizeSalesforceId } from '../../src/salesforce/ids.js'
import type { Soql } from '../../src/salesforce/soql.js'
import { FakeClock, fakeSession, quietLog, type Step } from '../reliability/fakes.js'

const Q = 'SELECT Id FROM User' as Soql
const EMPTY = { ok: { totalSize: 0, done: true, records: [] } }
const UNAVAILABLE: Step = { errorCode: 'SERVER_UNAVAILABLE' }

function setup (script: Step[], policy: RetryPolicy = DEFAULT_RETRY, timeoutMs = 5_000) {
  const clock = new FakeClock()
  const fake = fakeSession(clock, script, timeoutMs)
  const gateway = createGateway(fake.session, policy, undefined, clock)
  return { clock, fake, gateway }
}

async function failure (p: Promise<unknown>): Promise<SalesforceError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(SalesforceError)
    return err as SalesforceError
  }
  throw new Error('expected a failure')
}

const createUser = [{ method: 'POST' as const, url: '/sobjects/User', referenceId: 'newUser', body: {} }]
const updateUser = [{ method: 'PATCH' as const, url: '/sobjects/User/005000000000001AAA', referenceId: 'update', body: {} }]
/** Salesforce's answers to them (every composite answer is checked: one result per subrequest, a create's id). */
const CREATED: Step = { ok: { compositeResponse: [{ referenceId: 'newUser', httpStatusCode: 201, httpHeaders: {}, body: { id: '005000000000002AAA', success: true, errors: [] } }] } }
const UPDATED: Step = { ok: { compositeResponse: [{ referenceId: 'update', httpStatusCode: 204, httpHeaders: {}, body: null }] } }

describe('retry policy', () => {
  it('retries a transient failure with exponential backoff and equal jitter, then answers', async () => {
    const { clock, fake, gateway } = setup([UNAVAILABLE, { errorCode: 'UNABLE_TO_LOCK_ROW' }, EMPTY])
    const res = await clock.run(gateway.query(Q, quietLog))
    expect(res.totalSize).toBe(0)
    // Calls take 10 ms each; random() = 0.5 gives 3/4 of each step: 200 → 150 ms, 400 → 300 ms.
    expect(fake.calls.map((c) => c.at)).toEqual([0, 10 + 150, 10 + 150 + 10 + 300])
  })

  it('keeps every wait between half and all of its step, and caps the step at maxDelayMs', async () => {
    for (const [rnd, waits] of [[0, [100, 200, 400, 800, 1000]], [0.999999, [200, 400, 800, 1600, 2000]]] as const) {
      const { clock, fake, gateway } = setup([UNAVAILABLE], { attempts: 6, baseDelayMs: 200, maxDelayMs: 2000, budgetMs: 60_000, breaker: { consecutiveFailures: 100 } })
      clock.rnd = rnd
      await failure(clock.run(gateway.query(Q, quietLog)))
      const gaps = fake.calls.slice(1).map((c, i) => c.at - (fake.calls[i]?.at ?? 0) - 10)
      expect(gaps.map(Math.round)).toEqual(waits)
    }
  })

  it('gives up after the configured attempts with the last Salesforce error', async () => {
    const { clock, fake, gateway } = setup([UNAVAILABLE])
    const err = await failure(clock.run(gateway.query(Q, quietLog)))
    expect(fake.calls).toHaveLength(DEFAULT_RETRY.attempts)
    expect(err).toMatchObject({ code: 'SERVER_UNAVAILABLE', kind: 'transient' })
  })

  it('never retries an answer: validation, conflict, not found, or a spent daily limit (429, not an outage)', async () => {
    for (const errorCode of ['REQUIRED_FIELD_MISSING', 'DUPLICATE_USERNAME', 'REQUEST_LIMIT_EXCEEDED']) {
      const { clock, fake, gateway } = setup([{ errorCode }])
      const err = await failure(clock.run(gateway.composite(updateUser, { allOrNone: true, safeToRetry: true }, quietLog)))
      expect(err.code).toBe(errorCode)
      expect(fake.calls).toHaveLength(1)
    }
    const { clock, fake, gateway } = setup([{ errorCode: 'NOT_FOUND' }])
    expect(await clock.run(gateway.retrieve('User', '005000000000001AAA', ['Id'], quietLog))).toBeUndefined()
    expect(fake.calls).toHaveLength(1)
  })

  it('does not replay a create whose outcome is unknown (the caller looks the user up), but replays an update', async () => {
    for (const step of [{ network: 'ECONNRESET' }, { hang: true }] as Step[]) {
      const create = setup([step, CREATED])
      const err = await failure(create.clock.run(create.gateway.composite(createUser, { allOrNone: true, safeToRetry: false }, quietLog)))
      expect(err.kind).toBe('unknownOutcome')
      expect(create.fake.calls).toHaveLength(1)
    }
    const update = setup([{ network: 'ECONNRESET' }, UPDATED])
    await update.clock.run(update.gateway.composite(updateUser, { allOrNone: true, safeToRetry: true }, quietLog))
    expect(update.fake.calls).toHaveLength(2)
  })

  it('does not replay a write that timed out (it may still land), but does replay a read', async () => {
    const update = setup([{ hang: true }, UPDATED])
    const err = await failure(update.clock.run(update.gateway.composite(updateUser, { allOrNone: true, safeToRetry: true }, quietLog)))
    expect(err.code).toBe('TIMEOUT')
    expect(update.fake.calls).toHaveLength(1)

    const read = setup([{ hang: true }, EMPTY])
    await read.clock.run(read.gateway.query(Q, quietLog))
    expect(read.fake.calls).toHaveLength(2)
  })

  it('replays a create that Salesforce rolled back (allOrNone: a transient failure wrote nothing)', async () => {
    const { clock, fake, gateway } = setup([{ errorCode: 'UNABLE_TO_LOCK_ROW' }, CREATED])
    await clock.run(gateway.composite(createUser, { allOrNone: true, safeToRetry: false }, quietLog))
    expect(fake.calls).toHaveLength(2)
  })

  it('gives every attempt a timeout, cut to what is left of the budget, and ends within the budget', async () => {
    const { clock, fake, gateway } = setup([{ hang: true }], { attempts: 4, baseDelayMs: 200, maxDelayMs: 2000, budgetMs: 10_000 }, 4_000)
    const err = await failure(clock.run(gateway.query(Q, quietLog)))
    expect(err).toMatchObject({ code: 'TIMEOUT', kind: 'unknownOutcome' })
    // 0: 4000 ms (the configured timeout); 4150: 4000; 8450: what is left, 1550; then no time for a fourth.
    expect(fake.calls.map((c) => [c.at, c.timeoutMs])).toEqual([[0, 4000], [4150, 4000], [8450, 1550]])
    expect(clock.now()).toBeLessThanOrEqual(10_000)
  })

  it('does not start a retry that would have less than half a second to run', async () => {
    const { clock, fake, gateway } = setup([{ hang: true }], { attempts: 4, baseDelayMs: 200, budgetMs: 4_500 }, 4_000)
    await failure(clock.run(gateway.query(Q, quietLog)))
    expect(fake.calls).toHaveLength(1)
  })

  it('ends an attempt that ignores its timeout with a backstop one second later', async () => {
    const { clock, fake, gateway } = setup([{ hangForever: true }], { attempts: 1, baseDelayMs: 200, budgetMs: 10_000 }, 3_000)
    const err = await failure(clock.run(gateway.query(Q, quietLog)))
    expect(err).toMatchObject({ code: 'TIMEOUT', kind: 'unknownOutcome' })
    expect(clock.now()).toBe(4_000)
    expect(fake.calls).toHaveLength(1)
    expect(clock.pending).toBe(0)
  })
})

describe('circuit breaker in the gateway', () => {
  const once: RetryPolicy = { attempts: 1, baseDelayMs: 200, budgetMs: 10_000, breaker: { consecutiveFailures: 3, openMs: 5_000, maxOpenMs: 20_000 } }

  it('opens after consecutive outage failures, fails fast without calling Salesforce, then probes and closes', async () => {
    const { clock, fake, gateway } = setup([UNAVAILABLE], once)
    for (let i = 0; i < 3; i++) await failure(clock.run(gateway.query(Q, quietLog)))
    expect(gateway.breaker.state()).toBe('open')

    const fast = await failure(clock.run(gateway.query(Q, quietLog)))
    expect(fast).toMatchObject({ code: CIRCUIT_OPEN, kind: 'transient' })
    expect(fake.calls).toHaveLength(3)
    expect(gateway.breaker.snapshot()).toMatchObject({ state: 'open', rejected: 1, opened: 1 })

    // Still failing when the probe goes: open again, for twice as long.
    await clock.advance(5_000)
    await failure(clock.run(gateway.query(Q, quietLog)))
    expect(fake.calls).toHaveLength(4)
    expect(gateway.breaker.snapshot()).toMatchObject({ state: 'open', retryInMs: 10_000 })

    fake.script = [EMPTY]
    await clock.advance(10_000)
    await clock.run(gateway.query(Q, quietLog))
    expect(gateway.breaker.state()).toBe('closed')
    await clock.run(gateway.query(Q, quietLog))
    expect(fake.calls).toHaveLength(6)
  })

  it('asks for the integration user\'s identity under the breaker and the budget; once known, asks nothing', async () => {
    const USER = '005000000000009'
    const clock = new FakeClock()
    const fake = fakeSession(clock, [UNAVAILABLE])
    const conn = fake.session.conn as unknown as { userInfo?: { id: string } }
    let tokenRequests = 0
    let login: Step = { network: 'ECONNREFUSED' }
    // The token request as the session makes it: here one scripted step, setting the identity when it succeeds.
    const session = {
      ...fake.session,
      ensureAuthorized: async () => {
        tokenRequests++
        if ('network' in login) throw Object.assign(new Error('request failed'), { name: 'FetchError', code: login.network })
        conn.userInfo = { id: USER }
      },
    }
    const gateway = createGateway(session, once, undefined, clock)
    for (let i = 0; i < 3; i++) await failure(clock.run(gateway.integrationUserId(quietLog)))
    expect(tokenRequests).toBe(3)
    expect(gateway.breaker.state()).toBe('open')
    // Open: the login is not even tried.
    expect(await failure(clock.run(gateway.integrationUserId(quietLog)))).toMatchObject({ code: CIRCUIT_OPEN })
    expect(tokenRequests).toBe(3)
    login = EMPTY
    await clock.advance(5_000)
    expect(await clock.run(gateway.integrationUserId(quietLog))).toBe(normalizeSalesforceId(USER))
    expect(await clock.run(gateway.integrationUserId(quietLog))).toBe(normalizeSalesforceId(USER))
    expect(tokenRequests).toBe(4)
  })

  it('fails closed when the token response names no user', async () => {
    const { clock, gateway } = setup([EMPTY], once)
    expect(await failure(clock.run(gateway.integrationUserId(quietLog)))).toMatchObject({ code: 'NO_IDENTITY', kind: 'auth' })
  })

  it('cuts a call\'s retries short when the breaker opens during them, reporting the real failure', async () => {
    const { clock, fake, gateway } = setup([UNAVAILABLE], { attempts: 4, baseDelayMs: 200, budgetMs: 10_000, breaker: { consecutiveFailures: 2 } })
    const err = await failure(clock.run(gateway.query(Q, quietLog)))
    expect(err.code).toBe('SERVER_UNAVAILABLE')
    expect(fake.calls).toHaveLength(2)
  })

  it('is not tripped by record locks, a spent daily limit or validation errors: Salesforce answered', async () => {
    for (const errorCode of ['UNABLE_TO_LOCK_ROW', 'REQUEST_LIMIT_EXCEEDED', 'INVALID_EMAIL_ADDRESS']) {
      const { clock, gateway } = setup([{ errorCode }], once)
      for (let i = 0; i < 10; i++) await failure(clock.run(gateway.composite(updateUser, { allOrNone: true, safeToRetry: true }, quietLog)))
      expect(gateway.breaker.state()).toBe('closed')
    }
  })

  it('counts timeouts and dropped connections as outage', async () => {
    const { clock, gateway } = setup([{ network: 'ECONNRESET' }, { hang: true }, { network: 'ECONNREFUSED' }], once)
    for (let i = 0; i < 3; i++) await failure(clock.run(gateway.query(Q, quietLog)))
    expect(gateway.breaker.state()).toBe('open')
  })
})

describe('every composite answer is checked, whoever calls (no false success)', () => {
  const HALTED = [{ errorCode: 'PROCESSING_HALTED', message: 'The transaction was rolled back since another operation in the same transaction failed.' }]
  const answer = (...results: Array<[string, number, unknown]>): Step =>
    ({ ok: { compositeResponse: results.map(([referenceId, httpStatusCode, body]) => ({ referenceId, httpStatusCode, body, httpHeaders: {} })) } })
  const once: RetryPolicy = { attempts: 1, baseDelayMs: 1 }
  const readBack = { method: 'GET' as const, url: '/sobjects/User/@{newUser.id}?fields=Id', referenceId: 'readBack' }

  it('a request whose every subrequest was halted is an error with the real cause, not an empty success', async () => {
    const echo = setup([answer(['newUser', 400, HALTED], ['readBack', 400, HALTED])], once)
    expect(await failure(echo.clock.run(echo.gateway.composite([...createUser, readBack], { allOrNone: true, safeToRetry: false }, quietLog)))).toMatchObject({ code: 'PROCESSING_HALTED' })
    const cause = [{ errorCode: 'PROCESSING_HALTED', message: 'Invalid reference specified. No value for update.id found in update.' }]
    const real = setup([answer(['newUser', 400, HALTED], ['readBack', 400, cause])], once)
    expect(await failure(real.clock.run(real.gateway.composite([...createUser, readBack], { allOrNone: true, safeToRetry: false }, quietLog)))).toMatchObject({ message: /Invalid reference specified/ })
  })

  it('a read-back without an Id, or a create without its id, is an error of unknown outcome', async () => {
    const noId = setup([answer(['newUser', 201, { id: '005000000000002AAA', success: true }], ['readBack', 200, { attributes: { type: 'User' } }])], once)
    expect(await failure(noId.clock.run(noId.gateway.composite([...createUser, readBack], { allOrNone: true, safeToRetry: false }, quietLog)))).toMatchObject({ code: 'MISSING_READ_BACK', kind: 'unknownOutcome' })
    const noNewId = setup([answer(['newUser', 201, { success: true }])], once)
    expect(await failure(noNewId.clock.run(noNewId.gateway.composite(createUser, { allOrNone: true, safeToRetry: false }, quietLog)))).toMatchObject({ code: 'MISSING_READ_BACK' })
    const short = setup([answer()], once)
    expect(await failure(short.clock.run(short.gateway.composite(createUser, { allOrNone: true, safeToRetry: false }, quietLog)))).toMatchObject({ code: 'INCOMPLETE_COMPOSITE' })
  })

  it('a record refused inside a collection is left to the caller, which names it (the rest only echo the rollback)', async () => {
    const coll = { method: 'POST' as const, url: '/composite/sobjects', referenceId: 'c0', body: { allOrNone: true, records: [{}, {}] } }
    const refused = [{ success: false, errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK', message: 'rolled back' }] }, { success: false, errors: [{ statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'bad id' }] }]
    const { clock, gateway } = setup([answer(['update', 400, HALTED], ['c0', 200, refused])], once)
    const results = await clock.run(gateway.composite([...updateUser, coll], { allOrNone: true, safeToRetry: false }, quietLog))
    expect(results[1]?.body).toEqual(refused)
  })
})
