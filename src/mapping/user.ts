// Pure SCIM User ⇄ Salesforce User mapping: one table drives create, replace, patch, read-back and filters.
import type { ExtraAttributeMapping, UserDefaults } from '../config/types.js'
import { CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA } from '../protocol/constants.js'

export type ScimValue = string | boolean | number | null
export type SalesforceRecord = Record<string, unknown>
export type FieldKind = 'string' | 'boolean' | 'reference' | 'localeKey'

/** One SCIM leaf attribute stored in one Salesforce User field. */
export interface FieldMapping {
  /** Canonical SCIM path: `userName`, `name.givenName`, `emails[type eq "work"].value`, `<enterprise URN>:department`. */
  path: string
  field: string
  kind: FieldKind
  /** Salesforce refuses null here (required on User), so a replace that omits it leaves it alone. */
  required?: boolean
  /** Read-only on the SCIM side (computed by Salesforce). */
  readOnly?: boolean
  /**
   * A replace (PUT) that omits it leaves it alone: the field also serves Salesforce itself (FederationIdentifier is
   * the SAML SSO key), so an IdP's omission must not cost the user their login.
   */
  keepOnReplace?: boolean
}

/**
 * Multi-valued SCIM attributes are stored in fixed Salesforce fields: a User has one Email, a work Phone,
 * a MobilePhone, a Fax and one (work) address. Each slot is an entry of that attribute with a fixed type.
 */
export interface MultiSlot {
  attr: 'emails' | 'phoneNumbers' | 'addresses'
  type: string
  /** Sub-attribute → Salesforce field. */
  fields: Record<string, string>
  /** Takes entries that carry no type (only the first slot of an attribute should). */
  takesUntyped: boolean
  primary: boolean
}

const E = ENTERPRISE_USER_SCHEMA

export const SLOTS: MultiSlot[] = [
  { attr: 'emails', type: 'work', fields: { value: 'Email' }, takesUntyped: true, primary: true },
  { attr: 'phoneNumbers', type: 'work', fields: { value: 'Phone' }, takesUntyped: true, primary: false },
  { attr: 'phoneNumbers', type: 'mobile', fields: { value: 'MobilePhone' }, takesUntyped: false, primary: false },
  { attr: 'phoneNumbers', type: 'fax', fields: { value: 'Fax' }, takesUntyped: false, primary: false },
  {
    attr: 'addresses',
    type: 'work',
    fields: { streetAddress: 'Street', locality: 'City', region: 'State', postalCode: 'PostalCode', country: 'Country' },
    takesUntyped: true,
    primary: false,
  },
]

export const BASE_FIELDS: FieldMapping[] = [
  { path: 'userName', field: 'Username', kind: 'string', required: true },
  // externalId is not here: scimforce keeps it per IdP client (src/scim/user-external-ids.ts) unless the admin maps
  // it to a field (users.externalIdField, see createUserMapping).
  { path: 'name.givenName', field: 'FirstName', kind: 'string' },
  { path: 'name.familyName', field: 'LastName', kind: 'string', required: true },
  { path: 'name.formatted', field: 'Name', kind: 'string', readOnly: true },
  // Salesforce has no display name of its own: Name (first + last) is the closest and is computed.
  { path: 'displayName', field: 'Name', kind: 'string', readOnly: true },
  { path: 'nickName', field: 'CommunityNickname', kind: 'string', required: true },
  { path: 'title', field: 'Title', kind: 'string' },
  { path: 'userType', field: 'UserType', kind: 'string', readOnly: true },
  { path: 'locale', field: 'LocaleSidKey', kind: 'localeKey', required: true },
  { path: 'preferredLanguage', field: 'LanguageLocaleKey', kind: 'localeKey', required: true },
  { path: 'timezone', field: 'TimeZoneSidKey', kind: 'string', required: true },
  { path: 'active', field: 'IsActive', kind: 'boolean', required: true },
  { path: `${E}:employeeNumber`, field: 'EmployeeNumber', kind: 'string' },
  { path: `${E}:department`, field: 'Department', kind: 'string' },
  { path: `${E}:division`, field: 'Division', kind: 'string' },
  { path: `${E}:organization`, field: 'CompanyName', kind: 'string' },
  { path: `${E}:manager.value`, field: 'ManagerId', kind: 'reference' },
]

