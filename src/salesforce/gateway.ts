// The low-level Salesforce REST calls scimforce makes: record reads, SOQL, and `/composite` requests that carry a
// write and its read-back in one API call. Applies the retry policy, the time budget and the circuit breaker;
// callers get records or a SalesforceError.
import { identityOf, type SalesforceSession, type Logger } from './connection.js'
import { createBreaker, type Breaker, type BreakerOptions, type Transition } from './breaker.js'
import { classify, kindOf, SalesforceError } from './errors.js'
import { stillInFlight } from './in-flight.js'
import type { Soql } from './soql.js'

export type SfRecord = Record<string, unknown> & { Id?: string }

export interface CompositeSubrequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** Relative to the versioned data URL, e.g. `/sobjects/User`. */
  url: string
  referenceId: string
  body?: unknown
}

interface CompositeResult {
  body: unknown
  httpHeaders: Record<string, string>
  httpStatusCode: number
  referenceId: string
}

export interface QueryResult { totalSize: number, done: boolean, records: SfRecord[], nextRecordsUrl?: string }

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number
  /** The first wait; each further wait doubles, up to maxDelayMs, with jitter. */
  baseDelayMs: number
  maxDelayMs?: number
  /**
   * Hard deadline of one gateway call, every attempt, wait and token refresh included: a retry starts only if it
   * has at least MIN_ATTEMPT_MS left, and each attempt's HTTP timeout is cut to what is left. Omitted: twice the
   * session's request timeout, which is config `salesforce.timeoutMs` (SF_TIMEOUT_MS): one setting bounds a call,
   * and a read whose first attempt hangs for a whole request timeout is still asked once more.
   */
  budgetMs?: number
  /** Circuit breaker settings (breaker.ts); omitted: DEFAULT_BREAKER. */
  breaker?: Partial<BreakerOptions>
  /** How long a write that timed out is still waited for in the background; omitted: SETTLE_CAP_MS. */
  settleCapMs?: number
}

/**
 * Four attempts, waits of about 0.2, 0.4 and 0.8 s: that rides out an UNABLE_TO_LOCK_ROW or a brief 503 and, when
 * Salesforce keeps failing fast, answers 503 within about 2 s, before WSO2 IS's 5 s read timeout (docs/idp-behaviour.md#wso2-timeouts)
 * makes it give up and re-send. The budget is SF_TIMEOUT_MS (20 s unless configured), one HTTP request at most
 * half of it: it caps a call that is slow rather than failing. A SCIM request makes at most two calls on its common
 * paths (a create whose outcome is unknown, after 10 s, then the look-up), so the IdP has its answer within about
 * 30 s, well inside the 60 s Entra allows (docs/idp-behaviour.md#entra).
 */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 2_000 }

/**
 * A retry is not started with less time than this left in the budget: a Salesforce call that is answered at all
 * is answered in a few hundred milliseconds, so a shorter attempt would mostly time out and could leave a write
 * in an unknown state for nothing.
 */
const MIN_ATTEMPT_MS = 500

/**
 * jsforce's own timeout covers the HTTP exchange up to the response headers. The backstop also covers what lies
 * around it (the token request of ensureAuthorized, a refresh and replay after INVALID_SESSION_ID, reading the
 * body), so no attempt outlives its timeout by more than this.
 */
const BACKSTOP_GRACE_MS = 1_000

/**
 * A write is never aborted when its answer is late (issue 16): aborting the HTTP request does not stop
 * Salesforce, it only loses the one signal that says the write is over. The IdP is answered 503 when the time
 * budget runs out, and the request keeps its connection until Salesforce answers, the connection closes, or this
 * hard cap passes (then jsforce aborts it). Meanwhile the resource's later writes wait (src/scim/ordering.ts).
 * Assumption (docs/salesforce-behaviour.md#composite-batch "10-minute timeout" for composite/batch; for /composite and sObject
 * writes no limit is documented, UNVERIFIED): a synchronous write that has not answered in two minutes is stuck
 * rather than slow; past the cap the order of a later write is no longer guaranteed, and this is logged.
 */
