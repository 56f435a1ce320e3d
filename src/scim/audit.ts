// The audit journal's writer: the route pipeline (resource-routes.ts) runs every SCIM write through audited(),
// which counts the Salesforce calls the request spends and records one AuditEntry (store/audit.ts) with its outcome.
import { AsyncLocalStorage } from 'node:async_hooks'
import type { FastifyRequest } from 'fastify'
import type { ScimClientConfig } from '../config/types.js'
import { describeError } from '../http/errors.js'
import type { GatewayObserver } from '../salesforce/gateway.js'
import { normalizeSalesforceId } from '../salesforce/ids.js'
import type { AuditEntry, Store } from '../store/store.js'
import { asScimError, ScimError } from './errors.js'

const calls = new AsyncLocalStorage<{ n: number }>()

/** Counts each Salesforce call against the audited request it was made for (app.ts adds it to the gateway). */
export const auditObserver: GatewayObserver = {
  onCall () {
    const counter = calls.getStore()
    if (counter !== undefined) counter.n++
  },
}

/** Body keys that are not attributes a client changes. */
const NOT_ATTRIBUTES = new Set(['schemas', 'id', 'meta'])

/**
 * The attribute names a write touched: a POST/PUT body's keys (and extension keys' attribute names), a PATCH's
 * paths, or the keys of a path-less PATCH value. Names only; values never, so no password or token reaches the
 * journal whatever the client sent.
 */
export function touchedAttributes (operation: AuditEntry['operation'], body: unknown): string[] {
  const names = new Set<string>()
  const keysOf = (v: unknown, prefix = ''): void => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return
    for (const k of Object.keys(v)) {
      if (NOT_ATTRIBUTES.has(k)) continue
      // An extension schema URN holds attributes: name them under it (urn:…:User:employeeNumber).
      if (k.startsWith('urn:') && prefix === '') keysOf((v as Record<string, unknown>)[k], `${k}:`)
      else names.add(`${prefix}${k}`)
    }
  }
  if (operation === 'patch') {
    const ops = (body as { Operations?: unknown } | undefined)?.Operations
    // The body is the client's, journalled even when refused: anything may be in it (null operations, numbers).
    for (const op of Array.isArray(ops) ? ops as unknown[] : []) {
      if (op === null || typeof op !== 'object') continue
      const { path, value } = op as { path?: unknown, value?: unknown }
      if (typeof path === 'string' && path !== '') names.add(path.replace(/\[.*$/, '').slice(0, 200))
      else keysOf(value)
    }
  } else if (operation !== 'delete') {
    keysOf(body)
  }
  return [...names].sort()
}

/** Non-secret names worth finding an entry by. */
function detailsOf (body: unknown): Record<string, string> | undefined {
  if (body === null || typeof body !== 'object') return undefined
  const out: Record<string, string> = {}
  for (const k of ['userName', 'displayName'] as const) {
    const v = (body as Record<string, unknown>)[k]
    if (typeof v === 'string' && v !== '') out[k] = v.slice(0, 256)
  }
  return Object.keys(out).length > 0 ? out : undefined
}

const STATUS: Record<AuditEntry['operation'], number> = { create: 201, replace: 200, patch: 200, delete: 204 }

export interface AuditedWrite {
  operation: AuditEntry['operation']
  resourceType: string
  /** The path id (PUT, PATCH, DELETE). */
  id?: string
  body: unknown
}

/**
 * Runs one SCIM write and journals it, success or failure. The entry is written after the write, not in one
 * transaction with it: the state it describes is in Salesforce, which no store transaction can include, and the
 * store writes a service makes (tombstones, marks) are its own. A journal that cannot be written is logged and
 * does not turn a change Salesforce made into an error the IdP would retry.
 */
export async function audited<R> (store: Store | undefined, req: FastifyRequest, w: AuditedWrite, fn: () => Promise<R>): Promise<R> {
  if (store === undefined) return await fn()
  const counter = { n: 0 }
  let result: R | undefined
  let failure: unknown
  try {
    result = await calls.run(counter, fn)
  } catch (err) {
    failure = err
  }
  const created = (result as { id?: unknown } | undefined)?.id
  const id = typeof created === 'string' ? created : w.id
  try {
    await store.appendAudit(entryOf(req, w, id, counter.n, failure))
  } catch (err) {
    // Building or writing it: either way the change stands and the IdP gets its answer.
    req.log.error({ err, requestId: req.id }, 'could not write the audit journal entry')
  }
  if (failure !== undefined) throw failure
  return result as R
}

function entryOf (req: FastifyRequest, w: AuditedWrite, id: string | undefined, apiCalls: number, failure: unknown): AuditEntry {
  const entry: AuditEntry = {
    at: new Date().toISOString(),
    client: (req.scimClient as ScimClientConfig | undefined)?.name ?? 'unknown',
    requestId: req.id,
    operation: w.operation,
    resourceType: w.resourceType,
    ...(id !== undefined ? { scimId: id, salesforceId: normalizeSalesforceId(id) ?? id } : {}),
    attributes: touchedAttributes(w.operation, w.body),
    status: failure === undefined ? STATUS[w.operation] : describeError(failure).status,
    apiCalls,
  }
  const scimError = asScimError(failure)
  const code = scimError instanceof ScimError ? scimError.salesforceCode : undefined
  if (code !== undefined) entry.salesforceCode = code
  const details = detailsOf(w.body)
  if (details !== undefined) entry.details = details
  return entry
}
