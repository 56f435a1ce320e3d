// Translates SCIM PATCH operations straight into Salesforce field changes, so that the common PATCH needs no
// read of the current user (one Salesforce call instead of two). Operations that depend on the current values
// (a remove by value filter, say) are reported as needing the slow path, which applies them with SCIMMY.
import { CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA } from '../protocol/constants.js'
import { matches, type Lookup } from '../protocol/evaluate.js'
import type { FilterNode } from '../protocol/filter.js'
import { MappingError } from './errors.js'
import { readPatchPath } from './path.js'
import {
  slotsFromList, toLanguageKey,
  type FieldChanges, type FieldMapping, type MultiSlot, type ScimValue, type UserMapping,
} from './user.js'

export interface PatchOperation {
  op: string
  path?: string
  value?: unknown
}

export type PatchPlan = { kind: 'direct', changes: FieldChanges } | { kind: 'needsCurrent', reason: string }

/** Attributes of the core and enterprise User schemas (RFC 7643 §4.1, §4.3), lower-cased, with sub-attributes. */
const CORE_ATTRS: Record<string, string[] | null> = {
  username: null,
  name: ['formatted', 'familyname', 'givenname', 'middlename', 'honorificprefix', 'honorificsuffix'],
  displayname: null,
  nickname: null,
  profileurl: null,
  title: null,
  usertype: null,
  preferredlanguage: null,
  locale: null,
  timezone: null,
  active: null,
  password: null,
  emails: ['value', 'display', 'type', 'primary'],
  phonenumbers: ['value', 'display', 'type', 'primary'],
  ims: ['value', 'display', 'type', 'primary'],
  photos: ['value', 'display', 'type', 'primary'],
  addresses: ['formatted', 'streetaddress', 'locality', 'region', 'postalcode', 'country', 'type', 'primary'],
  groups: ['value', '$ref', 'display', 'type'],
  entitlements: ['value', 'display', 'type', 'primary'],
  roles: ['value', 'display', 'type', 'primary'],
  x509certificates: ['value', 'display', 'type', 'primary'],
  externalid: null,
}
const ENTERPRISE_ATTRS: Record<string, string[] | null> = {
  employeenumber: null,
  costcenter: null,
  organization: null,
  division: null,
  department: null,
  manager: ['value', '$ref', 'displayname'],
}
const READ_ONLY = new Set(['id', 'meta', 'groups'])
const MULTI = new Set(['emails', 'phonenumbers', 'addresses', 'ims', 'photos', 'entitlements', 'roles', 'x509certificates'])

interface ParsedPath {
  schema: 'core' | 'enterprise'
  attr: string
  /** Value filter in brackets, as written (for messages). */
  filter?: string
  sub?: string
}

/** The path with its value filter parsed. */
interface Path extends ParsedPath { valueFilter?: FilterNode }

/** A PATCH path on a User (src/protocol/filter.ts parsePath), checked against the core and enterprise schemas. */
export function parsePath (raw: string): ParsedPath {
  const { valueFilter: _ast, ...parsed } = readPath(raw)
  return parsed
}

function readPath (raw: string): Path {
  const trimmed = raw.trim()
  // The bare extension URN (a path-less value's key) would otherwise read as urn `…:2.0` + attribute `User`.
  if (trimmed.toLowerCase() === ENTERPRISE_USER_SCHEMA.toLowerCase()) return { schema: 'enterprise', attr: '' }
  const path = readPatchPath(trimmed)
  const urn = path.urn?.toLowerCase()
  let schema: ParsedPath['schema'] = 'core'
  if (urn === ENTERPRISE_USER_SCHEMA.toLowerCase()) schema = 'enterprise'
  else if (urn !== undefined && urn !== CORE_USER_SCHEMA.toLowerCase()) throw new MappingError('invalidPath', `Unknown schema in path '${raw}'`)
  const attr = path.attr.toLowerCase()
  const known = schema === 'core' ? CORE_ATTRS : ENTERPRISE_ATTRS
  if (READ_ONLY.has(attr) && schema === 'core') throw new MappingError('mutability', `Attribute '${path.attr}' is read-only`)
  if (!(attr in known)) throw new MappingError('invalidPath', `Unknown attribute '${path.attr}' in path '${raw}'`)
  const sub = path.subAttr?.toLowerCase()
  const subs = known[attr]
  if (sub !== undefined && (subs === null || subs === undefined || !subs.includes(sub))) {
    throw new MappingError('invalidPath', `Unknown sub-attribute '${path.subAttr as string}' in path '${raw}'`)
  }
  const parsed: Path = { schema, attr }
  if (path.valueFilter !== undefined) {
    parsed.filter = trimmed.slice(trimmed.indexOf('[') + 1, trimmed.lastIndexOf(']'))
    parsed.valueFilter = path.valueFilter
  }
  if (sub !== undefined) parsed.sub = sub
  return parsed
}