export const SETTLE_CAP_MS = 120_000

/** Time and randomness, injectable so that the retry policy can be tested without waiting. */
export interface GatewayClock {
  now (): number
  /** Runs fn after ms; returns a function that cancels it. */
  setTimer (fn: () => void, ms: number): () => void
  /** 0 <= x < 1, for jitter. */
  random (): number
}

export const SYSTEM_CLOCK: GatewayClock = {
  now: () => Date.now(),
  setTimer (fn, ms) {
    const t = setTimeout(fn, ms)
    // A pending backoff or backstop never keeps the process alive on its own (shutdown, tests).
    t.unref()
    return () => clearTimeout(t)
  },
  random: () => Math.random(),
}

/** What one call may replay. */
interface Replay {
  /** Salesforce said it wrote nothing (a lock, a 503, a rolled-back composite). */
  transient: boolean
  /** The connection failed: the request may or may not have been carried out. */
  unknown: boolean
  /** No answer in time: the request may still be running in Salesforce. */
  afterTimeout: boolean
}

/** Reads replay anything: asking again changes nothing. */
const READ: Replay = { transient: true, unknown: true, afterTimeout: true }

export interface Gateway {
  readonly apiVersion: string
  /** One record by id; undefined when Salesforce has none (NOT_FOUND, or an id of the wrong shape). */
  retrieve (sobject: string, id: string, fields: string[], log: Logger): Promise<SfRecord | undefined>
  query (q: Soql, log: Logger): Promise<QueryResult>
  queryMore (nextRecordsUrl: string, log: Logger): Promise<QueryResult>
  /**
   * One `/composite` request (one API call). With allOrNone, a failure rolls everything back and the error of
   * the subrequest that failed is thrown. `safeToRetry` says whether replaying it after an unknown outcome is
   * harmless (an update is, a create is not).
   */
  composite (requests: CompositeSubrequest[], opts: { allOrNone: boolean, safeToRetry: boolean }, log: Logger): Promise<CompositeResult[]>
  /**
   * One plain sObject REST write (POST or PATCH on `/sobjects/...`), outside `/composite`: Salesforce resolves
   * `@{…}` references only inside a composite (docs/salesforce-behaviour.md#composite, #composite-references), so here every value is data. Answers the
   * body Salesforce returned (`{ id, success }` for a POST, nothing for a PATCH's 204). `safeToRetry` as for
   * composite: a PATCH is, a POST is not.
   */
  write (method: 'POST' | 'PATCH', url: string, body: Record<string, unknown>, opts: { safeToRetry: boolean }, log: Logger): Promise<unknown>
  /**
   * The integration user's Id (the managed scope leaves it out, issue 11). Known from the token response once a
   * token is held; before that, the token request runs as a call of its own, under the retry budget and the
   * breaker (an open breaker fails it fast, a slow login is cut at the budget). Without an identity it fails
   * closed: an auth error, 503 to the IdP.
   */
  integrationUserId (log: Logger): Promise<string>
  dataPath (rest: string): string
  /** The circuit breaker's state (metrics, readiness, tests). */
  readonly breaker: Pick<Breaker, 'state' | 'snapshot'>
}

/** Told about every Salesforce call attempt (metrics); must not throw. */
export interface GatewayObserver {
  onCall (what: string, durationMs: number, errorCode: string | undefined): void
}

/**
 * An outage as the breaker counts it: Salesforce did not answer (network, timeout) or answered that it cannot
 * serve (5xx, SERVER_UNAVAILABLE). A definitive answer, an error included, shows a working Salesforce: a record
 * lock is contention on one record, and a spent daily limit is a quota, not an outage. Counting the limit would
 * turn an honest 429 with Retry-After 600 into a 503 that invites the IdP back twenty times sooner, and would
 * tell the admin "Salesforce is down" when the fix is a larger allowance.
 */
