// The one place SOQL text is made: literal escaping, allow-listed identifiers, and a builder whose only way in for values is the escaper.
//
// Why our own escaper: jsforce's `escapeSOQLString` replaces `'` only (no backslash escaping) and turns 0/false
// into '' (jsforce 3.10.16, lib/soql-builder.js), so `x\' OR Name != '` closes the literal early.
//
// How the API keeps values out of the query text:
// - Every piece of a query is a `SoqlFragment`. Its constructor needs a module-private token, so code outside
//   this file cannot wrap an arbitrary string as a fragment; fragments come only from the helpers below.
// - Helpers that take values (`eq`, `compare`, `like`, `inList`, the `soql` tag …) render them through
//   `literal()`, i.e. through `escapeSoqlString`/`escapeSoqlLike`.
// - Helpers that take names (fields, sObjects) validate them as identifiers and throw otherwise; names must
//   come from code or configuration (an allow-list), never from a request.
// - `select()` returns `Soql`, a branded string: the only type the Salesforce gateway should accept as a query.

/** Query text produced by `select()` / `toSoql()`. Branded so a plain string cannot be passed where a query is expected. */
declare const soqlBrand: unique symbol
export type Soql = string & { readonly [soqlBrand]: true }

/** A value that renders as a SOQL literal. */
export type SoqlScalar = string | number | boolean | Date | null
/** What the `soql` tag accepts between `${}`: a literal, a list for IN, or a fragment made by this module. */
export type SoqlInterpolation = SoqlScalar | readonly SoqlScalar[] | SoqlFragment
/** A field or object name: a string checked against the identifier rule, or a fragment from `ident()`. */
export type FieldRef = string | SoqlFragment

// 'atom' is one field expression; 'raw' is tag output of unknown shape, parenthesised whenever it is combined.
export type SoqlFragmentKind = 'atom' | 'and' | 'or' | 'not' | 'true' | 'false' | 'ident' | 'raw'

const internal = Symbol('soql.internal')

export class SoqlFragment {
  readonly #kind: SoqlFragmentKind
  readonly #text: string
  readonly #operand: SoqlFragment | undefined

  /** @internal Only this module can make fragments: the token is not exported. */
  constructor (token: symbol, kind: SoqlFragmentKind, text: string, operand?: SoqlFragment) {
    if (token !== internal) {
      throw new TypeError('SoqlFragment is made only by the helpers in src/salesforce/soql.ts')
    }
    this.#kind = kind
    this.#text = text
    this.#operand = operand
    Object.freeze(this)
  }

  get kind (): SoqlFragmentKind { return this.#kind }
  get text (): string { return this.#text }
  /** For NOT fragments, the negated condition (lets `not(not(x))` collapse to `x`). */
  get operand (): SoqlFragment | undefined { return this.#operand }
  toString (): string { return this.#text }
}

function fragment (kind: SoqlFragmentKind, text: string, operand?: SoqlFragment): SoqlFragment {
  return new SoqlFragment(internal, kind, text, operand)
}

// ---------------------------------------------------------------------------------------------------------
// Escaping

// SOQL "Quoted String Escape Sequences": \n \r \t \b \f \" \' \\ \uXXXX; \% and \_ only inside LIKE. Any other
// backslash is a MALFORMED_QUERY, so nothing else may be emitted after a backslash.
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
}

function unicodeEscape (code: number): string {
  return '\\u' + code.toString(16).padStart(4, '0')
}

// One pass, one decision per UTF-16 unit: equivalent to "backslash first, then the rest" without the ordering
// hazard of chained replace() calls.
function escapeBody (value: string, like: boolean): string {
  if (typeof value !== 'string') {
    // jsforce's escaper silently turned 0/false into ''; a non-string here is a caller bug, not data.
    throw new TypeError(`SOQL string escaping expects a string, got ${typeof value}`)
  }
  let out = ''
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string
    const code = value.charCodeAt(i)
    const simple = SIMPLE_ESCAPES[ch]
    if (simple !== undefined) {
      out += simple
    } else if (like && (ch === '%' || ch === '_')) {
      out += '\\' + ch
    } else if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029) {
      // Other C0/C1 controls, and the Unicode line and paragraph separators (which a lexer may take for line
      // ends): a raw one would travel in the URL and the query text; \uXXXX is one of SOQL's documented
      // "Quoted String Escape Sequences" (docs/salesforce-behaviour.md#soql) and means the character itself.
      out += unicodeEscape(code)
    } else if (code >= 0xd800 && code <= 0xdbff) {
      const next = value.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += ch + (value[i + 1] as string)
        i++
      } else {
        // A lone surrogate cannot be URL-encoded (encodeURIComponent throws); escape it instead.
        out += unicodeEscape(code)
      }
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      out += unicodeEscape(code)
    } else {
      out += ch
    }
  }
  return out
}

