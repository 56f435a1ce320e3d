// The SOQL engine: parses with soql-parser-js, then validates and evaluates against the in-memory org.

import soqlParser from 'soql-parser-js'
import type { FieldType as ParsedField, OrderByClause, Query, Subquery, WhereClause } from 'soql-parser-js'
import { SalesforceError } from './errors.js'
import { normalizeId, sobjectOfId } from './ids.js'
import type { Org } from './org.js'
import { objectDef, type FieldDef, type FieldValue, type ObjectDef, type SRecord } from './schema.js'
import { parseDate, parseDateTime } from './time.js'

export interface QueryRecord {
  attributes: { type: string, url?: string }
  [field: string]: unknown
}

export interface SoqlResult {
  sobject: string
  totalSize: number
  records: QueryRecord[]
}

export interface SoqlOptions {
  /** API version used in the attributes.url of each record. */
  version: string
}

// ---- errors in Salesforce's "ERROR at Row:1:Column:N" shape ---------------------------------------------

function located (errorCode: string, soql: string, offset: number, text: string): SalesforceError {
  const before = soql.slice(0, Math.max(0, offset))
  const row = before.split('\n').length
  const lineStart = before.lastIndexOf('\n') + 1
  const col = offset - lineStart + 1
  const lineEnd = soql.indexOf('\n', lineStart)
  const line = soql.slice(lineStart, lineEnd < 0 ? undefined : lineEnd)
  return new SalesforceError(errorCode, `\n${line}\n${' '.repeat(col - 1)}^\nERROR at Row:${row}:Column:${col}\n${text}`)
}

/** Offset of a token in the query (first whole-word, case-insensitive match), best effort. */
function offsetOf (soql: string, token: string, from = 0): number {
  if (token === '') return soql.length
  const escaped = token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const re = new RegExp(`(?<![A-Za-z0-9_.])${escaped}(?![A-Za-z0-9_])`, 'ig')
  re.lastIndex = from
  const m = re.exec(soql)
  if (m !== null) return m.index
  const plain = soql.toLowerCase().indexOf(token.toLowerCase(), from)
  return plain < 0 ? 0 : plain
}

function malformed (soql: string, token: string, text?: string): SalesforceError {
  return located('MALFORMED_QUERY', soql, offsetOf(soql, token), text ?? `unexpected token: '${token === '' ? '<EOF>' : token}'`)
}

function unsupported (what: string): SalesforceError {
  return new SalesforceError('MALFORMED_QUERY', `The Salesforce emulator does not support ${what}`)
}

function parse (soql: string): Query {
  try {
    return soqlParser.parseQuery(soql)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    const lex = /at offset: (\d+)/.exec(message)
    if (lex !== null) {
      const offset = Number(lex[1])
      return throwing(located('MALFORMED_QUERY', soql, offset, `unexpected char: '${soql[offset] ?? ''}'`))
    }
    const found = /but found(?::| -->) '([^']*)'/.exec(message)
    throw malformed(soql, found?.[1] ?? '')
  }
}

function throwing (err: Error): never {
  throw err
}

// ---- string literals (docs/salesforce-behaviour.md#soql: Quoted String Escape Sequences) --------------------------------

interface LiteralChar { ch: string, wildcardEscaped: boolean }

function decodeChars (raw: string, soql: string): LiteralChar[] {
  const body = raw.slice(1, -1)
  const out: LiteralChar[] = []
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string
    if (c !== '\\') {
      out.push({ ch: c, wildcardEscaped: false })
      continue
    }
    const n = body[i + 1] ?? ''
    i++
    switch (n) {
      case 'n': case 'N': out.push({ ch: '\n', wildcardEscaped: false }); break
      case 'r': case 'R': out.push({ ch: '\r', wildcardEscaped: false }); break
      case 't': case 'T': out.push({ ch: '\t', wildcardEscaped: false }); break
      case 'b': case 'B': out.push({ ch: '\b', wildcardEscaped: false }); break
      case 'f': case 'F': out.push({ ch: '\f', wildcardEscaped: false }); break
      case '"': case '\'': case '\\': out.push({ ch: n, wildcardEscaped: false }); break
      case '_': case '%': out.push({ ch: n, wildcardEscaped: true }); break
      case 'u': case 'U': {
        const hex = body.slice(i + 1, i + 5)
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw malformed(soql, raw, `Invalid string literal ${raw}. Illegal character sequence '\\u${hex}' in string literal.`)
        out.push({ ch: String.fromCharCode(parseInt(hex, 16)), wildcardEscaped: false })
        i += 4
        break
      }
      default:
        // Any other backslash use is an error (docs/salesforce-behaviour.md#soql). Assumption (UNVERIFIED): message text.
        throw malformed(soql, raw, `Invalid string literal ${raw}. Illegal character sequence '\\${n}' in string literal.`)
    }
  }
  return out
}

