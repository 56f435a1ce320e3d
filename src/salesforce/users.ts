// Everything scimforce sends to Salesforce for a User: the record URLs, the SOQL and the `/composite` layouts
// (a write and its read-back in one API call), with every composite result checked. Returns records or throws
// a typed SalesforceError; what a record means for SCIM is decided above this layer.
import type { UsersConfig } from '../config/types.js'
import type { Logger } from './connection.js'
import { fromItems, SalesforceError, type SalesforceErrorItem } from './errors.js'
import type { CompositeSubrequest, Gateway, SfRecord } from './gateway.js'
import { and, MAX_SOQL_OFFSET, or, select, soql, type Soql, type SoqlFragment } from './soql.js'

/** Field values to write on a User; null clears a field. */
export type UserChanges = Record<string, string | number | boolean | null>

export type DeleteMode = UsersConfig['deleteMode']

export interface UserOrder { field: string, dir: 'ASC' | 'DESC' }

/** What a list asks for; the gateway turns it into one SOQL condition. */
export interface UserCriteria {
  /** A condition over User fields, from the filter translator. */
  filter?: SoqlFragment
  /** Tombstoned ids: those of them that are inactive are left out (an active one was revived by an admin). */
  hideInactive?: readonly string[]
}

export interface UserPageRequest {
  /** From `where()`. */
  where: SoqlFragment
  orderBy: readonly UserOrder[]
  /** Rows to skip, at most MAX_OFFSET. */
  offset: number
  /** Keyset paging past MAX_OFFSET: only users whose Id sorts after this one (with `offset` 0). */
  afterId?: string
  limit: number
}

export interface UserGateway {
  /** The User fields every read returns (the mapping's select list). */
  readonly fields: readonly string[]
  /** One user by id; undefined when Salesforce has none. */
  retrieve (id: string, log: Logger): Promise<SfRecord | undefined>
  /**
   * The user and other reads (e.g. its group memberships) in one `/composite`, one API call; `bodies` holds every
   * subrequest's answer by referenceId, the user's under 'user'. A failed subrequest throws.
   */
  retrieveWith (id: string, reads: readonly CompositeSubrequest[], log: Logger): Promise<{ user: SfRecord, bodies: ReadonlyMap<string, unknown> }>
  /** The user, active or not, whose Username is exactly this one. */
  findByUsername (username: string, log: Logger): Promise<SfRecord | undefined>
  /** POST the user and read it back: one API call, never replayed after an unknown outcome. */
  createAndRead (record: Record<string, unknown>, log: Logger): Promise<SfRecord>
  /** PATCH the user and read it back: one API call. No changes is a plain read (NOT_FOUND when there is none). */
  updateAndRead (id: string, changes: UserChanges, log: Logger): Promise<SfRecord>
  /**
   * IsActive=false and the read-back, in one all-or-none call. `freeze` also freezes the user's UserLogin in the
   * same transaction; `rename` also frees the Username for reuse, which costs one more call to read it first.
   */
  deactivateAndRead (id: string, mode: DeleteMode, log: Logger): Promise<SfRecord>
  /** The condition a list runs under: the managed scope, the filter, the tombstone exclusion. */
  where (criteria: UserCriteria): SoqlFragment
  /** Users matching `where`. */
  count (where: SoqlFragment, log: Logger): Promise<number>
  /** The total and one page, in one `/composite` (one API call). */
  listPage (page: UserPageRequest, log: Logger): Promise<{ total: number, records: SfRecord[] }>
  /** Every matching user's Id and IsActive, in order, a batch of up to 2,000 per API call. */
  scanIds (where: SoqlFragment, orderBy: readonly UserOrder[], log: Logger): AsyncGenerator<{ id: string, active: boolean }>
  /** The users with these ids, in the order given (ids Salesforce does not return are skipped). */
  readByIds (ids: readonly string[], log: Logger): Promise<SfRecord[]>
}

/** Salesforce refuses OFFSET above 2000 (salesforce.md §3): past it a list pages by keyset or by a scan. */
export const MAX_OFFSET = MAX_SOQL_OFFSET

/**
 * Tombstoned ids are excluded inside the SOQL while the list stays short enough that the query URL stays under
 * Salesforce's 16,384-byte URI limit (salesforce.md §2.3; ~21 bytes an id). Assumption: the limit also applies
 * to a query URL inside a `/composite` body, so we stay under it there too. Longer lists take the scan path.
 */
export const MAX_INLINE_TOMBSTONES = 600

/**
 * Users a SCIM client manages: people with a Salesforce licence (Standard) or Chatter (CsnOnly); not guests,
 * automated process users or portal users, which Salesforce creates itself.
 */
const USER_SCOPE: SoqlFragment = soql`UserType IN ${['Standard', 'CsnOnly']}`

/** Salesforce ids are 15 or 18 alphanumerics; anything else must not reach a URL. */
const SALESFORCE_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/