function isOutage (err: SalesforceError): boolean {
  if (err.kind === 'unknownOutcome') return true
  return err.kind === 'transient' && err.code !== 'UNABLE_TO_LOCK_ROW'
}

export const CIRCUIT_OPEN = 'CIRCUIT_OPEN'

export function createGateway (session: SalesforceSession, policy: RetryPolicy = DEFAULT_RETRY, observer?: GatewayObserver, clock: GatewayClock = SYSTEM_CLOCK): Gateway {
  const version = session.conn.version
  const dataPath = (rest: string): string => `/services/data/v${version}${rest}`
  const breaker = createBreaker(policy.breaker, () => clock.now())
  const maxDelayMs = policy.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs ?? policy.baseDelayMs
  const timeoutMs = session.timeoutMs
  const budgetMs = policy.budgetMs ?? 2 * timeoutMs
  const settleCapMs = Math.max(policy.settleCapMs ?? SETTLE_CAP_MS, timeoutMs)

  const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => { clock.setTimer(resolve, ms) })

  /** Exponential backoff with equal jitter: half the step is fixed, half random, so retries of many requests spread out. */
  function backoff (attempt: number): number {
    const step = Math.min(maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
    return step / 2 + clock.random() * step / 2
  }

  /**
   * One attempt: a token if none is held, then fn with its HTTP timeout, under a backstop timer. A read's HTTP
   * request is aborted at attemptTimeoutMs (the backstop follows a second later). A write's is not: its caller is
   * answered TIMEOUT at attemptTimeoutMs while the request runs on, up to settleCapMs, handed to the caller's
   * in-flight scope (in-flight.ts) so that the resource's next write waits for it (SETTLE_CAP_MS).
   */
  async function attempt<T> (fn: (timeoutMs: number) => Promise<T>, attemptTimeoutMs: number, write: boolean, what: string, log: Logger): Promise<T> {
    let cancel = (): void => {}
    let timedOut = false
    const backstop = new Promise<never>((_resolve, reject) => {
      cancel = clock.setTimer(() => {
        timedOut = true
        reject(new SalesforceError('TIMEOUT', 'Salesforce did not answer in time', 'unknownOutcome'))
      }, write ? attemptTimeoutMs : attemptTimeoutMs + BACKSTOP_GRACE_MS)
    })
    const work = (async () => {
      await session.ensureAuthorized()
      return await fn(write ? settleCapMs : attemptTimeoutMs)
    })()
    try {
      return await Promise.race([work, backstop])
    } finally {
      cancel()
      // When the backstop won, the abandoned attempt still settles later; its failure is already accounted for.
      work.catch(() => {})
      if (timedOut && write) {
        stillInFlight(work)
        const t0 = clock.now()
        work.then(
          () => { log.warn({ sf: what, lateMs: clock.now() - t0 }, 'a Salesforce write that timed out has completed after all') },
          (err: unknown) => { log.warn({ sf: what, code: classify(err).code, lateMs: clock.now() - t0 }, 'a Salesforce write that timed out has ended') }
        )
      }
    }
  }

  /**
   * Runs one Salesforce call under the retry policy and the breaker. (Not cockatiel's retry + timeout policies:
   * the deadline covers waits and token refreshes, a retry needs MIN_ATTEMPT_MS left, each attempt's timeout is
   * handed to jsforce, whose 3.10.16 takes no AbortSignal, and what may be replayed depends on the error and the
   * request - see breaker.ts for the rest.) A 'transient' failure means Salesforce wrote
   * nothing (a lock timeout, a 503, a rolled-back composite) so it is retried when `retry.transient`; an
   * 'unknownOutcome' (connection dropped, timeout) only when replaying is harmless (`retry.unknown`,
   * `retry.afterTimeout`). A spent daily limit, a validation error or a conflict is an answer, never retried.
   */
  async function call<T> (what: string, retry: Replay, log: Logger, fn: (timeoutMs: number) => Promise<T>, write = false): Promise<T> {
    const deadline = clock.now() + budgetMs
    let last: SalesforceError | undefined
    for (let n = 1; ; n++) {
      const permit = breaker.enter()
      if (permit === undefined) {
        const retryInMs = breaker.snapshot().retryInMs
        // Retries cut short by the breaker report the failure that was seen; a call refused outright says why.
        if (last !== undefined) {
          log.warn({ sf: what, code: last.code, kind: last.kind, attempt: n - 1 }, 'Salesforce call failed; circuit breaker open, no more retries')
          throw last
        }
        log.warn({ sf: what, retryInMs }, 'Salesforce circuit breaker open: failing fast')
        throw new SalesforceError(CIRCUIT_OPEN, 'Salesforce has been failing; scimforce holds calls back for a few seconds', 'transient')
      }
      const t0 = performance.now()
      const attemptTimeoutMs = Math.max(1, Math.min(timeoutMs, deadline - clock.now()))
      try {
        const result = await attempt(fn, attemptTimeoutMs, write, what, log)
        observer?.onCall(what, performance.now() - t0, undefined)
        logTransition(permit.done(true), log, what)
        return result
      } catch (raw) {
        const err = classify(raw)
        last = err
        observer?.onCall(what, performance.now() - t0, err.code)
        logTransition(permit.done(!isOutage(err)), log, what, err.code)
        const retryable = (err.kind === 'transient' && retry.transient) ||
          (err.kind === 'unknownOutcome' && retry.unknown && (err.code !== 'TIMEOUT' || retry.afterTimeout))
        const delay = backoff(n)
        if (!retryable || n >= policy.attempts || clock.now() + delay + MIN_ATTEMPT_MS > deadline) {
          log.warn({ sf: what, code: err.code, kind: err.kind, attempt: n }, 'Salesforce call failed')
          throw err
        }
        log.info({ sf: what, code: err.code, attempt: n, delayMs: Math.round(delay) }, 'retrying Salesforce call')
        await sleep(delay)
      }
    }
  }

  return {
    apiVersion: version,
    dataPath,
    breaker: { state: () => breaker.state(), snapshot: () => breaker.snapshot() },
    async retrieve (sobject, id, fields, log) {
      // Salesforce ids are 15 or 18 alphanumerics; anything else cannot exist and must not reach the URL.
      if (!/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(id)) return undefined
      try {
        return await call(`retrieve ${sobject}`, READ, log, async (timeout) =>
          await session.conn.request<SfRecord>({ method: 'GET', url: dataPath(`/sobjects/${sobject}/${id}?fields=${fields.join(',')}`) }, { timeout }))
      } catch (err) {
        if (err instanceof SalesforceError && (err.kind === 'notFound' || err.code === 'MALFORMED_ID')) return undefined
        throw err
      }
    },
    async query (q, log) {
      return await call('query', READ, log, async (timeout) =>
        await session.conn.request<QueryResult>({ method: 'GET', url: dataPath(`/query?q=${encodeURIComponent(q)}`) }, { timeout }))
    },
    async queryMore (nextRecordsUrl, log) {
      return await call('queryMore', READ, log, async (timeout) =>
        await session.conn.request<QueryResult>({ method: 'GET', url: nextRecordsUrl }, { timeout }))
    },
    async integrationUserId (log) {
      // Once known, no call: a token-only "call" would also let a half-open breaker close on a login alone.
      const known = identityOf(session.conn)
      if (known !== undefined) return known
      // attempt() obtains the token before running fn: the call is the token request, nothing more.
      await call('token', READ, log, async () => {})
      const id = identityOf(session.conn)
      if (id === undefined) throw new SalesforceError('NO_IDENTITY', 'The Salesforce token response named no user (identity URL missing)', 'auth')
      return id
    },
    async write (method, url, body, opts, log) {
      if (!url.startsWith('/sobjects/')) throw new Error(`gateway.write is for sObject records only, not ${url}`)
      // Salesforce answers an error for a write that it did not carry out, so a transient one may be replayed; an
      // unknown outcome only when the write is idempotent, and never right after a timeout (see composite below).
      const retry: Replay = { transient: true, unknown: opts.safeToRetry, afterTimeout: false }
      return await call(`${method} ${url.split('/')[2] ?? 'sobject'}`, retry, log, async (timeout) =>
        await session.conn.request<unknown>({
          method,
          url: dataPath(url),
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }, { timeout }), true)
    },
    async composite (requests, opts, log) {
      const body = {
        allOrNone: opts.allOrNone,
        compositeRequest: requests.map((r) => ({ ...r, url: dataPath(r.url) })),
      }
      // With allOrNone a failed subrequest rolls the whole request back, so a transient failure is safe to replay.
      // A write that timed out is never replayed at once, even an idempotent one: it may still be running in
      // Salesforce, and if our replay succeeded first the IdP's next change could be overwritten when the old
      // one lands. The 503 sends the IdP away for Retry-After (30 s); its retry is the replay.
      const retry: Replay = { transient: opts.allOrNone || opts.safeToRetry, unknown: opts.safeToRetry, afterTimeout: false }
      const write = requests.some((r) => r.method !== 'GET')
      const results = await call('composite', retry, log, async (timeout) => {
        const res = await session.conn.request<{ compositeResponse: CompositeResult[] }>({
          method: 'POST',
          url: dataPath('/composite'),
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }, { timeout })
        // A failed subrequest throws here, inside the retry loop, so that a lock or a 503 in it is retried.
        try {
          return failedCheck(res.compositeResponse)
        } catch (err) {
          // A subrequest's 500 inside an answered allOrNone composite: the whole transaction was rolled back
          // (docs/salesforce-behaviour.md#composite), so nothing was written, whatever a bare 500 would mean.
          if (opts.allOrNone && err instanceof SalesforceError && err.kind === 'unknownOutcome') {
            throw new SalesforceError(err.code, err.message, 'transient', { fields: err.fields, ...(err.httpStatus !== undefined ? { httpStatus: err.httpStatus } : {}) })
          }
          throw err
        }
      }, write)
      // The answer's shape is checked once it is final: a malformed answer is not worth a replay.
      return checkComposite(requests, results)
    },
  }
}