/** `type eq "work"` / `primary eq true` are the only value filters that name a Salesforce slot by themselves. */
function slotFilter (filter: FilterNode): { type?: string, primary?: true } | undefined {
  if (filter.type !== 'compare' || filter.op !== 'eq' || filter.path.urn !== undefined || filter.path.subAttr !== undefined) return undefined
  const attr = filter.path.attr.toLowerCase()
  if (attr === 'type' && typeof filter.value === 'string') return { type: filter.value.toLowerCase() }
  if (attr === 'primary' && filter.value === true) return { primary: true }
  return undefined
}

export function planPatch (mapping: UserMapping, operations: PatchOperation[]): PatchPlan {
  const changes: FieldChanges = {}
  for (const operation of operations) {
    const op = operation.op.toLowerCase()
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw new MappingError('invalidSyntax', `Unknown PATCH op '${operation.op}'`)
    }
    if (operation.path === undefined || operation.path === '') {
      if (op === 'remove') throw new MappingError('noTarget', 'A remove operation needs a path')
      if (typeof operation.value !== 'object' || operation.value === null || Array.isArray(operation.value)) {
        throw new MappingError('invalidValue', `A ${op} operation without a path needs an object value`)
      }
      for (const [key, value] of Object.entries(operation.value)) {
        if (key.toLowerCase() === 'schemas') continue
        const r = applyOne(mapping, op, key, value, changes, true)
        if (r !== undefined) return r
      }
      continue
    }
    if (op !== 'remove' && operation.value === undefined) {
      throw new MappingError('invalidValue', `A ${op} operation needs a value`)
    }
    const r = applyOne(mapping, op, operation.path, operation.value, changes, false)
    if (r !== undefined) return r
  }
  return { kind: 'direct', changes }
}

