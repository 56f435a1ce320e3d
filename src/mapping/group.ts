// Pure SCIM Group ⇄ Salesforce target mapping: which record a displayName stands for (configured mappings, else a
// public group), the way back from a record to its displayName, member lists and PATCH operations as membership
// changes, profile/role winners, and the SCIM Group a record becomes. No I/O.
import type { GroupMapping, GroupsConfig, GroupTargetKind, ScimClientConfig } from '../config/types.js'
import { CORE_GROUP_SCHEMA } from '../protocol/constants.js'
import type { FilterNode } from '../protocol/filter.js'
import { normalizeSalesforceId } from '../salesforce/ids.js'
import { MappingError } from './errors.js'
import { ADMIN_PERMISSIONS, privilegeOf } from './group-privilege.js'
import { readPatchPath } from './path.js'
import type { Membership } from '../store/store.js'

/** 'group' is the default target, a public group; the others are mapped by configuration. */
export type GroupKind = 'group' | GroupTargetKind

export interface TargetInfo {
  sobject: 'Group' | 'PermissionSet' | 'PermissionSetGroup' | 'Profile' | 'UserRole' | 'PackageLicense' | 'User'
  /** Key prefix of its Ids (docs/salesforce-behaviour.md#ids). */
  prefix: string
  /** The field a mapping names the record by (API name, or Name for profiles). */
  nameField: 'Name' | 'DeveloperName' | 'NamespacePrefix'
  /** Read whenever the record is looked at: enough to name it and to fill meta. */
  fields: readonly string[]
  /** Words for messages. */
  label: string
}

export const TARGETS: Readonly<Record<GroupKind, TargetInfo>> = {
  group: { sobject: 'Group', prefix: '00G', nameField: 'Name', fields: ['Id', 'Name', 'DeveloperName', 'Type', 'CreatedDate', 'LastModifiedDate'], label: 'public group' },
  // Type tells a regular permission set from the hidden ones profiles and permission set groups own (docs/salesforce-behaviour.md#group-objects). The
  // admin permissions travel with every read, so each request can refuse an admin-grade target (privilegeOf).
  // LicenseId: the permission set licence the set needs, granted with it (issue 13, scim/licence-keeper.ts).
  permissionSet: { sobject: 'PermissionSet', prefix: '0PS', nameField: 'Name', fields: ['Id', 'Name', 'Label', 'Type', 'LicenseId', 'CreatedDate', 'LastModifiedDate', ...ADMIN_PERMISSIONS], label: 'permission set' },
  permissionSetGroup: { sobject: 'PermissionSetGroup', prefix: '0PG', nameField: 'DeveloperName', fields: ['Id', 'DeveloperName', 'MasterLabel', 'CreatedDate', 'LastModifiedDate'], label: 'permission set group' },
  profile: { sobject: 'Profile', prefix: '00e', nameField: 'Name', fields: ['Id', 'Name', 'CreatedDate', 'LastModifiedDate', ...ADMIN_PERMISSIONS], label: 'profile' },
  // ParentRoleId: a role without a parent is the top of the hierarchy, which privilegeOf counts as admin-grade.
  role: { sobject: 'UserRole', prefix: '00E', nameField: 'DeveloperName', fields: ['Id', 'Name', 'DeveloperName', 'ParentRoleId', 'CreatedDate', 'LastModifiedDate'], label: 'role' },
  // A managed package's licence (issue 13): membership is a UserPackageLicense row (docs/salesforce-behaviour.md#licences).
  // A queue is a Group of Type Queue with GroupMember rows (docs/salesforce-behaviour.md#group-objects); its Ids share 00G with public
  // groups, so the record's Type tells them apart (scim/group-change.ts load).
  queue: { sobject: 'Group', prefix: '00G', nameField: 'DeveloperName', fields: ['Id', 'Name', 'DeveloperName', 'Type', 'CreatedDate', 'LastModifiedDate'], label: 'queue' },
  packageLicence: { sobject: 'PackageLicense', prefix: '050', nameField: 'NamespacePrefix', fields: ['Id', 'NamespacePrefix', 'Status', 'AllowedLicenses', 'UsedLicenses', 'CreatedDate', 'LastModifiedDate'], label: 'package licence' },
  // A feature licence (issue 13) is a UserPermissions* flag on User (KB 000387847): no record of its own, so the
  // group's id is the field's name (the "prefix" every such id starts with) and its record is made up from the
  // name (salesforce/groups.ts featureRecord); membership = the flag set on the user.
  featureLicence: { sobject: 'User', prefix: 'UserPermissions', nameField: 'Name', fields: ['Id', 'Name'], label: 'feature licence' },
}