function logTransition (t: Transition | undefined, log: Logger, what: string, code?: string): void {
  if (t === undefined || t.from === t.to) return
  if (t.to === 'open') log.error({ sf: what, code, from: t.from }, 'Salesforce circuit breaker opened: failing fast until a probe succeeds')
  else log.warn({ sf: what, from: t.from }, 'Salesforce circuit breaker closed: calls flow again')
}

/** The generic message of a subrequest that only halted because another one failed (docs/salesforce-behaviour.md#composite). */
const isEcho = (e: { errorCode?: string, statusCode?: string, message?: string }): boolean =>
  (e.errorCode ?? e.statusCode) === 'PROCESSING_HALTED' && !/invalid reference/i.test(e.message ?? '')

type ErrorItem = { errorCode?: string, statusCode?: string, message?: string, fields?: string[] }

/**
 * Any subrequest that did not succeed is an error, with the real cause: the subrequest that says why (an "Invalid
 * reference specified" halt, docs/salesforce-behaviour.md#composite-references, or the failure the others echo), not the PROCESSING_HALTED echo.
 * A composite whose every subrequest was halted is an error too, never an empty success.
 */
function failedCheck (results: CompositeResult[]): CompositeResult[] {
  const failed = results.filter((r) => r.httpStatusCode >= 400)
  if (failed.length === 0) return results
  const items = failed.flatMap((r) => Array.isArray(r.body) ? r.body as ErrorItem[] : [])
  const real = items.find((e) => !isEcho(e))
  // With allOrNone, a record refused inside an sObject Collections answer (200) rolls the rest back, which then
  // only echo it: the refused record is the cause, and the caller names it by its label (batch.ts checkCollection).
  if (real === undefined && results.some(refusedRecord)) return results
  const cause = real ?? items[0]
  const status = failed.find((r) => Array.isArray(r.body) && (r.body as ErrorItem[]).includes(cause as ErrorItem))?.httpStatusCode ?? failed[0]?.httpStatusCode
  const code = cause?.errorCode ?? cause?.statusCode ?? `ERROR_HTTP_${status ?? 500}`
  const fields = cause?.fields ?? []
  throw new SalesforceError(code, cause?.message ?? 'Salesforce halted the request', kindOf(code, status, fields), { fields, ...(status !== undefined ? { httpStatus: status } : {}) })
}

