// Many User creates or updates in as few API calls as Salesforce allows: sObject Collections of 200 records packed
// into `/composite` requests, each record's outcome handed back on its own, the managed-scope guard and the
// read-back exact per record. Used by the coalescer (users.ts); what a record means for SCIM is decided above.
import { chunk, MAX_COLLECTION_RECORDS, MAX_IDS_PER_QUERY, MAX_QUERIES_OR_COLLECTIONS, pack, readAll, recordsOf } from './batch.js'
import type { Settled } from './coalesce.js'
import type { Logger } from './connection.js'
import { fromItems, SalesforceError } from './errors.js'
import type { CompositeSubrequest, Gateway, SfRecord } from './gateway.js'
import { and, inList, select, type Soql, type SoqlFragment } from './soql.js'

export interface CreateItem { record: Record<string, unknown>, log: Logger }
export interface UpdateItem { id: string, changes: Record<string, unknown>, log: Logger }

/** One record's entry in a collection answer (docs/salesforce-behaviour.md#collections). */
interface SaveResult { id?: string, success?: boolean, errors?: Array<{ statusCode?: string, message?: string, fields?: string[] }> }

const ROLLED_BACK = 'ALL_OR_NONE_OPERATION_ROLLED_BACK'

/**
 * A query URL inside a `/composite` stays under Salesforce's 16,384-byte URI limit (docs/salesforce-behaviour.md#status-codes; the same
 * assumption as batch.ts MAX_IDS_PER_QUERY), with room for the version prefix.
 */
const MAX_QUERY_URL = 12_000

const queryUrl = (q: Soql): string => `/query?q=${encodeURIComponent(q)}`

function recordError (r: SaveResult | undefined): SalesforceError {
  const e = r?.errors?.[0]
  if (e === undefined) return new SalesforceError('MISSING_WRITE_RESULT', 'Salesforce answered the collection without this record\'s result', 'unknownOutcome')
  return fromItems([{ statusCode: e.statusCode ?? 'UNKNOWN', message: e.message ?? 'record refused', fields: e.fields ?? [] }])
}

const failed = <R>(error: unknown): Settled<R> => ({ ok: false, error })

function missingReadBack (): SalesforceError {
  return new SalesforceError('MISSING_READ_BACK', 'Salesforce answered the write without the record it wrote', 'unknownOutcome')
}

/**
 * Read-back queries by Username for these records, each URL within MAX_QUERY_URL. Usernames are known before the
 * write (ids are not), so the read-back can ride in the same composite as the collection that creates them; the
 * answer is matched by the Id each record's save result gives.
 */
function usernameReads (fields: readonly string[], records: ReadonlyArray<Record<string, unknown>>): Soql[] {
  const out: Soql[] = []
  let names: string[] = []
  const build = (list: string[]): Soql => select({ fields, from: 'User', where: inList('Username', list) })
  for (const r of records) {
    const next = [...names, String(r.Username)]
    if (names.length > 0 && queryUrl(build(next)).length > MAX_QUERY_URL) {
      out.push(build(names))
      names = [String(r.Username)]
    } else {
      names = next
    }
  }
  if (names.length > 0) out.push(build(names))
  return out
}

/**
 * Creates: each collection is allOrNone false, and so is the composite, so one refused record (a duplicate
 * username, a bad email) fails alone. Up to two collections travel with their read-back queries in one composite
 * (one API call for up to 400 users); a larger batch writes up to five collections a call and reads the created
 * users back by Id afterwards (two calls for 1,000). A record Salesforce reported created but the read-back did not
 * find is an unknown outcome, never a success.
 */
