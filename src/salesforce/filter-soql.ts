// A pure, table-driven translation of a SCIM filter AST (src/protocol/filter.ts) into a SOQL condition built only
// through soql.ts. The tables (FilterSchema) saying which SCIM attribute is which Salesforce field live in
// src/mapping/*-filter-schema.ts.
//
// Semantics worth knowing (each has a test):
// - Text comparisons are case-insensitive: SOQL `=`, `!=`, `LIKE`, `<`… on text fields ignore case, which is
//   what RFC 7643 asks for userName, emails, displayName, name.* (caseExact false). Salesforce has no
//   case-sensitive operator on text, so a caseExact attribute mapped to a text field (externalId →
//   FederationIdentifier) is matched case-insensitively too: `eq`/`co`/`sw`/`ew` may return a case variant
//   (a superset), `ne` may omit one. Id fields (type 'id'/'reference') compare exactly: 15-character ids are
//   case-sensitive and are sent in their 18-character form.
// - A malformed Salesforce id never reaches SOQL (Salesforce would answer with an error, not with no rows):
//   `id eq "junk"` is always false, `id ne "junk"` always true.
// - SOQL compares null as a value: `Title != 'x'` also matches users without a Title, and so does
//   `not (title eq "x")`.
// - Salesforce keeps dateTimes to the second [assumption: REST returns ".000" milliseconds] and SOQL dateTime
//   literals have no fraction, so fractional instants are rounded per operator to keep the meaning exact.
// - A multi-valued attribute is a fixed set of Salesforce fields (emails → Email, phoneNumbers → Phone,
//   MobilePhone, Fax…). Each entry exists when its `value` field (or, without one, any of its fields) is not
//   null; a value filter `[…]` is evaluated per entry, with the entry's constants (type, primary) decided here
//   and its fields compared in SOQL; an entry whose constants cannot match contributes nothing, so
//   `emails[type eq "home"]` is always false. An attribute the table does not map is an invalidFilter error,
//   never "no match": an IdP that is told "no such user" creates a duplicate.

import {
  ALWAYS_FALSE, ALWAYS_TRUE, LIKE_ANY, MAX_SOQL_STRING_LENGTH, and, compare, contains, eq, isNotNull, isNull, like, ne,
  not, or, startsWith, assertIdentifier, type ComparisonOperator, type SoqlFragment,
} from './soql.js'
import { normalizeSalesforceId } from './ids.js'
import {
  FilterError, parseDateTime, parseFilter, formatPath,
  type AttrPath, type CompareNode, type CompareOp, type FilterLimits, type FilterNode, type FilterValue, type PresentNode, type ValuePathNode,
} from '../protocol/filter.js'
import { compareText, toBoolean } from '../protocol/evaluate.js'

// ---------------------------------------------------------------------------------------------------------
// Schema: the SCIM ⇄ Salesforce field table, as data

/**
 * string: text fields (compared case-insensitively by SOQL); boolean; datetime: Salesforce dateTime;
 * id: the record's own Id; reference: a lookup holding another record's Id (e.g. ManagerId).
 */
export type FieldType = 'string' | 'boolean' | 'datetime' | 'id' | 'reference'

export interface FieldMapping {
  /** Salesforce field API name, e.g. 'Username' or 'Manager.Username'. */
  field: string
  type: FieldType
  /**
   * string only: Salesforce holds the SCIM value followed by this suffix (the configured username suffix).
   * eq/ne/sw/ew/co account for it; gt/ge/lt/le are refused because the suffix changes the ordering.
   */
  suffix?: string
  /**
   * string only (users.usernameDomain): a SCIM value without `@` is held as `<value>@<plainDomain>` (before the
   * suffix). eq/ne/ew compare that form; sw and co compare the SCIM value within the held one, so `co` may also
   * match on the domain's text (a superset); gt/ge/lt/le are refused, the domain changes the ordering.
   */
  plainDomain?: string
}

export interface SingleAttr extends FieldMapping { kind: 'single' }

export interface MultiAttrEntry {
  /** Sub-attributes that are the same for every user for this entry, e.g. { type: 'work', primary: true }. */
  constants: Readonly<Record<string, string | boolean>>
  /** Sub-attributes held in Salesforce fields, e.g. { value: { field: 'Email', type: 'string' } }. */
  fields: Readonly<Record<string, FieldMapping>>
}

/** A multi-valued SCIM attribute as the fixed set of Salesforce fields that can hold its values. */
export interface MultiAttr { kind: 'multi', entries: readonly MultiAttrEntry[] }