/**
 * The value of a quoted literal outside LIKE. Assumption (docs/salesforce-behaviour.md#soql): `\_` and `\%` mean something only
 * in LIKE; elsewhere they stay as the two characters, so `Name = 'a\_b'` does not match "a_b".
 */
export function decodeString (raw: string, soql = raw): string {
  return decodeChars(raw, soql).map(c => c.wildcardEscaped ? `\\${c.ch}` : c.ch).join('')
}

/** Any character outside ASCII (every UTF-16 code unit above 0x7F, surrogates included). */
const NON_ASCII = /[\u0080-\uFFFF]/

/**
 * Text as SOQL compares it case-insensitively. Assumption (Salesforce documents only "case-insensitive" for `=` and
 * LIKE, not which folding): a one-to-one case mapping per character, so `ß` never equals `SS` and `İ` never `i`.
 * It is the folding of a RegExp's `i` flag without `u`, which likePattern() uses, so `=` and LIKE agree.
 */
export function foldCase (text: string): string {
  // ASCII folds one to one, the same as the loop below, and natively: a bulk read-back scans every User.
  if (!NON_ASCII.test(text)) return text.toUpperCase()
  let out = ''
  for (const ch of text) {
    const up = ch.toUpperCase()
    // The RegExp rule (ECMA-262 Canonicalize, non-unicode): no folding into a longer text, none from outside ASCII into it.
    out += up.length === ch.length && !(ch.charCodeAt(0) >= 128 && up.charCodeAt(0) < 128) ? up : ch
  }
  return out
}

/** A LIKE pattern as a case-insensitive RegExp: `%` any run, `_` one character, `\%` `\_` literal. */
export function likePattern (raw: string, soql = raw): RegExp {
  let re = ''
  for (const c of decodeChars(raw, soql)) {
    if (!c.wildcardEscaped && c.ch === '%') re += '.*'
    else if (!c.wildcardEscaped && c.ch === '_') re += '.'
    else re += c.ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 'is')
}

// ---- field paths ----------------------------------------------------------------------------------------

interface ResolvedPath {
  /** Reference fields followed from the root object, one per relationship segment. */
  hops: FieldDef[]
  field: FieldDef
  /** Canonical output path, e.g. ['Profile', 'Name']. */
  names: string[]
}

function resolvePath (root: ObjectDef, path: string, soql: string, alias?: string): ResolvedPath {
  let segments = path.split('.')
  if (alias !== undefined && segments.length > 1 && segments[0]?.toLowerCase() === alias.toLowerCase()) segments = segments.slice(1)
  let def = root
  const hops: FieldDef[] = []
  const names: string[] = []
  for (let i = 0; i < segments.length - 1; i++) {
    const seg = segments[i] as string
    const refField = def.byRelationship.get(seg.toLowerCase())
    const target = refField?.referenceTo?.[0] === undefined ? undefined : objectDef(refField.referenceTo[0])
    if (refField === undefined || target === undefined) {
      throw located('INVALID_FIELD', soql, offsetOf(soql, path), `Didn't understand relationship '${seg}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`)
    }
    hops.push(refField)
    names.push(refField.relationshipName as string)
    def = target
  }
  const last = segments.at(-1) as string
  const field = def.byLowerName.get(last.toLowerCase())
  if (field === undefined) {
    throw located('INVALID_FIELD', soql, offsetOf(soql, path), `No such column '${last}' on entity '${def.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`)
  }
  names.push(field.name)
  return { hops, field, names }
}

