// SCIM Group operations on Salesforce: a public group (Group + GroupMember) by default, or an existing permission
// set, permission set group, profile or role that configuration maps the group's displayName to. Membership
// changes are translated straight from the request (never by reading a large group to add one member), applied
// in all-or-none `/composite` requests, and only ever remove what scimforce itself made.
//
// Salesforce API calls per operation (asserted in test/scim/groups-calls.test.ts; n = members the request names):
//   GET /Groups/{id}                        1 (+1 per further 2,000 members); excludedAttributes=members: 1
//   GET /Groups?filter=… (lookup, list)     1; +1 when `attributes` asks for members
//   POST, new public group                  1 without members; 2 with (check the members, then create the group
//                                           with up to 800 of them in the same composite)
//   POST, mapped or existing record         3 (look the record up, read its members, write)
//   PATCH adding members to a public group  1 when scimforce made the group (≤200 members by id: one composite
//                                           reads which are there, then inserts)
//   PATCH, any other change (remove,        2: one read of the target and of the n named members (never of the
//   rename, mapped targets)                 others), one write; 1 when nothing needs writing (an IdP retry)
//   PUT (the full member list)              2 (+1 per further 2,000 current members)
//   DELETE                                  1 for a public group scimforce made; otherwise 2 (read, remove its own)
//   GET /Users/{id} with groups             1 (the membership queries travel in the user's composite)
// A write larger than one composite (25 subrequests, 5 collections of 200 records) costs one call per composite.
import type { GroupsConfig, UsersConfig } from '../config/types.js'
import {
  DEFAULT_GROUPS_CONFIG, TARGETS, USER_FIELD, deriveDeveloperName, desiredMembership, displayNameOf, electWinner, isSingleValued,
  kindOfId, memberKey, mentionedMembers, parseMembers, planGroupPatch, planGroupPut, resolveDisplayName, sameId, toScimGroup,
  type GroupChange, type GroupKind, type MemberRef, type PatchOperation, type ScimGroup, type ScimMember, type SingleValuedKind,
} from '../mapping/group.js'
import type { UserMapping } from '../mapping/user.js'
import {
  MAX_COLLECTION_RECORDS, MAX_IDS_PER_QUERY, RecordWriteError, applyWrites, chunk, progressOf, queryRequest, readAll, recordsOf,
  type RecordWrite, type SingleWrite,
} from '../salesforce/batch.js'
import { SalesforceError } from '../salesforce/errors.js'
import type { CompositeSubrequest, Gateway, SfRecord } from '../salesforce/gateway.js'
import { and, eq, inList, select, soql, type Soql } from '../salesforce/soql.js'
import { normalizeSalesforceId } from '../salesforce/ids.js'
import type { Membership, Store } from '../store/store.js'
import { asScimError, ScimError, toScimError } from './errors.js'
import { createGroupLister, type GroupListQuery } from './group-list.js'
import { sameTarget, targetLookup } from './group-targets.js'
import type { ListPage } from './user-list.js'
import type { RequestContext } from './user-service.js'

export interface GroupReadOptions {
  /** Read and return the member list (GET by id: yes unless excluded; PATCH answers: only when asked). */
  members: boolean
}

export interface GroupService {
  get (id: string, ctx: RequestContext, opts: GroupReadOptions): Promise<ScimGroup>
  /** One call per page (two with members); see group-list.ts. */
  list (q: GroupListQuery, ctx: RequestContext, opts: GroupReadOptions): Promise<ListPage<ScimGroup>>
  create (body: Record<string, unknown>, ctx: RequestContext): Promise<ScimGroup>
  replace (id: string, body: Record<string, unknown>, mode: 'merge' | 'replace', ctx: RequestContext): Promise<ScimGroup>
  patch (id: string, operations: PatchOperation[], ctx: RequestContext, opts: GroupReadOptions): Promise<ScimGroup>
  delete (id: string, ctx: RequestContext): Promise<void>
  /** Members of several groups at once (list answers that ask for members): one call per five groups' queries. */
  membersOf (groups: ReadonlyArray<{ id: string, kind: GroupKind }>, ctx: RequestContext): Promise<Map<string, ScimMember[]>>
  /**
   * The reads that find a user's groups, to travel in the composite that reads the user (GET /Users/{id} stays
   * one API call), and how to turn their answers into the user's `groups`.
   */
  userGroups (userId: string, groupsUrl: string): UserGroupsRead
}

export interface UserGroupsRead {
  requests: CompositeSubrequest[]
  /** The user's `groups` (RFC 7643 §4.1.2: direct memberships only; Salesforce nesting is not followed). */
  build: (bodies: ReadonlyMap<string, unknown>) => Array<{ value: string, display: string, $ref: string, type: 'direct' }>
}

export interface GroupServiceDeps {
  gateway: Gateway
  store: Store
  groups?: GroupsConfig | undefined
  users: UsersConfig
  userMapping: UserMapping
}

/** A SCIM group as found in Salesforce. */
export interface Target {
  kind: GroupKind
  id: string
  record: SfRecord
  displayName: string
}

/** A store change that goes with one record write, and how to take it back. */
interface Intent { do: () => void, undo: () => void }

interface State {
  /** GroupMember / PermissionSetAssignment row per member user (those read; all when `full`). */
  rows: Map<string, string>
  /** The users read (Id, Username, ProfileId, UserRoleId), by 18-character id. */
  users: Map<string, SfRecord>
  /** userName given in `display` only → id. */
  names: Map<string, string>
}

const USER_FIELDS = ['Id', 'Username', 'IsActive', 'ProfileId', 'UserRoleId']

