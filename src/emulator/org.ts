// The emulated org's in-memory state: typed records, the generic save pipeline and all-or-none transactions.

import { confirmEmail, pendingEmail } from './email.js'
import { SalesforceError, notFound } from './errors.js'
import { IdGenerator, KEY_PREFIXES, normalizeId, sobjectOfId, looksLikeId } from './ids.js'
import { defaultOrgSettings, type OrgSettings } from './licences.js'
import { RULES, isEmail } from './rules.js'
import { fieldDef, objectDef, type FieldDef, type FieldValue, type ObjectDef, type SRecord } from './schema.js'
import { executeSoql, type QueryRecord } from './soql.js'
import { formatDateTime, parseDateTime } from './time.js'

export interface WriteContext {
  /** The user the write runs as (CreatedById / LastModifiedById). Defaults to the integration user. */
  actorId?: string
}

type UndoEntry =
  | { kind: 'row', table: string, id: string, prev: SRecord | undefined }
  | { kind: 'deleted', id: string, had: boolean }

/** Secondary indexes the rules and OAuth use, so a large org (benchmarks) keeps writes O(1). */
interface IndexSpec { sobject: string, key: (r: SRecord) => string | undefined }

const INDEXES = {
  'User.username': { sobject: 'User', key: r => typeof r.Username === 'string' ? r.Username.toLowerCase() : undefined },
  'User.nickname': { sobject: 'User', key: r => typeof r.CommunityNickname === 'string' ? r.CommunityNickname.toLowerCase() : undefined },
  'User.federationId': { sobject: 'User', key: r => typeof r.FederationIdentifier === 'string' ? r.FederationIdentifier : undefined },
  'User.activeByProfile': { sobject: 'User', key: r => r.IsActive === true && typeof r.ProfileId === 'string' ? r.ProfileId : undefined },
  'Group.developerName': { sobject: 'Group', key: r => typeof r.DeveloperName === 'string' ? `${String(r.Type)}|${r.DeveloperName.toLowerCase()}` : undefined },
  'UserLogin.user': { sobject: 'UserLogin', key: r => typeof r.UserId === 'string' ? r.UserId : undefined },
  'GroupMember.pair': { sobject: 'GroupMember', key: r => `${String(r.GroupId)}|${String(r.UserOrGroupId)}` },
  'PermissionSetAssignment.pair': { sobject: 'PermissionSetAssignment', key: r => `${String(r.AssigneeId)}|${String(r.PermissionSetId)}` },
} satisfies Record<string, IndexSpec>

export type IndexName = keyof typeof INDEXES

const EMPTY: ReadonlySet<string> = new Set()

export interface OrgOptions {
  foreignUsernames?: string[]
  now?: () => number
}

/** A field value as a JSON body carries it; in-process writes go through the same coercion as REST ones. */
type InputValue = unknown

export class Org {
  readonly ids = new IdGenerator()
  readonly orgId: string
  /** Usernames "taken in another org": Salesforce usernames are global (docs/salesforce-behaviour.md#user-fields). */
  readonly foreignUsernames: Set<string>
  /** The run-as user of writes that name no actor; set by the seed to the integration user. */
  defaultActorId = ''
  now: () => number
  /** Setup settings that name users (deactivation blockers) and feature licence totals; see licences.ts. */
  readonly settings: OrgSettings = defaultOrgSettings()
  /** Called when a user can no longer hold sessions (deactivated or frozen). */
  onUserBlocked: (userId: string) => void = () => {}
  /** Email change verification (email.ts): a changed User.Email waits for confirmEmail(). On by default, as in a real org (help article 000385115). */
  emailVerification = true

  private readonly tables = new Map<string, Map<string, SRecord>>()
  private readonly deletedIds = new Set<string>()
  private readonly undoStack: UndoEntry[][] = []
  private readonly indexes = new Map<string, Map<string, Set<string>>>(Object.keys(INDEXES).map(name => [name, new Map()]))

  constructor (opts: OrgOptions = {}) {
    this.now = opts.now ?? Date.now
    this.foreignUsernames = new Set((opts.foreignUsernames ?? []).map(u => u.toLowerCase()))
    this.orgId = this.ids.next(KEY_PREFIXES.Organization)
  }

  // ---- reads ---------------------------------------------------------------------------------------------