/** A referenced record, read without copying; stored references are canonical 18-character Ids. */
function peekById (org: Org, id: string): SRecord | undefined {
  const sobject = sobjectOfId(id)
  return sobject === undefined ? undefined : org.peek(sobject, id)
}

function valueAt (org: Org, rec: SRecord, path: ResolvedPath): FieldValue {
  let cur: SRecord | undefined = rec
  for (const hop of path.hops) {
    const id: FieldValue = cur[hop.name] ?? null
    cur = typeof id === 'string' ? peekById(org, id) : undefined
    if (cur === undefined) return null
  }
  return cur[path.field.name] ?? null
}

// ---- WHERE ----------------------------------------------------------------------------------------------

type Token =
  | { t: '(' } | { t: ')' } | { t: 'NOT' } | { t: 'AND' } | { t: 'OR' }
  | { t: 'cond', c: Record<string, unknown> }

type Predicate = (rec: SRecord) => boolean

/** soql-parser-js returns WHERE as a chain with paren counts; flatten it to tokens, then parse precedence. */
function flatten (where: WhereClause | undefined): Token[] {
  const tokens: Token[] = []
  let node: Record<string, unknown> | undefined = where as unknown as Record<string, unknown> | undefined
  while (node !== undefined) {
    const left = node.left as Record<string, unknown> | null
    const isCondition = left !== null && ('field' in left || 'fn' in left)
    const open = typeof left?.openParen === 'number' ? left.openParen : 0
    for (let i = 0; i < open; i++) tokens.push({ t: '(' })
    if (!isCondition) {
      tokens.push({ t: 'NOT' })
      node = node.right as Record<string, unknown> | undefined
      continue
    }
    tokens.push({ t: 'cond', c: left })
    const close = typeof left.closeParen === 'number' ? left.closeParen : 0
    for (let i = 0; i < close; i++) tokens.push({ t: ')' })
    const op = typeof node.operator === 'string' ? node.operator.toUpperCase() : undefined
    if (op === 'AND' || op === 'OR') tokens.push({ t: op })
    node = op === undefined ? undefined : node.right as Record<string, unknown> | undefined
  }
  return tokens
}

class WhereParser {
  private pos = 0
  constructor (private readonly tokens: Token[], private readonly soql: string, private readonly makeCond: (c: Record<string, unknown>) => Predicate) {}

  parse (): Predicate {
    const p = this.expr()
    if (this.pos < this.tokens.length) throw malformed(this.soql, this.peek()?.t ?? '')
    return p
  }

  private peek (): Token | undefined { return this.tokens[this.pos] }

  private expr (): Predicate {
    const parts = [this.unary()]
    let op: 'AND' | 'OR' | undefined
    for (let tok = this.peek(); tok?.t === 'AND' || tok?.t === 'OR'; tok = this.peek()) {
      // SOQL requires parentheses when AND and OR are mixed (Salesforce answers "unexpected token: OR").
      if (op !== undefined && tok.t !== op) {
        throw located('MALFORMED_QUERY', this.soql, offsetOf(this.soql, tok.t, offsetOf(this.soql, op) + 1), `unexpected token: ${tok.t}`)
      }
      op = tok.t
      this.pos++
      parts.push(this.unary())
    }
    if (parts.length === 1) return parts[0] as Predicate
    return op === 'AND' ? r => parts.every(p => p(r)) : r => parts.some(p => p(r))
  }

  private unary (): Predicate {
    const tok = this.tokens[this.pos++]
    if (tok === undefined) throw malformed(this.soql, '')
    if (tok.t === 'NOT') {
      const inner = this.unary()
      return r => !inner(r)
    }
    if (tok.t === '(') {
      const inner = this.expr()
      if (this.tokens[this.pos++]?.t !== ')') throw malformed(this.soql, '')
      return inner
    }
    if (tok.t === 'cond') return this.makeCond(tok.c)
    throw malformed(this.soql, tok.t)
  }
}

const DAY = 86_400_000

