// Everything scimforce sends to Salesforce for a User: the record URLs, the SOQL and the `/composite` layouts
// (a guard, a write and its read-back in one API call; gateway.ts checks every composite answer), and the
// managed scope (issue 11) in every read and write. Returns records or throws a typed SalesforceError; what a record
// means for SCIM is decided above this layer.
import type { UsersConfig } from '../config/types.js'
import type { Logger } from './connection.js'
import { SalesforceError } from './errors.js'
import type { CompositeSubrequest, Gateway, SfRecord } from './gateway.js'
import { and, eq, MAX_SOQL_OFFSET, or, select, soql, type Soql, type SoqlFragment } from './soql.js'
import { coalesceWrites } from './user-coalesce.js'

export type { DeleteMode, UserChanges, UserCriteria, UserGateway, UserOrder, UserPageRequest, UserScope, UsernameMatch } from './user-gateway.js'
import type { UserChanges, UserGateway, UserScope } from './user-gateway.js'

/** Salesforce refuses OFFSET above 2000 (docs/salesforce-behaviour.md#soql): past it a list pages by keyset or by a scan. */
export const MAX_OFFSET = MAX_SOQL_OFFSET

/**
 * Tombstoned ids are excluded inside the SOQL while the list stays short enough that the query URL stays under
 * Salesforce's 16,384-byte URI limit (docs/salesforce-behaviour.md#status-codes; ~21 bytes an id). Assumption: the limit also applies
 * to a query URL inside a `/composite` body, so we stay under it there too. Longer lists take the scan path.
 */
export const MAX_INLINE_TOMBSTONES = 600

/**
 * Users a SCIM client manages: people with a Salesforce licence (Standard) or Chatter (CsnOnly); not guests,
 * automated process users or portal users, which Salesforce creates itself.
 */
const USER_TYPES: SoqlFragment = soql`UserType IN ${['Standard', 'CsnOnly']}`

/**
 * Admin-grade permissions (issue 11): a user holding any of them, from its profile or any permission set, can
 * take over the org, so it is out of SCIM's reach unless `users.allowPrivileged`.
 */
export const PRIVILEGED_PERMISSIONS = [
  'PermissionsModifyAllData', 'PermissionsViewAllData', 'PermissionsManageUsers',
  'PermissionsCustomizeApplication', 'PermissionsAuthorApex',
] as const

/**
 * Users holding a privileged permission from any source: every profile owns a PermissionSet (IsOwnedByProfile)
 * assigned to its users, so one anti-join over PermissionSetAssignment covers profiles and permission sets alike
 * (docs/salesforce-behaviour.md#permission-fields, "Permissions on profiles and permission sets"; SOQL and SOQL Reference, "Semi-Joins and
 * Anti-Joins"). It stays an operand of the top-level AND: Salesforce refuses a semi-join under OR (same page).
 * The text is static (field names from code), so no value reaches it.
 */
const NOT_PRIVILEGED: SoqlFragment = soql`Id NOT IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSet.PermissionsModifyAllData = true OR PermissionSet.PermissionsViewAllData = true OR PermissionSet.PermissionsManageUsers = true OR PermissionSet.PermissionsCustomizeApplication = true OR PermissionSet.PermissionsAuthorApex = true)`

/** The managed scope as a SOQL condition: evaluated by Salesforce at the moment of the call, never cached. */
export function scopeCondition (scope: Omit<UserScope, 'integrationUserId'>, integrationUserId: string): SoqlFragment {
  const parts: SoqlFragment[] = [USER_TYPES, soql`Id != ${integrationUserId}`]
  if (!scope.allowPrivileged) parts.push(NOT_PRIVILEGED)
  if (scope.profiles !== undefined && scope.profiles.length > 0) parts.push(soql`Profile.Name IN ${scope.profiles}`)
  return and(...parts)
}

/**
 * The managed scope as configured (`users.allowPrivileged`, `users.scope.profiles`): the one place the config
 * becomes a UserScope, for the Users path and for group members alike.
 */
export function userScopeOf (config: Pick<UsersConfig, 'allowPrivileged' | 'scope'>, integrationUserId: () => Promise<string>): UserScope {
  return {
    integrationUserId,
    allowPrivileged: config.allowPrivileged,
    ...(config.scope.profiles !== undefined ? { profiles: config.scope.profiles } : {}),
  }
}

