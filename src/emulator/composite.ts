// Composite resources: /composite (references, allOrNone rollback), sObject Collections and /composite/batch.

import { isSupportedVersion, type EmulatorContext } from './context.js'
import { ok, findForPath, parseFieldList, shapeRecord, sobjectOf, type ApiRequest, type ApiResponse } from './data-api.js'
import { SalesforceError, methodNotAllowed, notFound, type CollectionError } from './errors.js'
import { URI_TOO_LONG_BODY, uriTooLong } from './http.js'
import { normalizeId, sobjectOfId } from './ids.js'
import { objectDef } from './schema.js'

type Dispatch = (ctx: EmulatorContext, req: ApiRequest) => ApiResponse

/** docs/salesforce-behaviour.md#composite: 25 subrequests, of which 5 may be queries or sObject Collections. */
const MAX_SUBREQUESTS = 25
const MAX_QUERY_SUBREQUESTS = 5
/** docs/salesforce-behaviour.md#collections: 200 records per collection write, 2000 Ids per collection retrieve. */
const MAX_COLLECTION = 200
const MAX_RETRIEVE = 2000

const HALTED_ROLLBACK = 'The transaction was rolled back since another operation in the same transaction failed.'

function invalidInput (message: string): SalesforceError {
  // Assumption (UNVERIFIED): envelope errors of /composite are a 400 INVALID_INPUT.
  return new SalesforceError('INVALID_INPUT', message)
}

export function handleComposite (ctx: EmulatorContext, req: ApiRequest, dispatch: Dispatch): ApiResponse {
  const [, second, third, ...rest] = req.path
  if (second === undefined) {
    if (req.method !== 'POST') throw methodNotAllowed(req.method, ['POST'])
    return composite(ctx, req, dispatch)
  }
  if (second === 'batch' && third === undefined) {
    if (req.method !== 'POST') throw methodNotAllowed(req.method, ['POST'])
    return batch(ctx, req, dispatch)
  }
  if (second === 'sobjects' && rest.length === 0) {
    if (third !== undefined) {
      if (req.method !== 'POST' && req.method !== 'GET') throw methodNotAllowed(req.method, ['GET', 'POST'])
      return retrieve(ctx, req, third)
    }
    switch (req.method) {
      case 'POST': return collectionWrite(ctx, req, 'create')
      case 'PATCH': return collectionWrite(ctx, req, 'update')
      case 'DELETE': return collectionDelete(ctx, req)
      default: throw methodNotAllowed(req.method, ['POST', 'PATCH', 'DELETE'])
    }
  }
  throw notFound()
}

// ---- /composite -------------------------------------------------------------------------------------------

interface SubRequest { method: string, url: string, referenceId: string, body?: unknown, httpHeaders?: Record<string, string> }

interface SubResult { body: unknown, httpHeaders: Record<string, string>, httpStatusCode: number, referenceId: string }

/**
 * A composite reference, `@{referenceId.field}` (also `[n]` indexes). docs/salesforce-behaviour.md#composite, #composite-references: every string in a
 * subrequest's url and body that contains one is a reference; there is no escape, so a value such as a phone
 * number or a title that happens to contain `@{x.y}` is resolved (or halts the request) like any other.
 */
const REFERENCE = /@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}/g

class Unresolved extends Error {}

/** Every reference in a url or body, as `name` and `name.path`, in order of appearance. */
function referencesIn (value: unknown, out: Array<{ name: string, text: string }> = []): Array<{ name: string, text: string }> {
  if (typeof value === 'string') {
    for (const m of value.matchAll(REFERENCE)) out.push({ name: m[1] as string, text: `${m[1] as string}${m[2] ?? ''}` })
  } else if (Array.isArray(value)) {
    for (const v of value) referencesIn(v, out)
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) referencesIn(v, out)
  }
  return out
}