/** [start, end) in epoch ms of a date literal; UTC days. Assumption: the running user's time zone is GMT. */
function dateLiteralRange (literal: string, n: number | undefined, now: number, soql: string): [number, number] {
  const today = Math.floor(now / DAY) * DAY
  const name = literal.split(':')[0]?.toUpperCase() ?? ''
  const k = n ?? 0
  switch (name) {
    case 'TODAY': return [today, today + DAY]
    case 'YESTERDAY': return [today - DAY, today]
    case 'TOMORROW': return [today + DAY, today + 2 * DAY]
    // LAST_N_DAYS:n covers today and the n days before it.
    case 'LAST_N_DAYS': return [today - k * DAY, today + DAY]
    case 'NEXT_N_DAYS': return [today + DAY, today + (k + 1) * DAY]
    case 'N_DAYS_AGO': return [today - k * DAY, today - (k - 1) * DAY]
    default: throw malformed(soql, literal, `The Salesforce emulator does not support the date literal ${literal}`)
  }
}

const TEXT_TYPES = new Set(['string', 'email', 'phone', 'textarea', 'url', 'picklist'])

function typeName (field: FieldDef): string {
  if (field.type === 'datetime') return 'dateTime'
  if (field.type === 'int') return 'integer'
  if (TEXT_TYPES.has(field.type)) return 'string'
  return field.type
}

type Operand =
  | { kind: 'null' }
  | { kind: 'string', value: string }
  | { kind: 'id', value: string }
  | { kind: 'bool', value: boolean }
  | { kind: 'number', value: number }
  | { kind: 'time', value: number }
  | { kind: 'range', start: number, end: number }

// ---- the compiled query ---------------------------------------------------------------------------------

type Projection =
  | { kind: 'field', path: ResolvedPath }
  | { kind: 'count' }
  | { kind: 'aggregate', path: ResolvedPath, key: string }
  | { kind: 'children', relationshipName: string, field: string, query: Compiled }

interface SortKey { path: ResolvedPath, desc: boolean, nullsFirst: boolean }

interface Compiled {
  def: ObjectDef
  projections: Projection[]
  filter: Predicate
  sort: SortKey[]
  limit: number | undefined
  offset: number
}

/** Salesforce's maximum OFFSET (docs/salesforce-behaviour.md#soql). */
const MAX_OFFSET = 2000

class Compiler {
  constructor (private readonly org: Org, private readonly soql: string, private readonly now: number) {}

  compile (def: ObjectDef, q: Query | Subquery, alias: string | undefined, nested: boolean): Compiled {
    if (q.groupBy !== undefined || q.having !== undefined) throw unsupported('GROUP BY / HAVING')
    if (q.withDataCategory !== undefined || q.for !== undefined || q.update !== undefined) throw unsupported('WITH DATA CATEGORY / FOR / UPDATE clauses')
    const projections = this.projections(def, q, alias, nested)
    const tokens = flatten(q.where)
    const filter = tokens.length === 0 ? () => true : new WhereParser(tokens, this.soql, c => this.condition(def, c, alias)).parse()
    const orderBy: OrderByClause[] = q.orderBy === undefined ? [] : Array.isArray(q.orderBy) ? q.orderBy : [q.orderBy]
    const sort = orderBy.map(o => {
      if (!('field' in o)) throw unsupported('ORDER BY on functions')
      const desc = o.order === 'DESC'
      // Salesforce's default: nulls first ascending, last descending.
      const nullsFirst = o.nulls === undefined ? !desc : o.nulls === 'FIRST'
      return { path: resolvePath(def, o.field, this.soql, alias), desc, nullsFirst }
    })
    const offset = q.offset ?? 0
    if (offset > MAX_OFFSET) {
      throw new SalesforceError('NUMBER_OUTSIDE_VALID_RANGE', `Maximum SOQL offset allowed is ${MAX_OFFSET}`)
    }
    return { def, projections, filter, sort, limit: q.limit, offset }
  }

