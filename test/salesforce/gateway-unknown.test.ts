// The gateway's policy for writes whose outcome is unknown (issue 16): a write that times out is answered TIMEOUT
// at once but not aborted (its request runs on, tracked for the caller's ordering, up to the hard cap); 500, 502
// and 504 are unknown outcomes, never replayed for a create; a 500 inside an answered allOrNone composite is a
// rollback, safe to replay.
import { describe, expect, it } from 'vitest'
import { kindOf } from '../../src/salesforce/errors.js'
import { createGateway, SETTLE_CAP_MS, type RetryPolicy } from '../../src/salesforce/gateway.js'
import { trackingInFlight } from '../../src/salesforce/in-flight.js'
import { FakeClock, fakeSession, quietLog, type Step } from '../reliability/fakes.js'

const POLICY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 2_000, budgetMs: 10_000 }
const createUser = [{ method: 'POST' as const, url: '/sobjects/User', referenceId: 'newUser', body: {} }]
const updateUser = [{ method: 'PATCH' as const, url: '/sobjects/User/005000000000001AAA', referenceId: 'update', body: {} }]
/** A successful answer for one subrequest (the gateway checks that every subrequest has its result). */
const answered = (referenceId: string, body: unknown): Step => ({ ok: { compositeResponse: [{ referenceId, httpStatusCode: 200, httpHeaders: {}, body }] } })
const createdUser = answered('newUser', { id: '005000000000001AAA', success: true, errors: [] })
const updatedUser = answered('update', null)
const readUser = [{ method: 'GET' as const, url: '/sobjects/User/005000000000001AAA', referenceId: 'read' }]

function setup (script: Step[], policy: RetryPolicy = POLICY) {
  const clock = new FakeClock()
  const fake = fakeSession(clock, script, 4_000)
  return { clock, fake, gateway: createGateway(fake.session, policy, undefined, clock) }
}

describe('unknown outcomes in the gateway', () => {
  it('classifies 500/502/504 and UNKNOWN_EXCEPTION as unknown outcomes, 503 and locks as transient', () => {
    for (const code of ['UNKNOWN_EXCEPTION', 'ERROR_HTTP_500', 'ERROR_HTTP_502', 'ERROR_HTTP_504']) expect(kindOf(code)).toBe('unknownOutcome')
    expect(kindOf('WHATEVER', 500)).toBe('unknownOutcome')
    for (const code of ['SERVER_UNAVAILABLE', 'ERROR_HTTP_503', 'UNABLE_TO_LOCK_ROW']) expect(kindOf(code)).toBe('transient')
    expect(kindOf('WHATEVER', 503)).toBe('transient')
    expect(kindOf('REQUEST_LIMIT_EXCEEDED')).toBe('limit')
  })

  it('never replays a create after a 500, 502 or 504 (it may have committed); replays an update and a read', async () => {
    for (const errorCode of ['UNKNOWN_EXCEPTION', 'ERROR_HTTP_502', 'ERROR_HTTP_504']) {
      const create = setup([{ errorCode }, createdUser])
      await expect(create.clock.run(create.gateway.composite(createUser, { allOrNone: true, safeToRetry: false }, quietLog))).rejects.toMatchObject({ code: errorCode, kind: 'unknownOutcome' })
      expect(create.fake.calls).toHaveLength(1)
      const update = setup([{ errorCode }, updatedUser])
      await update.clock.run(update.gateway.composite(updateUser, { allOrNone: true, safeToRetry: true }, quietLog))
      expect(update.fake.calls).toHaveLength(2)
    }
  })

  it('replays a create whose allOrNone composite was answered with a 500 subrequest: the transaction was rolled back', async () => {
    const rolledBack = { ok: { compositeResponse: [{ referenceId: 'newUser', httpStatusCode: 500, httpHeaders: {}, body: [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'x' }] }] } }
    const { clock, fake, gateway } = setup([rolledBack, createdUser])
    await clock.run(gateway.composite(createUser, { allOrNone: true, safeToRetry: false }, quietLog))
    expect(fake.calls).toHaveLength(2)
  })

  it('answers a write TIMEOUT at its attempt timeout without aborting it: the request runs on to the hard cap, tracked', async () => {
    const { clock, fake, gateway } = setup([{ hang: true }])
    const pending = new Set<Promise<unknown>>()
    const call = trackingInFlight(pending, async () => await gateway.composite(updateUser, { allOrNone: true, safeToRetry: true }, quietLog))
    await expect(clock.run(call)).rejects.toMatchObject({ code: 'TIMEOUT', kind: 'unknownOutcome' })
    expect(clock.now()).toBe(4_000)
    // jsforce was given the hard cap, not the attempt timeout; the request is still running, and tracked.
    expect(fake.calls.map((c) => c.timeoutMs)).toEqual([SETTLE_CAP_MS])
    expect(pending.size).toBe(1)
    let settled = false
    Promise.all(pending).then(() => { settled = true }, () => {})
    await clock.advance(SETTLE_CAP_MS - 4_000 - 1)
    expect(settled).toBe(false)
    await clock.advance(1)
    expect(settled).toBe(true)
  })

  it('still aborts a read at its timeout (nothing to wait for), and tracks nothing', async () => {
    const { clock, fake, gateway } = setup([{ hang: true }], { ...POLICY, attempts: 1 })
    const pending = new Set<Promise<unknown>>()
    await expect(clock.run(trackingInFlight(pending, async () => await gateway.composite(readUser, { allOrNone: false, safeToRetry: true }, quietLog)))).rejects.toMatchObject({ code: 'TIMEOUT' })
    expect(fake.calls.map((c) => c.timeoutMs)).toEqual([4_000])
    expect(pending.size).toBe(0)
  })
})