  /** A copy of the record (computed fields filled in), or undefined. Accepts 15- or 18-character Ids. */
  get (sobject: string, id: string): SRecord | undefined {
    const def = this.def(sobject)
    const id18 = normalizeId(id)
    if (id18 === undefined) return undefined
    const rec = this.table(def.name).get(id18)
    return rec === undefined ? undefined : this.materialize(def.name, rec)
  }

  /** Looks a record up by Id alone (the key prefix says its type). */
  getById (id: string): { sobject: string, record: SRecord } | undefined {
    const id18 = normalizeId(id)
    if (id18 === undefined) return undefined
    const sobject = sobjectOfId(id18)
    if (sobject === undefined) return undefined
    const rec = this.tables.get(sobject)?.get(id18)
    return rec === undefined ? undefined : { sobject, record: this.materialize(sobject, rec) }
  }

  /** Every record of a type, computed fields filled in, in insertion (Id) order. */
  rows (sobject: string): SRecord[] {
    const name = this.def(sobject).name
    return [...this.table(name).values()].map(r => this.materialize(name, r))
  }

  /** Raw stored rows without copies; for rules that scan many records. */
  scan (sobject: string): IterableIterator<SRecord> {
    return this.table(this.def(sobject).name).values()
  }

  count (sobject: string): number {
    return this.table(this.def(sobject).name).size
  }

  /** Ids of the records whose index key equals `key` (see INDEXES). */
  lookup (index: IndexName, key: string): ReadonlySet<string> {
    return this.indexes.get(index)?.get(key) ?? EMPTY
  }

  /**
   * The stored record of an Id without copying (computed fields filled in when the type has any); for the
   * SOQL engine, which reads many records per query.
   */
  peek (sobject: string, id: string): SRecord | undefined {
    const rec = this.tables.get(sobject)?.get(id)
    if (rec === undefined || RULES[sobject]?.computed === undefined) return rec
    return this.materialize(sobject, rec)
  }

  /** Every record of a type without copies unless the type has computed fields. */
  readRows (sobject: string): SRecord[] {
    const name = this.def(sobject).name
    const rows = [...this.table(name).values()]
    return RULES[name]?.computed === undefined ? rows : rows.map(r => this.materialize(name, r))
  }

  wasDeleted (id18: string): boolean {
    return this.deletedIds.has(id18)
  }

  /** Runs SOQL against the state without API accounting; returns every matching record (no batching). */
  query (soql: string): QueryRecord[] {
    return executeSoql(this, soql, { version: '62.0' }).records
  }

  /** The address a user still has to confirm (emailVerification), or undefined. */
  pendingEmail (userId: string): string | undefined {
    return pendingEmail(this, userId)
  }

  /** The user clicks the verification link: returns the new Email, or undefined (nothing pending, or expired). */
  confirmEmail (userId: string): string | undefined {
    return confirmEmail(this, userId)
  }

  // ---- writes (the same validation as the REST API) ------------------------------------------------------

  insert (sobject: string, input: Record<string, InputValue>, ctx: WriteContext = {}): string {
    const def = this.def(sobject)
    if (!def.createable) {
      throw new SalesforceError('INVALID_TYPE_FOR_OPERATION', `entity type cannot be inserted: ${def.label}`)
    }
    return this.transaction(() => {
      const values = this.coerce(def, input, 'create')
      const rec: SRecord = {}
      for (const field of def.fields) {
        if (field.name === 'Id') continue
        rec[field.name] = field.defaultValue ?? (field.type === 'boolean' ? false : null)
      }
      Object.assign(rec, values)
      const rules = RULES[def.name]
      rules?.prepare?.(this, rec, undefined)
      this.validateGeneric(def, rec, undefined)
      const existing = rules?.validate?.(this, rec, undefined, ctx)
      if (existing !== undefined) return existing
      const id = this.store(def, rec, ctx)
      rules?.afterInsert?.(this, this.raw(def.name, id), ctx)
      return id
    })
  }

  update (sobject: string, id: string, input: Record<string, InputValue>, ctx: WriteContext = {}): void {
    const def = this.def(sobject)
    if (!def.updateable) {
      throw new SalesforceError('INVALID_TYPE_FOR_OPERATION', `entity type cannot be updated: ${def.label}`)
    }
    this.transaction(() => {
      const old = this.mustFind(def, id)
      const values = this.coerce(def, input, 'update')
      const rec: SRecord = { ...old, ...values }
      const rules = RULES[def.name]
      rules?.prepare?.(this, rec, old)
      this.validateGeneric(def, rec, old)
      rules?.validate?.(this, rec, old, ctx)
      this.touch(def, rec, ctx)
      this.put(def.name, rec)
      rules?.afterUpdate?.(this, old, rec, ctx)
    })
  }