/** The body of a single-quoted SOQL string literal (without the quotes) that means exactly `value`. */
export function escapeSoqlString (value: string): string {
  return escapeBody(value, false)
}

/** As `escapeSoqlString`, and `%`/`_` escaped too, so the value matches itself inside a LIKE pattern. */
export function escapeSoqlLike (value: string): string {
  return escapeBody(value, true)
}

// ---------------------------------------------------------------------------------------------------------
// Literals

/** Salesforce: "Strings in WHERE clauses can't exceed 4,000 characters" (SOQL WHERE reference). */
export const MAX_SOQL_STRING_LENGTH = 4000

function stringLiteral (body: string, length: number): string {
  if (length > MAX_SOQL_STRING_LENGTH) {
    throw new RangeError(`SOQL string literal of ${length} characters exceeds Salesforce's ${MAX_SOQL_STRING_LENGTH}`)
  }
  return `'${body}'`
}

function numberLiteral (value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`SOQL has no literal for ${value}`)
  const text = String(Object.is(value, -0) ? 0 : value)
  // SOQL numbers have no exponent form (`1e21` is a syntax error).
  if (/e/i.test(text)) throw new RangeError(`SOQL cannot express ${text} without an exponent`)
  return text
}

/**
 * A SOQL dateTime literal in UTC, e.g. 2026-11-28T03:22:13Z. The documented dateTime formats have whole
 * seconds only, so milliseconds are dropped (floored); callers that compare need to round themselves.
 */
export function dateTimeLiteral (value: Date): string {
  const ms = value instanceof Date ? value.getTime() : Number.NaN
  if (Number.isNaN(ms)) throw new RangeError('Invalid Date cannot be a SOQL dateTime')
  const year = value.getUTCFullYear()
  if (year < 1 || year > 9999) throw new RangeError(`Year ${year} cannot be a SOQL dateTime`)
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** The SOQL literal for a value: quoted+escaped string, true/false, plain number, UTC dateTime or null. */
export function literal (value: SoqlScalar): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string': return stringLiteral(escapeSoqlString(value), value.length)
    case 'boolean': return value ? 'true' : 'false'
    case 'number': return numberLiteral(value)
    default:
      if (value instanceof Date) return dateTimeLiteral(value)
      throw new TypeError(`No SOQL literal for a value of type ${typeof value}`)
  }
}

function listLiteral (values: readonly SoqlScalar[]): string {
  if (values.length === 0) throw new RangeError('SOQL IN () needs at least one value')
  return `(${values.map((v) => {
    if (Array.isArray(v)) throw new TypeError('SOQL IN lists cannot nest')
    return literal(v)
  }).join(', ')})`
}

// ---------------------------------------------------------------------------------------------------------
// Identifiers

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/

// SOQL reserved words (SOQL reference "Reserved Characters/Keywords") plus the literals: they match the pattern
// above but would change the meaning of the query instead of naming a field.
const RESERVED = new Set([
  'and', 'asc', 'desc', 'excludes', 'first', 'from', 'group', 'having', 'in', 'includes', 'last', 'like',
  'limit', 'not', 'null', 'nulls', 'or', 'select', 'where', 'with', 'true', 'false', 'offset', 'order', 'by',
  'using', 'scope', 'typeof', 'when', 'then', 'else', 'end', 'for', 'update', 'view', 'reference',
])

