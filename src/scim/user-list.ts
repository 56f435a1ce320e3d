// SCIM list and filter requests for Users, answered from SOQL: a page and its total in one `/composite` call,
// correct at every startIndex (beyond Salesforce's OFFSET limit of 2000 too) and blind to SCIM-deleted users.
import type { Logger } from '../salesforce/connection.js'
import type { Gateway, SfRecord } from '../salesforce/gateway.js'
import { and, or, select, soql, type Soql, type SoqlFragment } from '../salesforce/soql.js'
import type { Store } from '../store/store.js'
import type { UserMapping } from '../mapping/user.js'
import { ScimError } from './errors.js'
import type { FilterNode } from '../protocol/filter.js'
import { filterToSoql } from '../salesforce/filter-soql.js'
import { userFilterSchema } from '../mapping/user-filter-schema.js'

export interface ListQuery {
  /** Parsed once by the route (compat.ts parseRequestFilter). */
  filter?: FilterNode
  sortBy?: string
  sortOrder?: 'ascending' | 'descending'
  /** 1-based, already clamped to ≥ 1. */
  startIndex: number
  /** Already clamped to 0…maxResults. */
  count: number
}

export interface ListPage<T> {
  total: number
  startIndex: number
  resources: T[]
}

/** Salesforce refuses OFFSET above 2000 (salesforce.md §3). */
export const MAX_OFFSET = 2000

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

interface Cursor { lastId: string, at: number }