  delete (sobject: string, id: string, ctx: WriteContext = {}): void {
    const def = this.def(sobject)
    if (!def.deletable) {
      throw new SalesforceError('INVALID_TYPE_FOR_OPERATION', `entity type cannot be deleted: ${def.label}`)
    }
    this.transaction(() => {
      const rec = this.mustFind(def, id)
      const rules = RULES[def.name]
      rules?.beforeDelete?.(this, rec, ctx)
      this.systemDelete(def.name, rec.Id as string)
      rules?.afterDelete?.(this, rec, ctx)
    })
  }

  /**
   * Runs fn atomically: if it throws, every change it made is undone. Nests: an inner failure that the caller
   * catches undoes only the inner changes. Composite allOrNone and every single write use it.
   */
  transaction<T> (fn: () => T): T {
    this.undoStack.push([])
    let result: T
    try {
      result = fn()
    } catch (err) {
      this.rollback(this.undoStack.pop() ?? [])
      throw err
    }
    const done = this.undoStack.pop() ?? []
    const parent = this.undoStack.at(-1)
    if (parent !== undefined) parent.push(...done)
    return result
  }

  // ---- helpers for rules (no field-level security, no createable checks) ---------------------------------

  /** Stores a record the platform creates itself (UserLogin rows, profile-owned assignments ...). */
  systemInsert (sobject: string, values: SRecord, ctx: WriteContext = {}): string {
    const def = this.def(sobject)
    const rec: SRecord = {}
    for (const field of def.fields) {
      if (field.name === 'Id') continue
      rec[field.name] = field.defaultValue ?? (field.type === 'boolean' ? false : null)
    }
    Object.assign(rec, values)
    return this.store(def, rec, ctx)
  }

  systemUpdate (sobject: string, id: string, changes: SRecord, ctx: WriteContext = {}): void {
    const def = this.def(sobject)
    const old = this.raw(def.name, id)
    const rec = { ...old, ...changes }
    this.touch(def, rec, ctx)
    this.put(def.name, rec)
  }

  systemDelete (sobject: string, id: string): void {
    const name = this.def(sobject).name
    const prev = this.table(name).get(id)
    if (prev === undefined) return
    this.log({ kind: 'row', table: name, id, prev })
    this.setRow(name, id, undefined)
    this.log({ kind: 'deleted', id, had: this.deletedIds.has(id) })
    this.deletedIds.add(id)
  }

  /** The stored record (no copy); throws when absent. */
  raw (sobject: string, id: string): SRecord {
    const rec = this.table(sobject).get(id)
    if (rec === undefined) throw new Error(`emulator: no ${sobject} ${id}`)
    return rec
  }

  find (sobject: string, pred: (r: SRecord) => boolean): SRecord | undefined {
    for (const r of this.scan(sobject)) if (pred(r)) return r
    return undefined
  }

  filter (sobject: string, pred: (r: SRecord) => boolean): SRecord[] {
    const out: SRecord[] = []
    for (const r of this.scan(sobject)) if (pred(r)) out.push(r)
    return out
  }

  def (sobject: string): ObjectDef {
    const def = objectDef(sobject)
    if (def === undefined) throw notFound()
    return def
  }

  // ---- internals -----------------------------------------------------------------------------------------

  private table (name: string): Map<string, SRecord> {
    let t = this.tables.get(name)
    if (t === undefined) {
      t = new Map()
      this.tables.set(name, t)
    }
    return t
  }

  private materialize (sobject: string, rec: SRecord): SRecord {
    const out = { ...rec }
    RULES[sobject]?.computed?.(this, out)
    return out
  }

  /** Finds the record an Id names, or throws what Salesforce answers for a bad, foreign or deleted Id. */
  mustFind (def: ObjectDef, id: string): SRecord {
    const id18 = normalizeId(id)
    if (id18 === undefined) {
      if (looksLikeId(id)) throw new SalesforceError('MALFORMED_ID', `malformed id ${id}`, { fields: [] })
      throw notFound(`Provided external ID field does not exist or is not accessible: ${id}`)
    }
    const rec = this.table(def.name).get(id18)
    if (rec !== undefined) return rec
    if (this.deletedIds.has(id18)) {
      // Assumption (docs/salesforce-behaviour.md#sobject-crud, UNVERIFIED status): a deleted record answers 404 ENTITY_IS_DELETED.
      throw new SalesforceError('ENTITY_IS_DELETED', 'entity is deleted', { fields: [], status: 404 })
    }
    throw notFound()
  }