function applyOne (mapping: UserMapping, op: 'add' | 'replace' | 'remove', rawPath: string, value: unknown, changes: FieldChanges, fromObject: boolean): PatchPlan | undefined {
  // A path-less value may carry a whole extension object under its URN.
  if (fromObject && rawPath.toLowerCase() === ENTERPRISE_USER_SCHEMA.toLowerCase()) {
    if (typeof value !== 'object' || value === null) throw new MappingError('invalidValue', 'The enterprise extension must be an object')
    for (const [k, v] of Object.entries(value)) {
      const r = applyOne(mapping, op, `${ENTERPRISE_USER_SCHEMA}:${k}`, v, changes, true)
      if (r !== undefined) return r
    }
    return undefined
  }
  if (fromObject && READ_ONLY.has(rawPath.toLowerCase())) return undefined // Okta echoes id in path-less values
  const p = readPath(rawPath)
  if (p.schema === 'enterprise' && p.attr === '') {
    return applyOne(mapping, op, ENTERPRISE_USER_SCHEMA, value, changes, true)
  }
  if (MULTI.has(p.attr)) return applyMulti(mapping, op, p, value, changes, rawPath)

  // Complex singular attribute given whole: name, manager.
  if (p.sub === undefined && (p.attr === 'name' || p.attr === 'manager')) {
    if (op === 'remove') {
      for (const f of fieldsUnder(mapping, p)) setChange(mapping, changes, f, null)
      return undefined
    }
    if (p.attr === 'manager' && (typeof value === 'string' || value === null)) {
      return applyOne(mapping, op, `${ENTERPRISE_USER_SCHEMA}:manager.value`, value, changes, false)
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new MappingError('invalidValue', `Attribute '${rawPath}' expects an object value`)
    }
    for (const [k, v] of Object.entries(value)) {
      const prefix = p.schema === 'enterprise' ? `${ENTERPRISE_USER_SCHEMA}:${p.attr}` : p.attr
      const r = applyOne(mapping, op, `${prefix}.${k}`, v, changes, false)
      if (r !== undefined) return r
    }
    return undefined
  }
  const f = findField(mapping, p)
  if (f === undefined) return undefined // a valid SCIM attribute Salesforce has no field for: nothing to store
  if (f.readOnly === true) return undefined // computed by Salesforce (displayName, name.formatted, userType)
  if (op === 'remove') {
    if (f.required === true) throw new MappingError('mutability', `Attribute '${rawPath}' is required by Salesforce and cannot be removed`)
    setChange(mapping, changes, f, null)
    return undefined
  }
  setChange(mapping, changes, f, checkValue(f, rawPath, value))
  return undefined
}

function applyMulti (mapping: UserMapping, op: 'add' | 'replace' | 'remove', p: Path, value: unknown, changes: FieldChanges, rawPath: string): PatchPlan | undefined {
  const attr = (['emails', 'phoneNumbers', 'addresses'] as const).find((a) => a.toLowerCase() === p.attr)
  if (attr === undefined) return undefined // ims, photos, roles…: no Salesforce field
  const slots = mapping.slots.filter((s) => s.attr === attr)
  let target: MultiSlot[] = slots
  if (p.valueFilter !== undefined) {
    const sf = slotFilter(p.valueFilter)
    if (sf === undefined) return { kind: 'needsCurrent', reason: `value filter '${p.filter ?? ''}'` }
    target = slots.filter((s) => sf.type !== undefined ? s.type === sf.type : s.primary)
    if (target.length === 0) {
      // RFC 7644 §3.5.2: a filter that matches nothing is noTarget for replace; for remove it changes nothing.
      if (op === 'remove') return undefined
      throw new MappingError('noTarget', `No ${attr} entry matches '${p.filter ?? ''}' (Salesforce keeps ${slots.map((s) => s.type).join(', ')})`)
    }
  }
  if (op === 'remove') {
    for (const s of target) {
      for (const [sub, field] of Object.entries(s.fields)) {
        if (p.sub !== undefined && p.sub !== sub.toLowerCase()) continue
        changes[field] = null
      }
    }
    return undefined
  }
  if (p.sub !== undefined) {
    // emails[type eq "work"].value = "x": the slot's field for that sub-attribute.
    if (p.filter === undefined) return { kind: 'needsCurrent', reason: `'${rawPath}' without a value filter` }
    for (const s of target) {
      const entry = Object.entries(s.fields).find(([sub]) => sub.toLowerCase() === p.sub)
      if (entry === undefined) continue
      if (value !== null && typeof value !== 'string') throw new MappingError('invalidValue', `Attribute '${rawPath}' expects a string`)
      changes[entry[1]] = value
    }
    return undefined
  }
  const list = p.filter !== undefined
    ? [{ ...(typeof value === 'object' && value !== null && !Array.isArray(value) ? value : { value }), type: target[0]?.type }]
    : Array.isArray(value) ? value : [value]
  for (const e of list) {
    if (typeof e !== 'object' || e === null) throw new MappingError('invalidValue', `Attribute '${rawPath}' expects complex values`)
  }
  if (op === 'replace' && p.filter === undefined) {
    for (const s of slots) for (const field of Object.values(s.fields)) changes[field] = null
  }
  Object.assign(changes, slotsFromList(mapping, attr, list))
  if (attr === 'emails' && changes.Email === null) {
    throw new MappingError('invalidValue', 'Salesforce requires an email address; the request leaves the user without one')
  }
  return undefined
}