  private projections (def: ObjectDef, q: Query | Subquery, alias: string | undefined, nested: boolean): Projection[] {
    const fields: ParsedField[] = q.fields ?? []
    if (fields.length === 0) throw malformed(this.soql, 'FROM')
    const out: Projection[] = []
    const seen = new Set<string>()
    for (const f of fields) {
      if (f.type === 'Field' || f.type === 'FieldRelationship') {
        const raw = f.type === 'Field' ? f.field : [...f.relationships, f.field].join('.')
        const path = resolvePath(def, raw, this.soql, alias)
        const key = path.names.join('.').toLowerCase()
        if (seen.has(key)) throw located('MALFORMED_QUERY', this.soql, offsetOf(this.soql, raw, offsetOf(this.soql, raw) + 1), `duplicate field selected: ${raw}`)
        seen.add(key)
        out.push({ kind: 'field', path })
      } else if (f.type === 'FieldFunctionExpression' && f.functionName.toUpperCase() === 'FIELDS') {
        const which = String(f.parameters[0] ?? '').toUpperCase()
        if (which !== 'ALL' && which !== 'STANDARD') throw unsupported(`FIELDS(${which})`)
        // Salesforce: FIELDS(ALL) needs a LIMIT of at most 200 (there are no custom fields here).
        if (which === 'ALL' && (q.limit === undefined || q.limit > 200)) {
          throw malformed(this.soql, 'FIELDS', 'The SOQL FIELDS function must have a LIMIT of at most 200')
        }
        for (const field of def.fields) {
          if (seen.has(field.name.toLowerCase())) continue
          seen.add(field.name.toLowerCase())
          out.push({ kind: 'field', path: { hops: [], field, names: [field.name] } })
        }
      } else if (f.type === 'FieldFunctionExpression') {
        if (f.functionName.toUpperCase() !== 'COUNT') throw unsupported(`the function ${f.functionName}()`)
        const param = f.parameters[0]
        if (param === undefined) {
          out.push({ kind: 'count' })
        } else {
          if (typeof param !== 'string') throw unsupported('nested functions')
          const n = out.filter(p => p.kind === 'aggregate').length
          out.push({ kind: 'aggregate', path: resolvePath(def, param, this.soql, alias), key: f.alias ?? `expr${n}` })
        }
      } else if (f.type === 'FieldSubquery') {
        if (nested) throw malformed(this.soql, 'SELECT', 'Nesting of semi join sub-selects is not supported')
        out.push(this.children(def, f.subquery))
      } else {
        throw unsupported('TYPEOF')
      }
    }
    const plain = out.find(p => p.kind === 'field' || p.kind === 'children')
    if (out.some(p => p.kind === 'count') && out.length > 1) throw malformed(this.soql, 'COUNT', 'COUNT() must be the only element in the SELECT list')
    if (out.some(p => p.kind === 'aggregate') && plain !== undefined) {
      const name = plain.kind === 'field' ? plain.path.names.join('.') : plain.relationshipName
      throw located('MALFORMED_QUERY', this.soql, offsetOf(this.soql, name), `Field must be grouped or aggregated: ${name}`)
    }
    return out
  }

  private children (def: ObjectDef, sub: Subquery): Projection {
    const rel = def.childRelationships.find(r => r.relationshipName.toLowerCase() === sub.relationshipName.toLowerCase())
    const childDef = rel === undefined ? undefined : objectDef(rel.childSObject)
    if (rel === undefined || childDef === undefined) {
      throw located('INVALID_TYPE', this.soql, offsetOf(this.soql, sub.relationshipName), `Didn't understand relationship '${sub.relationshipName}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`)
    }
    const query = this.compile(childDef, sub, undefined, true)
    return { kind: 'children', relationshipName: rel.relationshipName, field: rel.field, query }
  }