/** The scope's SOQL condition now (the integration user's Id is known once a token is held). */
export async function scopeConditionOf (scope: UserScope): Promise<SoqlFragment> {
  return scopeCondition(scope, await scope.integrationUserId())
}

/** The referenceId of the guard query, and how a write names the user it found. */
const GUARD = 'guard'
const GUARDED_ID = `@{${GUARD}.records[0].Id}`

/**
 * Salesforce resolves `@{…}` in every string of a `/composite` subrequest and has no escape (docs/salesforce-behaviour.md#composite-references):
 * a value holding one would be read as a reference to another subrequest's result (or halt the request). A write
 * carrying such a value is sent as plain sObject REST calls instead, where Salesforce reads no references.
 */
function holdsReference (body: unknown): boolean {
  return body !== null && typeof body === 'object' && Object.values(body).some((v) => typeof v === 'string' && v.includes('@{'))
}

/** Salesforce ids are 15 or 18 alphanumerics; anything else must not reach a URL. */
const SALESFORCE_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/

/** What Salesforce answers for an id it does not know (docs/salesforce-behaviour.md#sobject-crud). */
function notFound (): SalesforceError {
  return new SalesforceError('NOT_FOUND', 'The requested resource does not exist', 'notFound', { httpStatus: 404 })
}

/** An id that cannot be a Salesforce id is refused before it is put into a URL. */
function pathId (id: string): string {
  if (!SALESFORCE_ID.test(id)) throw new SalesforceError('MALFORMED_ID', `Invalid id: ${id.slice(0, 40)}`, 'validation', { httpStatus: 400 })
  return id
}

type CompositeResults = Awaited<ReturnType<Gateway['composite']>>

/**
 * The record a read-back returned; without an Id the write cannot be shown to have happened. (gateway.composite
 * already checks every composite answer, read-backs included; this also covers the plain path's read-back.)
 */
function recordOf (results: CompositeResults, referenceId: string): SfRecord {
  const body = results.find((r) => r.referenceId === referenceId)?.body
  if (typeof body !== 'object' || body === null || typeof (body as SfRecord).Id !== 'string') {
    throw new SalesforceError('MISSING_READ_BACK', `Salesforce answered the write without the record it wrote (${referenceId})`, 'unknownOutcome')
  }
  return body as SfRecord
}

const queryUrl = (q: Soql): string => `/query?q=${encodeURIComponent(q)}`

/**
 * The user's UserLogin row (docs/salesforce-behaviour.md#deactivation), found through the guard's answer so that nothing outside the
 * managed scope is ever frozen or unfrozen. The reference stays unencoded in the url: Salesforce resolves
 * `@{…}` in a subrequest url before reading it (REST API Developer Guide, Composite, "query by reference").
 * The guard's answer is an Id (15/18 alphanumerics), so no value of the client's reaches this SOQL text.
 */
const LOGIN_BY_GUARD = `/query?q=${encodeURIComponent("SELECT Id, IsFrozen FROM UserLogin WHERE UserId = '")}${GUARDED_ID}${encodeURIComponent("' LIMIT 1")}`
const LOGIN_REF = '@{login.records[0].Id}'

function loginRequests (frozen: boolean): CompositeSubrequest[] {
  return [
    { method: 'GET', url: LOGIN_BY_GUARD, referenceId: 'login' },
    { method: 'PATCH', url: `/sobjects/UserLogin/${LOGIN_REF}`, referenceId: frozen ? 'freeze' : 'unfreeze', body: { IsFrozen: frozen } },
  ]
}

/** How writes reach Salesforce: coalesced (the default, user-coalesce.ts) or one call each. */
export interface UserWriteOptions { coalesce?: boolean }