export interface FilterSchema {
  /** The resource's core schema URN; paths qualified with it resolve like short names. */
  coreSchema: string
  /**
   * Keys are lower-cased SCIM paths (case is folded anyway): 'username', 'name.givenname', 'emails',
   * 'meta.lastmodified', and for extensions the full URN path, e.g.
   * 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:manager.value'. Sub-attributes of
   * single-valued complex attributes are their own dotted keys; multi-valued attributes are one MultiAttr key.
   */
  attributes: Readonly<Record<string, SingleAttr | MultiAttr>>
}

interface CompiledEntry {
  constants: Map<string, string | boolean>
  fields: Map<string, FieldMapping>
  /** Salesforce fields whose non-null value means the entry exists. */
  presence: Set<string>
  exists: SoqlFragment
}
interface CompiledMulti { kind: 'multi', entries: CompiledEntry[], subs: Set<string> }
interface CompiledSchema { core: string, attrs: Map<string, SingleAttr | CompiledMulti> }

const compiled = new WeakMap<FilterSchema, CompiledSchema>()

function checkMapping (key: string, m: FieldMapping): void {
  assertIdentifier(m.field)
  if (m.suffix !== undefined && m.type !== 'string') {
    throw new TypeError(`Filter schema ${key}: a suffix is only meaningful on string fields`)
  }
  if (m.plainDomain !== undefined && m.type !== 'string') {
    throw new TypeError(`Filter schema ${key}: a domain is only meaningful on string fields`)
  }
}

// Validated once per schema object: a bad table is a programming error (TypeError at first use), not a 400.
function compile (schema: FilterSchema): CompiledSchema {
  const hit = compiled.get(schema)
  if (hit !== undefined) return hit
  const core = schema.coreSchema.toLowerCase()
  const attrs = new Map<string, SingleAttr | CompiledMulti>()
  for (const [rawKey, spec] of Object.entries(schema.attributes)) {
    let key = rawKey.toLowerCase()
    if (key.startsWith(core + ':')) key = key.slice(core.length + 1)
    if (attrs.has(key)) throw new TypeError(`Filter schema: duplicate attribute ${rawKey}`)
    if (spec.kind === 'single') {
      checkMapping(rawKey, spec)
      attrs.set(key, spec)
      continue
    }
    const subs = new Set<string>()
    const entries = spec.entries.map((e): CompiledEntry => {
      const constants = new Map(Object.entries(e.constants).map(([k, v]) => [k.toLowerCase(), v] as const))
      const fields = new Map(Object.entries(e.fields).map(([k, v]) => [k.toLowerCase(), v] as const))
      for (const k of [...constants.keys(), ...fields.keys()]) subs.add(k)
      for (const m of fields.values()) checkMapping(rawKey, m)
      const value = fields.get('value')
      const presence = new Set(value !== undefined ? [value.field] : [...fields.values()].map((m) => m.field))
      return { constants, fields, presence, exists: or(...[...presence].map((f) => isNotNull(f))) }
    })
    attrs.set(key, { kind: 'multi', entries, subs })
  }
  const result = { core, attrs }
  compiled.set(schema, result)
  return result
}

// ---------------------------------------------------------------------------------------------------------
// Translation

const SOQL_ORDER: Readonly<Record<'gt' | 'ge' | 'lt' | 'le', ComparisonOperator>> = { gt: '>', ge: '>=', lt: '<', le: '<=' }

function nullCompare (field: string, op: CompareOp, name: string): SoqlFragment {
  if (op === 'eq') return isNull(field)
  if (op === 'ne') return isNotNull(field)
  throw new FilterError(`'${op}' cannot compare ${name} with null: use eq null, ne null or pr`)
}

function stringValue (value: string | number | boolean, name: string): string {
  if (typeof value === 'boolean') {
    throw new FilterError(`${name} is a string attribute: compare it with a quoted string, not ${value}`)
  }
  return typeof value === 'number' ? String(value) : value
}