export async function createBatch (gateway: Gateway, fields: readonly string[], items: readonly CreateItem[]): Promise<Array<Settled<SfRecord>>> {
  const log = items[0]?.log
  if (log === undefined) return []
  const chunks = chunk(items.map((i) => i.record), MAX_COLLECTION_RECORDS)
  const reads = chunks.map((c) => usernameReads(fields, c))
  const heavy = chunks.length + reads.reduce((n, r) => n + r.length, 0)
  const saves: Array<SaveResult | undefined> = []
  const byId = new Map<string, SfRecord>()

  const collection = (records: ReadonlyArray<Record<string, unknown>>, referenceId: string): CompositeSubrequest => ({
    method: 'POST',
    url: '/composite/sobjects',
    referenceId,
    body: { allOrNone: false, records: records.map((r) => ({ attributes: { type: 'User' }, ...r })) },
  })

  if (heavy <= MAX_QUERIES_OR_COLLECTIONS) {
    const requests: CompositeSubrequest[] = chunks.map((c, i) => collection(c, `c${i}`))
    reads.flat().forEach((q, i) => requests.push({ method: 'GET', url: queryUrl(q), referenceId: `r${i}` }))
    // Not replayed after an unknown outcome: a replay would fail on its own duplicates and hide that it worked.
    const results = await composite(gateway, requests, log)
    const body = new Map(results.map((r) => [r.referenceId, r.body]))
    chunks.forEach((_c, i) => { saves.push(...asSaves(body.get(`c${i}`), chunks[i]?.length ?? 0)) })
    reads.flat().forEach((_q, i) => { for (const r of recordsOf(body.get(`r${i}`))) byId.set(String(r.Id), r) })
  } else {
    const writes = chunks.map((c, i) => collection(c, `c${i}`))
    for (const group of pack(writes)) {
      const results = await composite(gateway, group, log)
      const body = new Map(results.map((r) => [r.referenceId, r.body]))
      for (const w of group) saves.push(...asSaves(body.get(w.referenceId), chunks[Number(w.referenceId.slice(1))]?.length ?? 0))
    }
    const ids = saves.filter((s) => s?.success === true && typeof s.id === 'string').map((s) => String(s?.id))
    const queries = chunk(ids, MAX_IDS_PER_QUERY).map((part, i) => ({ method: 'GET' as const, url: queryUrl(select({ fields, from: 'User', where: inList('Id', part) })), referenceId: `r${i}` }))
    try {
      const bodies = await readAll(gateway, queries, log)
      for (const b of bodies.values()) for (const r of recordsOf(b)) byId.set(String(r.Id), r)
    } catch (err) {
      // The users were created (Salesforce said so record by record); only the read-back failed. Each caller is
      // told the outcome is unknown, as for a single create whose answer was lost, and looks the user up.
      log.warn({ err, created: ids.length }, 'read-back of a coalesced create failed')
    }
  }
  return items.map((_item, i) => {
    const s = saves[i]
    if (s?.success !== true) return failed(recordError(s))
    const rec = byId.get(String(s.id))
    return rec === undefined ? failed(missingReadBack()) : { ok: true, value: rec }
  })
}

/**
 * A create composite (allOrNone false). A subrequest that fails as a whole (not record by record) makes the gateway
 * throw, and then the other subrequests may have committed: that is an unknown outcome for every caller, who looks
 * its user up (user-service.ts) rather than being told a refusal that was someone else's, or a failure that is false.
 * A limit, an outage or an auth failure concerns the whole call, and nothing was written: it stays as it is.
 */
async function composite (gateway: Gateway, requests: CompositeSubrequest[], log: Logger): ReturnType<Gateway['composite']> {
  try {
    return await gateway.composite(requests, { allOrNone: false, safeToRetry: false }, log)
  } catch (err) {
    if (err instanceof SalesforceError && (err.kind === 'validation' || err.kind === 'conflict' || err.kind === 'notFound')) {
      throw new SalesforceError('BATCH_SUBREQUEST_FAILED', `A subrequest of a coalesced create failed (${err.code}); the others may have committed`, 'unknownOutcome', { cause: err })
    }
    throw err
  }
}

/** A collection answer as one SaveResult per record sent (a missing one stays undefined: an unknown outcome). */
function asSaves (body: unknown, n: number): Array<SaveResult | undefined> {
  const arr = Array.isArray(body) ? body as SaveResult[] : []
  return Array.from({ length: n }, (_v, i) => arr[i])
}

export interface UpdateBatchDeps {
  gateway: Gateway
  fields: readonly string[]
  /** The managed scope as a SOQL condition, at the moment of the call. */
  inScope: () => Promise<SoqlFragment>
  /** The single guarded write (one composite): the fallback when a batch cannot tell which record failed. */
  single: (item: UpdateItem) => Promise<SfRecord>
}

/** Rounds of one batch before the rest falls back to single writes (each round answers at least one record). */
const MAX_ROUNDS = 4

/**
 * Updates of users by id, up to 200 a call, with the guard of the single write (users.ts `guarded`) made exact per
 * record: the guard query selects the batch's ids that are in scope, and a check subrequest references its N-th
 * row, which exists only if every one of the N users is in scope. The composite is all-or-none, so a user that
 * left the scope (or does not exist) halts the whole write before anything commits; the batch then falls back to
 * single writes, which tell each caller its own answer. A record Salesforce refuses is answered with its error and
 * the others are sent again in the next round (the all-or-none composite rolled them back): never a success for a
 * record that did not commit. (Salesforce offers no way to tie one record of a collection to a guard row, so a
 * per-record guard with allOrNone false is not possible; docs/salesforce-behaviour.md#composite.)
 */