/** True when `name` can be used as a field or sObject name (`Name`, `Manager.Username`, `Foo__c`). */
export function isIdentifier (name: unknown): name is string {
  return typeof name === 'string' && IDENTIFIER.test(name) &&
    !name.split('.').some((part) => RESERVED.has(part.toLowerCase()))
}

/** Throws unless `name` is a field/sObject name; returns it unchanged. */
export function assertIdentifier (name: unknown): string {
  if (!isIdentifier(name)) {
    throw new TypeError(`Not a SOQL identifier: ${JSON.stringify(name)} (names must come from the allow-list)`)
  }
  return name
}

/**
 * Standard sObjects whose names are also SOQL keywords. After FROM they can only be an object name (the usual
 * public-group query is `SELECT Id, Name FROM Group WHERE Type = 'Regular'`); as field names the keyword rule holds.
 */
const KEYWORD_SOBJECTS = new Set(['group'])

function sobjectName (name: string): string {
  return typeof name === 'string' && KEYWORD_SOBJECTS.has(name.toLowerCase()) ? name : assertIdentifier(name)
}

/** A validated field or sObject name as a fragment (for the `soql` tag). */
export function ident (name: string): SoqlFragment {
  return fragment('ident', assertIdentifier(name))
}

function fieldText (field: FieldRef): string {
  if (field instanceof SoqlFragment) {
    if (field.kind !== 'ident') throw new TypeError(`Expected a field name, got a ${field.kind} fragment`)
    return field.text
  }
  return assertIdentifier(field)
}

// ---------------------------------------------------------------------------------------------------------
// Conditions

/**
 * SOQL has no FALSE/TRUE condition literal. Every sObject has a non-null Id, so `Id = null` never holds and
 * `Id != null` always does.
 */
export const ALWAYS_FALSE: SoqlFragment = fragment('false', 'Id = null')
export const ALWAYS_TRUE: SoqlFragment = fragment('true', 'Id != null')

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>='
const COMPARISON_OPERATORS: ReadonlySet<string> = new Set(['=', '!=', '<', '<=', '>', '>='])

/** `field op literal`, e.g. compare('LastModifiedDate', '>', date). */
export function compare (field: FieldRef, op: ComparisonOperator, value: SoqlScalar): SoqlFragment {
  if (!COMPARISON_OPERATORS.has(op)) throw new TypeError(`Not a SOQL comparison operator: ${String(op)}`)
  return fragment('atom', `${fieldText(field)} ${op} ${literal(value)}`)
}

export const eq = (field: FieldRef, value: SoqlScalar): SoqlFragment => compare(field, '=', value)
export const ne = (field: FieldRef, value: SoqlScalar): SoqlFragment => compare(field, '!=', value)
export const gt = (field: FieldRef, value: SoqlScalar): SoqlFragment => compare(field, '>', value)
export const ge = (field: FieldRef, value: SoqlScalar): SoqlFragment => compare(field, '>=', value)
export const lt = (field: FieldRef, value: SoqlScalar): SoqlFragment => compare(field, '<', value)
export const le = (field: FieldRef, value: SoqlScalar): SoqlFragment => compare(field, '<=', value)
export const isNull = (field: FieldRef): SoqlFragment => compare(field, '=', null)
/** Salesforce stores an empty text field as null, so `!= null` is also "not empty" (no `!= ''` needed). */
export const isNotNull = (field: FieldRef): SoqlFragment => compare(field, '!=', null)

/** `field IN (…)`; an empty list can never match, and SOQL rejects `IN ()`, so it becomes ALWAYS_FALSE. */
export function inList (field: FieldRef, values: readonly SoqlScalar[]): SoqlFragment {
  const name = fieldText(field)
  return values.length === 0 ? ALWAYS_FALSE : fragment('atom', `${name} IN ${listLiteral(values)}`)
}