function compareString (m: FieldMapping, op: CompareOp, value: FilterValue, name: string): SoqlFragment {
  if (value === null) return nullCompare(m.field, op, name)
  const v = stringValue(value, name)
  const suffix = m.suffix ?? ''
  // A plain value (no `@`) is held with the domain appended (users.usernameDomain); an email-shaped one as it is.
  const domain = m.plainDomain !== undefined && m.plainDomain !== '' && !v.includes('@') ? `@${m.plainDomain}` : ''
  if (v.length + domain.length + suffix.length > MAX_SOQL_STRING_LENGTH) {
    throw new FilterError(`The value compared with ${name} is longer than Salesforce's ${MAX_SOQL_STRING_LENGTH} characters`)
  }
  switch (op) {
    case 'eq': return eq(m.field, v + domain + suffix)
    case 'ne': return ne(m.field, v + domain + suffix)
    case 'sw': return suffix === '' ? startsWith(m.field, v) : like(m.field, v, LIKE_ANY, suffix)
    // A plain value may end a plain name (held with the domain) or an email-shaped one (held as sent).
    case 'ew': return domain === '' ? like(m.field, LIKE_ANY, v + suffix) : or(like(m.field, LIKE_ANY, v + suffix), like(m.field, LIKE_ANY, v + domain + suffix))
    case 'co': return suffix === '' ? contains(m.field, v) : like(m.field, LIKE_ANY, v, LIKE_ANY, suffix)
    default:
      if (suffix !== '' || m.plainDomain !== undefined) {
        throw new FilterError(`'${op}' is not supported on ${name}: Salesforce stores it with a ${suffix !== '' ? 'suffix' : 'domain'}, which changes the ordering`)
      }
      return compare(m.field, SOQL_ORDER[op], v)
  }
}

function compareBoolean (m: FieldMapping, op: CompareOp, value: FilterValue, name: string): SoqlFragment {
  if (op !== 'eq' && op !== 'ne') {
    throw new FilterError(`'${op}' is not supported on ${name}, a boolean attribute: use eq, ne or pr`)
  }
  if (value === null) return nullCompare(m.field, op, name)
  const b = toBoolean(value)
  if (b === undefined) throw new FilterError(`${name} is a boolean attribute: compare it with true or false, not ${JSON.stringify(value)}`)
  return op === 'eq' ? eq(m.field, b) : ne(m.field, b)
}

// Salesforce's dateTime range [documented for field values; whether SOQL rejects literals outside it is
// unverified, so none is sent].
const MIN_SF_DATETIME = Date.UTC(1700, 0, 1)
const MAX_SF_DATETIME = Date.UTC(4000, 11, 31)

function compareDatetime (m: FieldMapping, op: CompareOp, value: FilterValue, name: string): SoqlFragment {
  if (op === 'co' || op === 'sw' || op === 'ew') {
    throw new FilterError(`'${op}' is not supported on ${name}, a dateTime attribute: use eq, ne, gt, ge, lt, le or pr`)
  }
  if (value === null) return nullCompare(m.field, op, name)
  const ms = typeof value === 'string' ? parseDateTime(value) : undefined
  if (ms === undefined) {
    throw new FilterError(`${name} is a dateTime attribute: ${JSON.stringify(value)} is not a dateTime such as "2011-05-13T04:42:34Z"`)
  }
  if (ms < MIN_SF_DATETIME || ms > MAX_SF_DATETIME) {
    const before = ms < MIN_SF_DATETIME
    switch (op) {
      case 'eq': return ALWAYS_FALSE
      case 'ne': return ALWAYS_TRUE
      case 'gt': case 'ge': return before ? isNotNull(m.field) : ALWAYS_FALSE
      default: return before ? ALWAYS_FALSE : isNotNull(m.field)
    }
  }
  // Stored values are whole seconds s: s > 34.5 ⇔ s > 34; s >= 34.5 ⇔ s >= 35; s < 34.5 ⇔ s < 35; s <= 34.5 ⇔ s <= 34.
  const floor = Math.floor(ms / 1000) * 1000
  const ceil = Math.ceil(ms / 1000) * 1000
  const whole = floor === ms
  switch (op) {
    case 'eq': return whole ? eq(m.field, new Date(ms)) : ALWAYS_FALSE
    case 'ne': return whole ? ne(m.field, new Date(ms)) : ALWAYS_TRUE
    case 'gt': return compare(m.field, '>', new Date(floor))
    case 'ge': return compare(m.field, '>=', new Date(ceil))
    case 'lt': return compare(m.field, '<', new Date(ceil))
    default: return compare(m.field, '<=', new Date(floor))
  }
}

function compareId (m: FieldMapping, op: CompareOp, value: FilterValue, name: string): SoqlFragment {
  if (op !== 'eq' && op !== 'ne') {
    throw new FilterError(`'${op}' is not supported on ${name}, a Salesforce id: use eq, ne or pr`)
  }
  if (value === null) return nullCompare(m.field, op, name)
  const id = typeof value === 'string' ? normalizeSalesforceId(value) : undefined
  // Not an id at all: no record has it (Entra's "Test Connection" asks for random ids and expects no match).
  if (id === undefined) return op === 'eq' ? ALWAYS_FALSE : ALWAYS_TRUE
  return op === 'eq' ? eq(m.field, id) : ne(m.field, id)
}

