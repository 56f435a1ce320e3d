// The in-memory SCIM filter evaluator (RFC 7644 §3.4.2.2): does a resource match a parsed filter? Used where the
// resources are already in hand (mapped group targets, constant sub-attributes of the SOQL translation). Pure, no I/O.
//
// Semantics, chosen to agree with the SOQL translation (src/salesforce/filter-soql.ts):
// - text compares case-insensitively unless the attribute is caseExact (RFC 7643 §2.2); gt/ge/lt/le compare
//   lexically (UTF-16 code units, after lower-casing when not caseExact);
// - dateTime values compare as instants (parseDateTime), booleans also accept "true"/"false" strings (Entra);
// - `attr op value` holds when some value of attr satisfies it; an absent attribute satisfies only `ne` (as SOQL's
//   `Field != 'x'` matches a null field) and `eq null`; `ne null` means present;
// - a multi-valued complex attribute compared without a sub-attribute compares its `value` (RFC 7644 §3.4.2.2);
//   `attr[filter]` keeps the values that match filter, evaluated relative to each value.
import { parseDateTime, type AttrPath, type CompareOp, type FilterNode, type FilterValue } from './filter.js'

/** A SCIM data type (RFC 7643 §2.3) as far as comparison is concerned. */
export type AttributeType = 'string' | 'reference' | 'binary' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'complex'

/** An attribute of a resource as the evaluator sees it: how to compare it and its values. */
export interface Attribute {
  type: AttributeType
  /** RFC 7643 §2.2; false (the default) compares text case-insensitively. */
  caseExact?: boolean
  /**
   * The canonical text of a value (both sides are canonicalised before comparing), e.g. a Salesforce id's
   * 18-character form; undefined when the text is no valid value, which then equals nothing.
   */
  canonical?: (text: string) => string | undefined
  /** None when absent, one when single-valued; for 'complex', each value is a Lookup of its sub-attributes. */
  values: readonly unknown[]
}

/** A resource (or one value of a complex attribute): its attribute by name, undefined when it has no such attribute. */
export type Lookup = (name: { urn?: string, attr: string }) => Attribute | undefined

/** `a op b` on text: case-insensitive unless caseExact. */
export function compareText (op: CompareOp, a: string, b: string, caseExact = false): boolean {
  const x = caseExact ? a : a.toLowerCase()
  const y = caseExact ? b : b.toLowerCase()
  switch (op) {
    case 'eq': return x === y
    case 'ne': return x !== y
    case 'co': return x.includes(y)
    case 'sw': return x.startsWith(y)
    case 'ew': return x.endsWith(y)
    case 'gt': return x > y
    case 'ge': return x >= y
    case 'lt': return x < y
    case 'le': return x <= y
  }
}

function order (op: CompareOp, a: number, b: number): boolean {
  switch (op) {
    case 'eq': return a === b
    case 'ne': return a !== b
    case 'gt': return a > b
    case 'ge': return a >= b
    case 'lt': return a < b
    case 'le': return a <= b
    default: return false // co/sw/ew have no meaning for numbers and instants
  }
}

/** true/false, or the strings "true"/"false" in any case (Entra sends booleans as strings). */
export function toBoolean (value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value
  if (typeof value === 'string') {
    const lower = value.toLowerCase()
    if (lower === 'true') return true
    if (lower === 'false') return false
  }
  return undefined
}

/** One value of an attribute against a (non-null) filter value. A value of the wrong type matches only `ne`. */
function compareValue (op: CompareOp, actual: unknown, expected: Exclude<FilterValue, null>, a: Attribute): boolean {
  switch (a.type) {
    case 'boolean': {
      const x = toBoolean(actual)
      const y = toBoolean(expected)
      if (x === undefined || y === undefined) return op === 'ne'
      return op === 'eq' ? x === y : op === 'ne' ? x !== y : false
    }
    case 'decimal': case 'integer': {
      const y = typeof expected === 'number' ? expected : undefined
      if (typeof actual !== 'number' || y === undefined) return op === 'ne'
      return order(op, actual, y)
    }
    case 'dateTime': {
      const x = typeof actual === 'string' ? parseDateTime(actual) : undefined
      const y = typeof expected === 'string' ? parseDateTime(expected) : undefined
      if (x === undefined || y === undefined) return op === 'ne'
      return order(op, x, y)
    }
    case 'complex': return false
    default: {
      if (typeof actual !== 'string' || typeof expected === 'boolean') return op === 'ne'
      let x: string | undefined = actual
      let y: string | undefined = String(expected)
      if (a.canonical !== undefined) {
        x = a.canonical(x)
        y = a.canonical(y)
        if (x === undefined || y === undefined) return op === 'ne'
      }
      return compareText(op, x, y, a.caseExact === true)
    }
  }
}

/** The values a path names, with the attribute that says how to compare them. */
function resolve (path: AttrPath, subject: Lookup): { attribute: Attribute, values: readonly unknown[] } | undefined {
  const name = path.urn === undefined ? { attr: path.attr } : { urn: path.urn, attr: path.attr }
  const a = subject(name)
  if (a === undefined) return undefined
  if (a.type !== 'complex') {
    return path.valueFilter === undefined && path.subAttr === undefined ? { attribute: a, values: a.values } : undefined
  }
  let entries = a.values as readonly Lookup[]
  if (path.valueFilter !== undefined) {
    const filter = path.valueFilter
    entries = entries.filter((e) => matches(filter, e))
  }
  return { attribute: a, values: entries }
}

/** The sub-attribute `sub` of each entry of a complex attribute: its values, grouped under one description. */
function subValues (entries: readonly unknown[], sub: string): { attribute: Attribute, values: unknown[] } | undefined {
  let attribute: Attribute | undefined
  const values: unknown[] = []
  for (const e of entries as readonly Lookup[]) {
    const s = e({ attr: sub })
    if (s === undefined) continue
    attribute ??= s
    values.push(...s.values)
  }
  return attribute === undefined ? undefined : { attribute, values }
}

function leaf (node: Exclude<FilterNode, { type: 'and' | 'or' | 'not' }>, subject: Lookup): boolean {
  const target = resolve(node.path, subject)
  if (node.type === 'valuePath') return target !== undefined && target.attribute.type === 'complex' && target.values.length > 0
  let found: { attribute: Attribute, values: readonly unknown[] } | undefined = target
  if (target?.attribute.type === 'complex') {
    // `emails[type eq "work"] pr` asks for a matching entry; a compare without a sub-attribute compares `value`.
    const sub = node.path.subAttr ?? (node.type === 'present' ? undefined : 'value')
    found = sub === undefined ? target : subValues(target.values, sub)
  }
  const values = (found?.values ?? []).filter((v) => v !== null && v !== undefined)
  if (node.type === 'present') return values.length > 0
  if (node.value === null) return node.op === 'eq' ? values.length === 0 : node.op === 'ne' ? values.length > 0 : false
  if (values.length === 0 || found === undefined) return node.op === 'ne'
  const expected = node.value
  const attribute = found.attribute
  return values.some((v) => compareValue(node.op, v, expected, attribute))
}

/** Whether the resource `subject` matches the filter (RFC 7644 §3.4.2.2). */
export function matches (node: FilterNode, subject: Lookup): boolean {
  switch (node.type) {
    case 'and': return node.operands.every((o) => matches(o, subject))
    case 'or': return node.operands.some((o) => matches(o, subject))
    case 'not': return !matches(node.operand, subject)
    default: return leaf(node, subject)
  }
}
