// The REST data API below /services/data/vXX.X: one dispatcher used by HTTP routes and composite subrequests.

import { handleComposite } from './composite.js'
import type { EmulatorContext } from './context.js'
import { basicInfo, describeGlobal, describeSObject } from './describe.js'
import { SalesforceError, methodNotAllowed, notFound } from './errors.js'
import { KEY_PREFIXES, normalizeId, sobjectOfId } from './ids.js'
import { fieldDef, objectDef, type ObjectDef, type SRecord } from './schema.js'
import { executeSoql, type SoqlResult } from './soql.js'

export interface ApiRequest {
  /** Upper case. */
  method: string
  /** Path segments after /services/data/vXX.X, URL-decoded. */
  path: string[]
  /** e.g. '62.0' */
  version: string
  query: URLSearchParams
  /** Parsed JSON body, undefined when there was none. */
  body: unknown
  /** Lower-case header names. */
  headers: Record<string, string | undefined>
  /** The session's user: CreatedById / LastModifiedById of writes. */
  actorId: string
}

export interface ApiResponse {
  status: number
  /** JSON body; null for 204. */
  body: unknown
  headers: Record<string, string>
}

export function ok (body: unknown, status = 200, headers: Record<string, string> = {}): ApiResponse {
  return { status, body, headers }
}

export function errorResponse (err: SalesforceError): ApiResponse {
  return { status: err.status, body: err.toBody(), headers: {} }
}

/** Counter key of a data API path ('sobjects', 'query', 'queryMore', 'composite/sobjects' ...). */
export function endpointOf (path: string[]): string {
  const [first, second, third] = path
  switch (first) {
    case undefined: return 'resources'
    case 'sobjects': return second === undefined || third === 'describe' ? 'describe' : 'sobjects'
    case 'query': case 'queryAll': return second === undefined ? first : 'queryMore'
    case 'composite': return second === undefined ? 'composite' : `composite/${second}`
    default: return first
  }
}

/** The sObject a path is about, canonical name, for the per-sObject counters. */
export function sobjectOf (path: string[]): string | undefined {
  if (path[0] === 'sobjects' && path[1] !== undefined) return objectDef(path[1])?.name
  if (path[0] === 'composite' && path[1] === 'sobjects' && path[2] !== undefined) return objectDef(path[2])?.name
  return undefined
}

export function dispatch (ctx: EmulatorContext, req: ApiRequest): ApiResponse {
  try {
    return route(ctx, req)
  } catch (err) {
    if (err instanceof SalesforceError) return errorResponse(err)
    throw err
  }
}

function route (ctx: EmulatorContext, req: ApiRequest): ApiResponse {
  const [first] = req.path
  switch (first) {
    case undefined:
      allow(req, ['GET'])
      return ok(resources(ctx, req))
    case 'limits':
      if (req.path.length > 1) throw notFound()
      allow(req, ['GET'])
      return ok(limits(ctx))
    case 'sobjects':
      return sobjects(ctx, req)
    case 'query':
    case 'queryAll':
      return query(ctx, req)
    case 'composite':
      return handleComposite(ctx, req, dispatch)
    default:
      throw notFound()
  }
}

function allow (req: ApiRequest, methods: string[]): void {
  if (!methods.includes(req.method)) throw methodNotAllowed(req.method, ['HEAD', ...methods.filter(m => m !== 'HEAD')])
}

function resources (ctx: EmulatorContext, req: ApiRequest): Record<string, string> {
  const base = `/services/data/v${req.version}`
  return {
    tooling: `${base}/tooling`,
    composite: `${base}/composite`,
    limits: `${base}/limits`,
    sobjects: `${base}/sobjects`,
    query: `${base}/query`,
    queryAll: `${base}/queryAll`,
    identity: `${ctx.baseUrl()}/id/${ctx.org.orgId}/${req.actorId}`,
  }
}