/** `field NOT IN (…)`; an empty list excludes nothing, so it becomes ALWAYS_TRUE. */
export function notInList (field: FieldRef, values: readonly SoqlScalar[]): SoqlFragment {
  const name = fieldText(field)
  return values.length === 0 ? ALWAYS_TRUE : fragment('atom', `${name} NOT IN ${listLiteral(values)}`)
}

/** Stands for LIKE's `%` in `like()`; every string part is matched literally. */
export const LIKE_ANY: unique symbol = Symbol('soql.like.any')
export type LikePart = string | typeof LIKE_ANY

/**
 * `field LIKE '…'` from literal parts and wildcards, e.g. like('Username', 'jo', LIKE_ANY, '.sf') →
 * `Username LIKE 'jo%.sf'`. SOQL LIKE is case-insensitive and works on text fields only.
 */
export function like (field: FieldRef, ...parts: LikePart[]): SoqlFragment {
  const name = fieldText(field)
  let body = ''
  let length = 0
  let lastWasAny = false
  for (const part of parts) {
    if (part === LIKE_ANY) {
      if (!lastWasAny) { body += '%'; length++ }
      lastWasAny = true
    } else {
      body += escapeSoqlLike(part)
      length += part.length
      lastWasAny = false
    }
  }
  return fragment('atom', `${name} LIKE ${stringLiteral(body, length)}`)
}

export const startsWith = (field: FieldRef, value: string): SoqlFragment => like(field, value, LIKE_ANY)
export const endsWith = (field: FieldRef, value: string): SoqlFragment => like(field, LIKE_ANY, value)
export const contains = (field: FieldRef, value: string): SoqlFragment => like(field, LIKE_ANY, value, LIKE_ANY)

function assertCondition (c: SoqlFragment): void {
  if (!(c instanceof SoqlFragment)) throw new TypeError('Conditions must be fragments made by src/salesforce/soql.ts')
  if (c.kind === 'ident') throw new TypeError(`A field name is not a condition: ${c.text}`)
}

// SOQL requires parentheses whenever AND, OR and NOT are mixed (SOQL reference "Logical Operators"), so an
// operand is bare only if it is one field expression or the same operator (which flattens).
function junction (kind: 'and' | 'or', conds: readonly SoqlFragment[]): SoqlFragment {
  const unit = kind === 'and' ? ALWAYS_TRUE : ALWAYS_FALSE
  const absorbing = kind === 'and' ? ALWAYS_FALSE : ALWAYS_TRUE
  const parts: SoqlFragment[] = []
  for (const c of conds) {
    assertCondition(c)
    if (c.kind === absorbing.kind) return absorbing
    if (c.kind !== unit.kind) parts.push(c)
  }
  if (parts.length === 0) return unit
  if (parts.length === 1) return parts[0] as SoqlFragment
  const text = parts
    .map((c) => (c.kind === 'atom' || c.kind === kind ? c.text : `(${c.text})`))
    .join(kind === 'and' ? ' AND ' : ' OR ')
  return fragment(kind, text)
}

/** All conditions; ALWAYS_TRUE operands drop out, an ALWAYS_FALSE one wins, none → ALWAYS_TRUE. */
export function and (...conds: SoqlFragment[]): SoqlFragment {
  return junction('and', conds)
}

/** Any condition; ALWAYS_FALSE operands drop out, an ALWAYS_TRUE one wins, none → ALWAYS_FALSE. */
export function or (...conds: SoqlFragment[]): SoqlFragment {
  return junction('or', conds)
}

/** Negation: `NOT a = 1` for one field expression, `NOT (…)` otherwise. */
export function not (cond: SoqlFragment): SoqlFragment {
  assertCondition(cond)
  if (cond.kind === 'true') return ALWAYS_FALSE
  if (cond.kind === 'false') return ALWAYS_TRUE
  if (cond.kind === 'not' && cond.operand !== undefined) return cond.operand
  return fragment('not', cond.kind === 'atom' ? `NOT ${cond.text}` : `NOT (${cond.text})`, cond)
}

// ---------------------------------------------------------------------------------------------------------
// The tag and the SELECT builder

