// SCIM filters (RFC 7644 §3.4.2.2): our own parser to an AST, and a pure, table-driven translation of that AST into a SOQL condition built only through salesforce/soql.ts.
//
// Why not SCIMMY's Filter: it rejects JSON-escaped `\"` in strings, lower-cases only the first letter of
// attribute names, rewrites `not`/nesting into DNF (which grows combinatorially) and merges
// `emails[type eq "work"].value eq "x"` into one object (shared/reference/scim.md §1.6). The GET route must
// therefore hand the raw `filter` string to `translateFilter`, not let SCIMMY parse it first.
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
  normalizeSalesforceId, not, or, startsWith, assertIdentifier, type ComparisonOperator, type SoqlFragment,
} from '../salesforce/soql.js'

// ---------------------------------------------------------------------------------------------------------
// AST

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le'
export type FilterValue = string | number | boolean | null

/** `[urn:]attr[[valueFilter]][.subAttr]`, names as written (translation compares them case-insensitively). */
export interface AttrPath {
  /** Schema URN when the path is fully qualified, e.g. urn:ietf:params:scim:schemas:extension:enterprise:2.0:User */
  urn?: string
  attr: string
  /** `attr[…]`: paths inside are relative to `attr` (sub-attribute names). */
  valueFilter?: FilterNode
  subAttr?: string
}

export interface CompareNode { type: 'compare', path: AttrPath, op: CompareOp, value: FilterValue }
export interface PresentNode { type: 'present', path: AttrPath }
/** `attr[filter]` on its own: true when some value of attr matches filter. */
export interface ValuePathNode { type: 'valuePath', path: AttrPath & { valueFilter: FilterNode } }
export interface AndNode { type: 'and', operands: FilterNode[] }
export interface OrNode { type: 'or', operands: FilterNode[] }
export interface NotNode { type: 'not', operand: FilterNode }
export type FilterNode = CompareNode | PresentNode | ValuePathNode | AndNode | OrNode | NotNode

/** A filter the client got wrong, or one scimforce cannot answer: SCIM 400 invalidFilter. */
export class FilterError extends Error {
  readonly scimType = 'invalidFilter' as const
  readonly status = 400 as const

  constructor (message: string) {
    super(message)
    this.name = 'FilterError'
  }
}

export interface FilterLimits {
  /** Characters in the raw filter. */
  maxLength: number
  /** Nesting of `(…)`, `not (…)` and `[…]`. */
  maxDepth: number
  /** Attribute expressions (`attr op value`, `attr pr`, `attr[…]`), value filters included. */
  maxComparisons: number
}

// Real IdP filters are one or two comparisons (Entra: eq/and; Okta: eq). These bounds keep parsing, the SOQL
// text (Salesforce: 100,000 characters per query) and the URL of the GET to Salesforce small.
export const DEFAULT_FILTER_LIMITS: Readonly<FilterLimits> = Object.freeze({
  maxLength: 2048,
  maxDepth: 10,
  maxComparisons: 50,
})

// ---------------------------------------------------------------------------------------------------------
// Tokenizer

type Token =
  | { kind: '(' | ')' | '[' | ']' | 'end', pos: number, spaceBefore: boolean }
  | { kind: 'string', value: string, pos: number, spaceBefore: boolean }
  | { kind: 'word', text: string, pos: number, spaceBefore: boolean }

const isSpace = (ch: string | undefined): boolean => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r'
const PUNCTUATION = '()[]"'

// Positions in messages are 1-based characters, as an admin counts them in a log line.
const at = (pos: number, src: string): string => (pos >= src.length ? 'at end of filter' : `at character ${pos + 1}`)