export async function updateBatch (deps: UpdateBatchDeps, items: readonly UpdateItem[]): Promise<Array<Settled<SfRecord>>> {
  const out: Array<Settled<SfRecord> | undefined> = items.map(() => undefined)
  let pending = items.map((_item, i) => i)
  for (let round = 0; round < MAX_ROUNDS && pending.length > 1; round++) {
    const batch = pending.map((i) => items[i] as UpdateItem)
    const outcome = await updateRound(deps, batch)
    if (outcome.kind === 'fallback') break
    if (outcome.kind === 'done') {
      pending.forEach((idx, j) => { out[idx] = outcome.results[j] })
      return out as Array<Settled<SfRecord>>
    }
    // Some records were refused: answer them, send the rest again.
    const next: number[] = []
    pending.forEach((idx, j) => {
      const err = outcome.refused.get(j)
      if (err !== undefined) out[idx] = failed(err)
      else next.push(idx)
    })
    if (next.length === pending.length) break
    pending = next
  }
  // What is left goes one by one, through the single guarded write.
  await Promise.all(pending.map(async (idx) => {
    try {
      out[idx] = { ok: true, value: await deps.single(items[idx] as UpdateItem) }
    } catch (err) {
      out[idx] = failed(err)
    }
  }))
  return out as Array<Settled<SfRecord>>
}

type RoundOutcome =
  | { kind: 'done', results: Array<Settled<SfRecord>> }
  | { kind: 'refused', refused: Map<number, SalesforceError> }
  | { kind: 'fallback' }

async function updateRound (deps: UpdateBatchDeps, items: readonly UpdateItem[]): Promise<RoundOutcome> {
  const log = (items[0] as UpdateItem).log
  const ids = items.map((i) => i.id)
  const scope = await deps.inScope()
  const guard = select({ fields: ['Id'], from: 'User', where: and(inList('Id', ids), scope) })
  const requests: CompositeSubrequest[] = [
    { method: 'GET', url: queryUrl(guard), referenceId: 'guard' },
    // Resolves only when the guard found all N users (ids are unique, so N rows are exactly these users).
    { method: 'GET', url: `/sobjects/User/@{guard.records[${ids.length - 1}].Id}?fields=Id`, referenceId: 'check' },
    {
      method: 'PATCH',
      url: '/composite/sobjects',
      referenceId: 'update',
      body: { allOrNone: true, records: items.map((i) => ({ attributes: { type: 'User' }, ...i.changes, id: i.id })) },
    },
    { method: 'GET', url: queryUrl(select({ fields: [...deps.fields], from: 'User', where: inList('Id', ids) })), referenceId: 'readBack' },
  ]
  let results: Awaited<ReturnType<Gateway['composite']>>
  try {
    results = await deps.gateway.composite(requests, { allOrNone: true, safeToRetry: true }, log)
  } catch (err) {
    // All-or-none: nothing committed. A refusal the composite did not tie to a record (Salesforce's shape for a
    // failed collection inside an all-or-none composite is not documented, docs/salesforce-behaviour.md#composite) is not handed to
    // every caller: the single writes find out whose it is.
    if (err instanceof SalesforceError && (err.kind === 'validation' || err.kind === 'conflict' || err.kind === 'notFound')) return { kind: 'fallback' }
    throw err
  }
  const by = new Map(results.map((r) => [r.referenceId, r]))
  const check = by.get('check')
  if (check === undefined || check.httpStatusCode >= 400) {
    // A user outside the scope (or gone): the single writes find out which, each with its own NOT_FOUND.
    if (JSON.stringify(check?.body ?? '').includes('No value for guard')) return { kind: 'fallback' }
  }
  const update = by.get('update')
  const saves = asSaves(update?.body, items.length)
  const refused = new Map<number, SalesforceError>()
  saves.forEach((s, j) => {
    if (s !== undefined && s.success === false && s.errors?.[0]?.statusCode !== ROLLED_BACK) refused.set(j, recordError(s))
  })
  if (refused.size > 0) return { kind: 'refused', refused }
  if (update === undefined || update.httpStatusCode >= 400 || saves.some((s) => s?.success !== true)) return { kind: 'fallback' }
  const read = by.get('readBack')
  const byId = new Map(recordsOf(read?.body).map((r) => [String(r.Id), r]))
  return {
    kind: 'done',
    results: items.map((i) => {
      const rec = byId.get(i.id)
      return rec === undefined ? failed(missingReadBack()) : { ok: true, value: rec }
    }),
  }
}