function invalidReference (ref: string): unknown[] {
  const name = ref.split(/[.[]/)[0] ?? ''
  return [{ errorCode: 'PROCESSING_HALTED', message: `Invalid reference specified. No value for ${ref} found in ${name}. Provided referenceId ('${name}') must be unique and exist in a previous subrequest.` }]
}

/**
 * A reference to a referenceId that no earlier subrequest has (a later one, itself, or none at all) can never be
 * resolved: it halts the whole request before anything runs, whatever allOrNone says. The subrequest that holds it
 * answers "Invalid reference specified", every other one PROCESSING_HALTED, and nothing is written
 * (docs/salesforce-behaviour.md#composite-references; issue 11 observed it against a real org). Assumption (UNVERIFIED): the other subrequests
 * carry the rollback message, as with allOrNone.
 * A reference to an earlier subrequest that failed or lacks the field is the documented dependent halt instead
 * (docs/salesforce-behaviour.md#composite): only the dependent fails, the rest runs unless allOrNone.
 */
function unknownReference (subs: SubRequest[]): { index: number, ref: string } | undefined {
  const earlier = new Set<string>()
  for (const [index, s] of subs.entries()) {
    const unknown = referencesIn([s.url, s.body]).find(r => !earlier.has(r.name))
    if (unknown !== undefined) return { index, ref: unknown.text }
    earlier.add(s.referenceId)
  }
  return undefined
}

function lookupReference (done: Map<string, ApiResponse>, ref: string, path: string): unknown {
  const res = done.get(ref)
  if (res === undefined || res.status >= 400) throw new Unresolved(`${ref}${path}`)
  let cur: unknown = res.body
  for (const m of path.matchAll(/\.([A-Za-z0-9_]+)|\[(\d+)\]/g)) {
    if (cur === null || typeof cur !== 'object') throw new Unresolved(`${ref}${path}`)
    cur = m[1] !== undefined ? (cur as Record<string, unknown>)[m[1]] : (cur as unknown[])[Number(m[2])]
  }
  if (cur === undefined) throw new Unresolved(`${ref}${path}`)
  return cur
}

/** Replaces @{ref.path} in strings; a string that is exactly one reference takes the referenced value as is. */
function substitute (value: unknown, done: Map<string, ApiResponse>): unknown {
  if (typeof value === 'string') {
    const whole = /^@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}$/.exec(value)
    if (whole !== null) return lookupReference(done, whole[1] as string, whole[2] ?? '')
    return value.replace(REFERENCE, (_m, ref: string, path: string) => String(lookupReference(done, ref, path)))
  }
  if (Array.isArray(value)) return value.map(v => substitute(v, done))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, done)]))
  }
  return value
}

/** Splits '/services/data/v62.0/sobjects/User/005…?fields=Id' into a dispatcher request. */
export function subRequest (parent: ApiRequest, method: string, url: string, body: unknown, headers: Record<string, string> = {}): ApiRequest | undefined {
  const parsed = new URL(url, 'http://composite.invalid')
  const m = /^\/services\/data\/v(\d+\.\d+)\/(.*)$/.exec(parsed.pathname) ?? /^\/?v(\d+\.\d+)\/(.*)$/.exec(parsed.pathname)
  // A version the org does not have is a 404 NOT_FOUND inside a composite too (docs/salesforce-behaviour.md#versions, #unknown-version).
  if (m === null || !isSupportedVersion(`v${m[1] as string}`)) return undefined
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
  return {
    method: method.toUpperCase(),
    path: (m[2] ?? '').split('/').filter(s => s !== '').map(decodeURIComponent),
    version: m[1] as string,
    query: parsed.searchParams,
    body,
    headers: lower,
    actorId: parent.actorId,
  }
}

function isQueryOrCollection (url: string): boolean {
  return /\/(query|queryAll)(\/|\?|$)|\/composite\/sobjects/.test(url)
}