function compareField (m: FieldMapping, op: CompareOp, value: FilterValue, name: string): SoqlFragment {
  switch (m.type) {
    case 'string': return compareString(m, op, value, name)
    case 'boolean': return compareBoolean(m, op, value, name)
    case 'datetime': return compareDatetime(m, op, value, name)
    case 'id': case 'reference': return compareId(m, op, value, name)
  }
}

/** A constant sub-attribute (type, primary) compared in memory, with SCIM's caseExact=false for strings. */
function constantMatches (constant: string | boolean, op: CompareOp, value: FilterValue, name: string): boolean {
  if (typeof constant === 'boolean') {
    if (op !== 'eq' && op !== 'ne') {
      throw new FilterError(`'${op}' is not supported on ${name}, a boolean attribute: use eq, ne or pr`)
    }
    if (value === null) return op === 'ne'
    const b = toBoolean(value)
    if (b === undefined) throw new FilterError(`${name} is a boolean attribute: compare it with true or false, not ${JSON.stringify(value)}`)
    return (constant === b) === (op === 'eq')
  }
  if (value === null) {
    if (op === 'eq' || op === 'ne') return op === 'ne'
    throw new FilterError(`'${op}' cannot compare ${name} with null: use eq null, ne null or pr`)
  }
  return compareText(op, constant, stringValue(value, name))
}

type Resolved =
  | { kind: 'single', mapping: SingleAttr, name: string }
  | { kind: 'multi', attr: CompiledMulti, name: string, sub: string | undefined }

function resolve (path: AttrPath, schema: CompiledSchema): Resolved {
  const urn = path.urn?.toLowerCase()
  const key = (urn === undefined || urn === schema.core ? '' : urn + ':') + path.attr.toLowerCase()
  const sub = path.subAttr?.toLowerCase()
  const name = formatPath(path)
  if (path.valueFilter === undefined && sub !== undefined) {
    const single = schema.attrs.get(`${key}.${sub}`)
    if (single?.kind === 'single') return { kind: 'single', mapping: single, name }
  }
  const base = schema.attrs.get(key)
  if (base?.kind === 'multi') return { kind: 'multi', attr: base, name, sub }
  if (base?.kind === 'single') {
    if (path.valueFilter !== undefined) throw new FilterError(`${name}: value filters apply to multi-valued attributes only`)
    if (sub === undefined) return { kind: 'single', mapping: base, name }
  }
  if (sub === undefined && [...schema.attrs.keys()].some((k) => k.startsWith(key + '.'))) {
    throw new FilterError(`${name} is a complex attribute: filter on one of its sub-attributes, e.g. ${name}.<sub-attribute>`)
  }
  throw new FilterError(`Filtering on ${name} is not supported (unknown or unmapped attribute)`)
}

/** A per-entry condition and whether it can only hold when the entry exists (so `exists` need not be added). */
interface EntryCondition { cond: SoqlFragment, impliesExists: boolean }

const constant = (b: boolean): EntryCondition => (b ? { cond: ALWAYS_TRUE, impliesExists: false } : { cond: ALWAYS_FALSE, impliesExists: true })

// Ops that cannot hold on a null field (SOQL: `X = 'a'`, LIKE, ordering); `ne` and `eq null` can.
function requiresValue (op: CompareOp, value: FilterValue): boolean {
  return op !== 'ne' && value !== null
}

function entrySub (e: CompiledEntry, sub: string, test: { op: CompareOp, value: FilterValue } | 'pr', name: string): EntryCondition {
  const mapping = e.fields.get(sub)
  if (mapping !== undefined) {
    const cond = test === 'pr' ? isNotNull(mapping.field) : compareField(mapping, test.op, test.value, name)
    if (cond.kind === 'false') return { cond, impliesExists: true }
    const impliesExists = cond.kind !== 'true' && e.presence.has(mapping.field) && (test === 'pr' || requiresValue(test.op, test.value))
    return { cond, impliesExists }
  }
  const k = e.constants.get(sub)
  if (k !== undefined) return constant(test === 'pr' ? true : constantMatches(k, test.op, test.value, name))
  // This entry has no such sub-attribute (e.g. no `primary` on a fax number): nothing to match.
  return constant(false)
}

function entryAnd (parts: EntryCondition[]): EntryCondition {
  return { cond: and(...parts.map((p) => p.cond)), impliesExists: parts.some((p) => p.impliesExists) }
}