export const GROUP_KINDS = Object.keys(TARGETS) as GroupKind[]

/** The User field a single-valued kind writes. */
export const USER_FIELD = { profile: 'ProfileId', role: 'UserRoleId' } as const
export type SingleValuedKind = keyof typeof USER_FIELD
export const isSingleValued = (kind: GroupKind): kind is SingleValuedKind => kind === 'profile' || kind === 'role'

export const DEFAULT_GROUPS_CONFIG: GroupsConfig = { defaultTarget: 'publicGroup', mappings: [] }

/** The kind of record an Id names, from its key prefix (case-sensitive: 00e is a Profile, 00E a UserRole). */
export function kindOfId (id: string): GroupKind | undefined {
  return GROUP_KINDS.find((k) => id.startsWith(TARGETS[k].prefix))
}

export const sameId = (a: string | null | undefined, b: string | null | undefined): boolean =>
  typeof a === 'string' && typeof b === 'string' && a.slice(0, 15) === b.slice(0, 15)

// ---------------------------------------------------------------------------------------------------------------
// displayName → target

export type Resolution =
  | { kind: 'group' }
  /** defaultTarget is 'none' and no mapping names this group. */
  | { kind: 'none' }
  | { kind: GroupTargetKind, mapping: GroupMapping, index: number, /** A record name or an Id. */ target: string, byId: boolean }

const ID_SHAPE = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/

function patternRegex (pattern: string): RegExp {
  const [before = '', after = ''] = pattern.split('*')
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`^${esc(before)}(.+)${esc(after)}$`, 'is')
}

const isPattern = (s: string): boolean => s.includes('*')

/** Is `target` an Id of this kind (rather than a name)? Names of these records never start with a key prefix. */
export function targetIsId (kind: GroupTargetKind, target: string): boolean {
  return ID_SHAPE.test(target) && target.startsWith(TARGETS[kind].prefix)
}

/** What a SCIM displayName stands for: the first mapping that matches it (case-insensitively), else the default. */
export function resolveDisplayName (config: GroupsConfig, displayName: string): Resolution {
  for (const [index, m] of config.mappings.entries()) {
    let target: string | undefined
    if (isPattern(m.displayName)) {
      const match = patternRegex(m.displayName).exec(displayName)
      if (match !== null) target = m.target.replace('*', match[1] as string)
    } else if (m.displayName.toLowerCase() === displayName.toLowerCase()) {
      target = m.target
    }
    if (target !== undefined) return { kind: m.kind, mapping: m, index, target, byId: targetIsId(m.kind, target) }
  }
  return config.defaultTarget === 'publicGroup' ? { kind: 'group' } : { kind: 'none' }
}

/**
 * The displayName a Salesforce record has as a SCIM group, or undefined when no mapping names it (then it is no
 * SCIM group). The inverse of resolveDisplayName; the caller checks the round trip (a record reachable under two
 * names answers to the first mapping's name only).
 */
export function displayNameOf (config: GroupsConfig, kind: GroupKind, record: Record<string, unknown>): string | undefined {
  const id = typeof record.Id === 'string' ? record.Id : ''
  const name = record[TARGETS[kind].nameField]
  if (kind === 'group') {
    // A public group whose name a mapping claims is not a SCIM group: that name means the mapped record.
    if (config.defaultTarget !== 'publicGroup' || typeof name !== 'string' || record.Type !== 'Regular') return undefined
    return resolveDisplayName(config, name).kind === 'group' ? name : undefined
  }
  // Hidden permission sets (profile-owned, group aggregates) are not assignable and never SCIM groups.
  if (kind === 'permissionSet' && record.Type !== undefined && record.Type !== 'Regular') return undefined
  for (const m of config.mappings) {
    if (m.kind !== kind) continue
    let shown: string | undefined
    if (!isPattern(m.target)) {
      if (targetIsId(kind, m.target) ? sameId(m.target, id) : (typeof name === 'string' && m.target.toLowerCase() === name.toLowerCase())) shown = m.displayName
    } else {
      const match = typeof name === 'string' ? patternRegex(m.target).exec(name) : null
      if (match !== null) shown = m.displayName.replace('*', match[1] as string)
    }
    if (shown === undefined) continue
    // An admin-grade record is no SCIM group unless its mapping allows it: not listed, not found by id, not
    // written (issue 11). The check sees the record as read for this very request, so a permission granted a
    // minute ago counts.
    return m.allowPrivileged !== true && privilegeOf(kind, record) !== undefined ? undefined : shown
  }
  return undefined
}