function composite (ctx: EmulatorContext, req: ApiRequest, dispatch: Dispatch): ApiResponse {
  const body = req.body as { allOrNone?: unknown, compositeRequest?: unknown } | undefined
  if (body === undefined || body === null || typeof body !== 'object' || !Array.isArray(body.compositeRequest)) {
    throw new SalesforceError('JSON_PARSER_ERROR', 'The request body must contain a compositeRequest array')
  }
  const subs = body.compositeRequest as SubRequest[]
  const allOrNone = body.allOrNone === true
  if (subs.length === 0) throw invalidInput('A composite request must contain at least one subrequest')
  if (subs.length > MAX_SUBREQUESTS) throw invalidInput(`A composite request can't have more than ${MAX_SUBREQUESTS} subrequests`)
  if (subs.filter(s => typeof s?.url === 'string' && isQueryOrCollection(s.url)).length > MAX_QUERY_SUBREQUESTS) {
    throw invalidInput(`A composite request can't have more than ${MAX_QUERY_SUBREQUESTS} query or sObject Collections subrequests`)
  }
  const seen = new Set<string>()
  for (const s of subs) {
    if (typeof s !== 'object' || s === null || typeof s.method !== 'string' || typeof s.url !== 'string' || typeof s.referenceId !== 'string') {
      throw invalidInput('Each subrequest needs method, url and referenceId')
    }
    // docs/salesforce-behaviour.md#composite: letters, digits and underscores, starting with a letter or digit; unique.
    if (!/^[A-Za-z0-9][A-Za-z0-9_]*$/.test(s.referenceId)) throw invalidInput(`Invalid referenceId: ${s.referenceId}`)
    if (seen.has(s.referenceId)) throw invalidInput(`Duplicate referenceId: ${s.referenceId}`)
    seen.add(s.referenceId)
    for (const h of Object.keys(s.httpHeaders ?? {})) {
      if (['accept', 'authorization', 'content-type'].includes(h.toLowerCase())) throw invalidInput(`The ${h} header is not allowed in a subrequest`)
    }
  }
  ctx.counters.bump('endpoint', 'composite.subrequests', subs.length)
  const halted = (s: SubRequest, body: unknown): SubResult => ({ body, httpHeaders: {}, httpStatusCode: 400, referenceId: s.referenceId })
  const unknown = unknownReference(subs)
  if (unknown !== undefined) {
    return ok({
      compositeResponse: subs.map((s, i) => halted(s, i === unknown.index ? invalidReference(unknown.ref) : [{ errorCode: 'PROCESSING_HALTED', message: HALTED_ROLLBACK }])),
    })
  }

  const results: SubResult[] = []
  const done = new Map<string, ApiResponse>()
  const runOne = (s: SubRequest): ApiResponse => {
    let url: string
    let subBody: unknown
    try {
      url = substitute(s.url, done) as string
      subBody = substitute(s.body, done)
    } catch (err) {
      if (!(err instanceof Unresolved)) throw err
      return { status: 400, headers: {}, body: invalidReference(err.message) }
    }
    // Assumption (UNVERIFIED; docs/salesforce-behaviour.md#uri-limit says it is not documented): a subrequest url is held to the same
    // 16,384-byte limit as a request URI, so a client cannot dodge the 414 by wrapping a long query in /composite.
    if (uriTooLong(url)) return { status: 414, headers: {}, body: URI_TOO_LONG_BODY }
    const sub = subRequest(req, s.method, url, subBody, s.httpHeaders)
    const supported = sub !== undefined && (['sobjects', 'query', 'queryAll'].includes(sub.path[0] ?? '') || (sub.path[0] === 'composite' && sub.path[1] === 'sobjects'))
    if (sub === undefined || !supported) {
      return { status: 404, headers: {}, body: notFound().toBody() }
    }
    const sobject = sobjectOf(sub.path)
    if (sobject !== undefined) ctx.counters.bump('sobject', sobject)
    return dispatch(ctx, allOrNone ? overrideCollectionFlag(sub) : sub)
  }
  const record = (s: SubRequest, res: ApiResponse): void => {
    done.set(s.referenceId, res)
    results.push({ body: res.status === 204 ? null : res.body, httpHeaders: res.headers, httpStatusCode: res.status, referenceId: s.referenceId })
  }

  if (!allOrNone) {
    for (const s of subs) record(s, runOne(s))
    return ok({ compositeResponse: results })
  }
  // REST API Developer Guide, "Composite" (request body, allOrNone): "If true, an error in any subrequest causes the
  // entire request to roll back". Any subrequest: an sObject Collections subrequest refused as a whole (400) or with
  // a failing record (overrideCollectionFlag) rolls back the subrequests before it, as a plain one does.
  let failed = -1
  try {
    ctx.org.transaction(() => {
      for (const [i, s] of subs.entries()) {
        const res = runOne(s)
        record(s, res)
        if (res.status >= 400 || hasFailedRecord(res)) {
          failed = i
          throw new Unresolved('rollback')
        }
      }
    })
  } catch (err) {
    if (!(err instanceof Unresolved)) throw err
  }
  if (failed < 0) return ok({ compositeResponse: results })
  // docs/salesforce-behaviour.md#composite: the failing subrequest keeps its error; every other one gets PROCESSING_HALTED.
  return ok({
    compositeResponse: subs.map((s, i) => i === failed
      ? results[i]
      : halted(s, [{ errorCode: 'PROCESSING_HALTED', message: HALTED_ROLLBACK }])),
  })
}

