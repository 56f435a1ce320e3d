// Circuit breaker for Salesforce calls: after an outage is evident it fails fast (503 + Retry-After) instead of
// letting every SCIM request wait out its retries, probes with one real call, and closes again by itself.
//
// Hand-written rather than cockatiel's CircuitBreakerPolicy: cockatiel 4 requires Node >= 22 (we run 20), and
// neither 3.x nor 4 has what this one is pinned to do (test/salesforce/gateway-breaker.test.ts): open on a streak
// OR on a failure ratio over a minimum number of calls (cockatiel has one or the other, and counts requests per
// second), take the clock from the caller, and report how long it stays open and how often it opened.

export type BreakerState = 'closed' | 'open' | 'halfOpen'

export interface BreakerOptions {
  /** Opens after this many outage failures in a row (with no healthy answer between them). */
  consecutiveFailures: number
  /** ...or when, within the last `windowMs`, at least `minCalls` calls were seen and this share of them failed. */
  failureRatio: number
  minCalls: number
  windowMs: number
  /** How long it stays open before letting one probe through; doubled after each failed probe, up to maxOpenMs. */
  openMs: number
  maxOpenMs: number
}

/**
 * Five outage failures in a row: with retries on, that is two SCIM requests that each failed all their attempts,
 * which random faults (a few percent) almost never produce (0.05^5 ≈ 3·10⁻⁷) and a real outage produces within
 * a second. Half the calls failing over 10 s (20 calls at least, so one bad second at low traffic does not count)
 * catches a flapping Salesforce that answers just often enough to keep resetting the streak. Open for 5 s, then
 * 10, 20, 30: a probe costs one call, and 30 s matches the Retry-After scimforce sends with every 503
 * (src/scim/errors.ts RETRY_AFTER_UNAVAILABLE), so an IdP that comes back when told finds the breaker ready to probe.
 */
export const DEFAULT_BREAKER: BreakerOptions = {
  consecutiveFailures: 5,
  failureRatio: 0.5,
  minCalls: 20,
  windowMs: 10_000,
  openMs: 5_000,
  maxOpenMs: 30_000,
}

/** One permitted call. `done(healthy)` must be called exactly once; later calls are ignored. */
export interface Permit {
  readonly probe: boolean
  /** healthy: Salesforce gave a definitive answer (success, or an error that is not an outage). */
  done (healthy: boolean): Transition | undefined
}

export interface Transition { from: BreakerState, to: BreakerState }

export interface BreakerSnapshot {
  state: BreakerState
  /** While open: milliseconds until a probe may go through. */
  retryInMs: number
  consecutiveFailures: number
  /** Times it has opened since start (metrics, tests). */
  opened: number
  /** Calls refused while open or half-open. */
  rejected: number
}

export interface Breaker {
  /** A permit for one call, or undefined when the call must fail fast. */
  enter (): Permit | undefined
  state (): BreakerState
  snapshot (): BreakerSnapshot
}

/** Ten buckets: the window slides in tenths, which is exact enough and costs constant memory at any rate. */
const BUCKETS = 10

interface Bucket { start: number, ok: number, failed: number }

export function createBreaker (options: Partial<BreakerOptions> = {}, now: () => number = Date.now): Breaker {
  const o: BreakerOptions = { ...DEFAULT_BREAKER, ...options }
  const bucketMs = Math.max(1, Math.ceil(o.windowMs / BUCKETS))
  let state: BreakerState = 'closed'
  let streak = 0
  let openFor = o.openMs
  let openUntil = 0
  let probing = false
  let opened = 0
  let rejected = 0
  let buckets: Bucket[] = []

  function current (t: number): Bucket {
    const start = t - (t % bucketMs)
    const last = buckets[buckets.length - 1]
    if (last !== undefined && last.start === start) return last
    const b = { start, ok: 0, failed: 0 }
    buckets.push(b)
    buckets = buckets.filter((x) => x.start > t - o.windowMs)
    return b
  }

  function ratioTripped (t: number): boolean {
    let ok = 0
    let failed = 0
    for (const b of buckets) {
      if (b.start <= t - o.windowMs) continue
      ok += b.ok
      failed += b.failed
    }
    const total = ok + failed
    return total >= o.minCalls && failed / total >= o.failureRatio
  }

  function open (t: number): Transition {
    const from = state
    state = 'open'
    openUntil = t + openFor
    opened++
    probing = false
    return { from, to: 'open' }
  }

  function close (): Transition {
    const from = state
    state = 'closed'
    streak = 0
    openFor = o.openMs
    probing = false
    buckets = []
    return { from, to: 'closed' }
  }

  function record (probe: boolean, healthy: boolean): Transition | undefined {
    const t = now()
    if (probe) {
      if (healthy) return close()
      openFor = Math.min(openFor * 2, o.maxOpenMs)
      return open(t)
    }
    // A call let through before the breaker opened and answered after: the probe decides, not the stragglers.
    if (state !== 'closed') return undefined
    const b = current(t)
    if (healthy) {
      b.ok++
      streak = 0
      return undefined
    }
    b.failed++
    streak++
    if (streak >= o.consecutiveFailures || ratioTripped(t)) return open(t)
    return undefined
  }

  function permit (probe: boolean): Permit {
    let settled = false
    return {
      probe,
      done (healthy) {
        if (settled) return undefined
        settled = true
        return record(probe, healthy)
      },
    }
  }

  return {
    enter () {
      if (state === 'closed') return permit(false)
      if (state === 'open' && now() >= openUntil) {
        state = 'halfOpen'
        probing = false
      }
      if (state === 'halfOpen' && !probing) {
        probing = true
        return permit(true)
      }
      rejected++
      return undefined
    },
    state: () => state,
    snapshot () {
      return {
        state,
        retryInMs: state === 'open' ? Math.max(0, openUntil - now()) : 0,
        consecutiveFailures: streak,
        opened,
        rejected,
      }
    },
  }
}