  private store (def: ObjectDef, rec: SRecord, ctx: WriteContext): string {
    const id = typeof rec.Id === 'string' ? rec.Id : this.ids.next(def.keyPrefix)
    rec.Id = id
    const now = formatDateTime(this.now())
    const actor = ctx.actorId ?? this.defaultActorId
    if (def.byLowerName.has('createddate')) rec.CreatedDate = now
    if (def.byLowerName.has('createdbyid')) rec.CreatedById = actor !== '' ? actor : id
    this.touch(def, rec, ctx)
    if (def.byLowerName.has('lastmodifiedbyid') && rec.LastModifiedById === '') rec.LastModifiedById = id
    this.put(def.name, rec)
    return id
  }

  private touch (def: ObjectDef, rec: SRecord, ctx: WriteContext): void {
    const now = formatDateTime(this.now())
    if (def.byLowerName.has('lastmodifieddate')) rec.LastModifiedDate = now
    if (def.byLowerName.has('lastmodifiedbyid')) rec.LastModifiedById = ctx.actorId ?? this.defaultActorId
    if (def.byLowerName.has('systemmodstamp')) rec.SystemModstamp = now
  }

  private put (name: string, rec: SRecord): void {
    const id = rec.Id as string
    this.log({ kind: 'row', table: name, id, prev: this.table(name).get(id) })
    // Stored records are never mutated in place, so an undo entry can keep the previous object as is.
    this.setRow(name, id, Object.freeze({ ...rec }) as SRecord)
  }

  /** The one place rows change, so the secondary indexes stay in step (rollback included). */
  private setRow (name: string, id: string, rec: SRecord | undefined): void {
    const table = this.table(name)
    const prev = table.get(id)
    for (const [indexName, spec] of Object.entries(INDEXES) as Array<[string, IndexSpec]>) {
      if (spec.sobject !== name) continue
      const index = this.indexes.get(indexName) as Map<string, Set<string>>
      const oldKey = prev === undefined ? undefined : spec.key(prev)
      const newKey = rec === undefined ? undefined : spec.key(rec)
      if (oldKey === newKey) continue
      if (oldKey !== undefined) {
        const ids = index.get(oldKey)
        ids?.delete(id)
        if (ids?.size === 0) index.delete(oldKey)
      }
      if (newKey !== undefined) {
        let ids = index.get(newKey)
        if (ids === undefined) {
          ids = new Set()
          index.set(newKey, ids)
        }
        ids.add(id)
      }
    }
    if (rec === undefined) table.delete(id)
    else table.set(id, rec)
  }

  private log (entry: UndoEntry): void {
    this.undoStack.at(-1)?.push(entry)
  }