/**
 * Developer Guide, "allOrNone Parameters in Composite and Collections Requests" (cases 3-4;
 * docs/salesforce-behaviour.md#composite-allornone): when the outer allOrNone is true it wins over a collection's own flag, and a collection with a failing
 * record rolls the whole composite back. Assumption (UNVERIFIED, the JSON is not documented): the collection
 * subrequest answers as an allOrNone collection would (200, the failing record's error, the others
 * ALL_OR_NONE_OPERATION_ROLLED_BACK) and every other subrequest gets PROCESSING_HALTED.
 */
function overrideCollectionFlag (sub: ApiRequest): ApiRequest {
  if (sub.path[0] !== 'composite' || sub.path[1] !== 'sobjects' || sub.path.length !== 2) return sub
  if (sub.method === 'DELETE') {
    const query = new URLSearchParams(sub.query)
    query.set('allOrNone', 'true')
    return { ...sub, query }
  }
  const body = sub.body
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return sub
  return { ...sub, body: { ...body, allOrNone: true } }
}

function hasFailedRecord (res: ApiResponse): boolean {
  return Array.isArray(res.body) && res.body.some(r => r !== null && typeof r === 'object' && (r as { success?: unknown }).success === false)
}

// ---- sObject Collections ------------------------------------------------------------------------------------

interface SaveResult { id?: string, success: boolean, errors: CollectionError[] }

const ROLLED_BACK: CollectionError = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
}

class Rollback extends Error {}

/** Runs each item; with allOrNone, any failure undoes all and marks successes as rolled back. */
function runAll<T> (ctx: EmulatorContext, items: T[], allOrNone: boolean, one: (item: T) => SaveResult): SaveResult[] {
  const results: SaveResult[] = []
  const loop = (): void => {
    for (const item of items) results.push(one(item))
    if (allOrNone && results.some(r => !r.success)) throw new Rollback()
  }
  if (!allOrNone) {
    loop()
    return results
  }
  try {
    ctx.org.transaction(loop)
    return results
  } catch (err) {
    if (!(err instanceof Rollback)) throw err
    return results.map(r => r.success ? { ...(r.id !== undefined ? { id: r.id } : {}), success: false, errors: [ROLLED_BACK] } : r)
  }
}

function failure (err: unknown, id?: string): SaveResult {
  if (!(err instanceof SalesforceError)) throw err
  let e = err.toCollectionError()
  // A well-formed Id that names nothing: SOAP-style INVALID_CROSS_REFERENCE_KEY inside collections (UNVERIFIED).
  if (err.errorCode === 'NOT_FOUND') e = { statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: [] }
  return { ...(id !== undefined ? { id } : {}), success: false, errors: [e] }
}

