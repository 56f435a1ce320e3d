// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) applied to outgoing resources. Done here, not
// by SCIMMY, because SCIMMY's attribute filter throws on extension URN paths.

import { CORE_GROUP_SCHEMA, CORE_USER_SCHEMA } from '../protocol/constants.js'
import { ScimError } from './errors.js'

/** Attributes that are always returned whatever the request asks (RFC 7643 §3.1, §7 returned "always"). */
const ALWAYS = new Set(['id', 'schemas'])

export interface Projection {
  attributes?: string[]
  excludedAttributes?: string[]
}

/** Splits a comma-separated query parameter, ignoring blanks; `emails[type eq "work"]` selects `emails`. */
export function parseAttributeList (raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined
  const out: string[] = []
  let depth = 0
  let cur = ''
  for (const ch of raw) {
    if (ch === '[') depth++
    if (ch === ']') depth = Math.max(0, depth - 1)
    if (ch === ',' && depth === 0) {
      out.push(cur)
      cur = ''
    } else {
      cur += ch
    }
  }
  out.push(cur)
  return out.map((s) => s.trim().replace(/\[[^\]]*\]/g, '')).filter((s) => s !== '')
}

const CORE_PREFIXES = [CORE_USER_SCHEMA, CORE_GROUP_SCHEMA].map((s) => `${s.toLowerCase()}:`)

/** Splits `urn:...:User:name.givenName` into the extension key (if any) and the dotted attribute path. */
function splitPath (path: string, extensions: string[]): { ext?: string, parts: string[] } {
  const lower = path.toLowerCase()
  for (const ext of extensions) {
    const e = ext.toLowerCase()
    if (lower === e) return { ext, parts: [] }
    if (lower.startsWith(e + ':')) return { ext, parts: path.slice(ext.length + 1).split('.') }
  }
  // A core attribute named with its schema's URN: urn:ietf:params:scim:schemas:core:2.0:User:userName.
  const core = CORE_PREFIXES.find((prefix) => lower.startsWith(prefix))
  if (core !== undefined) return { parts: path.slice(core.length).split('.') }
  return { parts: path.split('.') }
}

function findKey (obj: Record<string, unknown>, name: string): string | undefined {
  const lower = name.toLowerCase()
  return Object.keys(obj).find((k) => k.toLowerCase() === lower)
}

function pick (src: unknown, parts: string[]): unknown {
  if (parts.length === 0) return src
  if (Array.isArray(src)) {
    const items = src.map((e) => pick(e, parts)).filter((e) => e !== undefined && !(typeof e === 'object' && e !== null && Object.keys(e).length === 0))
    return items.length > 0 ? items : undefined
  }
  if (src === null || typeof src !== 'object') return undefined
  const obj = src as Record<string, unknown>
  const key = findKey(obj, parts[0] as string)
  if (key === undefined) return undefined
  const inner = pick(obj[key], parts.slice(1))
  return inner === undefined ? undefined : { [key]: inner }
}

function merge (target: Record<string, unknown>, add: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(add)) {
    const cur = target[k]
    if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      merge(cur as Record<string, unknown>, v as Record<string, unknown>)
    } else if (Array.isArray(cur) && Array.isArray(v)) {
      target[k] = cur.map((c, i) => (typeof c === 'object' && c !== null ? { ...c, ...(v[i] as object) } : c))
    } else {
      target[k] = v
    }
  }
}

function drop (obj: Record<string, unknown>, parts: string[]): void {
  const key = findKey(obj, parts[0] as string)
  if (key === undefined) return
  if (parts.length === 1) {
    delete obj[key]
    return
  }
  const inner = obj[key]
  const rest = parts.slice(1)
  if (Array.isArray(inner)) {
    for (const e of inner) if (e !== null && typeof e === 'object') drop(e as Record<string, unknown>, rest)
  } else if (inner !== null && typeof inner === 'object') {
    drop(inner as Record<string, unknown>, rest)
    if (Object.keys(inner).length === 0) delete obj[key]
  }
}

/** Returns a copy of `resource` reduced as the request asked. `attributes` wins when both are given. */
export function project<T extends Record<string, unknown>> (resource: T, p: Projection): T {
  const extensions = Object.keys(resource).filter((k) => k.toLowerCase().startsWith('urn:'))
  if (p.attributes !== undefined && p.attributes.length > 0) {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(resource)) if (ALWAYS.has(k)) out[k] = resource[k]
    for (const path of p.attributes) {
      const { ext, parts } = splitPath(path, extensions)
      const picked = ext !== undefined ? pick(resource, [ext, ...parts]) : pick(resource, parts)
      if (picked !== undefined && typeof picked === 'object') merge(out, picked as Record<string, unknown>)
    }
    return out as T
  }
  if (p.excludedAttributes !== undefined && p.excludedAttributes.length > 0) {
    const out = structuredClone(resource) as Record<string, unknown>
    for (const path of p.excludedAttributes) {
      const { ext, parts } = splitPath(path, extensions)
      const full = ext !== undefined ? [ext, ...parts] : parts
      if (full.length === 1 && ALWAYS.has(full[0] as string)) continue
      drop(out, full)
    }
    return out as T
  }
  return resource
}

/**
 * Whether an answer carries `attr` of `schema`, which costs a read of its own (a user's groups, a group's members):
 * when `attributes` is given, only if it names the attribute (bare or URN-qualified) or one of its sub-attributes;
 * otherwise unless `excludedAttributes` names it, if it is returned by default.
 */
export function wantsAttribute (p: Projection, schema: string, attr: string, byDefault: boolean): boolean {
  const prefix = `${schema.toLowerCase()}:`
  const names = (list: string[] | undefined): boolean => (list ?? []).some((a) => {
    const path = a.toLowerCase().startsWith(prefix) ? a.slice(prefix.length) : a
    const lower = path.toLowerCase()
    return lower === attr.toLowerCase() || lower.startsWith(`${attr.toLowerCase()}.`)
  })
  if (p.attributes !== undefined && p.attributes.length > 0) return names(p.attributes)
  if (names(p.excludedAttributes)) return false
  return byDefault
}

/** A numeric query parameter (startIndex, count), which may arrive as a string or, in a SearchRequest, a number. */
export function toInt (v: string | number | undefined): number | undefined {
  if (v === undefined || v === '') return undefined
  const n = typeof v === 'number' ? v : Number(v)
  if (!Number.isFinite(n)) throw new ScimError(400, 'invalidValue', `Expected a number, got '${String(v)}'`)
  return Math.trunc(n)
}

/** The projection a request asks for, from its query string or SearchRequest body. */
export function projectionOf (q: { attributes?: string | string[], excludedAttributes?: string | string[] }): Projection {
  const join = (v: string | string[] | undefined): string | undefined => Array.isArray(v) ? v.join(',') : v
  const p: Projection = {}
  const a = parseAttributeList(join(q.attributes))
  const e = parseAttributeList(join(q.excludedAttributes))
  if (a !== undefined) p.attributes = a
  if (e !== undefined) p.excludedAttributes = e
  return p
}