/** The mappings of one kind, for list queries: exact names, exact Ids and the name patterns (as LIKE parts). */
export function mappedTargetsOf (config: GroupsConfig, kind: GroupTargetKind): { names: string[], ids: string[], patterns: Array<[string, string]> } {
  const out = { names: [] as string[], ids: [] as string[], patterns: [] as Array<[string, string]> }
  for (const m of config.mappings) {
    if (m.kind !== kind) continue
    if (isPattern(m.target)) out.patterns.push(m.target.split('*') as [string, string])
    else if (targetIsId(kind, m.target)) out.ids.push(normalizeSalesforceId(m.target) ?? m.target)
    else out.names.push(m.target)
  }
  return out
}

/** Exact displayNames and displayName patterns that mappings claim: public groups with such a Name are not SCIM groups. */
export function claimedNames (config: GroupsConfig): { names: string[], patterns: Array<[string, string]> } {
  const names: string[] = []
  const patterns: Array<[string, string]> = []
  for (const m of config.mappings) {
    if (isPattern(m.displayName)) patterns.push(m.displayName.split('*') as [string, string])
    else names.push(m.displayName)
  }
  return { names, patterns }
}

// ---------------------------------------------------------------------------------------------------------------
// IdP quirks

/**
 * WSO2 IS prefixes names with the user-store domain (`PRIMARY/sales`, docs/idp-behaviour.md#wso2-sequences, wso2/product-is#21904).
 * WSO2 upper-cases domain names, so only an upper-case first segment is taken for one: `R&D/EMEA` stays as it is.
 */
export function stripUserStorePrefix (name: string): string {
  const m = /^[A-Z][A-Z0-9_-]*\/(.+)$/s.exec(name)
  return m === null ? name : m[1] as string
}

/** Whether a client's group names lose a user-store prefix: explicit setting, else on for merge-mode Basic clients (WSO2). */
export function stripsUserStorePrefix (client: Pick<ScimClientConfig, 'auth' | 'putMode' | 'stripUserStorePrefix'> | undefined): boolean {
  if (client === undefined) return false
  return client.stripUserStorePrefix ?? (client.auth.type === 'basic' && client.putMode === 'merge')
}

// ---------------------------------------------------------------------------------------------------------------
// Members

/** A member as the IdP names it: by id, or (WSO2 style) by its userName in `display` only. */
export interface MemberRef {
  /** 18-character Salesforce Id. */
  id?: string
  /** A userName, when no id was given. */
  userName?: string
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function findKey (obj: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name)
  return key === undefined ? undefined : obj[key]
}

/** One member object (`{value, display, type, $ref}`); a bare string is taken as a value (seen from some clients). */
export function parseMember (raw: unknown): MemberRef {
  const value = typeof raw === 'string' ? raw : isRecord(raw) ? findKey(raw, 'value') : undefined
  const display = isRecord(raw) ? findKey(raw, 'display') : undefined
  if (typeof value === 'string' && value.trim() !== '') {
    const id = normalizeSalesforceId(value.trim())
    if (id === undefined) throw new MappingError('invalidValue', `Member value '${value}' is not a Salesforce Id (members are users, by their SCIM id)`)
    return { id }
  }
  if (typeof display === 'string' && display.trim() !== '') return { userName: display.trim() }
  throw new MappingError('invalidValue', 'Each member needs a value (the user\'s SCIM id) or, at least, a display (the userName)')
}

export function parseMembers (raw: unknown): MemberRef[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) return [parseMember(raw)]
  return raw.map(parseMember)
}

export const memberKey = (m: MemberRef): string => m.id !== undefined ? `id:${m.id.slice(0, 15)}` : `name:${(m.userName ?? '').toLowerCase()}`

// ---------------------------------------------------------------------------------------------------------------
// PATCH → membership change

export interface PatchOperation { op: string, path?: string, value?: unknown }

/** What a PUT or PATCH asks for, translated without reading the group. */
export interface GroupChange {
  /** Set when the whole member list is replaced (PUT, replace members, remove members without value). */
  base?: MemberRef[]
  /** Adds and removes after `base`, in order; the last word on a member wins. */
  ops: Array<{ ref: MemberRef, add: boolean }>
  displayName?: string
  /** null removes it. */
  externalId?: string | null
}

/** `value eq "x"` or `value eq "x" or value eq "y"` inside `members[…]`: the member ids a remove names. */
function membersInFilter (filter: FilterNode, raw: string): MemberRef[] {
  if (filter.type === 'or') return filter.operands.flatMap((o) => membersInFilter(o, raw))
  if (filter.type !== 'compare' || filter.op !== 'eq' || filter.path.attr.toLowerCase() !== 'value' ||
    filter.path.urn !== undefined || filter.path.subAttr !== undefined || typeof filter.value !== 'string') {
    throw new MappingError('invalidFilter', `Unsupported member filter in '${raw}': use members[value eq "<id>"]`)
  }
  return [parseMember(filter.value)]
}