  private condition (def: ObjectDef, c: Record<string, unknown>, alias: string | undefined): Predicate {
    if (typeof c.field !== 'string') throw unsupported('functions in WHERE')
    const path = resolvePath(def, c.field, this.soql, alias)
    const field = path.field
    if (field.type === 'textarea' && field.length > 255) {
      throw located('INVALID_FIELD', this.soql, offsetOf(this.soql, c.field), `field '${field.name}' can not be filtered in a query call`)
    }
    const op = String(c.operator).toUpperCase()
    const org = this.org
    if (c.valueQuery !== undefined) {
      if (op !== 'IN' && op !== 'NOT IN') throw malformed(this.soql, op)
      const values = this.semiJoin(c.valueQuery as Query)
      return rec => {
        const v = valueAt(org, rec, path)
        const hit = typeof v === 'string' && values.has(v)
        return op === 'IN' ? hit : !hit
      }
    }
    if (op === 'INCLUDES' || op === 'EXCLUDES') throw unsupported('INCLUDES/EXCLUDES')
    const rawValues = Array.isArray(c.value) ? c.value as string[] : [c.value as string]
    const literalTypes = Array.isArray(c.literalType) ? c.literalType as string[] : rawValues.map(() => c.literalType as string)
    const nValues = Array.isArray(c.dateLiteralVariable) ? c.dateLiteralVariable as number[] : rawValues.map(() => c.dateLiteralVariable as number | undefined)
    if (op === 'LIKE') {
      if (!TEXT_TYPES.has(field.type) && field.type !== 'id' && field.type !== 'reference') {
        throw located('INVALID_FIELD', this.soql, offsetOf(this.soql, c.field), `invalid operator on ${typeName(field)} field: LIKE`)
      }
      if (literalTypes[0] !== 'STRING') throw this.typeError(field, c.field)
      const re = likePattern(rawValues[0] as string, this.soql)
      return rec => {
        const v = valueAt(org, rec, path)
        return v !== null && re.test(String(v))
      }
    }
    const operands = rawValues.map((raw, i) => this.operand(field, c.field as string, raw, literalTypes[i] ?? 'STRING', nValues[i]))
    const eq = (v: FieldValue, o: Operand): boolean => {
      if (o.kind === 'null') return v === null
      if (v === null) return false
      if (o.kind === 'range') {
        const t = timeOf(v)
        return t !== undefined && t >= o.start && t < o.end
      }
      return compare(v, o) === 0
    }
    // IN of text (a batch read-back by Username): the operands folded once, one lookup per row, same result.
    const texts = (op === 'IN' || op === 'NOT IN') && operands.every(o => o.kind === 'string')
      ? new Set(operands.map(o => foldCase((o as { value: string }).value)))
      : undefined
    if (texts !== undefined) {
      return rec => {
        const v = valueAt(org, rec, path)
        const hit = v !== null && texts.has(foldCase(String(v)))
        return op === 'IN' ? hit : !hit
      }
    }
    switch (op) {
      case '=': return rec => eq(valueAt(org, rec, path), operands[0] as Operand)
      case '!=': return rec => !eq(valueAt(org, rec, path), operands[0] as Operand)
      case 'IN': return rec => { const v = valueAt(org, rec, path); return operands.some(o => eq(v, o)) }
      case 'NOT IN': return rec => { const v = valueAt(org, rec, path); return !operands.some(o => eq(v, o)) }
      case '<': case '>': case '<=': case '>=': {
        const o = operands[0] as Operand
        return rec => {
          const v = valueAt(org, rec, path)
          if (v === null || o.kind === 'null') return false
          if (o.kind === 'range') {
            const t = timeOf(v)
            if (t === undefined) return false
            if (op === '<') return t < o.start
            if (op === '>') return t >= o.end
            if (op === '<=') return t < o.end
            return t >= o.start
          }
          const d = compare(v, o)
          if (d === undefined) return false
          return op === '<' ? d < 0 : op === '>' ? d > 0 : op === '<=' ? d <= 0 : d >= 0
        }
      }
      default: throw malformed(this.soql, op)
    }
  }

  private typeError (field: FieldDef, token: string): SalesforceError {
    const quoted = TEXT_TYPES.has(field.type) || field.type === 'id' || field.type === 'reference'
    return located('INVALID_FIELD', this.soql, offsetOf(this.soql, token),
      `value of filter criterion for field '${field.name}' must be of type ${quoted ? 'string' : typeName(field)} and ${quoted ? 'should' : 'should not'} be enclosed in quotes`)
  }

