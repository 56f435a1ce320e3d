// Test helper: reads a query back with soql-parser-js and decodes its literals independently of src/, so tests prove what Salesforce would see.
import { parseQuery, type WhereClause } from 'soql-parser-js'

/** LIKE's `%` after decoding. */
export const ANY = Symbol('LIKE %')
/** LIKE's `_` after decoding (our builder never emits one unescaped). */
export const ONE = Symbol('LIKE _')

export type Decoded =
  | string | number | boolean | null
  | { dateTime: string }
  | { like: Array<string | typeof ANY | typeof ONE> }
  | Decoded[]

export interface Leaf { field: string, operator: string, value: Decoded }

// The SOQL escapes (docs/salesforce-behaviour.md#soql); anything else after a backslash is MALFORMED_QUERY in Salesforce.
const ESCAPES: Record<string, string> = { n: '\n', N: '\n', r: '\r', R: '\r', t: '\t', T: '\t', b: '\b', B: '\b', f: '\f', F: '\f', '"': '"', "'": "'", '\\': '\\' }

/** Decodes a quoted SOQL string literal; with `like`, returns literal text and wildcards apart. */
export function decodeLiteral (literal: string, like = false): string | Array<string | typeof ANY | typeof ONE> {
  if (literal.length < 2 || !literal.startsWith("'") || !literal.endsWith("'")) throw new Error(`not a string literal: ${literal}`)
  const body = literal.slice(1, -1)
  const parts: Array<string | typeof ANY | typeof ONE> = []
  let text = ''
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string
    if (c === "'") throw new Error(`unescaped quote inside ${literal}`)
    if (like && (c === '%' || c === '_')) {
      if (text !== '') parts.push(text)
      text = ''
      parts.push(c === '%' ? ANY : ONE)
      continue
    }
    if (c !== '\\') { text += c; continue }
    const e = body[++i] as string
    if (e === 'u') {
      const hex = body.slice(i + 1, i + 5)
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new Error(`bad \\u escape in ${literal}`)
      text += String.fromCharCode(parseInt(hex, 16))
      i += 4
    } else if (ESCAPES[e] !== undefined) {
      text += ESCAPES[e]
    } else if (like && (e === '%' || e === '_')) {
      text += e
    } else {
      throw new Error(`invalid escape \\${e} in ${literal}`)
    }
  }
  if (!like) return text
  if (text !== '') parts.push(text)
  return parts
}

function decodeValue (raw: string, literalType: string | undefined, operator: string): Decoded {
  switch (literalType) {
    case 'STRING': return operator === 'LIKE' ? { like: decodeLiteral(raw, true) as Array<string | typeof ANY> } : decodeLiteral(raw) as string
    case 'BOOLEAN': return raw.toUpperCase() === 'TRUE'
    case 'NULL': return null
    case 'DATETIME': return { dateTime: raw }
    case 'INTEGER': case 'DECIMAL': return Number(raw)
    default: throw new Error(`unexpected literal type ${String(literalType)} for ${raw}`)
  }
}

function walk (where: WhereClause | undefined, out: Leaf[]): void {
  if (where === undefined) return
  const left = where.left as unknown as { field?: string, operator?: string, value?: string | string[], literalType?: string | string[] } | null
  if (left !== null && typeof left.field === 'string') {
    const operator = String(left.operator)
    const value: Decoded = Array.isArray(left.value)
      ? left.value.map((v, i) => decodeValue(v, Array.isArray(left.literalType) ? left.literalType[i] : left.literalType, operator))
      : decodeValue(String(left.value), left.literalType as string | undefined, operator)
    out.push({ field: left.field, operator, value })
  }
  if ('right' in where) walk(where.right, out)
}

/** Parses a whole query with soql-parser-js (throws if it is not valid SOQL) and lists its WHERE comparisons. */
export function whereLeaves (query: string): Leaf[] {
  const parsed = parseQuery(query)
  const out: Leaf[] = []
  walk(parsed.where, out)
  return out
}