function readString (src: string, start: number): { value: string, end: number } {
  let value = ''
  let i = start + 1
  while (i < src.length) {
    const ch = src[i] as string
    if (ch === '"') return { value, end: i + 1 }
    if (ch === '\\') {
      const esc = src[i + 1]
      switch (esc) {
        case '"': case '\\': case '/': value += esc; i += 2; continue
        case 'b': value += '\b'; i += 2; continue
        case 'f': value += '\f'; i += 2; continue
        case 'n': value += '\n'; i += 2; continue
        case 'r': value += '\r'; i += 2; continue
        case 't': value += '\t'; i += 2; continue
        case 'u': {
          const hex = src.slice(i + 2, i + 6)
          if (!/^[0-9A-Fa-f]{4}$/.test(hex)) {
            throw new FilterError(`Invalid \\u escape in string ${at(i, src)}: expected four hex digits`)
          }
          value += String.fromCharCode(parseInt(hex, 16))
          i += 6
          continue
        }
        case undefined: break
        default:
          throw new FilterError(`Invalid escape \\${esc} in string ${at(i, src)}: use \\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX`)
      }
      break
    }
    if (ch.charCodeAt(0) < 0x20) {
      throw new FilterError(`Control character in string ${at(i, src)}: escape it (JSON string rules)`)
    }
    value += ch
    i++
  }
  throw new FilterError(`Unterminated string starting at character ${start + 1}`)
}

function tokenize (src: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < src.length) {
    const ch = src[i] as string
    if (isSpace(ch)) { i++; continue }
    const spaceBefore = i > 0 && isSpace(src[i - 1])
    if (ch === '(' || ch === ')' || ch === '[' || ch === ']') {
      tokens.push({ kind: ch, pos: i, spaceBefore })
      i++
    } else if (ch === '"') {
      const { value, end } = readString(src, i)
      tokens.push({ kind: 'string', value, pos: i, spaceBefore })
      i = end
    } else {
      let j = i
      while (j < src.length && !isSpace(src[j]) && !PUNCTUATION.includes(src[j] as string)) j++
      tokens.push({ kind: 'word', text: src.slice(i, j), pos: i, spaceBefore })
      i = j
    }
  }
  tokens.push({ kind: 'end', pos: src.length, spaceBefore: true })
  return tokens
}

// "Expected X at character N, found Y" — or "Expected X, but the filter ended".
function unexpected (expected: string, t: Token, src: string): FilterError {
  if (t.kind === 'end') return new FilterError(`${expected}, but the filter ended`)
  return new FilterError(`${expected} ${at(t.pos, src)}, found ${describe(t)}`)
}

function describe (t: Token): string {
  switch (t.kind) {
    case 'end': return 'end of filter'
    case 'word': return `'${t.text.length > 40 ? t.text.slice(0, 40) + '…' : t.text}'`
    case 'string': return 'a string'
    default: return `'${t.kind}'`
  }
}

// ---------------------------------------------------------------------------------------------------------
// Parser (recursive descent; precedence not > and > or, RFC 7644 §3.4.2.2 table 3)

const COMPARE_OPS: ReadonlySet<string> = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'])
const ATTRNAME = '(?:\\$ref|[A-Za-z][A-Za-z0-9_-]*)'
// The URN may contain dots ("2.0") and colons; the attribute name is what follows the last colon.
const ATTR_PATH = new RegExp(`^(?:([A-Za-z][A-Za-z0-9+.-]*(?::[A-Za-z0-9._~%+-]+)+):)?(${ATTRNAME})(?:\\.(${ATTRNAME}))?$`)
const SUB_ATTR = new RegExp(`^\\.(${ATTRNAME})$`)
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/

class Parser {
  private i = 0
  private depth = 0
  private comparisons = 0
  private readonly tokens: Token[]

  constructor (private readonly src: string, private readonly limits: FilterLimits) {
    this.tokens = tokenize(src)
  }

  parse (): FilterNode {
    const node = this.expression(false)
    const t = this.peek()
    if (t.kind !== 'end') {
      throw new FilterError(`Unexpected ${describe(t)} ${at(t.pos, this.src)}: expected 'and', 'or' or the end of the filter`)
    }
    return node
  }

