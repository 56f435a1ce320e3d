// Many record reads and writes in as few Salesforce API calls as the composite limits allow: reads packed into
// `/composite` requests (queries followed past 2,000 rows), writes split into sObject Collections of 200 and
// packed into all-or-none `/composite` requests, with each failing record named.
import type { Logger } from './connection.js'
import { SalesforceError, kindOf } from './errors.js'
import type { CompositeSubrequest, Gateway, QueryResult, SfRecord } from './gateway.js'
import type { Soql } from './soql.js'

/** docs/salesforce-behaviour.md#composite: 25 subrequests per `/composite`, of which 5 may be queries or collections. */
export const MAX_SUBREQUESTS = 25
export const MAX_QUERIES_OR_COLLECTIONS = 5
/** docs/salesforce-behaviour.md#collections: 200 records per sObject Collections write. */
export const MAX_COLLECTION_RECORDS = 200
/**
 * Ids per `IN (…)` list. Each id costs ~30 bytes of URL once quoted and encoded; 300 keep a query URL far below
 * Salesforce's 16,384-byte URI limit (docs/salesforce-behaviour.md#uri-limit), also inside a composite body [assumption: the limit applies there too].
 */
export const MAX_IDS_PER_QUERY = 300

export function chunk<T> (items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const isQueryOrCollection = (url: string): boolean => /^\/(?:query|queryAll)(?:[/?]|$)|^\/composite\/sobjects/.test(url)

/** Packs subrequests, in order, into composites that respect the per-request limits. */
export function pack (requests: readonly CompositeSubrequest[]): CompositeSubrequest[][] {
  const out: CompositeSubrequest[][] = []
  let cur: CompositeSubrequest[] = []
  let heavy = 0
  for (const r of requests) {
    const h = isQueryOrCollection(r.url) ? 1 : 0
    if (cur.length > 0 && (cur.length + 1 > MAX_SUBREQUESTS || heavy + h > MAX_QUERIES_OR_COLLECTIONS)) {
      out.push(cur)
      cur = []
      heavy = 0
    }
    cur.push(r)
    heavy += h
  }
  if (cur.length > 0) out.push(cur)
  return out
}

export const queryRequest = (referenceId: string, q: Soql): CompositeSubrequest =>
  ({ method: 'GET', url: `/query?q=${encodeURIComponent(q)}`, referenceId })

/**
 * Runs reads (GETs and queries) in as few composites as the limits allow and returns each body by referenceId;
 * a query whose answer did not fit one batch (2,000 rows) is followed with queryMore, its records concatenated.
 * A read that fails throws (a NOT_FOUND GET is a SalesforceError of kind notFound).
 */
export async function readAll (gateway: Gateway, requests: readonly CompositeSubrequest[], log: Logger): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>()
  for (const group of pack(requests)) {
    const results = await gateway.composite(group, { allOrNone: false, safeToRetry: true }, log)
    for (const r of results) out.set(r.referenceId, r.body)
  }
  for (const [ref, body] of out) {
    const q = body as Partial<QueryResult> | null
    if (q === null || typeof q !== 'object' || !Array.isArray(q.records) || q.done !== false || q.nextRecordsUrl === undefined) continue
    const records = [...q.records]
    let next: string | undefined = q.nextRecordsUrl
    while (next !== undefined) {
      const more = await gateway.queryMore(next, log)
      records.push(...more.records)
      next = more.done ? undefined : more.nextRecordsUrl
    }
    out.set(ref, { ...q, records, done: true })
  }
  return out
}

/** The records of a query answer returned by readAll. */
export function recordsOf (body: unknown): SfRecord[] {
  const records = (body as { records?: unknown } | null | undefined)?.records
  return Array.isArray(records) ? records as SfRecord[] : []
}

/** Every record of a query, following queryMore. */
export async function queryAll (gateway: Gateway, q: Soql, log: Logger): Promise<SfRecord[]> {
  let res = await gateway.query(q, log)
  const records = [...res.records]
  while (!res.done && res.nextRecordsUrl !== undefined) {
    res = await gateway.queryMore(res.nextRecordsUrl, log)
    records.push(...res.records)
  }
  return records
}

// ---------------------------------------------------------------------------------------------------------------
// Writes

/** One record write; `label` names it in errors and in the progress report (e.g. the member's user id). */
export type RecordWrite =
  | { op: 'create', sobject: string, fields: Record<string, unknown>, label: string }
  | { op: 'update', sobject: string, id: string, fields: Record<string, unknown>, label: string }
  | { op: 'delete', id: string, label: string }

/** A plain subrequest that goes first in the first composite (a rename, say). */
export interface SingleWrite { method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, label: string }

/** A record that Salesforce refused, named by its label. */
export class RecordWriteError extends SalesforceError {
  readonly label: string
  constructor (code: string, message: string, label: string, fields: string[]) {
    super(code, message, kindOf(code), { fields })
    this.name = 'RecordWriteError'
    this.label = label
  }
}

/** One `/composite` request of a write: its subrequests and, per subrequest, the labels of the records it carries. */
export interface WriteStep { requests: CompositeSubrequest[], labels: string[][] }

