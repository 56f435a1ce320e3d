// SCIM filters and attribute paths (RFC 7644 §3.4.2.2, §3.5.2): our own parser to an AST, shared by every layer
// that reads a filter or a PATCH path (list filters, member filters, value-path PATCH targets). Pure, no I/O.
//
// Why not SCIMMY's Filter: it rejects JSON-escaped `\"` in strings, lower-cases only the first letter of
// attribute names, rewrites `not`/nesting into DNF (which grows combinatorially) and merges
// `emails[type eq "work"].value eq "x"` into one object (docs/idp-behaviour.md#scimmy-filters).

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

/** A filter or path the client got wrong: a SCIM 400 with the subclass's scimType (RFC 7644 §3.12). */
export abstract class RequestSyntaxError extends Error {
  readonly status = 400 as const
  abstract readonly scimType: 'invalidFilter' | 'invalidPath'

  constructor (message: string) {
    super(message)
    this.name = new.target.name
  }
}

/** A filter the client got wrong, or one scimforce cannot answer: SCIM 400 invalidFilter. */
export class FilterError extends RequestSyntaxError {
  readonly scimType = 'invalidFilter' as const
}

/**
 * A PATCH path that is not `[urn:]attr[[valueFilter]][.subAttr]`: SCIM 400 invalidPath. A bad value filter inside
 * the brackets is a FilterError (invalidFilter) instead (RFC 7644 §3.5.2, §3.12).
 */
export class PathError extends RequestSyntaxError {
  readonly scimType = 'invalidPath' as const
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

  /** `[urn:]attr[[valueFilter]][.subAttr]` and nothing after it (RFC 7644 §3.5.2 PATH). */
  path (): AttrPath {
    const t = this.next()
    if (t.kind !== 'word') throw new PathError(unexpected('Expected an attribute path', t, this.src).message)
    if (!ATTR_PATH.test(t.text)) throw new PathError(`Invalid attribute path ${describe(t)} ${at(t.pos, this.src)}`)
    const path = this.attrPath(t)
    const open = this.peek()
    if (open.kind === '[') {
      const { valueFilter, subAttr } = this.valueFilter(path, open, PathError)
      path.valueFilter = valueFilter
      if (subAttr !== undefined) path.subAttr = subAttr
    }
    const end = this.peek()
    if (end.kind !== 'end') throw new PathError(`Unexpected ${describe(end)} ${at(end.pos, this.src)}: a path ends after its attribute, value filter or sub-attribute`)
    return path
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

  // or binds looser than and: an expression is an or of ands of unary terms.
  private expression (inValueFilter: boolean): FilterNode {
    return this.junction('or', () => this.junction('and', () => this.unary(inValueFilter)))
  }

  private junction (word: 'and' | 'or', operand: () => FilterNode): FilterNode {
    const operands = [operand()]
    while (this.isKeyword(this.peek(), word)) {
      this.next()
      operands.push(operand())
    }
    return operands.length === 1 ? operands[0] as FilterNode : { type: word, operands }
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

  /** `[valueFilter]` after `attr` (at `open`), and the `.subAttr` written right after `]`, if any. */
  private valueFilter (path: AttrPath, open: Token, Err: new (message: string) => Error): { valueFilter: FilterNode, subAttr?: string } {
    if (path.subAttr !== undefined) {
      throw new Err(`A value filter applies to an attribute, not to the sub-attribute ${formatPath(path)} (${at(open.pos, this.src)})`)
    }
    this.next()
    this.enter(open)
    const valueFilter = this.expression(true)
    this.close(']', open)
    const sub = this.peek()
    if (sub.kind !== 'word' || !sub.text.startsWith('.') || sub.spaceBefore) return { valueFilter }
    const m = SUB_ATTR.exec(sub.text)
    if (m === null) throw new Err(`Invalid sub-attribute ${describe(sub)} ${at(sub.pos, this.src)}`)
    this.next()
    return { valueFilter, subAttr: m[1] as string }
  }

  private attributeExpression (inValueFilter: boolean): FilterNode {
    const t = this.next() as Extract<Token, { kind: 'word' }>
    const path = this.attrPath(t)
    this.count(t)
    const open = this.peek()
    if (open.kind === '[') {
      if (inValueFilter) throw new FilterError(`Value filters cannot be nested ('[' ${at(open.pos, this.src)})`)
      const { valueFilter, subAttr } = this.valueFilter(path, open, FilterError)
      if (subAttr !== undefined) {
        path.subAttr = subAttr
        path.valueFilter = valueFilter
      } else {
        const withFilter = { ...path, valueFilter }
        const sub = this.peek()
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

/**
 * Parses a PATCH path, `[urn:]attr[[valueFilter]][.subAttr]` (RFC 7644 §3.5.2), with the value filter as an AST.
 * Throws PathError (invalidPath) for a malformed path, FilterError (invalidFilter) for a malformed value filter.
 */
export function parsePath (raw: string, limits: Partial<FilterLimits> = {}): AttrPath {
  const l: FilterLimits = { ...DEFAULT_FILTER_LIMITS, ...limits }
  if (typeof raw !== 'string' || raw.trim() === '') throw new PathError('Path is empty')
  if (raw.length > l.maxLength) throw new PathError(`Path is ${raw.length} characters long; the limit is ${l.maxLength}`)
  return new Parser(raw, l).path()
}

/** The path as written, for messages: urn:…:attr[…].sub */
export function formatPath (path: AttrPath): string {
  return `${path.urn !== undefined ? path.urn + ':' : ''}${path.attr}${path.valueFilter !== undefined ? '[…]' : ''}${path.subAttr !== undefined ? '.' + path.subAttr : ''}`
}

// ---------------------------------------------------------------------------------------------------------
// Dates

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