function applyAttributes (change: GroupChange, value: Record<string, unknown>, op: 'add' | 'replace'): void {
  for (const [key, v] of Object.entries(value)) {
    switch (key.toLowerCase()) {
      case 'displayname':
        if (typeof v !== 'string' || v.trim() === '') throw new MappingError('invalidValue', 'displayName must be a non-empty string')
        change.displayName = v
        break
      case 'externalid':
        if (v !== null && typeof v !== 'string') throw new MappingError('invalidValue', 'externalId must be a string')
        change.externalId = v === '' ? null : v
        break
      case 'members':
        if (op === 'replace') {
          change.base = parseMembers(v)
          change.ops = []
        } else {
          for (const ref of parseMembers(v)) change.ops.push({ ref, add: true })
        }
        break
      // id, schemas and meta are read-only (Okta's path-less replace carries the id): ignored, as RFC 7644 §3.5.2 allows.
      case 'id': case 'schemas': case 'meta':
        break
      default:
        throw new MappingError('invalidPath', `Unknown Group attribute '${key}'`)
    }
  }
}

/**
 * PATCH operations as one GroupChange, without the group's current members: an add or remove names the members
 * it touches, so a group of 5,000 is never read to add one (RFC 7644 §3.5.2; Entra's `Add`/`Remove` with value
 * arrays, Okta's `remove members[value eq "…"]` + `add`, WSO2's PATCH mode, path-less replace).
 */
export function planGroupPatch (operations: readonly PatchOperation[]): GroupChange {
  const change: GroupChange = { ops: [] }
  for (const operation of operations) {
    const op = String(operation.op).toLowerCase()
    if (op !== 'add' && op !== 'remove' && op !== 'replace') throw new MappingError('invalidSyntax', `Unknown PATCH op '${operation.op}'`)
    const { path, value } = operation
    if (path === undefined || path === null || path === '') {
      if (op === 'remove') throw new MappingError('noTarget', 'A remove operation needs a path')
      if (!isRecord(value)) throw new MappingError('invalidValue', `A ${op} operation without a path needs an object value`)
      applyAttributes(change, value, op)
      continue
    }
    const parsed = readPatchPath(path)
    if (parsed.urn !== undefined && parsed.urn.toLowerCase() !== CORE_GROUP_SCHEMA.toLowerCase()) throw new MappingError('invalidPath', `Invalid path '${path}'`)
    const attr = parsed.attr.toLowerCase()
    const filter = parsed.valueFilter
    const sub = parsed.subAttr?.toLowerCase()
    if (attr === 'members') {
      if (sub !== undefined && sub !== 'value') throw new MappingError('invalidPath', `Unsupported path '${path}': members can be added, removed or replaced as a whole`)
      if (filter !== undefined) {
        if (op !== 'remove') throw new MappingError('invalidPath', `'${op}' with a member filter is not supported: add or replace members with a value list`)
        for (const ref of membersInFilter(filter, path)) change.ops.push({ ref, add: false })
        continue
      }
      if (op === 'remove') {
        if (value === undefined || value === null) {
          change.base = []
          change.ops = []
        } else {
          for (const ref of parseMembers(value)) change.ops.push({ ref, add: false })
        }
      } else if (op === 'replace') {
        change.base = parseMembers(value)
        change.ops = []
      } else {
        if (value === undefined) throw new MappingError('invalidValue', 'An add operation needs a value')
        for (const ref of parseMembers(value)) change.ops.push({ ref, add: true })
      }
      continue
    }
    if (filter !== undefined || sub !== undefined) throw new MappingError('invalidPath', `Invalid path '${path}'`)
    if (attr === 'displayname') {
      if (op === 'remove') throw new MappingError('mutability', 'displayName is required and cannot be removed')
      applyAttributes(change, { displayName: value }, op)
    } else if (attr === 'externalid') {
      applyAttributes(change, { externalId: op === 'remove' ? null : value }, 'replace')
    } else if (attr === 'id' || attr === 'meta') {
      throw new MappingError('mutability', `Attribute '${attr}' is read-only`)
    } else {
      throw new MappingError('invalidPath', `Unknown Group attribute '${parsed.attr}'`)
    }
  }
  return change
}

