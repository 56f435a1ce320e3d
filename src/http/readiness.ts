// /readyz's verdict: the integration user can really call the Salesforce API, the circuit breaker lets calls
// through, and the store can be written. The API check is cached and shared, so probes cannot spend the allowance.
import type { Breaker, BreakerState } from '../salesforce/breaker.js'
import type { Logger, SalesforceSession } from '../salesforce/connection.js'
import { classify } from '../salesforce/errors.js'

export interface ReadinessOptions {
  /**
   * How long one API check's verdict is reused, good or bad. Every probe within it, from any number of probers,
   * is answered from it, and probes that arrive while a check is running wait for that one: at most one API call
   * per period, whatever the probe rate (a kubelet every 10 s, a load balancer every second, a scanner in a loop).
   */
  cacheMs: number
  /** The longest a probe waits for a running check before it answers "not ready"; the check itself runs on. */
  waitMs: number
  now: () => number
}

/** 5 s: a deactivated or frozen integration user shows within 5 s; 17,280 calls a day at most, probed or not. */
export const DEFAULT_READINESS: Readonly<ReadinessOptions> = Object.freeze({ cacheMs: 5000, waitMs: 3000, now: Date.now })

export type CheckResult = 'ok' | 'failed'

export interface ReadinessReport {
  ready: boolean
  body: {
    status: 'ready' | 'not ready'
    /**
     * `dailyLimit` is `spent` while Salesforce refuses calls for the day (REQUEST_LIMIT_EXCEEDED): the instance stays
     * ready (see callApi) but says so here, beside the gauges scimforce_salesforce_api_usage / _api_limit.
     */
    checks: { salesforce: CheckResult, circuit: BreakerState, store: CheckResult, dailyLimit: 'ok' | 'spent' }
    /** Why not ready, in fixed words: the probe's answer is seen by whoever can reach the port; details go to the log. */
    reasons?: string[]
  }
}

export interface ReadinessDeps {
  session: Pick<SalesforceSession, 'conn' | 'ensureAuthorized'>
  /** `/services/data/vXX.X` + rest, as the gateway builds it. */
  dataPath: (rest: string) => string
  breaker: Pick<Breaker, 'state' | 'snapshot'>
  store: { probe: () => void }
}

export const REASONS = {
  api: 'the integration user cannot call the Salesforce API',
  slow: 'the Salesforce API check did not finish in time',
  circuit: 'the Salesforce circuit breaker is open: calls fail fast until Salesforce recovers',
  store: 'the store cannot be written',
} as const

export interface Readiness {
  check (log: Logger): Promise<ReadinessReport>
}

export function createReadiness (deps: ReadinessDeps, options: Partial<ReadinessOptions> = {}): Readiness {
  const o: ReadinessOptions = { ...DEFAULT_READINESS, ...options }
  let cached: { at: number, ok: boolean } | undefined
  let running: Promise<boolean> | undefined
  /** Whether the last API check met a spent daily allowance. */
  let limitSpent = false

  /**
   * One real call as the integration user: the limits resource (one API call, answered only with a live
   * session: REST API Developer Guide, "Limits"). A token alone proves little: a cached one outlives a revoked app, a frozen or
   * deactivated user (Salesforce ends their sessions, and jsforce's refresh is then refused). Not through the
   * gateway: its retries could spend several calls on one probe, and a probe must neither feed nor consume the
   * breaker (a readiness check that took the half-open probe would decide the breaker for the whole process).
   */
  async function callApi (log: Logger): Promise<boolean> {
    try {
      await deps.session.ensureAuthorized()
      await deps.session.conn.request({ method: 'GET', url: deps.dataPath('/limits') })
      limitSpent = false
      return true
    } catch (raw) {
      const err = classify(raw)
      // A spent daily allowance is Salesforce answering a live session: the user can call, the org's quota is
      // out. Every instance would be "not ready" at once, and the IdP would meet closed doors instead of the
      // honest 429 + Retry-After each SCIM call answers; no restart or reschedule fixes a quota.
      limitSpent = err.code === 'REQUEST_LIMIT_EXCEEDED'
      if (limitSpent) {
        log.warn({ code: err.code }, 'readiness: the daily API allowance is spent; SCIM calls answer 429 until it resets')
        return true
      }
      // The code and kind tell an admin which (expired or revoked session, inactive user, spent limit, outage).
      log.warn({ code: err.code, kind: err.kind, httpStatus: err.httpStatus }, 'readiness: Salesforce not reachable with a session')
      return false
    }
  }

  function apiCheck (log: Logger): Promise<boolean> {
    const t = o.now()
    if (cached !== undefined && t - cached.at < o.cacheMs) return Promise.resolve(cached.ok)
    running ??= callApi(log).then((ok) => {
      cached = { at: o.now(), ok }
      running = undefined
      return ok
    })
    return running
  }

  async function bounded (work: Promise<boolean>): Promise<boolean | 'slow'> {
    let timer: NodeJS.Timeout | undefined
    const slow = new Promise<'slow'>((resolve) => {
      timer = setTimeout(() => resolve('slow'), o.waitMs)
      timer.unref()
    })
    try {
      return await Promise.race([work, slow])
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    async check (log) {
      const reasons: string[] = []
      // Held back: open and not yet due for a probe. Once due, the breaker lets the next SCIM call through as its
      // probe, so "ready" then lets traffic come back; were it "not ready" until the breaker closed, a balancer
      // would send nothing, nothing would probe, and the pod would stay out for good.
      const before = deps.breaker.snapshot()
      const heldBack = (before.state === 'open' && before.retryInMs > 0) || before.state === 'halfOpen'
      const api = await bounded(apiCheck(log))
      if (api === 'slow') reasons.push(REASONS.slow)
      else if (!api) reasons.push(REASONS.api)
      if (heldBack) reasons.push(REASONS.circuit)
      let store: CheckResult = 'ok'
      try { await deps.store.probe() } catch (err) {
        store = 'failed'
        log.warn({ err }, 'readiness: store not writable')
        reasons.push(REASONS.store)
      }
      const ready = reasons.length === 0
      return {
        ready,
        body: {
          status: ready ? 'ready' : 'not ready',
          // Open but due for its probe is half-open in all but name: the next call goes through.
          checks: { salesforce: api === true ? 'ok' : 'failed', circuit: before.state === 'open' && !heldBack ? 'halfOpen' : before.state, store, dailyLimit: limitSpent ? 'spent' : 'ok' },
          ...(ready ? {} : { reasons }),
        },
      }
    },
  }
}