function entryFilter (node: FilterNode, e: CompiledEntry, attrName: string): EntryCondition {
  switch (node.type) {
    case 'and': return entryAnd(node.operands.map((o) => entryFilter(o, e, attrName)))
    case 'or': {
      const parts = node.operands.map((o) => entryFilter(o, e, attrName))
      return { cond: or(...parts.map((p) => p.cond)), impliesExists: parts.every((p) => p.impliesExists) }
    }
    case 'not': {
      const cond = not(entryFilter(node.operand, e, attrName).cond)
      return { cond, impliesExists: cond.kind === 'false' }
    }
    case 'compare':
      return entrySub(e, node.path.attr.toLowerCase(), node, `${attrName}.${node.path.attr}`)
    case 'present':
      return entrySub(e, node.path.attr.toLowerCase(), 'pr', `${attrName}.${node.path.attr}`)
    case 'valuePath':
      throw new FilterError(`Value filters cannot be nested (${attrName})`)
  }
}

// Inner paths are sub-attribute names of the multi-valued attribute; checked up front so an unknown one is an
// error even when no entry would be consulted.
function checkInnerPaths (node: FilterNode, attr: CompiledMulti, attrName: string): void {
  switch (node.type) {
    case 'and': case 'or': node.operands.forEach((o) => checkInnerPaths(o, attr, attrName)); return
    case 'not': checkInnerPaths(node.operand, attr, attrName); return
    default: {
      const p = node.path
      if (p.urn !== undefined || p.subAttr !== undefined || p.valueFilter !== undefined) {
        throw new FilterError(`Inside ${attrName}[…] name a sub-attribute of ${attrName}, not ${formatPath(p)}`)
      }
      if (!attr.subs.has(p.attr.toLowerCase())) {
        throw new FilterError(`Filtering on ${attrName}.${p.attr} is not supported (unknown or unmapped sub-attribute)`)
      }
    }
  }
}

function multiLeaf (node: CompareNode | PresentNode | ValuePathNode, target: Extract<Resolved, { kind: 'multi' }>): SoqlFragment {
  const { attr } = target
  const baseName = formatPath({ ...node.path, valueFilter: undefined, subAttr: undefined })
  let sub = target.sub
  if (node.type !== 'valuePath' && sub === undefined) {
    // RFC 7644 §3.4.2.2: a multi-valued attribute compared without a sub-attribute compares its `value`.
    if (!attr.subs.has('value')) {
      throw new FilterError(`${baseName} has no 'value' sub-attribute: filter on ${baseName}.<sub-attribute>`)
    }
    sub = 'value'
  }
  if (sub !== undefined && !attr.subs.has(sub)) {
    throw new FilterError(`Filtering on ${baseName}.${node.path.subAttr ?? sub} is not supported (unknown or unmapped sub-attribute)`)
  }
  const valueFilter = node.path.valueFilter
  if (valueFilter !== undefined) checkInnerPaths(valueFilter, attr, baseName)
  const subName = `${baseName}.${node.path.subAttr ?? sub ?? ''}`
  return or(...attr.entries.map((e) => {
    const parts: EntryCondition[] = []
    if (valueFilter !== undefined) parts.push(entryFilter(valueFilter, e, baseName))
    if (sub !== undefined && node.type === 'compare') parts.push(entrySub(e, sub, node, subName))
    if (sub !== undefined && node.type === 'present') parts.push(entrySub(e, sub, 'pr', subName))
    const all = entryAnd(parts)
    return all.impliesExists ? all.cond : and(e.exists, all.cond)
  }))
}

function translate (node: FilterNode, schema: CompiledSchema): SoqlFragment {
  switch (node.type) {
    case 'and': return and(...node.operands.map((o) => translate(o, schema)))
    case 'or': return or(...node.operands.map((o) => translate(o, schema)))
    case 'not': return not(translate(node.operand, schema))
    default: {
      const target = resolve(node.path, schema)
      if (target.kind === 'multi') return multiLeaf(node, target)
      if (node.type === 'present') return isNotNull(target.mapping.field)
      if (node.type === 'compare') return compareField(target.mapping, node.op, node.value, target.name)
      throw new FilterError(`${target.name}: value filters apply to multi-valued attributes only`)
    }
  }
}

/** The SOQL condition for a parsed filter: a pure function of (AST, schema). Throws FilterError. */
export function filterToSoql (ast: FilterNode, schema: FilterSchema): SoqlFragment {
  return translate(ast, compile(schema))
}

/** parseFilter + filterToSoql: the condition for `select({ …, where })`. Throws FilterError. */
export function translateFilter (filter: string, schema: FilterSchema, limits?: Partial<FilterLimits>): SoqlFragment {
  return filterToSoql(parseFilter(filter, limits), schema)
}
