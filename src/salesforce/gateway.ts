// The low-level Salesforce REST calls scimforce makes: record reads, SOQL, and `/composite` requests that carry a
// write and its read-back in one API call. Applies the retry policy; callers get records or a SalesforceError.
import type { SalesforceSession, Logger } from './connection.js'
import { classify, fromItems, SalesforceError, type SalesforceErrorItem } from './errors.js'
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
  baseDelayMs: number
  /** Never start a retry that would end later than this after the first attempt. */
  budgetMs: number
}

/**
 * Three attempts within 8 s: long enough to ride out an UNABLE_TO_LOCK_ROW or a brief 503, short enough that
 * the IdP (Entra waits 60 s at most) gets an honest 503 well before it gives up on us.
 */
const READ = { transient: true, unknown: true }

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 250, budgetMs: 8_000 }

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
  dataPath (rest: string): string
}

/** Told about every Salesforce call attempt (metrics); must not throw. */
export interface GatewayObserver {
  onCall (what: string, durationMs: number, errorCode: string | undefined): void
}

export function createGateway (session: SalesforceSession, policy: RetryPolicy = DEFAULT_RETRY, observer?: GatewayObserver): Gateway {
  const version = session.conn.version
  const dataPath = (rest: string): string => `/services/data/v${version}${rest}`

  /**
   * Runs one Salesforce call under the retry policy. A 'transient' failure means Salesforce wrote nothing
   * (a lock timeout, a 503, a rolled-back composite) so it is retried when `retryTransient`; an 'unknownOutcome'
   * (connection dropped, timeout) only when replaying is harmless (`retryUnknown`).
   */
  async function call<T> (what: string, retry: { transient: boolean, unknown: boolean }, log: Logger, fn: () => Promise<T>): Promise<T> {
    const started = Date.now()
    for (let attempt = 1; ; attempt++) {
      const t0 = performance.now()
      try {
        await session.ensureAuthorized()
        const result = await fn()
        observer?.onCall(what, performance.now() - t0, undefined)
        return result
      } catch (raw) {
        const err = classify(raw)
        observer?.onCall(what, performance.now() - t0, err.code)
        const retryable = (err.kind === 'transient' && retry.transient) || (err.kind === 'unknownOutcome' && retry.unknown)
        const delay = policy.baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random())
        if (!retryable || attempt >= policy.attempts || Date.now() - started + delay > policy.budgetMs) {
          log.warn({ sf: what, code: err.code, kind: err.kind, attempt }, 'Salesforce call failed')
          throw err
        }
        log.info({ sf: what, code: err.code, attempt, delayMs: Math.round(delay) }, 'retrying Salesforce call')
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  return {
    apiVersion: version,
    dataPath,
    async retrieve (sobject, id, fields, log) {
      // Salesforce ids are 15 or 18 alphanumerics; anything else cannot exist and must not reach the URL.
      if (!/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(id)) return undefined
      try {
        return await call(`retrieve ${sobject}`, READ, log, async () =>
          await session.conn.request<SfRecord>({ method: 'GET', url: dataPath(`/sobjects/${sobject}/${id}?fields=${fields.join(',')}`) }))
      } catch (err) {
        if (err instanceof SalesforceError && (err.kind === 'notFound' || err.code === 'MALFORMED_ID')) return undefined
        throw err
      }
    },
    async query (q, log) {
      return await call('query', READ, log, async () =>
        await session.conn.request<QueryResult>({ method: 'GET', url: dataPath(`/query?q=${encodeURIComponent(q)}`) }))
    },
    async queryMore (nextRecordsUrl, log) {
      return await call('queryMore', READ, log, async () =>
        await session.conn.request<QueryResult>({ method: 'GET', url: nextRecordsUrl }))
    },
    async composite (requests, opts, log) {
      const body = {
        allOrNone: opts.allOrNone,
        compositeRequest: requests.map((r) => ({ ...r, url: dataPath(r.url) })),
      }
      // With allOrNone a failed subrequest rolls the whole request back, so a transient failure is safe to replay.
      const retry = { transient: opts.allOrNone || opts.safeToRetry, unknown: opts.safeToRetry }
      return await call('composite', retry, log, async () => {
        const res = await session.conn.request<{ compositeResponse: CompositeResult[] }>({
          method: 'POST',
          url: dataPath('/composite'),
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        })
        const results = res.compositeResponse
        const failed = results.find((r) => r.httpStatusCode >= 400 && !isHalted(r.body))
        if (failed !== undefined) throw fromItems(Array.isArray(failed.body) ? failed.body as SalesforceErrorItem[] : [], failed.httpStatusCode)
        return results
      })
    },
  }
}

function isHalted (body: unknown): boolean {
  return Array.isArray(body) && (body as SalesforceErrorItem[]).some((e) => e.errorCode === 'PROCESSING_HALTED')
}