  private operand (field: FieldDef, token: string, raw: string, literalType: string, n: number | undefined): Operand {
    const isId = field.type === 'id' || field.type === 'reference'
    switch (literalType) {
      case 'NULL': return { kind: 'null' }
      case 'STRING': {
        if (TEXT_TYPES.has(field.type)) return { kind: 'string', value: decodeString(raw, this.soql) }
        if (isId) {
          const text = decodeString(raw, this.soql)
          const id = normalizeId(text)
          if (id === undefined) throw located('INVALID_QUERY_FILTER_OPERATOR', this.soql, offsetOf(this.soql, raw), `invalid ID field: ${text}`)
          return { kind: 'id', value: id }
        }
        throw this.typeError(field, token)
      }
      case 'BOOLEAN':
        if (field.type !== 'boolean') throw this.typeError(field, token)
        return { kind: 'bool', value: raw.toUpperCase() === 'TRUE' }
      case 'INTEGER': case 'DECIMAL':
        if (field.type !== 'int') throw this.typeError(field, token)
        return { kind: 'number', value: Number(raw) }
      case 'DATETIME': {
        const t = field.type === 'datetime' ? parseDateTime(raw) : undefined
        if (t === undefined) throw this.typeError(field, token)
        return { kind: 'time', value: t }
      }
      case 'DATE': {
        // Every date-ish field here is a dateTime; Salesforce refuses a date literal for those.
        if (parseDate(raw) === undefined || field.type !== 'datetime') throw this.typeError(field, token)
        throw located('INVALID_FIELD', this.soql, offsetOf(this.soql, raw), `value of filter criterion for field '${field.name}' must be of type dateTime and should not be enclosed in quotes`)
      }
      case 'DATE_LITERAL': case 'DATE_N_LITERAL': {
        if (field.type !== 'datetime') throw this.typeError(field, token)
        const [start, end] = dateLiteralRange(raw, n, this.now, this.soql)
        return { kind: 'range', start, end }
      }
      default:
        throw unsupported(`${literalType} literals`)
    }
  }

  private semiJoin (q: Query): Set<string> {
    const def = objectDef(q.sObject ?? '')
    if (def === undefined) throw invalidType(this.soql, q.sObject ?? '')
    const compiled = this.compile(def, q, q.sObjectAlias, true)
    const only = compiled.projections[0]
    if (compiled.projections.length !== 1 || only?.kind !== 'field' || (only.path.field.type !== 'id' && only.path.field.type !== 'reference')) {
      throw malformed(this.soql, q.sObject ?? '', 'The selected field in a semi join subquery must be an Id or a reference field')
    }
    const out = new Set<string>()
    for (const rec of execute(this.org, compiled, this.org.readRows(def.name)).rows) {
      const v = valueAt(this.org, rec, only.path)
      if (typeof v === 'string') out.add(v)
    }
    return out
  }
}

function invalidType (soql: string, name: string): SalesforceError {
  return located('INVALID_TYPE', soql, offsetOf(soql, name, offsetOf(soql, 'FROM')), `sObject type '${name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`)
}

function timeOf (v: FieldValue): number | undefined {
  return typeof v === 'string' ? parseDateTime(v) : undefined
}

/** Orders a stored value against an operand; strings compare case-insensitively, as SOQL does. */
function compare (v: FieldValue, o: Operand): number | undefined {
  switch (o.kind) {
    case 'string': {
      if (v === null) return undefined
      const a = foldCase(String(v))
      const b = foldCase(o.value)
      return a < b ? -1 : a > b ? 1 : 0
    }
    case 'id': return typeof v === 'string' ? (v < o.value ? -1 : v > o.value ? 1 : 0) : undefined
    case 'bool': return v === o.value ? 0 : typeof v === 'boolean' ? (v ? 1 : -1) : undefined
    case 'number': return typeof v === 'number' ? v - o.value : undefined
    case 'time': {
      const t = timeOf(v)
      return t === undefined ? undefined : t - o.value
    }
    default: return undefined
  }
}

function sortValue (a: FieldValue, b: FieldValue, exact: boolean): number {
  // Ids order by their characters (base 62 in ASCII order, i.e. creation order), consistently with `Id > '…'`
  // filters used for keyset paging; other text orders case-insensitively.
  if (exact && typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'string' && typeof b === 'string') {
    const x = foldCase(a)
    const y = foldCase(b)
    return x < y ? -1 : x > y ? 1 : 0
  }
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1
  return 0
}