/** A 2xx sObject Collections answer with a record Salesforce refused for its own reason (not the rollback echo). */
function refusedRecord (r: CompositeResult): boolean {
  return r.httpStatusCode < 300 && Array.isArray(r.body) && (r.body as Array<{ success?: unknown, errors?: ErrorItem[] } | null>).some((x) =>
    x?.success === false && (x.errors ?? []).some((e) => e.statusCode !== 'ALL_OR_NONE_OPERATION_ROLLED_BACK'))
}

/** A record GET (`/sobjects/Type/{id or @{ref}}`), whose answer must be the record. */
const RECORD_GET = /^\/sobjects\/[A-Za-z0-9_]+\/[^/?]+(?:\?|$)/
/** A record create (`/sobjects/Type`), whose answer must carry the new Id. */
const RECORD_POST = /^\/sobjects\/[A-Za-z0-9_]+$/

/**
 * No false success, for every caller of `composite` (issue 11): every result is checked. A failed or halted
 * subrequest is an error with the real cause (failedCheck); an answer must hold one result per subrequest; a record
 * read (a write's read-back) must carry an Id and a create its new id, or the write is not known to have happened;
 * an sObject Collections answer must hold one result per record (its refused records are the caller's: batch.ts
 * names them by label).
 */
export function checkComposite (requests: readonly CompositeSubrequest[], results: CompositeResult[]): CompositeResult[] {
  if (results.length !== requests.length) {
    throw new SalesforceError('INCOMPLETE_COMPOSITE', `Salesforce answered ${results.length} of ${requests.length} subrequests`, 'unknownOutcome')
  }
  failedCheck(results)
  requests.forEach((req, i) => {
    // Only what succeeded is held to its shape (a subrequest halted by a refused record is the caller's, above).
    if ((results[i]?.httpStatusCode ?? 500) >= 300) return
    const body = results[i]?.body
    const what = `${req.method} ${req.url.split('?')[0] ?? ''}`
    if (req.method === 'GET' && RECORD_GET.test(req.url)) {
      if (body === null || typeof body !== 'object' || Array.isArray(body) || typeof (body as SfRecord).Id !== 'string' || (body as SfRecord).Id === '') {
        throw new SalesforceError('MISSING_READ_BACK', `Salesforce answered ${what} without the record's Id (${req.referenceId})`, 'unknownOutcome')
      }
    }
    if (req.method === 'POST' && RECORD_POST.test(req.url) && typeof (body as { id?: unknown } | null)?.id !== 'string') {
      throw new SalesforceError('MISSING_READ_BACK', `Salesforce answered ${what} without the Id it created (${req.referenceId})`, 'unknownOutcome')
    }
    if (!req.url.startsWith('/composite/sobjects')) return
    const expected = req.method === 'DELETE'
      ? (/[?&]ids=([^&]*)/.exec(req.url)?.[1] ?? '').split(',').filter((x) => x !== '').length
      : ((req.body as { records?: unknown[] } | undefined)?.records ?? []).length
    const wellFormed = Array.isArray(body) && body.length === expected &&
      body.every((r: { success?: unknown }) => r !== null && typeof r === 'object' && typeof r.success === 'boolean')
    if (!wellFormed) throw new SalesforceError('UNEXPECTED_COLLECTION_RESULT', `Salesforce's answer to ${what} does not say the fate of each of its ${expected} records`, 'unknownOutcome')
  })
  return results
}