/** Collections of ≤200 records of one operation and type, in the order given, behind the single writes. */
export function planWrites (singles: readonly SingleWrite[], writes: readonly RecordWrite[]): WriteStep[] {
  const subs: Array<{ request: CompositeSubrequest, labels: string[] }> = []
  singles.forEach((s, i) => subs.push({ request: { method: s.method, url: s.url, referenceId: `w${i}`, ...(s.body !== undefined ? { body: s.body } : {}) }, labels: [s.label] }))
  // Consecutive writes with the same op and type share collections (Salesforce also refuses to mix setup objects
  // with others in one collection, docs/salesforce-behaviour.md#collections).
  const runs: RecordWrite[][] = []
  for (const w of writes) {
    const last = runs[runs.length - 1]
    const head = last?.[0]
    if (head !== undefined && head.op === w.op && (w.op === 'delete' || (head as { sobject: string }).sobject === (w as { sobject: string }).sobject)) last?.push(w)
    else runs.push([w])
  }
  let n = 0
  for (const run of runs) {
    for (const part of chunk(run, MAX_COLLECTION_RECORDS)) {
      const head = part[0] as RecordWrite
      const referenceId = `c${n++}`
      const labels = part.map((w) => w.label)
      // allOrNone on the collection too: the outer allOrNone should override it (docs/salesforce-behaviour.md#composite-allornone), and this way the records of
      // one collection never part company even where an implementation does not.
      if (head.op === 'delete') {
        subs.push({ request: { method: 'DELETE', url: `/composite/sobjects?ids=${part.map((w) => (w as { id: string }).id).join(',')}&allOrNone=true`, referenceId }, labels })
      } else {
        const records = part.map((w) => {
          const base = { attributes: { type: (w as { sobject: string }).sobject }, ...(w as { fields: Record<string, unknown> }).fields }
          return w.op === 'update' ? { ...base, id: w.id } : base
        })
        subs.push({ request: { method: head.op === 'create' ? 'POST' : 'PATCH', url: '/composite/sobjects', referenceId, body: { allOrNone: true, records } }, labels })
      }
    }
  }
  const byRequest = new Map(subs.map((s) => [s.request, s.labels]))
  return pack(subs.map((s) => s.request)).map((requests) => ({ requests, labels: requests.map((r) => byRequest.get(r) ?? []) }))
}

/** Throws the first real error of a collection answer (rolled-back siblings only echo it). */
function checkCollection (body: unknown, labels: readonly string[]): void {
  if (!Array.isArray(body)) return
  let fallback: RecordWriteError | undefined
  body.forEach((r: { success?: boolean, errors?: Array<{ statusCode?: string, message?: string, fields?: string[] }> }, i) => {
    if (r?.success !== false) return
    const e = r.errors?.[0]
    const code = e?.statusCode ?? 'UNKNOWN'
    const err = new RecordWriteError(code, e?.message ?? 'record refused', labels[i] ?? '', e?.fields ?? [])
    if (code !== 'ALL_OR_NONE_OPERATION_ROLLED_BACK') throw err
    fallback ??= err
  })
  if (fallback !== undefined) throw fallback
}

export interface WriteProgress {
  /** Composites Salesforce committed, of `total`. */
  done: number
  total: number
  /** Labels of the step that failed (committed or not: see `outcomeUnknown`) and of the steps never sent. */
  failed?: string[]
  unsent?: string[]
  /** The failing step may have committed (the connection broke after sending it). */
  outcomeUnknown?: boolean
}

/**
 * Applies the writes, one all-or-none `/composite` per step (one API call each). A step either commits as a
 * whole or not at all; `onCommitted` runs after each committed step with the labels it carried, so that local
 * bookkeeping follows Salesforce step by step. When a later step fails, the earlier ones stay committed: the
 * error carries the progress, and the caller reports it (an IdP retry of the same request converges, because
 * every step is computed from the state it finds).
 */
export async function applyWrites (
  gateway: Gateway,
  singles: readonly SingleWrite[],
  writes: readonly RecordWrite[],
  log: Logger,
  onCommitted: (labels: string[], results: Map<string, unknown>) => void | Promise<void>
): Promise<WriteProgress> {
  const steps = planWrites(singles, writes)
  let done = 0
  for (const [index, step] of steps.entries()) {
    try {
      // Not replayed after an unknown outcome (a dropped connection): the replay of a committed step would fail on
      // its own duplicates and hide that it had worked. The IdP's retry recomputes the change from what it finds.
      const results = await gateway.composite(step.requests, { allOrNone: true, safeToRetry: false }, log)
      step.requests.forEach((r, i) => {
        if (r.url.startsWith('/composite/sobjects')) checkCollection(results[i]?.body, step.labels[i] ?? [])
      })
      await onCommitted(step.labels.flat(), new Map(results.map((r) => [r.referenceId, r.body])))
      done++
    } catch (err) {
      const progress: WriteProgress = {
        done,
        total: steps.length,
        failed: step.labels.flat(),
        unsent: steps.slice(index + 1).flatMap((s) => s.labels.flat()),
        outcomeUnknown: err instanceof SalesforceError ? err.kind === 'unknownOutcome' : true,
      }
      throw Object.assign(err instanceof Error ? err : new Error(String(err)), { progress })
    }
  }
  return { done, total: steps.length }
}

/** How far a multi-step write got before it failed, if it was one. */
export function progressOf (err: unknown): WriteProgress | undefined {
  return (err as { progress?: WriteProgress } | null)?.progress
}