/** A PUT body as a GroupChange: merge-mode clients (WSO2's partial PUT) keep what the body leaves out. */
export function planGroupPut (body: Record<string, unknown>, mode: 'merge' | 'replace'): GroupChange {
  const change: GroupChange = { ops: [] }
  const members = findKey(body, 'members')
  if (members !== undefined || mode === 'replace') change.base = parseMembers(members)
  const displayName = findKey(body, 'displayname')
  if (typeof displayName === 'string') change.displayName = displayName
  const externalId = findKey(body, 'externalid')
  if (typeof externalId === 'string' && externalId !== '') change.externalId = externalId
  else if (mode === 'replace') change.externalId = null
  return change
}

/** The members a change mentions (for the pre-read: only these are looked at, unless `base` replaces all). */
export function mentionedMembers (change: GroupChange): MemberRef[] {
  const seen = new Map<string, MemberRef>()
  for (const ref of [...(change.base ?? []), ...change.ops.map((o) => o.ref)]) seen.set(memberKey(ref), ref)
  return [...seen.values()]
}

/**
 * Whether each mentioned member ends up in the group, keyed by 18-character user id, once userNames are
 * resolved (`ids` maps memberKey → id; unresolvable names are left out by the caller first).
 */
export function desiredMembership (change: GroupChange, ids: ReadonlyMap<string, string>): { full: boolean, desired: Map<string, boolean> } {
  const desired = new Map<string, boolean>()
  const idOf = (ref: MemberRef): string | undefined => ref.id ?? ids.get(memberKey(ref))
  for (const ref of change.base ?? []) {
    const id = idOf(ref)
    if (id !== undefined) desired.set(id, true)
  }
  for (const { ref, add } of change.ops) {
    const id = idOf(ref)
    if (id !== undefined) desired.set(id, add)
  }
  return { full: change.base !== undefined, desired }
}

// ---------------------------------------------------------------------------------------------------------------
// Profile and role winners

/**
 * The target a user's claims of one kind elect: the highest configured priority, then the earlier mapping, then
 * the lower Id, so the answer never depends on the order the IdP sent things in.
 */
export function electWinner (config: GroupsConfig, claims: readonly Membership[], kind: SingleValuedKind): string | undefined {
  let best: { id: string, priority: number, index: number } | undefined
  for (const c of claims) {
    if (c.kind !== kind) continue
    const r = resolveDisplayName(config, c.displayName)
    // A claim whose mapping is gone from the configuration still counts, last.
    const priority = r.kind === kind ? r.mapping.priority : Number.NEGATIVE_INFINITY
    const index = r.kind === kind ? r.index : Number.MAX_SAFE_INTEGER
    const better = best === undefined || priority > best.priority ||
      (priority === best.priority && (index < best.index || (index === best.index && c.targetId < best.id)))
    if (better) best = { id: c.targetId, priority, index }
  }
  return best?.id
}

// ---------------------------------------------------------------------------------------------------------------
// Public group names

export { deriveDeveloperName, GROUP_NAME_MAX, salesforceGroupName, GROUP_DISPLAY_NAME_NS, keepFullName, isShortenedGroupName } from './group-names.js'

export interface ScimMember { value: string, display?: string, type?: 'User' | 'Group', $ref?: string }

export interface ScimGroup {
  schemas: string[]
  id: string
  displayName: string
  externalId?: string
  /** Undefined when not read (a PATCH answer, `excludedAttributes=members`). */
  members?: ScimMember[]
  meta: { resourceType: 'Group', created?: string, lastModified?: string }
}

/** Salesforce writes `2026-11-28T03:22:13.000+0000`; SCIM wants RFC 3339. */
function isoDate (sf: unknown): string | undefined {
  if (typeof sf !== 'string') return undefined
  const d = new Date(sf.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString()
}

/**
 * No meta.version: membership lives in other records (GroupMember, PermissionSetAssignment, User fields), so the
 * target's SystemModstamp does not move when members change and would make a false ETag.
 */
export function toScimGroup (record: Record<string, unknown>, displayName: string, opts: { externalId?: string | undefined, members?: ScimMember[] | undefined }): ScimGroup {
  const created = isoDate(record.CreatedDate)
  const lastModified = isoDate(record.LastModifiedDate)
  return {
    schemas: [CORE_GROUP_SCHEMA],
    id: String(record.Id),
    displayName,
    ...(opts.externalId !== undefined ? { externalId: opts.externalId } : {}),
    ...(opts.members !== undefined ? { members: opts.members } : {}),
    meta: { resourceType: 'Group', ...(created !== undefined ? { created } : {}), ...(lastModified !== undefined ? { lastModified } : {}) },
  }
}
