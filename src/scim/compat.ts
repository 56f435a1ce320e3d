// IdP compatibility: pure rewrites of what real SCIM clients send into what RFC 7644 (and SCIMMY) expect, applied
// in one place before SCIMMY sees a request. None of them throws or mutates its input; whatever they do not
// recognise passes through untouched, for validation to refuse. Sources: docs/idp-behaviour.md#wso2-tolerate, docs/idp-behaviour.md#idp-clients.

import { stripUserStorePrefix } from '../mapping/group.js'
import { CORE_GROUP_SCHEMA, CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA } from '../protocol/constants.js'
import { DEFAULT_FILTER_LIMITS, parseFilter, parsePath, type AttrPath, type FilterNode } from '../protocol/filter.js'

const ENTERPRISE = ENTERPRISE_USER_SCHEMA.toLowerCase()
const ENTERPRISE_MANAGER = `${ENTERPRISE}:manager`

type Json = Record<string, unknown>

function isRecord (v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

// ---------------------------------------------------------------------------------------------------------------
// Filters

function parses (filter: string): boolean {
  try {
    parseFilter(filter)
    return true
  } catch {
    return false
  }
}

/** The path parsed by the filter engine, or undefined when it is none (compat never throws). */
function tryParsePath (path: string): AttrPath | undefined {
  try {
    return parsePath(path)
  } catch {
    return undefined
  }
}

const OPERATORS = 'eq|ne|co|sw|ew|gt|ge|lt|le'
// An operator between spaces; the lookbehind starts a match only at the beginning of a run of spaces, so a long run
// costs linear time, not quadratic.
const OPERATOR = new RegExp(String.raw`(?<=\S)\s+(${OPERATORS})\s+(?=\S)`, 'gi')

/**
 * `<attrPath> <op> <rest>`: the first operator whose left side the filter engine reads as a whole attribute path
 * (userName, name.givenName, urn:…:User:employeeNumber, emails[type eq "work"].value).
 */
function splitComparison (filter: string): { attrPath: string, op: string, value: string } | undefined {
  for (const m of filter.matchAll(OPERATOR)) {
    const attrPath = filter.slice(0, m.index)
    if (attrPath.length > DEFAULT_FILTER_LIMITS.maxLength) return undefined
    if (tryParsePath(attrPath) === undefined) continue
    return { attrPath, op: m[1] as string, value: filter.slice(m.index + m[0].length) }
  }
  return undefined
}

const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/
const LITERAL = /^(?:true|false|null)$/i
// "<value> and|or [not] [(]<attrPath> <op>…", "… and (title pr)", "… and emails[type eq "work"]": the value was one
// token of a longer RFC filter, not the whole rest.
const LOGICAL_CONTINUATION = new RegExp(
  String.raw`^(?:"(?:[^"\\]|\\.)*"|\S+)\s+(?:and|or)\s+(?:\(\s*|not\b\s*)*[A-Za-z][\w$.:-]*(?:\[|\s+(?:${OPERATORS})\s|\s+pr(?:[\s)]|$))`, 'i'
)

/**
 * The request's filter, normalised for IdP quirks and parsed (RFC 7644 §3.4.2.2) once per request: every later step
 * (SOQL translation, member lookups, in-memory matching) works on this AST. An absent or empty filter is none.
 */
export function parseRequestFilter (raw: string | undefined): FilterNode | undefined {
  if (raw === undefined || raw === '') return undefined
  // A filter the parser takes as it is means the same after normalizeFilter (which at most lower-cases a literal the
  // parser reads in any case): its AST is the answer. Otherwise normalise, and parse once more only if that changed it.
  let error: unknown
  try {
    return parseFilter(raw)
  } catch (e) {
    error = e
  }
  const normalized = rewriteFilter(raw, false)
  if (normalized === raw) throw error
  return parseFilter(normalized)
}

/**
 * Quotes the value of a single comparison when the client left it unquoted, e.g. WSO2 IS's
 * `userName Eq john@example.com` and `displayName Eq PRIMARY/sales team` (the value is the rest of the string,
 * spaces and all) or the Microsoft suite's `userName sw O`: `<attrPath> <op lower-cased> "<value, JSON-escaped>"`.
 * Also lower-cases a `True`/`FALSE`/`Null` literal, which RFC 7644's ABNF allows but SCIMMY 1.3.5 reads as false.
 * Filters with valid values (quoted strings, numbers, true/false/null) and compound filters are returned as they are.
 */
export function normalizeFilter (filter: string): string {
  if (typeof filter !== 'string') return filter
  return rewriteFilter(filter, undefined)
}

/** normalizeFilter; `parsesAsIs` is whether `filter` is known to parse (undefined: find out when it matters). */
function rewriteFilter (filter: string, parsesAsIs: boolean | undefined): string {
  const match = splitComparison(filter.trim())
  if (match === undefined) return filter
  const { attrPath, op, value } = match
  // A value that opens with a quote is an RFC string, followed by more filter or by garbage: quoting it again could
  // only change what the filter means (`userName eq "a" and emails[type eq "work"]` must stay a conjunction).
  if (value.startsWith('"') || NUMBER.test(value) || /^(?:true|false|null)$/.test(value)) return filter
  if (LITERAL.test(value)) return `${attrPath} ${op.toLowerCase()} ${value.toLowerCase()}`
  // A filter the RFC parser takes as it is means what it says: quoting would change it (`a eq true and (…)`).
  if (LOGICAL_CONTINUATION.test(value) || (parsesAsIs ?? parses(filter))) return filter
  return `${attrPath} ${op.toLowerCase()} "${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

// ---------------------------------------------------------------------------------------------------------------
// Bodies

/** "True", "false", "FALSE" → booleans (Entra's PATCH values, OneLogin's templates); anything else unchanged. */
function toBoolean (v: unknown): unknown {
  if (typeof v !== 'string') return v
  const s = v.trim().toLowerCase()
  return s === 'true' ? true : s === 'false' ? false : v
}

/** Entra sends the enterprise manager as a bare id; RFC 7643 §4.3 makes it `{ value }`. */
function toManager (v: unknown): unknown {
  return typeof v === 'string' ? { value: v } : v
}

/** Copy-on-write: returns `obj` itself when no key changed, so tidy input costs no allocation and stays identical. */
function mapValues (obj: Json, fn: (key: string, value: unknown) => unknown): Json {
  let out: Json | undefined
  for (const [key, value] of Object.entries(obj)) {
    const next = fn(key, value)
    if (next !== value) {
      out ??= { ...obj }
      out[key] = next
    }
  }
  return out ?? obj
}

function mapItems (list: unknown[], fn: (item: unknown, index: number) => unknown): unknown[] {
  let out: unknown[] | undefined
  list.forEach((item, i) => {
    const next = fn(item, i)
    if (next !== item) {
      out ??= [...list]
      out[i] = next
    }
  })
  return out ?? list
}

/** WSO2's default claim mapping sends `"emails": ["a@b"]`: the first string becomes the primary address. */
function normalizeEmails (emails: unknown[]): unknown[] {
  const hasPrimary = emails.some((e) => isRecord(e) && toBoolean(e.primary) === true)
  let firstString = true
  return mapItems(emails, (e) => {
    if (typeof e !== 'string') return e
    const primary = firstString && !hasPrimary
    firstString = false
    return primary ? { value: e, primary: true } : { value: e }
  })
}

/** String `primary` flags in any multi-valued attribute (emails, phoneNumbers, addresses…). */
function normalizeMultiValued (list: unknown[]): unknown[] {
  return mapItems(list, (item) => isRecord(item)
    ? mapValues(item, (k, v) => k.toLowerCase() === 'primary' ? toBoolean(v) : v)
    : item)
}

/**
 * The attribute-level rewrites shared by POST/PUT bodies and PATCH values. Keys are matched case-insensitively,
 * as SCIMMY matches them. Path-less PATCH values may carry dotted keys ("name.givenName",
 * "urn:…:User:manager"); SCIMMY accepts those, so they are kept, and the flattened manager is fixed like the nested one.
 */
function normalizeUserAttributes (attrs: Json): Json {
  return mapValues(attrs, (key, value) => {
    const k = key.toLowerCase()
    if (k === 'active') return toBoolean(value)
    if (k === ENTERPRISE_MANAGER) return toManager(value)
    if (k === ENTERPRISE && isRecord(value)) {
      return mapValues(value, (sub, v) => sub.toLowerCase() === 'manager' ? toManager(v) : v)
    }
    if (Array.isArray(value)) return normalizeMultiValued(k === 'emails' ? normalizeEmails(value) : value)
    return value
  })
}

function lacksSchemas (body: Json): boolean {
  const schemas = body.schemas
  return schemas === undefined || schemas === null || (Array.isArray(schemas) && schemas.length === 0)
}

/**
 * A User body for POST or PUT: `"schemas": []` or none → the core schema (plus the enterprise URN when the body
 * carries enterprise data); `"emails": ["a@b"]` → objects; string `active`/`primary` → booleans; a string enterprise
 * `manager` → `{ value }`; OneLogin's `"id": null` and any client-sent `meta` dropped (both are read-only).
 * Everything else, unknown extension URNs included, is kept.
 */
export function normalizeUserBody (body: unknown): unknown {
  if (!isRecord(body)) return body
  let out = normalizeUserAttributes(body)
  if (lacksSchemas(out)) {
    const enterprise = Object.keys(out).some((k) => {
      const key = k.toLowerCase()
      return key === ENTERPRISE || key.startsWith(`${ENTERPRISE}:`)
    })
    out = { ...out, schemas: enterprise ? [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA] : [CORE_USER_SCHEMA] }
  }
  if (out.id === null || Object.hasOwn(out, 'meta')) {
    const { meta: _meta, ...rest } = out
    if (rest.id === null) delete rest.id
    out = rest
  }
  return out
}

function normalizeOperation (op: unknown): unknown {
  if (!isRecord(op)) return op
  let out = op
  // Entra sends Add/Replace/Remove; RFC 7644 §3.5.2 spells them lower-case.
  if (typeof op.op === 'string' && op.op !== op.op.toLowerCase()) out = { ...out, op: op.op.toLowerCase() }
  const path = op.path
  const value = op.value
  let next = value
  if (path === undefined || path === null) {
    // Path-less: the value is a partial resource, dotted keys included.
    if (isRecord(value)) next = normalizeUserAttributes(value)
  } else if (typeof path === 'string') {
    const parsed = tryParsePath(path)
    if (parsed === undefined) {
      // Not a path: left as sent, for validation to refuse.
    } else if (parsed.valueFilter === undefined && parsed.subAttr === undefined) {
      // A whole attribute (active, emails, urn:…:User:manager, urn:…:User): the same rules as a body's key.
      next = normalizeUserAttributes({ [path]: value })[path]
    } else {
      // A sub-attribute or a filtered path (emails[type eq "work"].primary); `.value` paths are left as sent.
      const attribute = (parsed.subAttr ?? parsed.attr).toLowerCase()
      if (attribute === 'active' || attribute === 'primary') next = toBoolean(value)
    }
  }
  if (next !== value) out = { ...out, value: next }
  return out
}

/**
 * A PatchOp body: `schemas` missing or empty → the PatchOp URN; `op` lower-cased; string booleans for `active` (and
 * `primary`) → booleans, with a path or in path-less values; a string enterprise `manager` → `{ value }`.
 * Entra's `replace emails[type eq "work"].value` and path-less dotted keys are kept as sent: SCIMMY handles both.
 */
export function normalizePatchBody (body: unknown): unknown {
  if (!isRecord(body)) return body
  let out = body
  if (lacksSchemas(out)) out = { ...out, schemas: [PATCH_OP_SCHEMA] }
  const ops = out.Operations
  if (Array.isArray(ops)) {
    const next = mapItems(ops, normalizeOperation)
    if (next !== ops) out = { ...out, Operations: next }
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// Groups

/** WSO2 IS's user-store prefix on group names (`PRIMARY/sales`, docs/idp-behaviour.md#wso2-sequences): see stripUserStorePrefix. */
function stripDomain (name: unknown): unknown {
  return typeof name === 'string' ? stripUserStorePrefix(name) : name
}

/** Okta and others send `"type": "user"`; SCIMMY's canonical values are `User` and `Group` (case-sensitive). */
function normalizeMembers (members: unknown): unknown {
  if (!Array.isArray(members)) return members
  return mapItems(members, (m) => {
    if (!isRecord(m)) return m
    return mapValues(m, (k, v) => {
      if (k.toLowerCase() !== 'type' || typeof v !== 'string') return v
      const lower = v.toLowerCase()
      return lower === 'user' ? 'User' : lower === 'group' ? 'Group' : v
    })
  })
}

function normalizeGroupAttributes (attrs: Json, stripPrefix: boolean): Json {
  return mapValues(attrs, (key, value) => {
    const k = key.toLowerCase()
    if (k === 'displayname' && stripPrefix) return stripDomain(value)
    if (k === 'members') return normalizeMembers(value)
    return value
  })
}

/**
 * A Group body for POST or PUT: `"schemas": []` or none (WSO2) → the core Group schema; member `type` case fixed;
 * `"id": null` and client-sent `meta` dropped; with `stripPrefix` (a per-client setting), `PRIMARY/sales` → `sales`.
 * Entra's extra schema URN (`http://schemas.microsoft.com/…/Group`) is kept: SCIMMY needs only the core one.
 */
export function normalizeGroupBody (body: unknown, opts: { stripPrefix: boolean }): unknown {
  if (!isRecord(body)) return body
  let out = normalizeGroupAttributes(body, opts.stripPrefix)
  if (lacksSchemas(out)) out = { ...out, schemas: [CORE_GROUP_SCHEMA] }
  if (out.id === null || Object.hasOwn(out, 'meta')) {
    const { meta: _meta, ...rest } = out
    if (rest.id === null) delete rest.id
    out = rest
  }
  return out
}

/** A Group PatchOp: schemas and op case as for Users; displayName values lose the user-store prefix; member types fixed. */
export function normalizeGroupPatchBody (body: unknown, opts: { stripPrefix: boolean }): unknown {
  if (!isRecord(body)) return body
  let out = body
  if (lacksSchemas(out)) out = { ...out, schemas: [PATCH_OP_SCHEMA] }
  const ops = out.Operations
  if (Array.isArray(ops)) {
    const next = mapItems(ops, (op) => {
      if (!isRecord(op)) return op
      let o = op
      if (typeof op.op === 'string' && op.op !== op.op.toLowerCase()) o = { ...o, op: op.op.toLowerCase() }
      const path = typeof op.path === 'string' ? op.path.toLowerCase() : undefined
      let value = op.value
      if (path === undefined && isRecord(value)) value = normalizeGroupAttributes(value, opts.stripPrefix)
      else if (path === 'displayname' && opts.stripPrefix) value = stripDomain(value)
      else if (path === 'members') value = normalizeMembers(value)
      return value === op.value ? o : { ...o, value }
    })
    if (next !== ops) out = { ...out, Operations: next }
  }
  return out
}