function collectionBody (req: ApiRequest): { allOrNone: boolean, records: Array<Record<string, unknown>> } {
  const body = req.body as { allOrNone?: unknown, records?: unknown } | undefined
  if (body === undefined || body === null || typeof body !== 'object' || !Array.isArray(body.records)) {
    throw new SalesforceError('JSON_PARSER_ERROR', 'The request body must contain a records array')
  }
  if (body.records.length > MAX_COLLECTION) {
    throw new SalesforceError('EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`)
  }
  return { allOrNone: body.allOrNone === true, records: body.records as Array<Record<string, unknown>> }
}

function typeOf (rec: Record<string, unknown>): string | undefined {
  const attributes = rec.attributes as { type?: unknown } | undefined
  return typeof attributes?.type === 'string' ? attributes.type : undefined
}

function collectionWrite (ctx: EmulatorContext, req: ApiRequest, op: 'create' | 'update'): ApiResponse {
  const { allOrNone, records } = collectionBody(req)
  ctx.counters.bump('endpoint', 'composite/sobjects.records', records.length)
  const types = new Set<string>()
  const results = runAll(ctx, records, allOrNone, rec => {
    const { id: lowerId, Id: upperId, ...fields } = rec
    const rawId = typeof lowerId === 'string' ? lowerId : typeof upperId === 'string' ? upperId : undefined
    try {
      if (op === 'create') {
        if (rawId !== undefined) {
          throw new SalesforceError('INVALID_FIELD_FOR_INSERT_UPDATE', 'cannot specify Id in an insert call', { fields: ['Id'] })
        }
        const type = typeOf(rec)
        if (type === undefined || objectDef(type) === undefined) {
          // Assumption (UNVERIFIED text): a record without attributes.type fails on its own.
          throw new SalesforceError('INVALID_TYPE', 'No SObject Type defined in Json', { fields: [] })
        }
        types.add(objectDef(type)?.name ?? type)
        return { id: ctx.org.insert(type, fields, { actorId: req.actorId }), success: true, errors: [] }
      }
      if (rawId === undefined) throw new SalesforceError('MISSING_ARGUMENT', 'Id not specified in an update call', { fields: [] })
      const id18 = normalizeId(rawId)
      if (id18 === undefined) throw new SalesforceError('MALFORMED_ID', `malformed id ${rawId}`, { fields: ['Id'] })
      const type = typeOf(rec) ?? sobjectOfId(id18)
      const def = type === undefined ? undefined : objectDef(type)
      if (def === undefined || sobjectOfId(id18) !== def.name) {
        throw new SalesforceError('MALFORMED_ID', `${def?.label ?? 'Record'} ID: id value of incorrect type: ${rawId}`, { fields: ['Id'] })
      }
      types.add(def.name)
      ctx.org.mustFind(def, id18)
      ctx.org.update(def.name, id18, fields, { actorId: req.actorId })
      return { id: id18, success: true, errors: [] }
    } catch (err) {
      return failure(err, op === 'update' ? (normalizeId(rawId ?? '') ?? rawId) : undefined)
    }
  })
  // One count per sObject type per collection call (not per record).
  for (const t of types) ctx.counters.bump('sobject', t)
  return ok(results)
}

function collectionDelete (ctx: EmulatorContext, req: ApiRequest): ApiResponse {
  const ids = (req.query.get('ids') ?? '').split(',').map(s => s.trim()).filter(s => s !== '')
  if (ids.length === 0) throw new SalesforceError('MISSING_ARGUMENT', 'ids parameter is required')
  if (ids.length > MAX_COLLECTION) {
    throw new SalesforceError('EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`)
  }
  const allOrNone = req.query.get('allOrNone') === 'true'
  const types = new Set<string>()
  const results = runAll(ctx, ids, allOrNone, raw => {
    const id18 = normalizeId(raw)
    const type = id18 === undefined ? undefined : sobjectOfId(id18)
    const def = type === undefined ? undefined : objectDef(type)
    try {
      if (id18 === undefined || def === undefined) throw new SalesforceError('MALFORMED_ID', `malformed id ${raw}`, { fields: [] })
      types.add(def.name)
      ctx.org.delete(def.name, id18, { actorId: req.actorId })
      return { id: id18, success: true, errors: [] }
    } catch (err) {
      return failure(err, id18)
    }
  })
  for (const t of types) ctx.counters.bump('sobject', t)
  return ok(results)
}

function retrieve (ctx: EmulatorContext, req: ApiRequest, typeName: string): ApiResponse {
  const def = objectDef(typeName)
  if (def === undefined) throw notFound()
  let ids: unknown
  let fields: string[] | undefined
  if (req.method === 'POST') {
    const body = req.body as { ids?: unknown, fields?: unknown } | undefined
    ids = body?.ids
    fields = Array.isArray(body?.fields) ? body.fields.map(String) : undefined
  } else {
    ids = (req.query.get('ids') ?? '').split(',').filter(s => s !== '')
    fields = parseFieldList(req.query.get('fields'))
  }
  if (!Array.isArray(ids) || ids.length === 0) throw new SalesforceError('MISSING_ARGUMENT', 'ids is required')
  if (fields === undefined || fields.length === 0) throw new SalesforceError('MISSING_ARGUMENT', 'fields is required')
  if (ids.length > MAX_RETRIEVE) {
    throw new SalesforceError('EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${MAX_RETRIEVE} records into this call`)
  }
  // Validate the field list once, even when no record is found.
  for (const f of fields) if (def.byLowerName.get(f.toLowerCase()) === undefined) shapeRecord(def, { Id: '' }, req.version, [f])
  const out = ids.map(raw => {
    try {
      return shapeRecord(def, findForPath(ctx, def, String(raw)), req.version, fields)
    } catch (err) {
      // docs/salesforce-behaviour.md#collections: an unknown or inaccessible Id gives a null entry.
      if (err instanceof SalesforceError) return null
      throw err
    }
  })
  return ok(out)
}

// ---- /composite/batch ---------------------------------------------------------------------------------------

function batch (ctx: EmulatorContext, req: ApiRequest, dispatch: Dispatch): ApiResponse {
  const body = req.body as { haltOnError?: unknown, batchRequests?: unknown } | undefined
  if (body === undefined || body === null || typeof body !== 'object' || !Array.isArray(body.batchRequests)) {
    throw new SalesforceError('JSON_PARSER_ERROR', 'The request body must contain a batchRequests array')
  }
  const subs = body.batchRequests as Array<{ method?: unknown, url?: unknown, richInput?: unknown }>
  if (subs.length > MAX_SUBREQUESTS) throw invalidInput(`A batch request can't have more than ${MAX_SUBREQUESTS} subrequests`)
  // docs/salesforce-behaviour.md#composite-batch: each subrequest counts against the API limit (the batch call itself already counted one).
  const extra = Math.max(0, subs.length - 1)
  ctx.usage.used += extra
  ctx.counters.apiCalls += extra
  ctx.counters.bump('endpoint', 'composite/batch.subrequests', subs.length)
  const results: Array<{ statusCode: number, result: unknown }> = []
  let halted = false
  for (const s of subs) {
    if (halted) {
      results.push({ statusCode: 412, result: [{ errorCode: 'BATCH_PROCESSING_HALTED', message: 'Batch processing halted per request' }] })
      continue
    }
    const url = typeof s.url === 'string' ? s.url : ''
    const sub = subRequest(req, typeof s.method === 'string' ? s.method : 'GET', url.startsWith('/') ? url : `/${url}`, s.richInput)
    const res = uriTooLong(url)
      ? { status: 414, body: URI_TOO_LONG_BODY, headers: {} } // as for /composite subrequests (assumption above)
      : sub === undefined ? { status: 404, body: notFound().toBody(), headers: {} } : dispatch(ctx, sub)
    results.push({ statusCode: res.status, result: res.status === 204 ? null : res.body })
    if (res.status >= 400 && body.haltOnError === true) halted = true
  }
  return ok({ hasErrors: results.some(r => r.statusCode >= 400), results })
}