  private peek (offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)] as Token
  }

  private next (): Token {
    const t = this.peek()
    if (t.kind !== 'end') this.i++
    return t
  }

  private isKeyword (t: Token, word: string): boolean {
    return t.kind === 'word' && t.text.toLowerCase() === word
  }

  private enter (t: Token): void {
    if (++this.depth > this.limits.maxDepth) {
      throw new FilterError(`Filter nests deeper than ${this.limits.maxDepth} levels (${at(t.pos, this.src)})`)
    }
  }

  private close (kind: ')' | ']', open: Token): void {
    const t = this.next()
    if (t.kind !== kind) throw unexpected(`Expected '${kind}' to close the '${open.kind}' at character ${open.pos + 1}`, t, this.src)
    this.depth--
  }

  private count (t: Token): void {
    if (++this.comparisons > this.limits.maxComparisons) {
      throw new FilterError(`Filter has more than ${this.limits.maxComparisons} comparisons (${at(t.pos, this.src)})`)
    }
  }

  private expression (inValueFilter: boolean): FilterNode {
    const operands = [this.conjunction(inValueFilter)]
    while (this.isKeyword(this.peek(), 'or')) {
      this.next()
      operands.push(this.conjunction(inValueFilter))
    }
    return operands.length === 1 ? operands[0] as FilterNode : { type: 'or', operands }
  }

  private conjunction (inValueFilter: boolean): FilterNode {
    const operands = [this.unary(inValueFilter)]
    while (this.isKeyword(this.peek(), 'and')) {
      this.next()
      operands.push(this.unary(inValueFilter))
    }
    return operands.length === 1 ? operands[0] as FilterNode : { type: 'and', operands }
  }

  private unary (inValueFilter: boolean): FilterNode {
    const t = this.peek()
    if (this.isKeyword(t, 'not')) {
      const open = this.peek(1)
      if (open.kind !== '(') throw unexpected("Expected '(' after 'not' (write not (expression))", open, this.src)
      this.next()
      this.next()
      this.enter(open)
      const operand = this.expression(inValueFilter)
      this.close(')', open)
      return { type: 'not', operand }
    }
    if (t.kind === '(') {
      this.next()
      this.enter(t)
      const inner = this.expression(inValueFilter)
      this.close(')', t)
      return inner
    }
    if (t.kind === 'word') return this.attributeExpression(inValueFilter)
    throw unexpected("Expected an attribute name, 'not' or '('", t, this.src)
  }

  private attributeExpression (inValueFilter: boolean): FilterNode {
    const t = this.next() as Extract<Token, { kind: 'word' }>
    const path = this.attrPath(t)
    this.count(t)
    const open = this.peek()
    if (open.kind === '[') {
      if (inValueFilter) throw new FilterError(`Value filters cannot be nested ('[' ${at(open.pos, this.src)})`)
      if (path.subAttr !== undefined) {
        throw new FilterError(`A value filter applies to an attribute, not to the sub-attribute ${formatPath(path)} (${at(open.pos, this.src)})`)
      }
      this.next()
      this.enter(open)
      const valueFilter = this.expression(true)
      this.close(']', open)
      const sub = this.peek()
      if (sub.kind === 'word' && sub.text.startsWith('.') && !sub.spaceBefore) {
        const m = SUB_ATTR.exec(sub.text)
        if (m === null) throw new FilterError(`Invalid sub-attribute ${describe(sub)} ${at(sub.pos, this.src)}`)
        this.next()
        path.subAttr = m[1] as string
        path.valueFilter = valueFilter
      } else {
        const withFilter = { ...path, valueFilter }
        if (sub.kind === 'word' && (COMPARE_OPS.has(sub.text.toLowerCase()) || sub.text.toLowerCase() === 'pr')) {
          throw new FilterError(`${formatPath(withFilter)} cannot be compared directly ${at(sub.pos, this.src)}: name a sub-attribute, e.g. ${path.attr}[type eq "work"].value eq "…"`)
        }
        return { type: 'valuePath', path: withFilter }
      }
    }
    const opToken = this.next()
    const op = opToken.kind === 'word' ? opToken.text.toLowerCase() : ''
    if (op === 'pr') return { type: 'present', path }
    if (!COMPARE_OPS.has(op)) {
      throw unexpected(`Expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after '${formatPath(path)}'`, opToken, this.src)
    }
    return { type: 'compare', path, op: op as CompareOp, value: this.value(op) }
  }

  private attrPath (t: Extract<Token, { kind: 'word' }>): AttrPath {
    const m = ATTR_PATH.exec(t.text)
    if (m === null) throw new FilterError(`Invalid attribute path ${describe(t)} ${at(t.pos, this.src)}`)
    const path: AttrPath = { attr: m[2] as string }
    if (m[1] !== undefined) path.urn = m[1]
    if (m[3] !== undefined) path.subAttr = m[3]
    return path
  }

  private value (op: string): FilterValue {
    const t = this.next()
    if (t.kind === 'string') return t.value
    if (t.kind === 'word') {
      const lower = t.text.toLowerCase()
      if (lower === 'true') return true
      if (lower === 'false') return false
      if (lower === 'null') return null
      if (NUMBER.test(t.text)) return Number(t.text)
    }
    throw unexpected(`Expected a value (a "quoted string", a number, true, false or null) after '${op}'`, t, this.src)
  }
}

