// The pure part of SCIM Bulk (RFC 7644 §3.7): a BulkRequest checked operation by operation, `bulkId:` references
// found and resolved, the dependency graph with its cycles, and the order the operations run in. No I/O here.
import { ScimError } from './errors.js'

export const BULK_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'
export const BULK_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse'

export type BulkMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** One operation as the client sent it, after the envelope checks. */
export interface BulkOperation {
  index: number
  method: BulkMethod
  /** `/Users`, `/Groups/00G…`, `/Users/bulkId:qwerty`. */
  path: string
  bulkId?: string
  /** If-Match for this operation (RFC 7644 §3.7.2 `version`). */
  version?: string
  data?: unknown
  /** The request's bulkIds this operation refers to, in its path or anywhere in its data. */
  refs: string[]
  /** Why the operation is refused before it runs (a missing bulkId on POST, a malformed path, …). */
  invalid?: ScimError
}

export interface ParsedBulkRequest {
  /** 0 = no limit (RFC 7644 §3.7.3: the number of errors accepted before the rest is not processed). */
  failOnErrors: number
  operations: BulkOperation[]
}

const REF = /^bulkId:(.+)$/

/** Every `bulkId:x` reference in a value: a string that is one whole reference, at any depth. */
export function referencesIn (value: unknown, out: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') {
    const m = REF.exec(value)
    if (m !== null) out.add(m[1] as string)
  } else if (Array.isArray(value)) {
    for (const v of value) referencesIn(v, out)
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) referencesIn(v, out)
  }
  return out
}

/** The value with each `bulkId:x` replaced by the id the operation with bulkId x created. */
export function resolveReferences (value: unknown, ids: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') {
    const m = REF.exec(value)
    return m !== null ? ids.get(m[1] as string) ?? value : value
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, ids))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, ids)]))
  }
  return value
}

/** A path's `bulkId:x` segment replaced the same way. */
export function resolvePath (path: string, ids: ReadonlyMap<string, string>): string {
  return path.split('/').map((seg) => {
    const m = REF.exec(seg)
    return m !== null ? ids.get(m[1] as string) ?? seg : seg
  }).join('/')
}