function fieldsUnder (mapping: UserMapping, p: ParsedPath): FieldMapping[] {
  const prefix = (p.schema === 'enterprise' ? `${ENTERPRISE_USER_SCHEMA}:` : '') + p.attr + '.'
  return mapping.fields.filter((f) => f.path.toLowerCase().startsWith(prefix.toLowerCase()) && f.readOnly !== true && f.required !== true)
}

function findField (mapping: UserMapping, p: ParsedPath): FieldMapping | undefined {
  const path = (p.schema === 'enterprise' ? `${ENTERPRISE_USER_SCHEMA}:` : '') + p.attr + (p.sub !== undefined ? '.' + p.sub : '')
  return mapping.fields.find((f) => f.path.toLowerCase() === path.toLowerCase())
}

function checkValue (f: FieldMapping, rawPath: string, value: unknown): ScimValue {
  if (value === null) {
    if (f.required === true) throw new MappingError('invalidValue', `Attribute '${rawPath}' is required by Salesforce and cannot be null`)
    return null
  }
  if (f.kind === 'boolean') {
    if (typeof value !== 'boolean') throw new MappingError('invalidValue', `Attribute '${rawPath}' expects a boolean`)
    return value
  }
  if (typeof value === 'object' && f.kind === 'reference' && !Array.isArray(value)) {
    const v = (value as Record<string, unknown>).value
    if (typeof v === 'string') return v
  }
  if (typeof value !== 'string') throw new MappingError('invalidValue', `Attribute '${rawPath}' expects a string`)
  return value
}

function setChange (mapping: UserMapping, changes: FieldChanges, f: FieldMapping, value: ScimValue): void {
  if (typeof value === 'string' && f.field === 'Username') value = mapping.toUsername(value)
  if (typeof value === 'string' && f.field === 'LanguageLocaleKey') {
    const key = toLanguageKey(value)
    if (key === undefined) return // a language Salesforce does not offer: keep the current one
    value = key
  } else if (typeof value === 'string' && f.kind === 'localeKey') {
    value = value.replace('-', '_')
  }
  changes[f.field] = value
}

// ---------------------------------------------------------------------------------------------------------------
// Operations scimforce answers outside Salesforce fields, and value filters resolved against the current user

/**
 * Takes the operations on `externalId` (kept by scimforce, not in a Salesforce field) out of a PATCH: the value the
 * last of them leaves (null: removed), undefined when none names it, and the operations that remain.
 */
export function takeExternalId (operations: PatchOperation[]): { operations: PatchOperation[], externalId?: string | null } {
  let externalId: string | null | undefined
  const rest: PatchOperation[] = []
  const isExternalId = (path: string): boolean => {
    const p = path.trim().toLowerCase()
    return p === 'externalid' || p === `${CORE_USER_SCHEMA.toLowerCase()}:externalid`
  }
  const valueOf = (op: string, v: unknown): string | null => {
    if (op === 'remove' || v === null || v === '') return null
    if (typeof v !== 'string') throw new MappingError('invalidValue', 'externalId must be a string')
    return v
  }
  for (const operation of operations) {
    const op = operation.op.toLowerCase()
    if (operation.path !== undefined && operation.path !== '' && isExternalId(operation.path)) {
      externalId = valueOf(op, operation.value)
      continue
    }
    if ((operation.path === undefined || operation.path === '') && typeof operation.value === 'object' && operation.value !== null && !Array.isArray(operation.value)) {
      const entries = Object.entries(operation.value)
      const key = entries.find(([k]) => isExternalId(k))
      if (key !== undefined) {
        externalId = valueOf(op, key[1])
        const others = entries.filter(([k]) => !isExternalId(k))
        if (others.length > 0) rest.push({ ...operation, value: Object.fromEntries(others) })
        continue
      }
    }
    rest.push(operation)
  }
  return externalId === undefined ? { operations: rest } : { operations: rest, externalId }
}