export function createUserLister (deps: { gateway: Gateway, mapping: UserMapping, store: Store }): { list: (q: ListQuery, log: Logger) => Promise<ListPage<SfRecord>> } {
  const { gateway, mapping, store } = deps
  const schema = userFilterSchema(mapping)
  /**
   * Okta reads every user 100 at a time (startIndex 1, 101, 201…). Past OFFSET 2000 the next page is found by
   * keyset (`Id > last id of the previous page`), remembered here per query for a few minutes.
   */
  const cursors = new Map<string, Cursor>()
  const CURSOR_TTL_MS = 10 * 60_000
  const MAX_CURSORS = 1000

  function remember (key: string, lastId: string): void {
    if (cursors.size >= MAX_CURSORS) cursors.delete(cursors.keys().next().value as string)
    cursors.set(key, { lastId, at: Date.now() })
  }

  function sortSpec (q: ListQuery): Array<{ field: string, dir: 'ASC' | 'DESC' }> {
    const dir = q.sortOrder === 'descending' ? 'DESC' : 'ASC'
    if (q.sortBy === undefined || q.sortBy === '') return [{ field: 'Id', dir: 'ASC' }]
    const field = sortField(mapping, q.sortBy)
    if (field === undefined) throw new ScimError(400, 'invalidValue', `sortBy '${q.sortBy}' is not supported`)
    return field === 'Id' ? [{ field, dir }] : [{ field, dir }, { field: 'Id', dir }]
  }

  async function list (q: ListQuery, log: Logger): Promise<ListPage<SfRecord>> {
    const parts: SoqlFragment[] = [USER_SCOPE]
    if (q.filter !== undefined) parts.push(filterToSoql(q.filter, schema))
    const tombstones = store.tombstoneIds()
    const inline = tombstones.length <= MAX_INLINE_TOMBSTONES
    if (tombstones.length > 0 && inline) parts.push(or(soql`IsActive = true`, soql`Id NOT IN ${tombstones}`))
    const where = and(...parts)
    const orderBy = sortSpec(q)
    const offset = q.startIndex - 1
    const countQuery = select({ fields: [soql`COUNT()`], from: 'User', where })

    if (!inline) return await scan(where, orderBy, q, new Set(tombstones.map((t) => t.slice(0, 15))), log)

    if (q.count === 0) {
      const res = await gateway.query(countQuery, log)
      return { total: res.totalSize, startIndex: q.startIndex, resources: [] }
    }
    let pageQuery: Soql | undefined
    const defaultOrder = orderBy.length === 1 && orderBy[0]?.field === 'Id' && orderBy[0].dir === 'ASC'
    const cursorKey = (at: number): string => `${where.text}\u0000${at}`
    if (offset <= MAX_OFFSET) {
      pageQuery = select({ fields: mapping.selectFields, from: 'User', where, orderBy, limit: q.count, ...(offset > 0 ? { offset } : {}) })
    } else if (defaultOrder) {
      const cur = cursors.get(cursorKey(offset))
      if (cur !== undefined && Date.now() - cur.at < CURSOR_TTL_MS) {
        pageQuery = select({ fields: mapping.selectFields, from: 'User', where: and(where, soql`Id > ${cur.lastId}`), orderBy, limit: q.count })
      }
    }
    if (pageQuery === undefined) return await scan(where, orderBy, q, new Set(), log)

    const res = await gateway.composite([
      { method: 'GET', url: `/query?q=${encodeURIComponent(countQuery)}`, referenceId: 'total' },
      { method: 'GET', url: `/query?q=${encodeURIComponent(pageQuery)}`, referenceId: 'page' },
    ], { allOrNone: false, safeToRetry: true }, log)
    const total = (res[0]?.body as { totalSize: number }).totalSize
    const records = (res[1]?.body as { records: SfRecord[] }).records
    if (defaultOrder && records.length > 0) remember(cursorKey(offset + records.length), String(records[records.length - 1]?.Id))
    return { total, startIndex: q.startIndex, resources: records }
  }

  /**
   * The path of last resort, correct but costlier (one call per 2000 ids): walk the ordered ids with queryMore,
   * skip tombstoned inactive users, then fetch the page's records by id.
   */
  async function scan (where: SoqlFragment, orderBy: Array<{ field: string, dir: 'ASC' | 'DESC' }>, q: ListQuery, hidden: Set<string>, log: Logger): Promise<ListPage<SfRecord>> {
    log.info({ startIndex: q.startIndex, hidden: hidden.size }, 'list needs an id scan')
    const wanted: string[] = []
    let total = 0
    let res = await gateway.query(select({ fields: ['Id', 'IsActive'], from: 'User', where, orderBy }), log)
    for (;;) {
      for (const r of res.records) {
        if (r.IsActive !== true && hidden.has(String(r.Id).slice(0, 15))) continue
        total++
        if (total >= q.startIndex && wanted.length < q.count) wanted.push(String(r.Id))
      }
      if (res.done || res.nextRecordsUrl === undefined) break
      res = await gateway.queryMore(res.nextRecordsUrl, log)
    }
    if (wanted.length === 0) return { total, startIndex: q.startIndex, resources: [] }
    const page = await gateway.query(select({ fields: mapping.selectFields, from: 'User', where: soql`Id IN ${wanted}` }), log)
    const byId = new Map(page.records.map((r) => [String(r.Id), r]))
    return { total, startIndex: q.startIndex, resources: wanted.map((id) => byId.get(id)).filter((r): r is SfRecord => r !== undefined) }
  }

  return { list }
}

function sortField (mapping: UserMapping, sortBy: string): string | undefined {
  const key = sortBy.toLowerCase()
  if (key === 'id') return 'Id'
  if (key === 'meta.created') return 'CreatedDate'
  if (key === 'meta.lastmodified') return 'LastModifiedDate'
  const slot = mapping.slots.find((s) => key === s.attr.toLowerCase() || key === `${s.attr.toLowerCase()}.value`)
  if (slot !== undefined) return slot.fields.value
  return mapping.fields.find((f) => f.path.toLowerCase() === key)?.field
}

export function selectUsersWhere (fields: string[], where: SoqlFragment, limit: number): Soql {
  return select({ fields, from: 'User', where, limit })
}

export function soqlEquals (field: 'Username' | 'Id', value: string): SoqlFragment {
  return field === 'Username' ? soql`Username = ${value}` : soql`Id = ${value}`
}

export function selectUserLogin (userId: string): Soql {
  return select({ fields: ['Id'], from: 'UserLogin', where: soql`UserId = ${userId}`, limit: 1 })
}
