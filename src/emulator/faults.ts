// Injected faults: latency, random error rates, one-shot failures, expired sessions, an exhausted daily limit.

export type FaultName = 'serverUnavailable' | 'unableToLockRow' | 'unknownException' | 'dropConnection' | 'dropAfterCommit' | 'requestLimit'

export interface CustomFault { status: number, errorCode: string, message: string }

export type Fault = FaultName | CustomFault

export interface FaultSettings {
  /** Added to every REST and token response. */
  latencyMs: number
  /** Probabilities 0..1 per REST call (not the token endpoint). dropAfterCommit applies the write, then drops. */
  rates: { serverUnavailable: number, unableToLockRow: number, unknownException: number, dropConnection: number, dropAfterCommit: number }
}

export interface FaultMatch { method?: string, pathIncludes?: string }

export interface Faults {
  set: (s: Partial<Omit<FaultSettings, 'rates'>> & { rates?: Partial<FaultSettings['rates']> }) => void
  get: () => FaultSettings
  /** Clears everything, one-shot faults and the exhausted limit included. */
  reset: () => void
  /** Every issued access token becomes invalid now (refresh tokens stay valid). */
  expireSessions: () => void
  /** Further REST calls get 403 REQUEST_LIMIT_EXCEEDED until reset(). */
  exhaustDailyLimit: () => void
  /** The next `count` REST calls matching `match` fail this way; faulted calls fail before touching the org. */
  failNext: (count: number, fault: Fault, match?: FaultMatch) => void
  /** Injectable RNG for deterministic tests of the random rates. */
  random: () => number
}

interface OneShot { remaining: number, fault: Fault, match: FaultMatch | undefined }

const RATE_ORDER = ['serverUnavailable', 'unableToLockRow', 'unknownException', 'dropConnection', 'dropAfterCommit'] as const

function defaults (latencyMs: number): FaultSettings {
  return { latencyMs, rates: { serverUnavailable: 0, unableToLockRow: 0, unknownException: 0, dropConnection: 0, dropAfterCommit: 0 } }
}

export class FaultController implements Faults {
  random: () => number = Math.random
  dailyLimitExhausted = false
  private settings: FaultSettings
  private oneShots: OneShot[] = []

  constructor (private readonly initialLatencyMs: number, private readonly onExpireSessions: () => void) {
    this.settings = defaults(initialLatencyMs)
  }

  set (s: Partial<Omit<FaultSettings, 'rates'>> & { rates?: Partial<FaultSettings['rates']> }): void {
    if (s.latencyMs !== undefined) {
      if (!Number.isFinite(s.latencyMs) || s.latencyMs < 0) throw new RangeError('latencyMs must be a number >= 0')
      this.settings.latencyMs = s.latencyMs
    }
    for (const [name, rate] of Object.entries(s.rates ?? {})) {
      if (!(RATE_ORDER as readonly string[]).includes(name)) throw new RangeError(`unknown fault rate '${name}'`)
      if (typeof rate !== 'number' || rate < 0 || rate > 1) throw new RangeError(`rate '${name}' must be between 0 and 1`)
      this.settings.rates[name as keyof FaultSettings['rates']] = rate
    }
  }

  get (): FaultSettings {
    return { latencyMs: this.settings.latencyMs, rates: { ...this.settings.rates } }
  }

  reset (): void {
    // Back to the start-up state: the latency given at creation, no rates, no one-shots, the limit restored.
    this.settings = defaults(this.initialLatencyMs)
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
    if (typeof fault === 'string' && !([...RATE_ORDER, 'requestLimit'] as string[]).includes(fault)) throw new RangeError(`unknown fault '${fault}'`)
    this.oneShots.push({ remaining: count, fault, match })
  }

  /** The fault for this REST call, if any: one-shots first (consumed), then the random rates. */
  pick (method: string, url: string): Fault | undefined {
    for (const shot of this.oneShots) {
      if (shot.match?.method !== undefined && shot.match.method.toUpperCase() !== method.toUpperCase()) continue
      if (shot.match?.pathIncludes !== undefined && !url.includes(shot.match.pathIncludes)) continue
      shot.remaining--
      if (shot.remaining <= 0) this.oneShots.splice(this.oneShots.indexOf(shot), 1)
      return shot.fault
    }
    for (const name of RATE_ORDER) {
      const rate = this.settings.rates[name]
      if (rate > 0 && this.random() < rate) return name
    }
    return undefined
  }
}