function execute (org: Org, c: Compiled, all: SRecord[]): { rows: SRecord[], matched: number } {
  let rows = all.filter(c.filter)
  if (c.sort.length > 0) {
    const keyed = rows.map(rec => ({ rec, keys: c.sort.map(k => valueAt(org, rec, k.path)) }))
    keyed.sort((x, y) => {
      for (let i = 0; i < c.sort.length; i++) {
        const k = c.sort[i] as SortKey
        const a = x.keys[i] ?? null
        const b = y.keys[i] ?? null
        if (a === null && b === null) continue
        if (a === null) return k.nullsFirst ? -1 : 1
        if (b === null) return k.nullsFirst ? 1 : -1
        const d = sortValue(a, b, k.path.field.type === 'id' || k.path.field.type === 'reference')
        if (d !== 0) return k.desc ? -d : d
      }
      return 0
    })
    rows = keyed.map(k => k.rec)
  }
  const matched = rows.length
  rows = rows.slice(c.offset, c.limit === undefined ? undefined : c.offset + c.limit)
  return { rows, matched }
}

function recordUrl (version: string, type: string, id: unknown): string {
  return `/services/data/v${version}/sobjects/${type}/${String(id)}`
}

/** Child rows grouped by parent Id, built once per query and child relationship. */
type ChildCache = Map<Compiled, Map<unknown, SRecord[]>>

function childrenOf (org: Org, cache: ChildCache, p: Extract<Projection, { kind: 'children' }>, parentId: unknown): SRecord[] {
  let byParent = cache.get(p.query)
  if (byParent === undefined) {
    byParent = new Map()
    for (const r of org.readRows(p.query.def.name)) {
      const list = byParent.get(r[p.field])
      if (list === undefined) byParent.set(r[p.field], [r])
      else list.push(r)
    }
    cache.set(p.query, byParent)
  }
  return byParent.get(parentId) ?? []
}

function project (org: Org, c: Compiled, rec: SRecord, version: string, cache: ChildCache): QueryRecord {
  const out: QueryRecord = { attributes: { type: c.def.name, url: recordUrl(version, c.def.name, rec.Id) } }
  for (const p of c.projections) {
    if (p.kind === 'field') {
      let target: Record<string, unknown> = out
      let cur: SRecord = rec
      let reached = true
      for (const hop of p.path.hops) {
        const rel = hop.relationshipName as string
        const id = cur[hop.name]
        const parentType = typeof id === 'string' ? sobjectOfId(id) : undefined
        const parent = typeof id === 'string' && parentType !== undefined ? org.peek(parentType, id) : undefined
        if (target[rel] === undefined) {
          target[rel] = parent === undefined ? null : { attributes: { type: parentType, url: recordUrl(version, parentType as string, parent.Id) } }
        }
        const next = target[rel]
        if (parent === undefined || next === null || typeof next !== 'object') {
          reached = false
          break
        }
        target = next as Record<string, unknown>
        cur = parent
      }
      if (reached) target[p.path.field.name] = cur[p.path.field.name] ?? null
    } else if (p.kind === 'children') {
      const { rows } = execute(org, p.query, childrenOf(org, cache, p, rec.Id))
      out[p.relationshipName] = rows.length === 0
        ? null
        : { totalSize: rows.length, done: true, records: rows.map(r => project(org, p.query, r, version, cache)) }
    }
  }
  return out
}

/** Parses, validates and runs one SOQL statement; returns every matching record (the caller batches). */
export function executeSoql (org: Org, soql: string, opts: SoqlOptions): SoqlResult {
  const q = parse(soql)
  const def = objectDef(q.sObject ?? '')
  if (def === undefined) throw invalidType(soql, q.sObject ?? '')
  const compiled = new Compiler(org, soql, org.now()).compile(def, q, q.sObjectAlias, false)
  const { rows } = execute(org, compiled, org.readRows(def.name))
  const first = compiled.projections[0]
  if (first?.kind === 'count') return { sobject: def.name, totalSize: rows.length, records: [] }
  if (first?.kind === 'aggregate') {
    const record: QueryRecord = { attributes: { type: 'AggregateResult' } }
    for (const p of compiled.projections) {
      if (p.kind === 'aggregate') record[p.key] = rows.filter(r => valueAt(org, r, p.path) !== null).length
    }
    return { sobject: def.name, totalSize: 1, records: [record] }
  }
  const cache: ChildCache = new Map()
  return { sobject: def.name, totalSize: rows.length, records: rows.map(r => project(org, compiled, r, opts.version, cache)) }
}
