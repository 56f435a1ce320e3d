// The circuit breaker alone, on an injected clock: when it opens, what it refuses, the half-open probe, recovery.
import { describe, expect, it } from 'vitest'
import { createBreaker, type Breaker } from '../../src/salesforce/breaker.js'

function clock (): { now: () => number, t: number } {
  const c = { t: 0, now: () => c.t }
  return c
}

function call (b: Breaker, healthy: boolean): void {
  const p = b.enter()
  if (p === undefined) throw new Error('refused')
  p.done(healthy)
}

describe('circuit breaker', () => {
  it('opens after N outage failures in a row; a healthy answer resets the streak', () => {
    const c = clock()
    const b = createBreaker({ consecutiveFailures: 3, minCalls: 1000 }, c.now)
    call(b, false)
    call(b, false)
    call(b, true)
    call(b, false)
    call(b, false)
    expect(b.state()).toBe('closed')
    call(b, false)
    expect(b.state()).toBe('open')
    expect(b.snapshot()).toMatchObject({ opened: 1, consecutiveFailures: 3 })
  })

  it('opens when the failure ratio in the window reaches the threshold, with enough calls seen', () => {
    const c = clock()
    const b = createBreaker({ consecutiveFailures: 100, failureRatio: 0.5, minCalls: 20, windowMs: 10_000 }, c.now)
    // Alternating: never two failures in a row, half of all calls failing.
    for (let i = 0; i < 18; i++) { call(b, i % 2 === 1); c.t += 100 }
    expect(b.state()).toBe('closed') // 18 calls: below minCalls
    call(b, true)
    call(b, false)
    expect(b.state()).toBe('open')
  })

  it('forgets failures older than the window', () => {
    const c = clock()
    const b = createBreaker({ consecutiveFailures: 100, failureRatio: 0.5, minCalls: 20, windowMs: 10_000 }, c.now)
    for (let i = 0; i < 15; i++) call(b, false)
    c.t += 11_000
    for (let i = 0; i < 15; i++) call(b, i < 10)
    expect(b.state()).toBe('closed') // 5 of 15 in the window, not 20 of 30
  })

  it('refuses while open, lets exactly one probe through when the time is up, and closes when it succeeds', () => {
    const c = clock()
    const b = createBreaker({ consecutiveFailures: 1, openMs: 5_000 }, c.now)
    call(b, false)
    expect(b.enter()).toBeUndefined()
    expect(b.snapshot()).toMatchObject({ state: 'open', retryInMs: 5_000, rejected: 1 })
    c.t += 4_999
    expect(b.enter()).toBeUndefined()
    c.t += 1
    const probe = b.enter()
    expect(probe?.probe).toBe(true)
    expect(b.state()).toBe('halfOpen')
    expect(b.enter()).toBeUndefined() // one probe at a time
    expect(probe?.done(true)).toEqual({ from: 'halfOpen', to: 'closed' })
    expect(b.state()).toBe('closed')
    expect(b.enter()?.probe).toBe(false)
  })

  it('stays open twice as long after each failed probe, up to the maximum, and starts over after recovery', () => {
    const c = clock()
    const b = createBreaker({ consecutiveFailures: 1, openMs: 5_000, maxOpenMs: 12_000 }, c.now)
    call(b, false)
    const waits: number[] = []
    for (let i = 0; i < 3; i++) {
      c.t += b.snapshot().retryInMs
      b.enter()?.done(false)
      waits.push(b.snapshot().retryInMs)
    }
    expect(waits).toEqual([10_000, 12_000, 12_000])
    c.t += 12_000
    b.enter()?.done(true)
    call(b, false)
    expect(b.snapshot().retryInMs).toBe(5_000)
  })

  it('ignores the outcome of calls let through before it opened (only the probe decides)', () => {
    const c = clock()
    const b = createBreaker({ consecutiveFailures: 1, openMs: 1_000 }, c.now)
    const straggler = b.enter()
    call(b, false)
    expect(straggler?.done(true)).toBeUndefined()
    expect(b.state()).toBe('open')
    c.t += 1_000
    const probe = b.enter()
    const late = straggler?.done(false)
    expect(late).toBeUndefined()
    probe?.done(true)
    expect(b.state()).toBe('closed')
  })

  it('counts a permit once, however often done() is called', () => {
    const b = createBreaker({ consecutiveFailures: 2 })
    const p = b.enter()
    p?.done(false)
    p?.done(false)
    expect(b.state()).toBe('closed')
  })
})