/** Fields read on every query so that a SCIM User can be built from the record. */
const SYSTEM_FIELDS = ['Id', 'Alias', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp']

export interface UserMappingOptions {
  defaults: UserDefaults
  usernameSuffix: string
  /** users.usernameDomain: appended (after `@`) to a userName that has no `@`; unset: never. */
  usernameDomain?: string | undefined
  extraMappings: ExtraAttributeMapping[]
  /**
   * The Salesforce User field that holds SCIM externalId, when an admin chose one (FederationIdentifier to make the
   * IdP's id the SSO key, or a custom field). Unset: scimforce keeps externalId itself, per IdP client.
   */
  externalIdField?: string | undefined
}

export interface UserMapping {
  readonly fields: FieldMapping[]
  /** The field mapped to externalId, or undefined when scimforce keeps externalId in its store. */
  readonly externalIdField: string | undefined
  readonly slots: MultiSlot[]
  /** Every Salesforce field a read needs, in a stable order. */
  readonly selectFields: string[]
  readonly usernameSuffix: string
  /** users.usernameDomain, or undefined. */
  readonly usernameDomain: string | undefined
  /** The Salesforce Username a SCIM userName is written as (the domain for a plain name, then the suffix). */
  toUsername (userName: string): string
  fromUsername (username: string): string
}

export function createUserMapping (opts: UserMappingOptions): UserMapping {
  const extra: FieldMapping[] = opts.extraMappings.map((m) => ({ path: canonicalExtraPath(m.scim), field: m.salesforce, kind: 'string' }))
  if (opts.externalIdField !== undefined) extra.push({ path: 'externalId', field: opts.externalIdField, kind: 'string', keepOnReplace: true })
  const fields = [...BASE_FIELDS.filter((f) => !extra.some((x) => x.path.toLowerCase() === f.path.toLowerCase())), ...extra]
  const select = new Set<string>(SYSTEM_FIELDS)
  for (const f of fields) select.add(f.field)
  for (const s of SLOTS) for (const field of Object.values(s.fields)) select.add(field)
  const suffix = opts.usernameSuffix
  const domain = opts.usernameDomain
  // A plain name (no `@`) gets the domain; an email-shaped one is the admin's or the IdP's own and stays as sent.
  const qualified = (userName: string): string => domain !== undefined && domain !== '' && !userName.includes('@') ? `${userName}@${domain}` : userName
  return {
    fields,
    externalIdField: opts.externalIdField,
    slots: SLOTS,
    selectFields: [...select],
    usernameSuffix: suffix,
    usernameDomain: domain,
    toUsername: (userName) => {
      const name = qualified(userName)
      return suffix !== '' && !name.toLowerCase().endsWith(suffix.toLowerCase()) ? name + suffix : name
    },
    fromUsername: (username) => suffix !== '' && username.toLowerCase().endsWith(suffix.toLowerCase()) ? username.slice(0, -suffix.length) : username,
  }
}

function canonicalExtraPath (path: string): string {
  return path.trim()
}

// ---------------------------------------------------------------------------------------------------------------
// Salesforce → SCIM

export interface ScimUser {
  schemas: string[]
  id: string
  userName: string
  meta: { resourceType: 'User', created?: string, lastModified?: string, version?: string }
  [key: string]: unknown
}

/** Builds the SCIM User for a Salesforce User record (as returned by a query or a composite GET). */
export function toScimUser (mapping: UserMapping, record: SalesforceRecord): ScimUser {
  const out: Record<string, unknown> = {}
  for (const f of mapping.fields) {
    let v = record[f.field]
    if (v === null || v === undefined || v === '') continue
    if (f.field === 'Username' && typeof v === 'string') v = mapping.fromUsername(v)
    if (f.kind === 'localeKey' && typeof v === 'string') v = v.replace('_', '-')
    setPath(out, f.path, f.path.endsWith('manager.value') ? String(v) : v)
  }
  for (const s of mapping.slots) {
    const entry: Record<string, unknown> = {}
    for (const [sub, field] of Object.entries(s.fields)) {
      const v = record[field]
      if (v !== null && v !== undefined && v !== '') entry[sub] = v
    }
    if (Object.keys(entry).length === 0) continue
    entry.type = s.type
    if (s.primary) entry.primary = true
    const list = (out[s.attr] as unknown[] | undefined) ?? []
    list.push(entry)
    out[s.attr] = list
  }
  const schemas = [CORE_USER_SCHEMA]
  if (out[E] !== undefined) schemas.push(E)
  const modstamp = record.SystemModstamp
  return {
    ...out,
    schemas,
    id: String(record.Id),
    userName: String(out.userName ?? ''),
    meta: {
      resourceType: 'User',
      ...(typeof record.CreatedDate === 'string' ? { created: toIsoDate(record.CreatedDate) } : {}),
      ...(typeof record.LastModifiedDate === 'string' ? { lastModified: toIsoDate(record.LastModifiedDate) } : {}),
      ...(typeof modstamp === 'string' ? { version: versionOf(modstamp) } : {}),
    },
  }
}

/** Salesforce writes `2026-11-28T03:22:13.000+0000`; SCIM wants RFC 3339. */
export function toIsoDate (sf: string): string {
  const d = new Date(sf.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
  return Number.isNaN(d.getTime()) ? sf : d.toISOString()
}

/** A weak ETag derived from SystemModstamp, which Salesforce bumps on every change of the record. */
export function versionOf (systemModstamp: string): string {
  const d = new Date(systemModstamp.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
  return `W/"${Number.isNaN(d.getTime()) ? systemModstamp : d.getTime().toString(36)}"`
}

function setPath (target: Record<string, unknown>, path: string, value: unknown): void {
  const { ext, rest } = splitUrn(path)
  let obj = target
  if (ext !== undefined) {
    obj = (target[ext] as Record<string, unknown> | undefined) ?? {}
    target[ext] = obj
  }
  const parts = rest.split('.')
  for (let i = 0; i < parts.length - 1; i++) {
    const key = parts[i] as string
    const next = (obj[key] as Record<string, unknown> | undefined) ?? {}
    obj[key] = next
    obj = next
  }
  obj[parts[parts.length - 1] as string] = value
}

/** `urn:...:User:manager.value` → { ext: 'urn:...:User', rest: 'manager.value' }. */
export function splitUrn (path: string): { ext: string | undefined, rest: string } {
  if (!path.toLowerCase().startsWith('urn:')) return { ext: undefined, rest: path }
  const idx = path.lastIndexOf(':')
  return { ext: path.slice(0, idx), rest: path.slice(idx + 1) }
}

// ---------------------------------------------------------------------------------------------------------------
// SCIM → Salesforce

/** Salesforce field → value (null clears). */
export type FieldChanges = Record<string, ScimValue>

/**
 * Reads a SCIM User (already validated and canonicalised by SCIMMY) into the Salesforce fields it maps.
 * Only attributes present in the resource appear in the result.
 */
export function scimToFields (mapping: UserMapping, user: Record<string, unknown>): FieldChanges {
  const out: FieldChanges = {}
  for (const f of mapping.fields) {
    if (f.readOnly === true) continue
    const v = getPath(user, f.path)
    if (v === undefined) continue
    const converted = convertIn(mapping, f, v)
    if (converted !== undefined) out[f.field] = converted
  }
  for (const attr of ['emails', 'phoneNumbers', 'addresses'] as const) {
    const list = user[attr]
    if (!Array.isArray(list)) continue
    Object.assign(out, slotsFromList(mapping, attr, list as unknown[]))
  }
  return out
}

/**
 * Assigns the entries of a multi-valued attribute to its Salesforce slots. An entry goes to the slot of its
 * type; an untyped entry to the slot that takes untyped ones. A Salesforce User has one Email: the primary entry
 * (whatever its type: the IdP's main address), else the work one, else an untyped one. Other emails (home, other)
 * have no field and are ignored, never written over the work address (an `add` appends: RFC 7644 §3.5.2.1).
 */
export function slotsFromList (mapping: UserMapping, attr: MultiSlot['attr'], list: unknown[]): FieldChanges {
  const out: FieldChanges = {}
  const slots = mapping.slots.filter((s) => s.attr === attr)
  const entries = list.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
  const typeOf = (e: Record<string, unknown>): string | undefined => typeof e.type === 'string' ? e.type.toLowerCase() : undefined
  const rank = (e: Record<string, unknown>): number => e.primary === true ? 0 : typeOf(e) === 'work' ? 1 : typeOf(e) === undefined ? 2 : 3
  const ordered = attr === 'emails' ? [...entries].sort((a, b) => rank(a) - rank(b)) : entries
  const filled = new Set<MultiSlot>()
  for (const entry of ordered) {
    const type = typeOf(entry)
    const slot = slots.find((s) => !filled.has(s) && (type === s.type || (type === undefined && s.takesUntyped) || (attr === 'emails' && s.takesUntyped && entry.primary === true)))
    if (slot === undefined) continue
    filled.add(slot)
    for (const [sub, field] of Object.entries(slot.fields)) {
      const v = entry[sub]
      if (v === undefined) continue
      out[field] = v === null ? null : String(v)
    }
  }
  return out
}

/**
 * Languages a Salesforce user can have (LanguageLocaleKey): the fully supported and end-user languages of
 * Salesforce's "Supported Languages" help page. Most are bare language codes ('de', not 'de_DE'), and Hebrew and
 * Indonesian keep Java's legacy codes ('iw', 'in').
 */
const SALESFORCE_LANGUAGES = new Set([
  'zh_CN', 'zh_TW', 'da', 'nl_NL', 'en_US', 'fi', 'fr', 'de', 'it', 'ja', 'ko', 'no', 'pt_BR', 'ru', 'es', 'es_MX',
  'sv', 'th', 'ar', 'bg', 'hr', 'cs', 'en_GB', 'el', 'iw', 'hu', 'in', 'pl', 'pt_PT', 'ro', 'sk', 'sl', 'tr', 'uk', 'vi',
])
const LEGACY_LANGUAGE: Record<string, string> = { he: 'iw', id: 'in', nb: 'no', nn: 'no' }

/**
 * An IdP's BCP 47 tag (`de-DE`, `fr`, `pt-BR`) as a Salesforce language key: the exact `xx_YY` when Salesforce
 * has it, else the bare language. Undefined when Salesforce offers no such language: the user then keeps the
 * configured default (or their current language) instead of failing to be provisioned over a preference.
 */
export function toLanguageKey (tag: string): string | undefined {
  const [lang = '', region] = tag.trim().replace('_', '-').split('-')
  const base = LEGACY_LANGUAGE[lang.toLowerCase()] ?? lang.toLowerCase()
  const full = region !== undefined ? `${base}_${region.toUpperCase()}` : base
  if (SALESFORCE_LANGUAGES.has(full)) return full
  if (SALESFORCE_LANGUAGES.has(base)) return base
  if (base === 'en') return 'en_US'
  return undefined
}

function convertIn (mapping: UserMapping, f: FieldMapping, v: unknown): ScimValue | undefined {
  if (v === null) return null
  if (f.kind === 'boolean') return Boolean(v)
  if (f.field === 'LanguageLocaleKey') return toLanguageKey(String(v))
  if (f.kind === 'localeKey') return String(v).replace('-', '_')
  if (f.field === 'Username') return mapping.toUsername(String(v))
  return typeof v === 'object' ? JSON.stringify(v) : String(v) as ScimValue
}

export function getPath (obj: Record<string, unknown>, path: string): unknown {
  const { ext, rest } = splitUrn(path)
  let cur: unknown = ext === undefined ? obj : obj[ext]
  for (const part of rest.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[part]
  }
  return cur
}

/** The Salesforce fields a full replace (PUT in replace mode) clears when the body omits them. */
export function clearableFields (mapping: UserMapping): string[] {
  const fields = mapping.fields.filter((f) => f.readOnly !== true && f.required !== true && f.keepOnReplace !== true).map((f) => f.field)
  for (const s of mapping.slots) {
    for (const field of Object.values(s.fields)) if (field !== 'Email') fields.push(field)
  }
  return [...new Set(fields)]
}

// ---------------------------------------------------------------------------------------------------------------
// Create

/** Letters and digits only, as Alias and nicknames derived from names should look. */
function slug (s: string): string {
  return s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z0-9]/g, '')
}

/**
 * Salesforce's UI derives Alias from the first initial and the start of the last name; Alias is at most 8
 * characters (docs/salesforce-behaviour.md#user-fields) and need not be unique.
 */
export function deriveAlias (givenName: string | undefined, familyName: string | undefined, userName: string): string {
  const fromName = slug((givenName ?? '').slice(0, 1) + (familyName ?? ''))
  const base = fromName !== '' ? fromName : slug(userName.split('@')[0] ?? '')
  return (base !== '' ? base : 'user').slice(0, 8).toLowerCase()
}

/** CommunityNickname must be unique in the org (40 characters); `attempt` > 0 adds a suffix after a clash. */
export function deriveNickname (userName: string, attempt: number, given?: string): string {
  const base = (given ?? userName.split('@')[0] ?? 'user').slice(0, 40)
  if (attempt === 0) return base
  const suffix = `.${Math.floor(1000 + Math.random() * 9000)}${attempt > 1 ? attempt : ''}`
  return base.slice(0, 40 - suffix.length) + suffix
}

/**
 * The full record for `POST sobjects/User`: the configured defaults, then everything the SCIM User maps,
 * then the derived fields Salesforce requires (Alias, CommunityNickname, Email from userName).
 */
export function buildCreateRecord (mapping: UserMapping, defaults: UserDefaults, user: Record<string, unknown>, nicknameAttempt = 0): FieldChanges {
  const mapped = scimToFields(mapping, user)
  const rec: FieldChanges = { ...defaults, ...dropNulls(mapped) }
  const userName = String(user.userName ?? '')
  const name = (user.name ?? {}) as Record<string, unknown>
  rec.Alias ??= deriveAlias(asString(name.givenName), asString(name.familyName), userName)
  rec.CommunityNickname = deriveNickname(userName, nicknameAttempt, asString(mapped.CommunityNickname))
  // A SCIM User needs no email, a Salesforce User does: userNames are email-shaped in Salesforce, so the
  // userName is the natural fallback (it is what WSO2's own connector maps to Email as well).
  if (rec.Email === undefined && userName.includes('@')) rec.Email = userName
  if (rec.IsActive === undefined) rec.IsActive = true
  return rec
}

function dropNulls (c: FieldChanges): FieldChanges {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== null))
}

function asString (v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}