export function createUserGateway (gateway: Gateway, selectFields: readonly string[], scope: UserScope, writeOptions: UserWriteOptions = {}): UserGateway {
  const fields = [...selectFields]
  const recordUrl = (ref: string): string => `/sobjects/User/${ref}?fields=${fields.join(',')}`
  const readBack = (ref: string): CompositeSubrequest => ({ method: 'GET', url: recordUrl(ref), referenceId: 'readBack' })

  /** The scope condition with the integration user's Id, which is known once a token is held. */
  async function inScope (): Promise<SoqlFragment> {
    return await scopeConditionOf(scope)
  }

  /** One user by id within the scope, as a query (one API call, like a record GET). */
  async function scopedQuery (id: string): Promise<Soql> {
    return select({ fields, from: 'User', where: and(eq('Id', pathId(id)), await inScope()), limit: 1 })
  }

  async function retrieve (id: string, log: Logger): Promise<SfRecord | undefined> {
    return (await gateway.query(await scopedQuery(id), log)).records[0]
  }

  /**
   * A write that holds only while the user is in scope: the guard query and the writes that reference the user
   * it found (`@{guard.records[0].Id}`) travel in one `/composite`, so a user made admin a moment ago halts the
   * write (issue 11). Still one API call. A halted guard is NOT_FOUND. `more` are further writes that carry no
   * IdP value (the freeze); `changes` may hold anything, and with a `@{` in it the write goes the plain way.
   */
  async function guarded (id: string, changes: UserChanges, more: CompositeSubrequest[], log: Logger): Promise<SfRecord> {
    if (holdsReference(changes)) return await guardedPlain(id, changes, more, log)
    const guard = select({ fields: ['Id'], from: 'User', where: and(eq('Id', pathId(id)), await inScope()), limit: 1 })
    const requests: CompositeSubrequest[] = [
      { method: 'GET', url: queryUrl(guard), referenceId: GUARD },
      { method: 'PATCH', url: `/sobjects/User/${GUARDED_ID}`, referenceId: 'update', body: changes },
      ...more,
      readBack(GUARDED_ID),
    ]
    let results: CompositeResults
    try {
      results = await gateway.composite(requests, { allOrNone: true, safeToRetry: true }, log)
    } catch (err) {
      if (err instanceof SalesforceError && err.code === 'PROCESSING_HALTED' && /No value for guard[.[]/.test(err.message)) throw notFound()
      throw err
    }
    return recordOf(results, 'readBack')
  }

  /**
   * The guard and `writes` (which name the user by the guard's answer) in one all-or-none composite, without a
   * read-back: every subrequest's answer. For writes that carry no IdP value (the freeze) or whose values the
   * caller checked with holdsReference.
   */
  async function guardedRaw (id: string, writes: (ref: string) => CompositeSubrequest[], log: Logger, allOrNone = true): Promise<CompositeResults> {
    const guard = select({ fields: ['Id'], from: 'User', where: and(eq('Id', pathId(id)), await inScope()), limit: 1 })
    const requests: CompositeSubrequest[] = [{ method: 'GET', url: queryUrl(guard), referenceId: GUARD }, ...writes(GUARDED_ID)]
    try {
      const results = await gateway.composite(requests, { allOrNone, safeToRetry: true }, log)
      const found = (results.find((r) => r.referenceId === GUARD)?.body as { records?: unknown[] } | null)?.records
      if (Array.isArray(found) && found.length === 0) throw notFound()
      return results
    } catch (err) {
      if (err instanceof SalesforceError && err.code === 'PROCESSING_HALTED' && /No value for guard[.[]/.test(err.message)) throw notFound()
      throw err
    }
  }

  /**
   * The rare write whose values hold `@{`, which no composite can carry as data: the guard query, the PATCH and the
   * read-back as three plain calls. The guard is then a separate query, so a user made admin in the instant
   * between it and the PATCH (one round trip) would still be written; we accept that window on this path only
   * (a value with `@{` is rare, and refusing it would let a user who edits their own phone number block their own
   * offboarding, issue 11). The further writes (the freeze) follow in a composite of their own, after the user's.
   */
  async function guardedPlain (id: string, changes: UserChanges, more: CompositeSubrequest[], log: Logger): Promise<SfRecord> {
    const found = await retrieve(id, log)
    if (found === undefined) throw notFound()
    const ref = String(found.Id)
    await gateway.write('PATCH', `/sobjects/User/${ref}`, changes, { safeToRetry: true }, log)
    if (more.length > 0) await gateway.composite(more, { allOrNone: true, safeToRetry: true }, log)
    return await readBackPlain(ref, log)
  }

  /** The read-back of a plain write: the record as Salesforce now holds it, an Id or an error. */
  async function readBackPlain (id: string, log: Logger): Promise<SfRecord> {
    const record = await gateway.retrieve('User', id, fields, log)
    return recordOf([{ referenceId: 'readBack', body: record ?? null, httpHeaders: {}, httpStatusCode: 200 }], 'readBack')
  }

  const single: UserGateway = {
    fields,
    retrieve,

    async retrieveWith (id, reads, log) {
      const res = await gateway.composite([
        { method: 'GET', url: queryUrl(await scopedQuery(id)), referenceId: 'user' },
        ...reads,
      ], { allOrNone: false, safeToRetry: true }, log)
      const found = (res.find((r) => r.referenceId === 'user')?.body as { records?: SfRecord[] } | null)?.records?.[0]
      if (found === undefined) throw notFound()
      return { user: found, bodies: new Map(res.map((r) => [r.referenceId, r.body])) }
    },

    async findByUsername (username, log) {
      // Both in one call: the user whatever it is, and whether the scope admits it.
      const any = select({ fields, from: 'User', where: soql`Username = ${username}`, limit: 2 })
      const scoped = select({ fields: ['Id'], from: 'User', where: and(eq('Username', username), await inScope()), limit: 2 })
      const res = await gateway.composite([
        { method: 'GET', url: queryUrl(any), referenceId: 'any' },
        { method: 'GET', url: queryUrl(scoped), referenceId: 'scoped' },
      ], { allOrNone: false, safeToRetry: true }, log)
      const record = (res[0]?.body as { records: SfRecord[] }).records[0]
      if (record === undefined) return undefined
      return { record, inScope: (res[1]?.body as { records: SfRecord[] }).records.length > 0 }
    },

    async createAndRead (record, log) {
      if (holdsReference(record)) {
        // Plain POST and a read-back of its own (holdsReference): two calls on this rare path.
        const created = await gateway.write('POST', '/sobjects/User', record, { safeToRetry: false }, log) as { id?: unknown } | null
        if (typeof created?.id !== 'string') throw new SalesforceError('MISSING_READ_BACK', 'Salesforce answered the create without the Id it created', 'unknownOutcome')
        return await readBackPlain(created.id, log)
      }
      const res = await gateway.composite([
        { method: 'POST', url: '/sobjects/User', referenceId: 'newUser', body: record },
        readBack('@{newUser.id}'),
      ], { allOrNone: true, safeToRetry: false }, log)
      return recordOf(res, 'readBack')
    },

    async updateAndRead (id, changes, log) {
      if (Object.keys(changes).length === 0) {
        const rec = await retrieve(id, log)
        if (rec === undefined) throw notFound()
        return rec
      }
      return await guarded(id, changes, [], log)
    },

    async deactivateAndRead (id, mode, log) {
      const changes: UserChanges = { IsActive: false }
      if (mode === 'rename') {
        const rec = await retrieve(id, log)
        if (rec === undefined) throw notFound()
        changes.Username = renamedUsername(String(rec.Username))
      }
      // UserLogin holds the freeze flag (docs/salesforce-behaviour.md#deactivation); find the row and set it within the same transaction.
      const login = select({ fields: ['Id'], from: 'UserLogin', where: soql`UserId = ${pathId(id)}`, limit: 1 })
      const freeze: CompositeSubrequest[] = mode !== 'freeze'
        ? []
        : [
            { method: 'GET', url: queryUrl(login), referenceId: 'login' },
            { method: 'PATCH', url: '/sobjects/UserLogin/@{login.records[0].Id}', referenceId: 'freeze', body: { IsFrozen: true } },
          ]
      return await guarded(id, changes, freeze, log)
    },

    async disableAndRead (id, changes, opts, log) {
      if (holdsReference(changes)) {
        // The rare plain path (a value holding `@{`): the freeze first as a call of its own, then the write.
        if (opts.freezeFirst) await single.setFrozen(id, true, log)
        return await guardedPlain(id, changes, [], log)
      }
      if (!opts.freezeFirst) return await guarded(id, changes, [], log)
      // allOrNone false: each subrequest is its own transaction (docs/salesforce-behaviour.md#composite), so the freeze commits before
      // the deactivation is tried and stays when it is refused (the gateway then throws the refusal). Every write
      // names the user through the guard, so a user outside the scope halts them all. Replaying is harmless (both
      // writes are idempotent).
      const results = await guardedRaw(id, (ref) => [
        ...loginRequests(true),
        { method: 'PATCH', url: `/sobjects/User/${ref}`, referenceId: 'deactivate', body: changes },
        readBack(ref),
      ], log, false)
      return recordOf(results, 'readBack')
    },

    async setFrozen (id, frozen, log) {
      const results = await guardedRaw(id, () => [...loginRequests(frozen), { method: 'GET', url: LOGIN_BY_GUARD, referenceId: 'loginAfter' }], log)
      const after = (results.find((r) => r.referenceId === 'loginAfter')?.body as { records?: Array<{ IsFrozen?: unknown }> } | null)?.records?.[0]
      return { IsFrozen: after?.IsFrozen === true }
    },

    async reactivateAndRead (id, changes, log) {
      if (holdsReference(changes)) {
        const rec = await guardedPlain(id, changes, [], log)
        await single.setFrozen(id, false, log)
        return rec
      }
      return recordOf(await guardedRaw(id, (ref) => [
        { method: 'PATCH', url: `/sobjects/User/${ref}`, referenceId: 'update', body: changes },
        ...loginRequests(false),
        readBack(ref),
      ], log), 'readBack')
    },

    async where (criteria) {
      const parts: SoqlFragment[] = [await inScope()]
      if (criteria.filter !== undefined) parts.push(criteria.filter)
      const hidden = criteria.hideInactive ?? []
      if (hidden.length > 0) parts.push(or(soql`IsActive = true`, soql`Id NOT IN ${hidden}`))
      return and(...parts)
    },

    async count (where, log) {
      return (await gateway.query(countOf(where), log)).totalSize
    },

    async listPage (page, log) {
      const where = page.afterId === undefined ? page.where : and(page.where, soql`Id > ${page.afterId}`)
      const pageQuery = select({ fields, from: 'User', where, orderBy: page.orderBy, limit: page.limit, ...(page.offset > 0 ? { offset: page.offset } : {}) })
      const res = await gateway.composite([
        { method: 'GET', url: queryUrl(countOf(page.where)), referenceId: 'total' },
        { method: 'GET', url: queryUrl(pageQuery), referenceId: 'page' },
      ], { allOrNone: false, safeToRetry: true }, log)
      const total = (res[0]?.body as { totalSize: number }).totalSize
      const records = (res[1]?.body as { records: SfRecord[] }).records
      return { total, records }
    },

    async * scanIds (where, orderBy, log) {
      let res = await gateway.query(select({ fields: ['Id', 'IsActive'], from: 'User', where, orderBy }), log)
      for (;;) {
        for (const r of res.records) yield { id: String(r.Id), active: r.IsActive === true }
        if (res.done || res.nextRecordsUrl === undefined) return
        res = await gateway.queryMore(res.nextRecordsUrl, log)
      }
    },

    async readByIds (ids, log) {
      if (ids.length === 0) return []
      // The scope again: a user made admin between the scan and this read is left out.
      const page = await gateway.query(select({ fields, from: 'User', where: and(soql`Id IN ${ids}`, await inScope()) }), log)
      const byId = new Map(page.records.map((r) => [String(r.Id), r]))
      return ids.map((id) => byId.get(id)).filter((r): r is SfRecord => r !== undefined)
    },
  }
  // Writes that queue while one is in flight go out together (user-coalesce.ts); a lone write is `single`'s, unchanged.
  return writeOptions.coalesce === false ? single : coalesceWrites(single, { gateway, fields, inScope })
}

function countOf (where: SoqlFragment): Soql {
  return select({ fields: [soql`COUNT()`], from: 'User', where })
}

/**
 * The rename delete mode frees the username for reuse (what WSO2's connector does): a prefix keeps it
 * email-shaped and traceable, and it stays within Salesforce's 80 characters.
 */
export function renamedUsername (username: string, now = Date.now()): string {
  const prefix = `deleted.${now.toString(36)}.`
  return (prefix + username).slice(0, 80)
}