/**
 * soql`Username = ${value} AND ${ident(field)} != null`: static text is code; every `${}` is rendered as a
 * literal (strings quoted and escaped, arrays as `(…)` for IN) unless it is a fragment from this module.
 */
export function soql (strings: TemplateStringsArray, ...values: SoqlInterpolation[]): SoqlFragment {
  // A real template's strings array is frozen and carries `raw`; this rejects soql(userInput as any).
  if (!Array.isArray(strings) || !Array.isArray(strings.raw) || !Object.isFrozen(strings)) {
    throw new TypeError('soql must be used as a tagged template: soql`…`')
  }
  let text = strings[0] as string
  values.forEach((value, i) => {
    const next = strings[i + 1] as string
    if (/'%?$/.test(text) && /^%?'/.test(next)) {
      throw new TypeError('Do not quote ${} in soql`…`: values are quoted for you (use like() for patterns)')
    }
    if (value instanceof SoqlFragment) text += value.text
    else if (Array.isArray(value)) text += listLiteral(value)
    else text += literal(value as SoqlScalar)
    text += next
  })
  return fragment('raw', text)
}

export interface OrderBy {
  field: FieldRef
  dir?: 'ASC' | 'DESC'
  nulls?: 'FIRST' | 'LAST'
}

export interface SelectQuery {
  /** Field names, or fragments such as soql`COUNT()`. */
  fields: readonly FieldRef[]
  from: string
  where?: SoqlFragment
  orderBy?: readonly OrderBy[]
  limit?: number
  offset?: number
}

/** Salesforce rejects OFFSET above 2,000 with NUMBER_OUTSIDE_VALID_RANGE (docs/salesforce-behaviour.md#soql). */
export const MAX_SOQL_OFFSET = 2000

function nonNegativeInteger (name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`)
  return value
}

/** Builds `SELECT … FROM … [WHERE …] [ORDER BY …] [LIMIT n] [OFFSET n]`. An ALWAYS_TRUE where is left out. */
export function select (query: SelectQuery): Soql {
  if (query.fields.length === 0) throw new TypeError('select() needs at least one field')
  const fields = query.fields.map((f) => {
    if (f instanceof SoqlFragment && f.kind === 'raw') return f.text
    return fieldText(f)
  })
  let text = `SELECT ${fields.join(', ')} FROM ${sobjectName(query.from)}`
  if (query.where !== undefined) {
    assertCondition(query.where)
    if (query.where.kind !== 'true') text += ` WHERE ${query.where.text}`
  }
  if (query.orderBy !== undefined && query.orderBy.length > 0) {
    text += ' ORDER BY ' + query.orderBy.map((o) => {
      let part = fieldText(o.field)
      if (o.dir !== undefined) {
        if (o.dir !== 'ASC' && o.dir !== 'DESC') throw new TypeError(`ORDER BY direction must be ASC or DESC, got ${String(o.dir)}`)
        part += ` ${o.dir}`
      }
      if (o.nulls !== undefined) {
        if (o.nulls !== 'FIRST' && o.nulls !== 'LAST') throw new TypeError(`NULLS must be FIRST or LAST, got ${String(o.nulls)}`)
        part += ` NULLS ${o.nulls}`
      }
      return part
    }).join(', ')
  }
  if (query.limit !== undefined) text += ` LIMIT ${nonNegativeInteger('limit', query.limit)}`
  if (query.offset !== undefined) {
    const offset = nonNegativeInteger('offset', query.offset)
    if (offset > MAX_SOQL_OFFSET) throw new RangeError(`Salesforce allows OFFSET up to ${MAX_SOQL_OFFSET}, got ${offset}`)
    text += ` OFFSET ${offset}`
  }
  return text as Soql
}

/** A whole query written with the `soql` tag, branded for the gateway. */
export function toSoql (query: SoqlFragment): Soql {
  if (!(query instanceof SoqlFragment) || query.kind !== 'raw') {
    throw new TypeError('toSoql() takes a query written with the soql`…` tag')
  }
  return query.text as Soql
}