  private rollback (entries: UndoEntry[]): void {
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]
      if (e === undefined) continue
      if (e.kind === 'row') {
        this.setRow(e.table, e.id, e.prev)
      } else if (!e.had) {
        this.deletedIds.delete(e.id)
      }
    }
  }

  /** Maps body keys to fields (case-insensitively) and values to their types; rejects unknown and read-only fields. */
  private coerce (def: ObjectDef, input: Record<string, InputValue>, op: 'create' | 'update'): SRecord {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new SalesforceError('JSON_PARSER_ERROR', 'The request body must be a JSON object')
    }
    const out: SRecord = {}
    const readOnly: string[] = []
    for (const [key, value] of Object.entries(input)) {
      if (key === 'attributes') continue
      const field = fieldDef(def, key)
      if (field === undefined) {
        throw new SalesforceError('INVALID_FIELD', `No such column '${key}' on sobject of type ${def.name}`)
      }
      if (field.name === 'Id') {
        if (op === 'create') {
          throw new SalesforceError('INVALID_FIELD_FOR_INSERT_UPDATE', 'Id: cannot specify Id in an insert call', { fields: ['Id'] })
        }
        continue // the REST layer compares it with the path Id
      }
      if (op === 'create' ? !field.createable : !field.updateable) {
        readOnly.push(field.name)
        continue
      }
      out[field.name] = coerceValue(field, value)
    }
    if (readOnly.length > 0) {
      throw new SalesforceError('INVALID_FIELD_FOR_INSERT_UPDATE',
        `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
        { fields: readOnly })
    }
    return out
  }

  /**
   * Field-level checks in a fixed order: required, length, email, restricted picklist, reference existence.
   * Assumption (docs/salesforce-behaviour.md#user-fields, #error-catalog): Salesforce reports one error per save; the order between kinds is
   * not documented, this one reports the most basic problem first.
   */
  private validateGeneric (def: ObjectDef, rec: SRecord, old: SRecord | undefined): void {
    const changed = (name: string): boolean => old === undefined || old[name] !== rec[name]
    const missing = def.required.filter(name => rec[name] === null || rec[name] === undefined)
    if (missing.length > 0) {
      throw new SalesforceError('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, { fields: missing })
    }
    for (const field of def.fields) {
      const v = rec[field.name]
      if (typeof v !== 'string' || !changed(field.name) || field.length === 0) continue
      if (isText(field) && v.length > field.length) {
        throw new SalesforceError('STRING_TOO_LONG', `${field.label}: data value too large: ${v} (max length=${field.length})`, { fields: [field.name] })
      }
    }
    for (const field of def.fields) {
      const v = rec[field.name]
      if (field.type === 'email' && typeof v === 'string' && changed(field.name) && !isEmail(v)) {
        throw new SalesforceError('INVALID_EMAIL_ADDRESS', `${field.label}: invalid email address: ${v}`, { fields: [field.name] })
      }
    }
    for (const field of def.fields) {
      const v = rec[field.name]
      if (field.picklist?.restricted !== true || !changed(field.name) || !field.createable) continue
      if (v === null) continue // a required picklist that is null was reported above
      if (!field.picklist.values.some(p => p.value === v)) {
        throw new SalesforceError('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `${field.label}: bad value for restricted picklist field: ${String(v)}`, { fields: [field.name] })
      }
    }
    for (const field of def.fields) {
      const v = rec[field.name]
      if (field.type !== 'reference' || typeof v !== 'string' || !changed(field.name) || !(field.createable || field.updateable)) continue
      if (this.getById(v) === undefined) {
        // Salesforce's text for a well-formed Id that names nothing (docs/salesforce-behaviour.md#error-catalog); it lists no field.
        throw new SalesforceError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', { fields: [] })
      }
    }
  }
}

function isText (field: FieldDef): boolean {
  return ['string', 'email', 'phone', 'textarea', 'url', 'picklist'].includes(field.type)
}

function describeJson (value: unknown): string {
  if (Array.isArray(value)) return 'START_ARRAY value ['
  if (typeof value === 'object' && value !== null) return 'START_OBJECT value {'
  if (typeof value === 'number') return `VALUE_NUMBER_INT value ${value}`
  return `VALUE_STRING value ${String(value)}`
}

function jsonError (type: string, value: unknown): SalesforceError {
  // Assumption (docs/salesforce-behaviour.md#error-catalog, UNVERIFIED text): modelled on Salesforce's Jackson-style deserialization errors.
  return new SalesforceError('JSON_PARSER_ERROR', `Cannot deserialize instance of ${type} from ${describeJson(value)} or request may be missing a required field`)
}

function coerceValue (field: FieldDef, value: unknown): FieldValue {
  if (value === null || value === undefined) return field.type === 'boolean' ? false : null
  switch (field.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value
      // Assumption (UNVERIFIED): "true"/"false" strings are accepted for booleans, like Salesforce's lenient parser.
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true'
      throw jsonError('boolean', value)
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value)) return value
      throw jsonError('int', value)
    case 'datetime': {
      if (typeof value !== 'string') throw jsonError('datetime', value)
      if (value === '') return null
      const ms = parseDateTime(value)
      if (ms === undefined) throw jsonError('datetime', value)
      return formatDateTime(ms)
    }
    case 'reference': {
      if (typeof value !== 'string') throw jsonError('reference', value)
      if (value === '') return null
      const id18 = normalizeId(value)
      const target = id18 === undefined ? undefined : sobjectOfId(id18)
      if (id18 === undefined || target === undefined || !(field.referenceTo ?? []).includes(target)) {
        throw new SalesforceError('MALFORMED_ID', `${field.label}: id value of incorrect type: ${value}`, { fields: [field.name] })
      }
      return id18
    }
    default:
      if (typeof value === 'string') return value === '' ? null : value // Salesforce stores '' as null
      if (typeof value === 'number' || typeof value === 'boolean') return String(value)
      throw jsonError('string', value)
  }
}