function limits (ctx: EmulatorContext): Record<string, { Max: number, Remaining: number }> {
  const fixed = (max: number): { Max: number, Remaining: number } => ({ Max: max, Remaining: max })
  return {
    ConcurrentAsyncGetReportInstances: fixed(200),
    ConcurrentSyncReportRuns: fixed(20),
    DailyApiRequests: { Max: ctx.usage.max, Remaining: Math.max(0, ctx.usage.max - ctx.usage.used) },
    DailyAsyncApexExecutions: fixed(250000),
    DailyBulkApiBatches: fixed(15000),
    DailyBulkV2QueryJobs: fixed(10000),
    DailyStreamingApiEvents: fixed(10000),
    DataStorageMB: fixed(5),
    FileStorageMB: fixed(20),
    HourlyDashboardRefreshes: fixed(200),
    MassEmail: fixed(10),
    SingleEmail: fixed(15),
  }
}

// ---- sObjects ---------------------------------------------------------------------------------------------

function recordAllowed (def: ObjectDef): string[] {
  return ['HEAD', 'GET', ...(def.updateable ? ['PATCH'] : []), ...(def.deletable ? ['DELETE'] : [])]
}

export function locationOf (version: string, sobject: string, id: string): string {
  return `/services/data/v${version}/sobjects/${sobject}/${id}`
}

function requireObjectBody (body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    // Assumption (docs/salesforce-behaviour.md#error-catalog, UNVERIFIED text).
    throw new SalesforceError('JSON_PARSER_ERROR', `Cannot deserialize instance of SObject from ${Array.isArray(body) ? 'START_ARRAY' : 'VALUE'} token`)
  }
  return body as Record<string, unknown>
}

/** The record named by a path Id, or the 404/400 Salesforce gives for a foreign, bad or deleted Id. */
export function findForPath (ctx: EmulatorContext, def: ObjectDef, id: string): SRecord {
  const id18 = normalizeId(id)
  if (id18 !== undefined && sobjectOfId(id18) !== def.name) throw notFound()
  const rec = ctx.org.mustFind(def, id)
  return ctx.org.get(def.name, rec.Id as string) as SRecord
}

/** A record with `attributes` and the requested fields (all fields when none are named). */
export function shapeRecord (def: ObjectDef, rec: SRecord, version: string, fields?: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { attributes: { type: def.name, url: locationOf(version, def.name, rec.Id as string) } }
  const names = fields ?? def.fields.map(f => f.name)
  for (const name of names) {
    const f = fieldDef(def, name)
    if (f === undefined) throw new SalesforceError('INVALID_FIELD', `No such column '${name}' on sobject of type ${def.name}`)
    out[f.name] = rec[f.name] ?? null
  }
  return out
}

export function parseFieldList (text: string | null | undefined): string[] | undefined {
  if (text === null || text === undefined || text.trim() === '') return undefined
  return text.split(',').map(s => s.trim()).filter(s => s !== '')
}

function sobjects (ctx: EmulatorContext, req: ApiRequest): ApiResponse {
  const [, typeName, second, ...rest] = req.path
  if (typeName === undefined) {
    allow(req, ['GET'])
    return ok(describeGlobal(req.version))
  }
  const def = objectDef(typeName)
  if (def === undefined) throw notFound()
  if (second === undefined) {
    allow(req, ['GET', ...(def.createable ? ['POST'] : [])])
    if (req.method === 'GET') return ok(basicInfo(def, req.version))
    const id = ctx.org.insert(def.name, requireObjectBody(req.body), { actorId: req.actorId })
    return ok({ id, success: true, errors: [] }, 201, { Location: locationOf(req.version, def.name, id) })
  }
  if (second === 'describe' && rest.length === 0) {
    allow(req, ['GET'])
    return ok(describeSObject(def, req.version))
  }
  // Upsert by external Id, the password resource and other sub-resources are not emulated: 404 as for a field
  // that is not an external Id (docs/salesforce-behaviour.md#sobject-crud).
  if (rest.length > 0) throw notFound()
  allow(req, recordAllowed(def).filter(m => m !== 'HEAD'))
  const rec = findForPath(ctx, def, second)
  const id = rec.Id as string
  switch (req.method) {
    case 'GET':
      return ok(shapeRecord(def, rec, req.version, parseFieldList(req.query.get('fields'))))
    case 'PATCH':
      ctx.org.update(def.name, id, requireObjectBody(req.body), { actorId: req.actorId })
      return ok(null, 204)
    default:
      ctx.org.delete(def.name, id, { actorId: req.actorId })
      return ok(null, 204)
  }
}

