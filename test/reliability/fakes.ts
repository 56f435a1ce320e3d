// Test doubles for the gateway's unit tests: a virtual clock that jumps from timer to timer, and a Salesforce
// session whose HTTP calls follow a script (answers, errors, calls that hang until their timeout).
import type { Connection } from '@jsforce/jsforce-node'
import type { SalesforceSession } from '../../src/salesforce/connection.js'
import type { GatewayClock } from '../../src/salesforce/gateway.js'

interface Timer { at: number, seq: number, fn: () => void }

/** Virtual time: nothing waits for real; `run` settles a promise by firing timers in order. */
export class FakeClock implements GatewayClock {
  time = 0
  /** What random() returns (jitter); tests set it to pin the waits. */
  rnd = 0.5
  private timers: Timer[] = []
  private seq = 0

  now (): number { return this.time }
  random (): number { return this.rnd }

  setTimer (fn: () => void, ms: number): () => void {
    const timer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn }
    this.timers.push(timer)
    return () => { this.timers = this.timers.filter((t) => t !== timer) }
  }

  get pending (): number { return this.timers.length }

  /** Moves time forward by ms, firing every timer that falls due, in order. */
  async advance (ms: number): Promise<void> {
    const end = this.time + ms
    for (;;) {
      await settle()
      const next = this.earliest()
      if (next === undefined || next.at > end) break
      this.fire(next)
    }
    this.time = end
    await settle()
  }

  /** Settles `p`, jumping to each next timer while it is pending; fails if it can never settle. */
  async run<T> (p: Promise<T>): Promise<T> {
    let done = false
    const tracked = p.finally(() => { done = true })
    tracked.catch(() => {})
    for (let i = 0; i < 10_000; i++) {
      await settle()
      if (done) return await tracked
      const next = this.earliest()
      if (next === undefined) throw new Error('the promise is pending and no timer is due: it would hang')
      this.fire(next)
    }
    throw new Error('too many timers')
  }

  private earliest (): Timer | undefined {
    let best: Timer | undefined
    for (const t of this.timers) if (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t
    return best
  }

  private fire (t: Timer): void {
    this.timers = this.timers.filter((x) => x !== t)
    this.time = Math.max(this.time, t.at)
    t.fn()
  }
}

/** Lets every queued promise continuation run (a real macrotask turn; the virtual clock is untouched). */
async function settle (): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => { setImmediate(resolve) })
}

/** What one scripted HTTP call does. */
export type Step =
  | { ok: unknown, afterMs?: number }
  /** jsforce-shaped HTTP error: `errorCode` as Salesforce's, or ERROR_HTTP_nnn. */
  | { errorCode: string, message?: string, afterMs?: number }
  /** A network failure (node-fetch FetchError with a code). */
  | { network: string, afterMs?: number }
  /** Never answers: jsforce's timeout aborts it (AbortError), as node-fetch does. */
  | { hang: true }
  /** Never answers and ignores the timeout too (only the gateway's backstop ends it). */
  | { hangForever: true }

export interface ScriptedCall { url: string, method: string, timeoutMs: number | undefined, at: number }

export interface FakeSession {
  session: SalesforceSession
  calls: ScriptedCall[]
  /** Steps used in order; the last one repeats. */
  script: Step[]
}

export function fakeSession (clock: FakeClock, script: Step[], timeoutMs = 5_000): FakeSession {
  const calls: ScriptedCall[] = []
  const fake: FakeSession = { session: undefined as unknown as SalesforceSession, calls, script }
  const request = async (req: { url: string, method: string }, opts?: { timeout?: number }): Promise<unknown> => {
    const step = fake.script[Math.min(calls.length, fake.script.length - 1)]
    calls.push({ url: req.url, method: req.method, timeoutMs: opts?.timeout, at: clock.now() })
    if (step === undefined) throw new Error('empty script')
    return await new Promise((resolve, reject) => {
      if ('hangForever' in step) return
      if ('hang' in step) {
        clock.setTimer(() => { reject(Object.assign(new Error('The user aborted a request.'), { name: 'AbortError', type: 'aborted' })) }, opts?.timeout ?? 1_800_000)
        return
      }
      clock.setTimer(() => {
        if ('ok' in step) resolve(step.ok)
        else if ('network' in step) reject(Object.assign(new Error(`request failed, reason: ${step.network}`), { name: 'FetchError', code: step.network }))
        else reject(Object.assign(new Error(step.message ?? step.errorCode), { name: step.errorCode, errorCode: step.errorCode }))
      }, step.afterMs ?? 10)
    })
  }
  fake.session = {
    conn: { version: '62.0', request } as unknown as Connection,
    ensureAuthorized: async () => {},
    reset: () => {},
    tokenRequests: 0,
    limitInfo: () => undefined,
    timeoutMs,
  }
  return fake
}

export const quietLog = { debug () {}, info () {}, warn () {}, error () {} }