/** What Salesforce answers for an id it does not know (salesforce.md §2.5). */
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
 * No false success: a subrequest that failed or was halted is an error even when Salesforce answered 200 to the
 * composite (the gateway throws the first real failure; a request whose every subrequest was halted, e.g. by an
 * unresolvable `@{…}` reference, lands here).
 */
function checked (results: CompositeResults): CompositeResults {
  const failed = results.find((r) => r.httpStatusCode >= 400)
  if (failed !== undefined) throw fromItems(Array.isArray(failed.body) ? failed.body as SalesforceErrorItem[] : [], failed.httpStatusCode)
  return results
}

/** The record a read-back returned; without an Id the write cannot be shown to have happened. */
function recordOf (results: CompositeResults, referenceId: string): SfRecord {
  const body = results.find((r) => r.referenceId === referenceId)?.body
  if (typeof body !== 'object' || body === null || typeof (body as SfRecord).Id !== 'string') {
    throw new SalesforceError('MISSING_READ_BACK', `Salesforce answered the write without the record it wrote (${referenceId})`, 'unknownOutcome')
  }
  return body as SfRecord
}

const queryUrl = (q: Soql): string => `/query?q=${encodeURIComponent(q)}`

export function createUserGateway (gateway: Gateway, selectFields: readonly string[]): UserGateway {
  const fields = [...selectFields]
  const recordUrl = (ref: string): string => `/sobjects/User/${ref}?fields=${fields.join(',')}`
  const readBack = (ref: string): CompositeSubrequest => ({ method: 'GET', url: recordUrl(ref), referenceId: 'readBack' })

  async function retrieve (id: string, log: Logger): Promise<SfRecord | undefined> {
    return await gateway.retrieve('User', id, fields, log)
  }

  return {
    fields,
    retrieve,

    async retrieveWith (id, reads, log) {
      const res = checked(await gateway.composite([
        { method: 'GET', url: recordUrl(pathId(id)), referenceId: 'user' },
        ...reads,
      ], { allOrNone: false, safeToRetry: true }, log))
      return { user: recordOf(res, 'user'), bodies: new Map(res.map((r) => [r.referenceId, r.body])) }
    },

    async findByUsername (username, log) {
      const res = await gateway.query(select({ fields, from: 'User', where: soql`Username = ${username}`, limit: 2 }), log)
      return res.records[0]
    },

    async createAndRead (record, log) {
      const res = checked(await gateway.composite([
        { method: 'POST', url: '/sobjects/User', referenceId: 'newUser', body: record },
        readBack('@{newUser.id}'),
      ], { allOrNone: true, safeToRetry: false }, log))
      return recordOf(res, 'readBack')
    },

    async updateAndRead (id, changes, log) {
      if (Object.keys(changes).length === 0) {
        const rec = await retrieve(id, log)
        if (rec === undefined) throw notFound()
        return rec
      }
      const res = checked(await gateway.composite([
        { method: 'PATCH', url: `/sobjects/User/${pathId(id)}`, referenceId: 'update', body: changes },
        readBack(id),
      ], { allOrNone: true, safeToRetry: true }, log))
      return recordOf(res, 'readBack')
    },

    async deactivateAndRead (id, mode, log) {
      const changes: UserChanges = { IsActive: false }
      if (mode === 'rename') {
        const rec = await gateway.retrieve('User', id, ['Username'], log)
        if (rec === undefined) throw notFound()
        changes.Username = renamedUsername(String(rec.Username))
      }
      const requests: CompositeSubrequest[] = [
        { method: 'PATCH', url: `/sobjects/User/${pathId(id)}`, referenceId: 'deactivate', body: changes },
        readBack(id),
      ]
      if (mode === 'freeze') {
        // UserLogin holds the freeze flag (salesforce.md §2.9); find the row and set it within the same transaction.
        const login = select({ fields: ['Id'], from: 'UserLogin', where: soql`UserId = ${id}`, limit: 1 })
        requests.push(
          { method: 'GET', url: queryUrl(login), referenceId: 'login' },
          { method: 'PATCH', url: '/sobjects/UserLogin/@{login.records[0].Id}', referenceId: 'freeze', body: { IsFrozen: true } }
        )
      }
      const res = checked(await gateway.composite(requests, { allOrNone: true, safeToRetry: true }, log))
      return recordOf(res, 'readBack')
    },

    where (criteria) {
      const parts: SoqlFragment[] = [USER_SCOPE]
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
      const res = checked(await gateway.composite([
        { method: 'GET', url: queryUrl(countOf(page.where)), referenceId: 'total' },
        { method: 'GET', url: queryUrl(pageQuery), referenceId: 'page' },
      ], { allOrNone: false, safeToRetry: true }, log))
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
      const page = await gateway.query(select({ fields, from: 'User', where: soql`Id IN ${ids}` }), log)
      const byId = new Map(page.records.map((r) => [String(r.Id), r]))
      return ids.map((id) => byId.get(id)).filter((r): r is SfRecord => r !== undefined)
    },
  }
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