const TYPED = new Set(['emails', 'phonenumbers', 'addresses'])

/**
 * `type` of emails, phoneNumbers and addresses is not case-exact (RFC 7643 §4.1.2 lists canonical values, and
 * §2.4 makes sub-attributes case-insensitive unless caseExact), so "Work" is "work". SCIMMY compares canonical
 * values case-sensitively; lower-casing before it sees them accepts what the RFC accepts.
 */
export function lowerCaseTypes<T> (body: T): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body
  const out: Record<string, unknown> = { ...(body as Record<string, unknown>) }
  for (const [k, v] of Object.entries(out)) {
    if (TYPED.has(k.toLowerCase()) && Array.isArray(v)) out[k] = v.map(lowerCaseEntryType)
  }
  return out as T
}

function lowerCaseEntryType (entry: unknown): unknown {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return entry
  return Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, k.toLowerCase() === 'type' && typeof v === 'string' ? v.toLowerCase() : v]))
}

/** lowerCaseTypes for the values of PATCH operations (a path on a typed attribute, or a path-less object). */
export function lowerCaseOperationTypes (operations: PatchOperation[]): PatchOperation[] {
  return operations.map((operation) => {
    if (operation.value === undefined) return operation
    const path = operation.path?.trim() ?? ''
    if (path === '') return { ...operation, value: lowerCaseTypes(operation.value) }
    const attr = path.replace(/^urn:.*:/i, '').split(/[[.]/)[0]?.toLowerCase() ?? ''
    if (!TYPED.has(attr)) return operation
    const value = Array.isArray(operation.value) ? operation.value.map(lowerCaseEntryType) : lowerCaseEntryType(operation.value)
    return { ...operation, value }
  })
}

/**
 * Rewrites value filters on emails, phoneNumbers and addresses that name entries by anything but their type
 * (`emails[value eq "a@b.c"].value`) into the type of the entries they match in `current` (the SCIM User as it is),
 * so that they can be planned like `emails[type eq "work"]`. scimforce evaluates them itself: SCIMMY 1.3.5 answers
 * 400 noTarget to `replace emails[value eq "x"].value` although the entry exists (noted for upstream in README).
 * A filter that matches nothing is noTarget for add and replace, and changes nothing for remove (RFC 7644 §3.5.2).
 */
export function resolveValueFilters (operations: PatchOperation[], current: Record<string, unknown>): PatchOperation[] {
  const out: PatchOperation[] = []
  for (const operation of operations) {
    const raw = operation.path?.trim() ?? ''
    if (raw === '') { out.push(operation); continue }
    const p = readPath(raw)
    if (p.schema !== 'core' || !TYPED.has(p.attr) || p.valueFilter === undefined || slotFilter(p.valueFilter) !== undefined) {
      out.push(operation)
      continue
    }
    const name = p.attr === 'phonenumbers' ? 'phoneNumbers' : p.attr
    const entries = (Array.isArray(current[name]) ? current[name] : []) as Array<Record<string, unknown>>
    const hits = entries.filter((e) => matches(p.valueFilter as FilterNode, entryLookup(e)))
    if (hits.length === 0) {
      if (operation.op.toLowerCase() === 'remove') continue
      throw new MappingError('noTarget', `No ${name} entry matches '${p.filter ?? ''}'`)
    }
    for (const hit of hits) {
      out.push({ ...operation, path: `${name}[type eq "${String(hit.type)}"]${p.sub !== undefined ? '.' + p.sub : ''}` })
    }
  }
  return out
}

function entryLookup (entry: Record<string, unknown>): Lookup {
  return (name) => {
    const key = Object.keys(entry).find((k) => k.toLowerCase() === name.attr.toLowerCase())
    const v = key === undefined ? undefined : entry[key]
    if (v === undefined || v === null) return undefined
    return typeof v === 'boolean' ? { type: 'boolean', values: [v] } : { type: 'string', values: [String(v)] }
  }
}
