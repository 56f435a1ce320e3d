// Injected faults: latency before and after the commit, long tails, random error rates, one-shot failures
// (the n-th matching call included), errors after the commit, expired sessions, an exhausted daily limit.

export type FaultName = 'serverUnavailable' | 'unableToLockRow' | 'unknownException' | 'dropConnection' | 'dropAfterCommit' | 'requestLimit' | 'errorAfterCommit'

/** Answered instead of touching the org. */
export interface CustomFault { status: number, errorCode: string, message: string }

/** HTTP statuses a fault may answer after the write was applied. */
export type AfterCommitStatus = 500 | 502 | 504

/**
 * The write is applied, then the answer is an error: 500 UNKNOWN_EXCEPTION, or a 502/504 from the gateway in
 * front of the org (issue 16: a real 5xx can come after the commit). Optionally after a wait.
 */
export interface ErrorAfterCommitFault { errorAfterCommit: AfterCommitStatus, latencyAfterCommitMs?: number }

/** The call succeeds, slowly: extra wait before the commit, after it, or both (on top of the settings). */
export interface DelayFault { latencyMs?: number, latencyAfterCommitMs?: number }

export type Fault = FaultName | CustomFault | ErrorAfterCommitFault | DelayFault

export interface LongTail {
  /** Probability 0..1 that a REST call is one of the slow ones. */
  rate: number
  /** How much longer such a call takes. */
  ms: number
  /** Where the wait goes: after the commit (the client may time out on a write that happened) or before it. */
  afterCommit: boolean
}

export interface FaultSettings {
  /** Added to every REST and token response, before the org is touched ("before the commit"). */
  latencyMs: number
  /** Added to every REST response after the org was touched and before the answer is sent. */
  latencyAfterCommitMs: number
  /** A fraction of REST calls that take much longer. */
  longTail: LongTail
  /**
   * Probabilities 0..1 per REST call (not the token endpoint). dropAfterCommit applies the write, then drops;
   * errorAfterCommit applies it, then answers 500, 502 or 504 (one of the three at random).
   */
  rates: { serverUnavailable: number, unableToLockRow: number, unknownException: number, dropConnection: number, dropAfterCommit: number, errorAfterCommit: number }
}

export interface FaultMatch {
  method?: string
  pathIncludes?: string
  /** The n-th matching call from now is the first to fail (1 = the next one); the n-1 before it pass. */
  nth?: number
}

export type FaultSettingsChange = Partial<Omit<FaultSettings, 'rates' | 'longTail'>> & { rates?: Partial<FaultSettings['rates']>, longTail?: Partial<LongTail> }

export interface Faults {
  set: (s: FaultSettingsChange) => void
  get: () => FaultSettings
  /** Clears everything, one-shot faults and the exhausted limit included. */
  reset: () => void
  /** Every issued access token becomes invalid now (refresh tokens stay valid). */
  expireSessions: () => void
  /** Further REST calls get 403 REQUEST_LIMIT_EXCEEDED until reset(). */
  exhaustDailyLimit: () => void
  /**
   * `count` REST calls matching `match` fail (or slow down) this way, starting with the `match.nth`-th one.
   * Faulted calls fail before touching the org, except dropAfterCommit, errorAfterCommit and delays.
   */
  failNext: (count: number, fault: Fault, match?: FaultMatch) => void
  /** Injectable RNG for deterministic tests of the random rates and long tails. */
  random: () => number
}

/** What one REST call goes through, decided before it runs. */
export interface FaultPlan {
  /** Extra wait before the commit (the latency setting is applied separately, first). */
  beforeMs: number
  /** Failure instead of the call: nothing is applied. */
  fail?: CustomFault | 'dropConnection' | 'serverUnavailable' | 'unableToLockRow' | 'unknownException' | 'requestLimit'
  /** Wait after the commit, before answering (the setting, a delay fault, a long tail). */
  afterMs: number
  /** After the commit: drop the connection or answer this error status. */
  afterCommit?: 'drop' | AfterCommitStatus
}