// ---- SOQL -------------------------------------------------------------------------------------------------

/** Default and maximum batch; Sforce-Query-Options: batchSize=N is honoured between 200 and 2000 (docs/salesforce-behaviour.md#soql). */
const MAX_BATCH = 2000
const MIN_BATCH = 200
/** Cursors idle this long are dropped (Salesforce: 15 minutes). */
const CURSOR_IDLE_MS = 15 * 60_000
const MAX_CURSORS = 200

function batchSize (header: string | undefined): number {
  const m = /batchSize\s*=\s*(\d+)/i.exec(header ?? '')
  if (m === null) return MAX_BATCH
  return Math.min(MAX_BATCH, Math.max(MIN_BATCH, Number(m[1])))
}

function invalidLocator (): SalesforceError {
  // Assumption (docs/salesforce-behaviour.md#soql, status UNVERIFIED): a 400 with INVALID_QUERY_LOCATOR.
  return new SalesforceError('INVALID_QUERY_LOCATOR', 'invalid query locator')
}

export function runQuery (ctx: EmulatorContext, soql: string, version: string): SoqlResult {
  ctx.counters.recordQuery(soql)
  return executeSoql(ctx.org, soql, { version })
}

function query (ctx: EmulatorContext, req: ApiRequest): ApiResponse {
  allow(req, ['GET'])
  const now = ctx.org.now()
  for (const [id, c] of ctx.cursors) if (now - c.lastUsed > CURSOR_IDLE_MS) ctx.cursors.delete(id)
  if (req.path.length === 1) {
    const soql = req.query.get('q')
    if (soql === null || soql.trim() === '') {
      throw new SalesforceError('MALFORMED_QUERY', 'A query string has to be specified')
    }
    const result = runQuery(ctx, soql, req.version)
    const size = batchSize(req.headers['sforce-query-options'])
    if (result.records.length <= size) return ok({ totalSize: result.totalSize, done: true, records: result.records })
    const cursorId = ctx.org.ids.next(KEY_PREFIXES.QueryLocator)
    ctx.cursors.set(cursorId, { records: result.records, totalSize: result.totalSize, batchSize: size, version: req.version, lastUsed: now })
    if (ctx.cursors.size > MAX_CURSORS) ctx.cursors.delete(ctx.cursors.keys().next().value as string)
    return ok({
      totalSize: result.totalSize,
      done: false,
      nextRecordsUrl: `/services/data/v${req.version}/query/${cursorId}-${size}`,
      records: result.records.slice(0, size),
    })
  }
  if (req.path.length !== 2) throw notFound()
  const m = /^(01g[0-9A-Za-z]{15})-(\d+)$/.exec(req.path[1] ?? '')
  const cursor = m === null ? undefined : ctx.cursors.get(m[1] as string)
  if (m === null || cursor === undefined) throw invalidLocator()
  const offset = Number(m[2])
  if (offset > cursor.records.length) throw invalidLocator()
  cursor.lastUsed = now
  const end = offset + cursor.batchSize
  const records = cursor.records.slice(offset, end)
  if (end >= cursor.records.length) {
    ctx.cursors.delete(m[1] as string)
    return ok({ totalSize: cursor.totalSize, done: true, records })
  }
  return ok({ totalSize: cursor.totalSize, done: false, nextRecordsUrl: `/services/data/v${cursor.version}/query/${m[1] as string}-${end}`, records })
}