const METHODS = new Set<string>(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * The envelope of a BulkRequest: 400 for what makes the whole request unusable (no Operations, duplicate
 * bulkIds), 413 over maxOperations (RFC 7644 §3.7.4). A malformed single operation is that operation's error.
 */
export function parseBulkRequest (body: unknown, maxOperations: number): ParsedBulkRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ScimError(400, 'invalidSyntax', 'Request body must be a SCIM BulkRequest message')
  const b = body as Record<string, unknown>
  const schemas = b.schemas
  if (schemas !== undefined && (!Array.isArray(schemas) || !schemas.includes(BULK_REQUEST_SCHEMA))) {
    throw new ScimError(400, 'invalidSyntax', `A Bulk request needs schemas [${BULK_REQUEST_SCHEMA}]`)
  }
  const ops = b.Operations
  if (!Array.isArray(ops) || ops.length === 0) throw new ScimError(400, 'invalidValue', 'A Bulk request needs at least one operation in Operations')
  if (ops.length > maxOperations) {
    throw new ScimError(413, undefined, `The Bulk request has ${ops.length} operations; this server accepts at most ${maxOperations} (maxOperations)`)
  }
  const foe = b.failOnErrors
  if (foe !== undefined && foe !== null && (typeof foe !== 'number' || !Number.isInteger(foe) || foe < 0)) {
    throw new ScimError(400, 'invalidValue', 'failOnErrors must be a non-negative integer')
  }
  const seen = new Set<string>()
  const operations = ops.map((raw: unknown, index): BulkOperation => {
    const o = (raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>
    const method = typeof o.method === 'string' ? o.method.toUpperCase() : ''
    const path = typeof o.path === 'string' ? o.path : ''
    const bulkId = typeof o.bulkId === 'string' && o.bulkId !== '' ? o.bulkId : undefined
    const op: BulkOperation = {
      index,
      method: (METHODS.has(method) ? method : 'POST') as BulkMethod,
      path,
      ...(bulkId !== undefined ? { bulkId } : {}),
      ...(typeof o.version === 'string' && o.version !== '' ? { version: o.version } : {}),
      ...(o.data !== undefined ? { data: o.data } : {}),
      refs: [...referencesIn([path.split('/'), o.data])],
    }
    if (bulkId !== undefined) {
      if (seen.has(bulkId)) throw new ScimError(400, 'invalidValue', `bulkId '${bulkId.slice(0, 40)}' is used by more than one operation; each must be unique (RFC 7644 §3.7.2)`)
      seen.add(bulkId)
    }
    const refuse = (detail: string, scimType: 'invalidSyntax' | 'invalidValue' | 'invalidPath' = 'invalidSyntax'): BulkOperation => ({ ...op, invalid: new ScimError(400, scimType, detail) })
    if (!METHODS.has(method)) return refuse(`Operation ${index + 1}: method must be POST, PUT, PATCH or DELETE`)
    const segments = path.replace(/^\//, '').split('/')
    if (path === '' || segments.length > 2 || segments.some((s) => s === '')) return refuse(`Operation ${index + 1}: path must be /{resourceType} or /{resourceType}/{id}`, 'invalidPath')
    if (method === 'POST' && segments.length !== 1) return refuse(`Operation ${index + 1}: a POST path names a resource type, e.g. /Users`, 'invalidPath')
    if (method !== 'POST' && segments.length !== 2) return refuse(`Operation ${index + 1}: a ${method} path names one resource, e.g. /Users/{id}`, 'invalidPath')
    if (method === 'POST' && bulkId === undefined) return refuse(`Operation ${index + 1}: a POST needs a bulkId (RFC 7644 §3.7.2)`, 'invalidValue')
    if (method !== 'DELETE' && (o.data === null || typeof o.data !== 'object' || Array.isArray(o.data))) return refuse(`Operation ${index + 1}: a ${method} needs data`)
    return op
  })
  return { failOnErrors: typeof foe === 'number' ? foe : 0, operations }
}

/** What is known about an operation before it runs: nothing wrong, or the error it answers with. */
export interface Plan {
  /** Operation indexes in the order they start: every operation after the ones it refers to, else request order. */
  order: number[]
  /** By operation index: the indexes of the operations it waits for. */
  dependsOn: Map<number, number[]>
  /** By operation index: an error that refuses it without running (unknown bulkId, circular reference). */
  refused: Map<number, ScimError>
}

/**
 * The dependency graph. An operation waits for the POSTs whose bulkIds it names, and for the previous operation
 * on the same path (two changes to one resource are applied in request order). A reference to a bulkId no POST
 * of the request carries is refused with 409; so are operations on a cycle of references: RFC 7644 §3.7.1 lets a
 * service provider "stop after a failed attempt and instead return HTTP status code 409 (Conflict)", and there is
 * no partial create to attempt here (a Salesforce user cannot be created before its group, nor a group before
 * its members are known). An operation that waits for a refused one is refused when that one fails (bulk.ts).
 */
export function planBulk (ops: readonly BulkOperation[]): Plan {
  const byBulkId = new Map<string, number>()
  for (const op of ops) if (op.bulkId !== undefined && op.method === 'POST') byBulkId.set(op.bulkId, op.index)
  const dependsOn = new Map<number, number[]>()
  const refused = new Map<number, ScimError>()
  const lastOnPath = new Map<string, number>()
  for (const op of ops) {
    const deps = new Set<number>()
    for (const ref of op.refs) {
      const target = byBulkId.get(ref)
      if (target === undefined) {
        refused.set(op.index, new ScimError(409, 'invalidValue', `bulkId:${ref.slice(0, 40)} names no POST operation of this request`))
      } else {
        deps.add(target)
      }
    }
    if (op.method !== 'POST') {
      const key = op.path.replace(/^\//, '').toLowerCase()
      const prev = lastOnPath.get(key)
      if (prev !== undefined) deps.add(prev)
      lastOnPath.set(key, op.index)
    }
    dependsOn.set(op.index, [...deps])
  }
  // Cycles (Tarjan's strongly connected components, iterative so a long chain cannot exhaust the stack).
  for (const component of stronglyConnected(ops.length, dependsOn)) {
    const cyclic = component.length > 1 || (dependsOn.get(component[0] as number) ?? []).includes(component[0] as number)
    if (!cyclic) continue
    for (const i of component) {
      refused.set(i, new ScimError(409, 'invalidValue', 'Circular bulkId references: this operation refers, directly or through others, to itself; send the resources without the circular reference and add it with a PATCH (RFC 7644 §3.7.1)'))
    }
  }
  // Start order: dependencies first (those off a cycle), otherwise request order.
  const order: number[] = []
  const placed = new Set<number>()
  const visiting = new Set<number>()
  const place = (start: number): void => {
    const stack: Array<{ i: number, next: number }> = [{ i: start, next: 0 }]
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { i: number, next: number }
      if (placed.has(top.i)) { stack.pop(); continue }
      visiting.add(top.i)
      const deps = dependsOn.get(top.i) ?? []
      const dep = deps[top.next++]
      if (dep !== undefined) {
        if (!placed.has(dep) && !visiting.has(dep)) stack.push({ i: dep, next: 0 })
        continue
      }
      visiting.delete(top.i)
      placed.add(top.i)
      order.push(top.i)
      stack.pop()
    }
  }
  for (const op of ops) place(op.index)
  return { order, dependsOn, refused }
}

function stronglyConnected (n: number, edges: ReadonlyMap<number, number[]>): number[][] {
  const index = new Array<number>(n).fill(-1)
  const low = new Array<number>(n).fill(0)
  const onStack = new Array<boolean>(n).fill(false)
  const stack: number[] = []
  const out: number[][] = []
  let counter = 0
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue
    const work: Array<{ v: number, next: number }> = [{ v: root, next: 0 }]
    index[root] = low[root] = counter++
    stack.push(root)
    onStack[root] = true
    while (work.length > 0) {
      const frame = work[work.length - 1] as { v: number, next: number }
      const targets = edges.get(frame.v) ?? []
      if (frame.next < targets.length) {
        const w = targets[frame.next++] as number
        if (index[w] === -1) {
          index[w] = low[w] = counter++
          stack.push(w)
          onStack[w] = true
          work.push({ v: w, next: 0 })
        } else if (onStack[w] === true) {
          low[frame.v] = Math.min(low[frame.v] as number, index[w] as number)
        }
        continue
      }
      work.pop()
      const parent = work[work.length - 1]
      if (parent !== undefined) low[parent.v] = Math.min(low[parent.v] as number, low[frame.v] as number)
      if (low[frame.v] === index[frame.v]) {
        const component: number[] = []
        for (;;) {
          const w = stack.pop() as number
          onStack[w] = false
          component.push(w)
          if (w === frame.v) break
        }
        out.push(component)
      }
    }
  }
  return out
}