/** Parses an RFC 7644 filter into an AST. Throws FilterError (with a character position) on bad syntax or limits. */
export function parseFilter (filter: string, limits: Partial<FilterLimits> = {}): FilterNode {
  const l: FilterLimits = { ...DEFAULT_FILTER_LIMITS, ...limits }
  if (typeof filter !== 'string' || filter.trim() === '') throw new FilterError('Filter is empty')
  if (filter.length > l.maxLength) {
    throw new FilterError(`Filter is ${filter.length} characters long; the limit is ${l.maxLength}`)
  }
  return new Parser(filter, l).parse()
}

/** The path as written, for messages: urn:…:attr[…].sub */
export function formatPath (path: AttrPath): string {
  return `${path.urn !== undefined ? path.urn + ':' : ''}${path.attr}${path.valueFilter !== undefined ? '[…]' : ''}${path.subAttr !== undefined ? '.' + path.subAttr : ''}`
}

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

function toBoolean (value: FilterValue): boolean | undefined {
  if (typeof value === 'boolean') return value
  // Entra sends booleans as strings ("True", "False").
  if (typeof value === 'string') {
    const lower = value.toLowerCase()
    if (lower === 'true') return true
    if (lower === 'false') return false
  }
  return undefined
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
  if (v.length + suffix.length > MAX_SOQL_STRING_LENGTH) {
    throw new FilterError(`The value compared with ${name} is longer than Salesforce's ${MAX_SOQL_STRING_LENGTH} characters`)
  }
  switch (op) {
    case 'eq': return eq(m.field, v + suffix)
    case 'ne': return ne(m.field, v + suffix)
    case 'sw': return suffix === '' ? startsWith(m.field, v) : like(m.field, v, LIKE_ANY, suffix)
    case 'ew': return like(m.field, LIKE_ANY, v + suffix)
    case 'co': return suffix === '' ? contains(m.field, v) : like(m.field, LIKE_ANY, v, LIKE_ANY, suffix)
    default:
      if (suffix !== '') {
        throw new FilterError(`'${op}' is not supported on ${name}: Salesforce stores it with a suffix, which changes the ordering`)
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

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$/i

function daysInMonth (year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] as number
}

/** Milliseconds since the epoch (possibly fractional) for an xsd:dateTime with a zone, else undefined. */
export function parseDateTime (text: string): number | undefined {
  const m = DATETIME.exec(text)
  if (m === null) return undefined
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return undefined
  let offsetMinutes = 0
  if (m[9] !== undefined) {
    const oh = Number(m[10])
    const om = Number(m[11])
    if (oh > 23 || om > 59) return undefined
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om)
  }
  const date = new Date(0)
  date.setUTCFullYear(y, mo - 1, d) // not Date.UTC: it maps years 0–99 to 1900–1999
  date.setUTCHours(h, mi, s, 0)
  const fraction = m[7] !== undefined ? Number('0' + m[7]) * 1000 : 0
  return date.getTime() - offsetMinutes * 60_000 + fraction
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
  const a = constant.toLowerCase()
  const v = stringValue(value, name).toLowerCase()
  switch (op) {
    case 'eq': return a === v
    case 'ne': return a !== v
    case 'co': return a.includes(v)
    case 'sw': return a.startsWith(v)
    case 'ew': return a.endsWith(v)
    case 'gt': return a > v
    case 'ge': return a >= v
    case 'lt': return a < v
    case 'le': return a <= v
  }
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
