// SCIM list and filter requests for Users: filter, sortBy and startIndex become a list request to the Users
// gateway (a page and its total in one API call), correct at every startIndex (beyond Salesforce's OFFSET limit
// of 2000 too) and blind to SCIM-deleted users.
import { FilterError, type CompareNode, type FilterNode } from '../protocol/filter.js'
import { CORE_USER_SCHEMA } from '../protocol/constants.js'
import type { Logger } from '../salesforce/connection.js'
import type { SfRecord } from '../salesforce/gateway.js'
import { MAX_INLINE_TOMBSTONES, MAX_OFFSET, type UserGateway, type UserOrder } from '../salesforce/users.js'
import { MAX_IDS_PER_QUERY } from '../salesforce/batch.js'
import type { Store } from '../store/store.js'
import type { UserMapping } from '../mapping/user.js'
import { ScimError } from './errors.js'
import { filterToSoql } from '../salesforce/filter-soql.js'
import { userFilterSchema } from '../mapping/user-filter-schema.js'
import type { UserExternalIds } from './user-external-ids.js'

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

interface Cursor { lastId: string, at: number }

/**
 * Tombstones excluded inside the SOQL. 600 (MAX_INLINE_TOMBSTONES) measured 16,278 bytes of query URL with the
 * scope conditions, a hair under the 16,384-byte limit (docs/salesforce-behaviour.md#uri-limit); a filter adds to it. 400 leaves room
 * for a filter of some 4 KB; beyond, the list takes the id scan, whose URLs are short.
 */
export const INLINE_TOMBSTONES = Math.min(MAX_INLINE_TOMBSTONES, 400)

export interface UserLister {
  /** `client`: the SCIM client asking, whose externalIds a filter on externalId compares. */
  list: (q: ListQuery, log: Logger, client: string) => Promise<ListPage<SfRecord>>
}

export function createUserLister (deps: { users: UserGateway, mapping: UserMapping, store: Store, externalIds: UserExternalIds }): UserLister {
  const { users, mapping, store } = deps
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

  function sortSpec (q: ListQuery): UserOrder[] {
    const dir = q.sortOrder === 'descending' ? 'DESC' : 'ASC'
    if (q.sortBy === undefined || q.sortBy === '') return [{ field: 'Id', dir: 'ASC' }]
    const field = sortField(mapping, q.sortBy)
    if (field === undefined) throw new ScimError(400, 'invalidValue', `sortBy '${q.sortBy}' is not supported`)
    return field === 'Id' ? [{ field, dir }] : [{ field, dir }, { field: 'Id', dir }]
  }

  /**
   * externalId kept by scimforce (no users.externalIdField) is no Salesforce field: its comparisons are evaluated
   * against the store, case-exactly (RFC 7643 §3.1), and become sets of user ids, as groups do (group-list.ts).
   */
  async function rewrite (node: FilterNode, client: string): Promise<FilterNode> {
    switch (node.type) {
      case 'and': return { type: 'and', operands: await Promise.all(node.operands.map(async (o) => await rewrite(o, client))) }
      case 'or': return { type: 'or', operands: await Promise.all(node.operands.map(async (o) => await rewrite(o, client))) }
      case 'not': return { type: 'not', operand: await rewrite(node.operand, client) }
      default: break
    }
    const urn = node.path.urn?.toLowerCase()
    if (node.path.attr.toLowerCase() !== 'externalid' || (urn !== undefined && urn !== CORE_USER_SCHEMA.toLowerCase())) return node
    if (node.type === 'valuePath' || node.path.subAttr !== undefined) throw new FilterError('externalId has no sub-attributes')
    const ids = await deps.externalIds.matching(client, node)
    return { type: 'or', operands: ids.map((id): CompareNode => ({ type: 'compare', path: { attr: 'id' }, op: 'eq', value: id })) }
  }

  async function list (q: ListQuery, log: Logger, client: string): Promise<ListPage<SfRecord>> {
    const ast = q.filter === undefined || mapping.externalIdField !== undefined ? q.filter : await rewrite(q.filter, client)
    const filter = ast === undefined ? undefined : filterToSoql(ast, schema)
    const tombstones = await store.tombstoneIds()
    const inline = tombstones.length <= INLINE_TOMBSTONES
    const where = await users.where({ ...(filter !== undefined ? { filter } : {}), ...(inline ? { hideInactive: tombstones } : {}) })
    const orderBy = sortSpec(q)
    const offset = q.startIndex - 1

    if (!inline) return await scan(where, orderBy, q, new Set(tombstones.map((t) => t.slice(0, 15))), log)

    if (q.count === 0) return { total: await users.count(where, log), startIndex: q.startIndex, resources: [] }
    const defaultOrder = orderBy.length === 1 && orderBy[0]?.field === 'Id' && orderBy[0].dir === 'ASC'
    const cursorKey = (at: number): string => `${where.text}\u0000${at}`
    let position: { offset: number, afterId?: string } = { offset }
    if (offset > MAX_OFFSET) {
      const cur = defaultOrder ? cursors.get(cursorKey(offset)) : undefined
      if (cur === undefined || Date.now() - cur.at >= CURSOR_TTL_MS) return await scan(where, orderBy, q, new Set(), log)
      position = { offset: 0, afterId: cur.lastId }
    }
    const page = await users.listPage({ where, orderBy, ...position, limit: q.count }, log)
    const records = page.records
    if (defaultOrder && records.length > 0) remember(cursorKey(offset + records.length), String(records[records.length - 1]?.Id))
    return { total: page.total, startIndex: q.startIndex, resources: records }
  }

  /**
   * The path of last resort, correct but costlier (one call per 2000 ids): walk the ordered ids, skip tombstoned
   * inactive users, then fetch the page's records by id.
   */
  async function scan (where: ListWhere, orderBy: UserOrder[], q: ListQuery, hidden: Set<string>, log: Logger): Promise<ListPage<SfRecord>> {
    log.info({ startIndex: q.startIndex, hidden: hidden.size }, 'list needs an id scan')
    const wanted: string[] = []
    let total = 0
    for await (const r of users.scanIds(where, orderBy, log)) {
      if (!r.active && hidden.has(r.id.slice(0, 15))) continue
      total++
      if (total >= q.startIndex && wanted.length < q.count) wanted.push(r.id)
    }
    if (wanted.length === 0) return { total, startIndex: q.startIndex, resources: [] }
    // A page of up to 1000 ids read in one `Id IN (…)` would pass the 16,384-byte URI limit: read it in parts.
    const resources: SfRecord[] = []
    for (let i = 0; i < wanted.length; i += MAX_IDS_PER_QUERY) resources.push(...await users.readByIds(wanted.slice(i, i + MAX_IDS_PER_QUERY), log))
    return { total, startIndex: q.startIndex, resources }
  }

  return { list }
}

type ListWhere = Awaited<ReturnType<UserGateway['where']>>

function sortField (mapping: UserMapping, sortBy: string): string | undefined {
  const key = sortBy.toLowerCase()
  if (key === 'id') return 'Id'
  if (key === 'meta.created') return 'CreatedDate'
  if (key === 'meta.lastmodified') return 'LastModifiedDate'
  const slot = mapping.slots.find((s) => key === s.attr.toLowerCase() || key === `${s.attr.toLowerCase()}.value`)
  if (slot !== undefined) return slot.fields.value
  return mapping.fields.find((f) => f.path.toLowerCase() === key)?.field
}