interface OneShot { remaining: number, skip: number, fault: Fault, match: FaultMatch | undefined }

const RATE_ORDER = ['serverUnavailable', 'unableToLockRow', 'unknownException', 'dropConnection', 'dropAfterCommit', 'errorAfterCommit'] as const
const NAMES: readonly string[] = [...RATE_ORDER, 'requestLimit']
const AFTER_COMMIT_STATUSES: readonly number[] = [500, 502, 504]

export interface InitialLatency { latencyMs: number, latencyAfterCommitMs: number }

function defaults (initial: InitialLatency): FaultSettings {
  return {
    latencyMs: initial.latencyMs,
    latencyAfterCommitMs: initial.latencyAfterCommitMs,
    longTail: { rate: 0, ms: 0, afterCommit: false },
    rates: { serverUnavailable: 0, unableToLockRow: 0, unknownException: 0, dropConnection: 0, dropAfterCommit: 0, errorAfterCommit: 0 },
  }
}

function checkMs (name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a number >= 0`)
  return value
}

function checkRate (name: string, value: unknown): number {
  if (typeof value !== 'number' || value < 0 || value > 1) throw new RangeError(`${name} must be between 0 and 1`)
  return value
}

/** Throws RangeError when the fault is not one the emulator knows. */
function checkFault (fault: Fault): void {
  if (typeof fault === 'string') {
    if (!NAMES.includes(fault)) throw new RangeError(`unknown fault '${fault}'`)
    return
  }
  if (typeof fault !== 'object' || fault === null) throw new RangeError('a fault is a name or an object')
  if ('status' in fault) {
    if (!Number.isInteger(fault.status) || fault.status < 100 || fault.status > 599) throw new RangeError('status must be an HTTP status')
    return
  }
  if ('errorAfterCommit' in fault) {
    if (!AFTER_COMMIT_STATUSES.includes(fault.errorAfterCommit)) throw new RangeError('errorAfterCommit must be 500, 502 or 504')
    if (fault.latencyAfterCommitMs !== undefined) checkMs('latencyAfterCommitMs', fault.latencyAfterCommitMs)
    return
  }
  const keys = Object.keys(fault)
  if (keys.length === 0 || keys.some(k => k !== 'latencyMs' && k !== 'latencyAfterCommitMs')) {
    throw new RangeError('a fault object is {status, errorCode, message}, {errorAfterCommit, latencyAfterCommitMs?} or {latencyMs?, latencyAfterCommitMs?}')
  }
  for (const k of keys) checkMs(k, (fault as Record<string, unknown>)[k])
}

export class FaultController implements Faults {
  random: () => number = Math.random
  dailyLimitExhausted = false
  private settings: FaultSettings
  private oneShots: OneShot[] = []
  private readonly initial: InitialLatency

  constructor (initial: number | Partial<InitialLatency>, private readonly onExpireSessions: () => void) {
    this.initial = typeof initial === 'number'
      ? { latencyMs: initial, latencyAfterCommitMs: 0 }
      : { latencyMs: initial.latencyMs ?? 0, latencyAfterCommitMs: initial.latencyAfterCommitMs ?? 0 }
    this.settings = defaults(this.initial)
  }

  set (s: FaultSettingsChange): void {
    // Validate everything first, so a bad value changes nothing.
    const next = this.get()
    if (s.latencyMs !== undefined) next.latencyMs = checkMs('latencyMs', s.latencyMs)
    if (s.latencyAfterCommitMs !== undefined) next.latencyAfterCommitMs = checkMs('latencyAfterCommitMs', s.latencyAfterCommitMs)
    if (s.longTail !== undefined) {
      for (const [k, v] of Object.entries(s.longTail)) {
        if (k === 'rate') next.longTail.rate = checkRate('longTail.rate', v)
        else if (k === 'ms') next.longTail.ms = checkMs('longTail.ms', v)
        else if (k === 'afterCommit' && typeof v === 'boolean') next.longTail.afterCommit = v
        else throw new RangeError(`longTail.${k} is not a setting (rate, ms, afterCommit: boolean)`)
      }
    }
    for (const [name, rate] of Object.entries(s.rates ?? {})) {
      if (!(RATE_ORDER as readonly string[]).includes(name)) throw new RangeError(`unknown fault rate '${name}'`)
      next.rates[name as keyof FaultSettings['rates']] = checkRate(`rate '${name}'`, rate)
    }
    this.settings = next
  }

  get (): FaultSettings {
    return { ...this.settings, longTail: { ...this.settings.longTail }, rates: { ...this.settings.rates } }
  }

  reset (): void {
    // Back to the start-up state: the latencies given at creation, no rates, no one-shots, the limit restored.
    this.settings = defaults(this.initial)
    this.oneShots = []
    this.dailyLimitExhausted = false
  }

  expireSessions (): void {
    this.onExpireSessions()
  }

  exhaustDailyLimit (): void {
    this.dailyLimitExhausted = true
  }

  failNext (count: number, fault: Fault, match?: FaultMatch): void {
    if (!Number.isInteger(count) || count < 1) throw new RangeError('count must be a positive integer')
    checkFault(fault)
    const nth = match?.nth ?? 1
    if (!Number.isInteger(nth) || nth < 1) throw new RangeError('match.nth must be a positive integer')
    this.oneShots.push({ remaining: count, skip: nth - 1, fault, match })
  }

  /**
   * The fault for this REST call, if any: one-shots first, then the random rates. A call that matches a
   * one-shot still waiting for its n-th call counts towards it, whether or not another one-shot fires.
   */
  pick (method: string, url: string): Fault | undefined {
    let fired: OneShot | undefined
    for (const shot of [...this.oneShots]) {
      if (shot.match?.method !== undefined && shot.match.method.toUpperCase() !== method.toUpperCase()) continue
      if (shot.match?.pathIncludes !== undefined && !url.includes(shot.match.pathIncludes)) continue
      if (shot.skip > 0) {
        shot.skip--
        continue
      }
      if (fired !== undefined) continue
      fired = shot
      shot.remaining--
      if (shot.remaining <= 0) this.oneShots.splice(this.oneShots.indexOf(shot), 1)
    }
    if (fired !== undefined) return fired.fault
    for (const name of RATE_ORDER) {
      const rate = this.settings.rates[name]
      if (rate > 0 && this.random() < rate) return name
    }
    return undefined
  }

  /** The whole plan of a REST call: its fault, the waits before and after the commit, a long tail. */
  plan (method: string, url: string): FaultPlan {
    const fault = this.pick(method, url)
    const plan: FaultPlan = { beforeMs: 0, afterMs: this.settings.latencyAfterCommitMs }
    const tail = this.settings.longTail
    if (tail.rate > 0 && tail.ms > 0 && this.random() < tail.rate) {
      if (tail.afterCommit) plan.afterMs += tail.ms
      else plan.beforeMs += tail.ms
    }
    if (fault === undefined) return plan
    if (fault === 'dropAfterCommit') {
      plan.afterCommit = 'drop'
    } else if (fault === 'errorAfterCommit') {
      // A random rate (or the bare name) picks one of the three statuses.
      plan.afterCommit = AFTER_COMMIT_STATUSES[Math.min(2, Math.floor(this.random() * 3))] as AfterCommitStatus
    } else if (typeof fault === 'string') {
      plan.fail = fault
    } else if ('status' in fault) {
      plan.fail = fault
    } else if ('errorAfterCommit' in fault) {
      plan.afterCommit = fault.errorAfterCommit
      plan.afterMs += fault.latencyAfterCommitMs ?? 0
    } else {
      plan.beforeMs += fault.latencyMs ?? 0
      plan.afterMs += fault.latencyAfterCommitMs ?? 0
    }
    return plan
  }
}