/** Salesforce's DeveloperName clash code [assumption, reference/salesforce.md §5: not documented; DUPLICATE_VALUE also seen]. */
const DUPLICATE_NAME = new Set(['DUPLICATE_DEVELOPER_NAME', 'DUPLICATE_VALUE'])
/** Derived DeveloperNames tried before giving up (the base, then two suffixed ones). */
const NAME_ATTEMPTS = 3

export function notFound (id: string): ScimError {
  return new ScimError(404, undefined, `Resource ${id} not found`)
}

export function createGroupService (deps: GroupServiceDeps): GroupService {
  const { gateway, store, users, userMapping } = deps
  const config = deps.groups ?? DEFAULT_GROUPS_CONFIG

  function guard<T> (p: Promise<T>): Promise<T> {
    return p.catch((err: unknown) => { throw asScimError(err) })
  }

  const targetGet = (kind: GroupKind, id: string): CompositeSubrequest =>
    ({ method: 'GET', url: `/sobjects/${TARGETS[kind].sobject}/${id}?fields=${TARGETS[kind].fields.join(',')}`, referenceId: 'target' })

  /** The SCIM group an id names: 404 unless a record of a SCIM kind exists and maps back to itself. */
  function parseId (raw: string): { id: string, kind: GroupKind } {
    const id = normalizeSalesforceId(raw)
    const kind = id === undefined ? undefined : kindOfId(id)
    if (id === undefined || kind === undefined || store.isGroupTombstoned(id)) throw notFound(raw)
    return { id, kind }
  }

  function asTarget (kind: GroupKind, record: SfRecord | undefined, raw: string): Target {
    if (record === undefined || record === null) throw notFound(raw)
    const displayName = displayNameOf(config, kind, record)
    if (displayName === undefined || !sameTarget(config, displayName, kind, record)) throw notFound(raw)
    return { kind, id: String(record.Id), record, displayName }
  }

  /** Reads the target (one GET) together with `extra` reads, in one call. */
  async function load (raw: string, extra: CompositeSubrequest[], ctx: RequestContext): Promise<{ target: Target, bodies: Map<string, unknown> }> {
    const { id, kind } = parseId(raw)
    let bodies: Map<string, unknown>
    try {
      bodies = await readAll(gateway, [targetGet(kind, id), ...extra], ctx.log)
    } catch (err) {
      if (err instanceof SalesforceError && (err.kind === 'notFound' || err.code === 'MALFORMED_ID')) throw notFound(raw)
      throw err
    }
    return { target: asTarget(kind, bodies.get('target') as SfRecord | undefined, raw), bodies }
  }

  // ---- members --------------------------------------------------------------------------------------------

  const display = (rec: SfRecord): string => userMapping.fromUsername(String(rec.Username ?? ''))

  /** Queries naming the users (and, for public groups, the nested groups) that are members of `target`. */
  function memberQueries (kind: GroupKind, id: string, prefix: string): CompositeSubrequest[] {
    const userFields = ['Id', 'Username']
    switch (kind) {
      case 'group':
        // Semi-joins: one query answers the member list with userNames, however many members [assumption: SOQL
        // semi-joins accept GroupMember's polymorphic UserOrGroupId, a common idiom; not in reference/salesforce.md].
        return [
          queryRequest(`${prefix}u`, select({ fields: userFields, from: 'User', where: soql`Id IN (SELECT UserOrGroupId FROM GroupMember WHERE GroupId = ${id})`, orderBy: [{ field: 'Id' }] })),
          queryRequest(`${prefix}g`, select({ fields: ['Id', 'Name'], from: 'Group', where: soql`Id IN (SELECT UserOrGroupId FROM GroupMember WHERE GroupId = ${id})`, orderBy: [{ field: 'Id' }] })),
        ]
      case 'permissionSet':
        return [queryRequest(`${prefix}u`, select({ fields: userFields, from: 'User', where: soql`Id IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = ${id})`, orderBy: [{ field: 'Id' }] }))]
      case 'permissionSetGroup':
        return [queryRequest(`${prefix}u`, select({ fields: userFields, from: 'User', where: soql`Id IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetGroupId = ${id})`, orderBy: [{ field: 'Id' }] }))]
      default: {
        // Profile and role groups: the members are the IdP's claims (the User field holds only the winner).
        const claimed = store.membersOf(id)
        return chunk(claimed, MAX_IDS_PER_QUERY).map((ids, i) =>
          queryRequest(`${prefix}u${i}`, select({ fields: userFields, from: 'User', where: inList('Id', ids), orderBy: [{ field: 'Id' }] })))
      }
    }
  }

  function membersFrom (bodies: Map<string, unknown>, prefix: string): ScimMember[] {
    const out: ScimMember[] = []
    for (const [ref, body] of bodies) {
      if (!ref.startsWith(prefix) || ref.length === prefix.length) continue
      const rest = ref.slice(prefix.length)
      for (const r of recordsOf(body)) {
        const id = String(r.Id)
        if (rest === 'g') {
          out.push({ value: id, display: String(r.Name ?? ''), type: 'Group' })
        } else if (!store.isTombstoned(id)) {
          // A SCIM-deleted user is gone for the IdP (RFC 7644 §3.6), though Salesforce keeps its rows.
          out.push({ value: id, display: display(r), type: 'User' })
        }
      }
    }
    return out
  }

  async function membersOf (groups: ReadonlyArray<{ id: string, kind: GroupKind }>, ctx: RequestContext): Promise<Map<string, ScimMember[]>> {
    const requests = groups.flatMap((g, i) => memberQueries(g.kind, g.id, `m${i}_`))
    const bodies = requests.length === 0 ? new Map<string, unknown>() : await guard(readAll(gateway, requests, ctx.log))
    return new Map(groups.map((g, i) => [g.id, membersFrom(bodies, `m${i}_`)]))
  }

  function render (target: Target, members: ScimMember[] | undefined): ScimGroup {
    return toScimGroup(target.record, target.displayName, { externalId: store.groupExternalId(target.id), members })
  }

  // ---- reading the state a change needs -------------------------------------------------------------------

  /**
   * Rows (GroupMember / PermissionSetAssignment) of these users, or of everyone when `ids` is undefined. A permission
   * set group's assignments carry PermissionSetGroupId (their PermissionSetId is the group's hidden aggregate, §5).
   */
  function rowQuery (kind: GroupKind, targetId: string, ids: readonly string[] | undefined): Soql {
    const userCol = kind === 'group' ? 'UserOrGroupId' : 'AssigneeId'
    const targetCond = kind === 'group' ? eq('GroupId', targetId) : kind === 'permissionSet' ? eq('PermissionSetId', targetId) : eq('PermissionSetGroupId', targetId)
    const from = kind === 'group' ? 'GroupMember' : 'PermissionSetAssignment'
    return select({ fields: ['Id', userCol], from, where: ids === undefined ? targetCond : and(targetCond, inList(userCol, ids)) })
  }

  function userQueries (ids: readonly string[], prefix: string): CompositeSubrequest[] {
    return chunk(ids.filter((id) => id.startsWith('005')), MAX_IDS_PER_QUERY)
      .map((part, i) => queryRequest(`${prefix}${i}`, select({ fields: USER_FIELDS, from: 'User', where: inList('Id', part) })))
  }

  function nameQueries (names: readonly string[]): CompositeSubrequest[] {
    return chunk(names, MAX_IDS_PER_QUERY)
      .map((part, i) => queryRequest(`names${i}`, select({ fields: USER_FIELDS, from: 'User', where: inList('Username', part.map((n) => userMapping.toUsername(n))) })))
  }

  /**
   * Reads the target and what the change touches, in one call (two when members come by userName only: the
   * names are resolved first). `full`: every current member (PUT, replace, or a POST that links an existing
   * target); otherwise only the members the request names are looked at.
   */
  async function readForChange (raw: string | Target, refs: MemberRef[], full: boolean, ctx: RequestContext): Promise<{ target: Target, state: State }> {
    const names = [...new Set(refs.filter((r) => r.id === undefined).map((r) => (r.userName ?? '').toLowerCase()))]
    const state: State = { rows: new Map(), users: new Map(), names: new Map() }
    const collectUsers = (bodies: Map<string, unknown>, prefix: string): void => {
      for (const [ref, body] of bodies) {
        if (!ref.startsWith(prefix)) continue
        for (const r of recordsOf(body)) {
          const id = String(r.Id)
          state.users.set(id, r)
          if (prefix === 'names') state.names.set(display(r).toLowerCase(), id)
        }
      }
    }
    let target = typeof raw === 'string' ? undefined : raw
    if (names.length > 0) {
      if (target === undefined) {
        const loaded = await load(raw as string, nameQueries(names), ctx)
        target = loaded.target
        collectUsers(loaded.bodies, 'names')
      } else {
        collectUsers(await readAll(gateway, nameQueries(names), ctx.log), 'names')
      }
    }
    const ids = [...new Set(refs.map((r) => r.id ?? state.names.get((r.userName ?? '').toLowerCase())).filter((id): id is string => id !== undefined))]
    const kind = target?.kind ?? parseId(raw as string).kind
    const targetId = target?.id ?? parseId(raw as string).id
    const extraUsers = isSingleValued(kind) && full ? store.membersOf(targetId) : []
    const requests: CompositeSubrequest[] = userQueries([...new Set([...ids, ...extraUsers])].filter((id) => !state.users.has(id)), 'users')
    if (!isSingleValued(kind)) {
      if (full) requests.push(queryRequest('rows', rowQuery(kind, targetId, undefined)))
      else chunk(ids, MAX_IDS_PER_QUERY).forEach((part, i) => requests.push(queryRequest(`rows${i}`, rowQuery(kind, targetId, part))))
    }
    let bodies: Map<string, unknown>
    if (target === undefined) {
      const loaded = await load(raw as string, requests, ctx)
      target = loaded.target
      bodies = loaded.bodies
    } else {
      bodies = requests.length === 0 ? new Map() : await readAll(gateway, requests, ctx.log)
    }
    collectUsers(bodies, 'users')
    const userCol = target.kind === 'group' ? 'UserOrGroupId' : 'AssigneeId'
    for (const [ref, body] of bodies) {
      if (!ref.startsWith('rows')) continue
      for (const r of recordsOf(body)) state.rows.set(String(r[userCol]), String(r.Id))
    }
    return { target, state }
  }

  // ---- applying a change ----------------------------------------------------------------------------------

  /** A rename: public groups rename their Name; a mapped group may only be renamed to a name that maps to it still. */
  function renameWrite (target: Target, displayName: string | undefined): SingleWrite | undefined {
    if (displayName === undefined || displayName === target.displayName) return undefined
    if (!sameTarget(config, displayName, target.kind, target.record)) {
      const r = resolveDisplayName(config, displayName)
      const now = target.kind === 'group' ? 'a public group' : `${TARGETS[target.kind].label} ${String(target.record[TARGETS[target.kind].nameField] ?? target.id)}`
      const then = r.kind === 'group' ? 'a public group' : r.kind === 'none' ? 'nothing (groups.defaultTarget is none)' : `${TARGETS[r.kind].label} ${r.target}`
      // A SCIM id never changes, and moving assignments silently to another record is not what a rename means.
      throw new ScimError(400, 'invalidValue', `Renaming '${target.displayName}' to '${displayName}' would turn ${now} into ${then}: scimforce does not relink groups; delete the group and create it under the new name, or change groups.mappings`)
    }
    if (target.kind !== 'group') return undefined
    return { method: 'PATCH', url: `/sobjects/Group/${target.id}`, body: { Name: displayName }, label: 'rename' }
  }

  /**
   * Turns a change into Salesforce writes and store updates, applies them, and returns the resulting member set
   * when the state read was full. Only assignments scimforce owns are removed; see README "Groups".
   */
  async function apply (target: Target, change: GroupChange, state: State, full: boolean, ctx: RequestContext): Promise<Set<string> | undefined> {
    const unresolved = mentionedMembers(change).filter((r) => r.id === undefined && !state.names.has((r.userName ?? '').toLowerCase()))
    const ids = new Map<string, string>()
    for (const r of mentionedMembers(change)) {
      const id = r.id ?? state.names.get((r.userName ?? '').toLowerCase())
      if (id !== undefined) ids.set(memberKey(r), id)
    }
    const { desired } = desiredMembership(change, ids)
    const adds = [...desired].filter(([, add]) => add).map(([id]) => id)
    const unknown = [
      ...unresolved.filter((r) => change.ops.some((o) => o.add && memberKey(o.ref) === memberKey(r)) || (change.base ?? []).some((b) => memberKey(b) === memberKey(r))).map((r) => r.userName ?? ''),
      ...adds.filter((id) => id.startsWith('005') && (!state.users.has(id) || store.isTombstoned(id))),
    ]
    if (unknown.length > 0) throw new ScimError(400, 'invalidValue', `No such user in Salesforce: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ` and ${unknown.length - 10} more` : ''}`)
    const wrongType = adds.filter((id) => !(id.startsWith('005') || (target.kind === 'group' && id.startsWith('00G'))))
    if (wrongType.length > 0) {
      throw new ScimError(400, 'invalidValue', `Members of a ${TARGETS[target.kind].label} are users; not ${wrongType.slice(0, 5).join(', ')}${target.kind === 'group' ? ' (public groups may also hold public groups)' : ''}`)
    }
    if (full) {
      // Everyone who is a member now and is not named by the new list leaves.
      const current = isSingleValued(target.kind) ? store.membersOf(target.id) : [...state.rows.keys()]
      for (const id of current) if (!desired.has(id)) desired.set(id, false)
    }
    const singles: SingleWrite[] = []
    const rename = renameWrite(target, change.displayName)
    if (rename !== undefined) singles.push(rename)

    const writes: RecordWrite[] = []
    // What each written record means for the store, recorded *before* the write and undone only when Salesforce
    // surely did not apply it: after a broken connection the mark stays, so that scimforce never loses track of
    // an assignment it may have made (a stale mark is cleared the next time that member is touched).
    const intents = new Map<string, Intent>()
    const afterAll: Array<() => void> = []
    const owned = new Set(store.membersOf(target.id, [...desired.keys()]).map((id) => id.slice(0, 15)))
    const client = ctx.client
    const membership = (userId: string): Membership => ({ targetId: target.id, userId, kind: target.kind, displayName: target.displayName })

    if (isSingleValued(target.kind)) {
      planSingleValued(target, target.kind, desired, state, writes, intents, afterAll, client)
    } else {
      const info = TARGETS[target.kind]
      for (const [userId, want] of desired) {
        const row = state.rows.get(userId)
        const isOwned = owned.has(userId.slice(0, 15))
        if (want && row === undefined) {
          const fields = target.kind === 'group'
            ? { GroupId: target.id, UserOrGroupId: userId }
            : target.kind === 'permissionSet' ? { AssigneeId: userId, PermissionSetId: target.id } : { AssigneeId: userId, PermissionSetGroupId: target.id }
          writes.push({ op: 'create', sobject: target.kind === 'group' ? 'GroupMember' : 'PermissionSetAssignment', fields, label: userId })
          intents.set(userId, { do: () => { store.addMemberships([membership(userId)], client) }, undo: () => { store.removeMemberships(target.id, [userId]) } })
        } else if (!want && row !== undefined && isOwned) {
          writes.push({ op: 'delete', id: row, label: userId })
          intents.set(userId, { do: () => { store.removeMemberships(target.id, [userId]) }, undo: () => { store.addMemberships([membership(userId)], client) } })
        } else if (!want && row !== undefined) {
          ctx.log.info({ group: target.id, userId, row }, `left a ${info.label} membership scimforce did not make`)
        } else if (!want && isOwned) {
          // The row is gone already (removed in Salesforce): forget the mark.
          afterAll.push(() => { store.removeMemberships(target.id, [userId]) })
        }
      }
    }
    if (change.externalId !== undefined) {
      const externalId = change.externalId
      afterAll.push(() => { store.setGroupExternalId(target.id, externalId) })
    }
    if (rename !== undefined) target.displayName = change.displayName as string
    if (writes.length > 0 || singles.length > 0) {
      store.transaction(() => { for (const i of intents.values()) i.do() })
      await applyWrites(gateway, singles, writes, ctx.log, () => {}).catch((err: unknown) => {
        const progress = progressOf(err)
        const undo = progress === undefined
          ? [...intents.keys()]
          : [...(progress.outcomeUnknown === true ? [] : progress.failed ?? []), ...progress.unsent ?? []]
        store.transaction(() => { for (const label of undo) intents.get(label)?.undo() })
        throw explainWriteError(err, target)
      })
    }
    store.transaction(() => { for (const f of afterAll) f() })
    if (rename !== undefined && target.kind === 'group') target.record = { ...target.record, Name: target.displayName }
    if (!full) return undefined
    // The member set now, without reading it again: claims (profile, role) are in the store; rows were all read,
    // and of those the request removes only scimforce's own.
    if (isSingleValued(target.kind)) return new Set(store.membersOf(target.id))
    const result = new Set(state.rows.keys())
    for (const [id, want] of desired) {
      if (want) result.add(id)
      else if (owned.has(id.slice(0, 15))) result.delete(id)
    }
    return result
  }

  /**
   * Profile and role groups: the IdP's claims change, then each affected user gets the winner of its claims of
   * this kind (configured priority), or, with none left, falls back (profile: users.defaults.ProfileId; role:
   * none) — but only if the field still holds what scimforce wrote: a value an admin set since is left alone.
   * Salesforce may refuse a profile of another licence type (§5): the change then fails as a whole, with a 400.
   */
  function planSingleValued (
    target: Target, kind: SingleValuedKind, desired: Map<string, boolean>, state: State,
    writes: RecordWrite[], intents: Map<string, Intent>, afterAll: Array<() => void>, client: string
  ): void {
    const field = USER_FIELD[kind]
    const claimed = new Set(store.membersOf(target.id, [...desired.keys()]).map((id) => id.slice(0, 15)))
    for (const [userId, want] of desired) {
      // Removing a claim that is not there changes nothing; adding one that is there still checks the field, so
      // that a retry after a partial failure converges.
      if (!want && !claimed.has(userId.slice(0, 15))) continue
      const user = state.users.get(userId)
      if (user === undefined) continue
      const others = store.membershipsOfUser(userId, [kind]).filter((c) => !sameId(c.targetId, target.id))
      const claims = want ? [...others, { targetId: target.id, userId, kind, displayName: target.displayName }] : others
      const winner = electWinner(config, claims, kind)
      const current = (user[field] as string | null | undefined) ?? null
      const managed = store.managedField(userId, field)
      let value: string | null | undefined
      let manage: 'set' | 'clear' | undefined
      if (winner !== undefined) {
        value = sameId(current, winner) ? undefined : winner
        manage = 'set'
      } else if (managed !== undefined) {
        const fallback = kind === 'profile' ? (normalizeSalesforceId(users.defaults.ProfileId) ?? users.defaults.ProfileId) : null
        const stillOurs = managed === null ? current === null : sameId(current, managed)
        value = stillOurs && !(fallback === null ? current === null : sameId(current, fallback)) ? fallback : undefined
        manage = 'clear'
      }
      const claim: Membership = { targetId: target.id, userId, kind, displayName: target.displayName }
      const hadClaim = claimed.has(userId.slice(0, 15))
      const effect = (): void => {
        if (want) store.addMemberships([claim], client)
        else store.removeMemberships(target.id, [userId])
        if (manage === 'set' && winner !== undefined) store.setManagedField(userId, field, winner)
        if (manage === 'clear') store.clearManagedField(userId, field)
      }
      const undo = (): void => {
        if (hadClaim) store.addMemberships([claim], client)
        else store.removeMemberships(target.id, [userId])
        if (managed === undefined) store.clearManagedField(userId, field)
        else store.setManagedField(userId, field, managed)
      }
      if (value !== undefined) {
        writes.push({ op: 'update', sobject: 'User', id: userId, fields: { [field]: value }, label: userId })
        intents.set(userId, { do: effect, undo })
      } else {
        afterAll.push(effect)
      }
    }
  }

  /** Names the member a record error is about, and says how far a multi-step change got. */
  function explainWriteError (err: unknown, target: Target): unknown {
    if (!(err instanceof SalesforceError)) return err
    const progress = progressOf(err)
    let scim = toScimError(err)
    if (err instanceof RecordWriteError && err.label !== '' && err.label !== 'rename') {
      const what = err.code === 'INVALID_CROSS_REFERENCE_KEY' || err.code === 'MALFORMED_ID' ? 'does not exist in Salesforce' : 'was refused'
      scim = new ScimError(scim.status, scim.scimType, `Member ${err.label} of '${target.displayName}' ${what}: ${scim.message}`, { ...(scim.retryAfter !== undefined ? { retryAfter: scim.retryAfter } : {}), ...(scim.salesforceCode !== undefined ? { salesforceCode: scim.salesforceCode } : {}), cause: err })
    }
    if (progress !== undefined && progress.done > 0) {
      // Each composite is all-or-none; the ones before the failure stay. Every step is recomputed from the state
      // it finds, so sending the same request again completes the change.
      return new ScimError(scim.status, scim.scimType, `${scim.message} — ${progress.done} of ${progress.total} parts of this change were applied in Salesforce before the failure; sending the same request again completes it`, { ...(scim.retryAfter !== undefined ? { retryAfter: scim.retryAfter } : {}), ...(scim.salesforceCode !== undefined ? { salesforceCode: scim.salesforceCode } : {}), cause: err })
    }
    return scim
  }

  // ---- operations -------------------------------------------------------------------------------------------

  async function get (id: string, ctx: RequestContext, opts: GroupReadOptions): Promise<ScimGroup> {
    const { id: sfId, kind } = parseId(id)
    const { target, bodies } = await guard(load(id, opts.members ? memberQueries(kind, sfId, 'm_') : [], ctx))
    return render(target, opts.members ? membersFrom(bodies, 'm_') : undefined)
  }

  /** The members a full state read found, with userNames, for PUT and POST answers (no further read). */
  function membersAfter (result: Set<string>, state: State): ScimMember[] {
    return [...result].sort().flatMap((id): ScimMember[] => {
      if (id.startsWith('00G')) return [{ value: id, type: 'Group' }]
      if (store.isTombstoned(id)) return []
      const u = state.users.get(id)
      return [{ value: id, ...(u !== undefined ? { display: display(u) } : {}), type: 'User' }]
    })
  }

  async function linkExisting (target: Target, change: GroupChange, ctx: RequestContext): Promise<ScimGroup> {
    const { state } = await readForChange(target, mentionedMembers(change), true, ctx)
    // Linking adds the members the POST names; it never takes away what the target already has.
    const adding: GroupChange = { ops: (change.base ?? []).map((ref) => ({ ref, add: true })), ...(change.externalId !== undefined ? { externalId: change.externalId } : {}) }
    const result = await apply(target, adding, state, true, ctx)
    store.removeGroupTombstone(target.id)
    return render(target, membersAfter(result ?? new Set(), state))
  }

  async function create (body: Record<string, unknown>, ctx: RequestContext): Promise<ScimGroup> {
    const displayName = String(body.displayName ?? '')
    const members = parseMembers(body.members)
    const externalId = typeof body.externalId === 'string' && body.externalId !== '' ? body.externalId : undefined
    const change: GroupChange = { base: members, ops: [], ...(externalId !== undefined ? { externalId } : {}) }
    const r = resolveDisplayName(config, displayName)
    if (r.kind === 'none') {
      throw new ScimError(400, 'invalidValue', `No group mapping names '${displayName}', and groups.defaultTarget is none: add a mapping for it to scimforce's configuration`)
    }
    if (r.kind !== 'group') {
      const found = recordsOf((await guard(readAll(gateway, [queryRequest('t', targetLookup(r.kind, r.target))], ctx.log))).get('t'))[0]
      if (found === undefined) {
        throw new ScimError(400, 'invalidValue', `'${displayName}' maps to the ${TARGETS[r.kind].label} '${r.target}', which does not exist in Salesforce (or cannot be assigned): create it, or fix groups.mappings[${r.index}]`)
      }
      // One record, one SCIM group: under the name the record answers to, not under a second one that also maps to it.
      const shown = displayNameOf(config, r.kind, found)
      if (shown === undefined || !sameTarget(config, shown, r.kind, found) || shown.toLowerCase() !== displayName.toLowerCase()) {
        throw new ScimError(409, 'uniqueness', `'${displayName}' maps to the ${TARGETS[r.kind].label} ${String(found.Id)}, which is already the SCIM group '${shown ?? '?'}'`)
      }
      return await guard(linkExisting({ kind: r.kind, id: String(found.Id), record: found, displayName: shown }, change, ctx))
    }
    return await guard(createPublicGroup(displayName, change, ctx))
  }

  async function createPublicGroup (displayName: string, change: GroupChange, ctx: RequestContext): Promise<ScimGroup> {
    const members = change.base ?? []
    // Members are checked before anything is written (one read, only when the POST names members): an unknown
    // member is a 400 that leaves Salesforce untouched, rather than a create that has to be rolled back.
    const names = [...new Set(members.filter((m) => m.id === undefined).map((m) => (m.userName ?? '').toLowerCase()))]
    const given = [...new Set(members.flatMap((m) => m.id !== undefined ? [m.id] : []))]
    const found = new Map<string, string>()
    const nameOf = new Map<string, string>()
    if (members.length > 0) {
      const groupIds = given.filter((id) => id.startsWith('00G'))
      const requests = [...nameQueries(names), ...userQueries(given, 'users')]
      chunk(groupIds, MAX_IDS_PER_QUERY).forEach((part, i) => requests.push(queryRequest(`groups${i}`, select({ fields: ['Id'], from: 'Group', where: and(inList('Id', part), eq('Type', 'Regular')) }))))
      for (const [ref, body] of await readAll(gateway, requests, ctx.log)) {
        for (const r of recordsOf(body)) {
          const id = String(r.Id)
          found.set(id, id)
          if (ref.startsWith('names')) nameOf.set(display(r).toLowerCase(), id)
        }
      }
    }
    const missing = [
      ...names.filter((n) => !nameOf.has(n)),
      ...given.filter((id) => !found.has(id) || store.isTombstoned(id)),
    ]
    if (missing.length > 0) throw new ScimError(400, 'invalidValue', `No such user in Salesforce: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`)
    const bad = given.filter((id) => !id.startsWith('005') && !id.startsWith('00G'))
    if (bad.length > 0) throw new ScimError(400, 'invalidValue', `Members of a public group are users or public groups; not ${bad.slice(0, 5).join(', ')}`)
    const ids = [...new Set([...given, ...names.map((n) => nameOf.get(n) as string)])]

    // The first composite creates the group with as many members as fit beside it (4 collections of 200); the
    // rest, if any, follow as an ordinary add to the group's real id.
    const first = ids.slice(0, 4 * MAX_COLLECTION_RECORDS)
    for (let attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
      const developerName = deriveDeveloperName(displayName, attempt)
      const singles: SingleWrite[] = [
        { method: 'POST', url: '/sobjects/Group', body: { Name: displayName, DeveloperName: developerName, Type: 'Regular' }, label: 'group' },
        { method: 'GET', url: `/sobjects/Group/@{w0.id}?fields=${TARGETS.group.fields.join(',')}`, label: 'readBack' },
      ]
      const writes: RecordWrite[] = first.map((id) => ({ op: 'create', sobject: 'GroupMember', fields: { GroupId: '@{w0.id}', UserOrGroupId: id }, label: id }))
      let record: SfRecord | undefined
      try {
        await applyWrites(gateway, singles, writes, ctx.log, (_labels, results) => {
          record = results.get('w1') as SfRecord
          const id = String(record.Id)
          store.transaction(() => {
            store.markGroupCreated(id)
            store.removeGroupTombstone(id)
            store.addMemberships(first.map((userId) => ({ targetId: id, userId, kind: 'group', displayName })), ctx.client)
            if (change.externalId !== undefined && change.externalId !== null) store.setGroupExternalId(id, change.externalId)
          })
        })
      } catch (err) {
        if (err instanceof SalesforceError && !(err instanceof RecordWriteError) && DUPLICATE_NAME.has(err.code)) {
          const existing = await findByDeveloperName(developerName, ctx)
          if (existing !== undefined && String(existing.Name).toLowerCase() === displayName.toLowerCase()) {
            // The same group exists already: the IdP's retry of a create whose answer it lost, or a group made in
            // Salesforce by hand under this name. Link it, as a POST of a mapped group does.
            ctx.log.info({ group: existing.Id }, 'a public group of this name exists; linking it')
            const shown = displayNameOf(config, 'group', existing)
            if (shown === undefined) throw new ScimError(409, 'uniqueness', `A public group named '${displayName}' exists but cannot be a SCIM group`)
            return await linkExisting({ kind: 'group', id: String(existing.Id), record: existing, displayName: shown }, change, ctx)
          }
          continue
        }
        throw err instanceof RecordWriteError ? explainWriteError(err, { kind: 'group', id: '', record: {}, displayName }) : err
      }
      const target: Target = { kind: 'group', id: String(record?.Id), record: record as SfRecord, displayName }
      const rest = ids.slice(first.length)
      if (rest.length > 0) {
        const { state } = await readForChange(target, rest.map((id) => ({ id })), false, ctx)
        await apply(target, { ops: rest.map((id) => ({ ref: { id }, add: true })) }, state, false, ctx)
      }
      return render(target, membersAfter(new Set(ids), { rows: new Map(), users: new Map(), names: new Map() }))
    }
    throw new ScimError(409, 'uniqueness', `Could not find a free DeveloperName for the public group '${displayName}'`)
  }

  async function findByDeveloperName (developerName: string, ctx: RequestContext): Promise<SfRecord | undefined> {
    // DeveloperName is unique per group type (§5): among public groups, one at most.
    const res = await gateway.query(select({ fields: TARGETS.group.fields, from: 'Group', where: and(eq('DeveloperName', developerName), eq('Type', 'Regular')), limit: 1 }), ctx.log)
    return res.records[0]
  }

  async function replace (id: string, body: Record<string, unknown>, mode: 'merge' | 'replace', ctx: RequestContext): Promise<ScimGroup> {
    const change = planGroupPut(body, mode)
    const full = change.base !== undefined
    const { target, state } = await guard(readForChange(id, mentionedMembers(change), full, ctx))
    const result = await guard(apply(target, change, state, full, ctx))
    return render(target, result === undefined ? undefined : membersAfter(result, state))
  }

  /**
   * The commonest change in one call: members added by id to a public group scimforce created. The composite reads
   * the group and which of those members are in it already, then inserts them all; Salesforce answers a duplicate
   * GroupMember with the existing row (reference/salesforce.md §5), and the query before the insert says which
   * rows were there, so ownership stays exact. An unknown member fails the insert, and allOrNone undoes it.
   * Returns undefined when the change has another shape (the general path then reads first, writes second).
   */
  async function addToOwnGroup (raw: string, change: GroupChange, ctx: RequestContext): Promise<Target | undefined> {
    const { id, kind } = parseId(raw)
    const ids = [...new Set(change.ops.map((o) => o.ref.id ?? ''))]
    if (kind !== 'group' || !store.isGroupCreated(id) || change.base !== undefined || change.displayName !== undefined || change.externalId !== undefined ||
      change.ops.some((o) => !o.add) || ids.some((u) => !u.startsWith('005') || store.isTombstoned(u)) || ids.length === 0 || ids.length > MAX_COLLECTION_RECORDS) {
      return undefined
    }
    const intents = ids.map((userId) => ({ targetId: id, userId, kind: 'group' as const, displayName: '' }))
    const ownedBefore = new Set(store.membersOf(id, ids))
    // Marked before the write and taken back unless it may have happened, as in apply().
    store.addMemberships(intents, ctx.client)
    let results
    try {
      results = await gateway.composite([
        targetGet('group', id),
        queryRequest('rows', rowQuery('group', id, ids)),
        { method: 'POST', url: '/composite/sobjects', referenceId: 'c0', body: { allOrNone: true, records: ids.map((u) => ({ attributes: { type: 'GroupMember' }, GroupId: id, UserOrGroupId: u })) } },
      ], { allOrNone: true, safeToRetry: false }, ctx.log)
      const collection = results[2]?.body
      if (Array.isArray(collection) && collection.some((r: { success?: boolean }) => r?.success === false)) {
        const i = collection.findIndex((r: { success?: boolean, errors?: Array<{ statusCode?: string }> }) => r?.success === false && r.errors?.[0]?.statusCode !== 'ALL_OR_NONE_OPERATION_ROLLED_BACK')
        const bad = collection[i < 0 ? 0 : i] as { errors?: Array<{ statusCode?: string, message?: string, fields?: string[] }> }
        const e = bad.errors?.[0]
        throw new RecordWriteError(e?.statusCode ?? 'UNKNOWN', e?.message ?? 'record refused', ids[i < 0 ? 0 : i] ?? '', e?.fields ?? [])
      }
    } catch (err) {
      if (!(err instanceof SalesforceError && err.kind === 'unknownOutcome')) {
        store.removeMemberships(id, ids.filter((u) => !ownedBefore.has(u)))
      }
      if (err instanceof SalesforceError && (err.kind === 'notFound' || err.code === 'MALFORMED_ID')) throw notFound(raw)
      throw explainWriteError(err, { kind: 'group', id, record: {}, displayName: id })
    }
    const target = asTarget('group', results[0]?.body as SfRecord | undefined, raw)
    // Rows that were there before the insert are someone else's unless scimforce had marked them already.
    const existed = recordsOf(results[1]?.body).map((r) => String(r.UserOrGroupId)).filter((u) => !ownedBefore.has(u))
    store.transaction(() => {
      store.removeMemberships(id, existed)
      store.addMemberships(ids.filter((u) => !existed.includes(u)).map((userId) => ({ targetId: id, userId, kind: 'group' as const, displayName: target.displayName })), ctx.client)
    })
    return target
  }

  async function patch (id: string, operations: PatchOperation[], ctx: RequestContext, opts: GroupReadOptions): Promise<ScimGroup> {
    const change = planGroupPatch(operations)
    if (!opts.members) {
      const fast = await guard(addToOwnGroup(id, change, ctx))
      if (fast !== undefined) return render(fast, undefined)
    }
    const full = change.base !== undefined
    const { target, state } = await guard(readForChange(id, mentionedMembers(change), full, ctx))
    const result = await guard(apply(target, change, state, full, ctx))
    if (!opts.members) return render(target, undefined)
    if (result !== undefined) return render(target, membersAfter(result, state))
    return render(target, (await membersOf([{ id: target.id, kind: target.kind }], ctx)).get(target.id))
  }

  async function remove (id: string, ctx: RequestContext): Promise<void> {
    const { id: sfId, kind } = parseId(id)
    if (kind === 'group' && store.isGroupCreated(sfId)) {
      // scimforce made this group: it goes, and its GroupMember rows with it [assumption: Salesforce deletes a
      // group's member rows with the group, as the emulator does; reference/salesforce.md §5 does not say].
      try {
        await gateway.composite([{ method: 'DELETE', url: `/sobjects/Group/${sfId}`, referenceId: 'del' }], { allOrNone: true, safeToRetry: true }, ctx.log)
      } catch (err) {
        if (err instanceof SalesforceError && (err.kind === 'notFound' || err.code === 'ENTITY_IS_DELETED')) {
          store.forgetGroup(sfId)
          throw notFound(id)
        }
        throw asScimError(err)
      }
      store.forgetGroup(sfId)
      return
    }
    // A linked record stays; what scimforce made for it goes: its assignments, or its claims (with the fallback).
    const ownedUsers = store.membersOf(sfId)
    const change: GroupChange = { ops: ownedUsers.map((userId) => ({ ref: { id: userId }, add: false })) }
    const { target, state } = await guard(readForChange(id, mentionedMembers(change), false, ctx))
    await guard(apply(target, change, state, false, ctx))
    store.transaction(() => {
      store.forgetGroup(sfId)
      store.addGroupTombstone(sfId)
    })
  }

  function userGroups (userId: string, groupsUrl: string): UserGroupsRead {
    const requests: CompositeSubrequest[] = []
    const kinds = new Set(config.mappings.map((m) => m.kind))
    if (config.defaultTarget === 'publicGroup') {
      requests.push(queryRequest('ug_group', select({ fields: TARGETS.group.fields, from: 'Group', where: and(eq('Type', 'Regular'), soql`Id IN (SELECT GroupId FROM GroupMember WHERE UserOrGroupId = ${userId})`), orderBy: [{ field: 'Id' }] })))
    }
    if (kinds.has('permissionSet')) {
      requests.push(queryRequest('ug_permissionSet', select({ fields: TARGETS.permissionSet.fields, from: 'PermissionSet', where: and(eq('Type', 'Regular'), soql`Id IN (SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = ${userId})`), orderBy: [{ field: 'Id' }] })))
    }
    if (kinds.has('permissionSetGroup')) {
      requests.push(queryRequest('ug_permissionSetGroup', select({ fields: TARGETS.permissionSetGroup.fields, from: 'PermissionSetGroup', where: soql`Id IN (SELECT PermissionSetGroupId FROM PermissionSetAssignment WHERE AssigneeId = ${userId})`, orderBy: [{ field: 'Id' }] })))
    }
    return {
      requests,
      build (bodies) {
        const out: Array<{ id: string, displayName: string }> = []
        for (const kind of ['group', 'permissionSet', 'permissionSetGroup'] as const) {
          for (const record of recordsOf(bodies.get(`ug_${kind}`))) {
            const id = String(record.Id)
            const displayName = displayNameOf(config, kind, record)
            if (displayName !== undefined && !store.isGroupTombstoned(id) && sameTarget(config, displayName, kind, record)) out.push({ id, displayName })
          }
        }
        // Profile and role groups: the user's claims (what the IdP said), not only the winner the User field holds.
        for (const c of store.membershipsOfUser(userId, ['profile', 'role'])) {
          if (!store.isGroupTombstoned(c.targetId)) out.push({ id: c.targetId, displayName: c.displayName })
        }
        return out.map((g) => ({ value: g.id, display: g.displayName, $ref: `${groupsUrl}/${g.id}`, type: 'direct' as const }))
      },
    }
  }

  const lister = createGroupLister({
    gateway,
    store,
    groups: config,
    groupsOfUser: async (userId, log) => {
      const read = userGroups(userId, '')
      const bodies = read.requests.length === 0 ? new Map<string, unknown>() : await readAll(gateway, read.requests, log)
      return read.build(bodies).map((g) => g.value)
    },
  })

  async function list (q: GroupListQuery, ctx: RequestContext, opts: GroupReadOptions): Promise<ListPage<ScimGroup>> {
    const page = await guard(lister.list(q, ctx.log))
    const members = opts.members && page.resources.length > 0 ? await membersOf(page.resources, ctx) : undefined
    return { ...page, resources: page.resources.map((t) => render(t, members?.get(t.id))) }
  }

  return { get, list, create, replace, patch, delete: remove, membersOf, userGroups }
}
