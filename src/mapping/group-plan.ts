// The group-change planner: from a target's current state (its membership rows, the users read, scimforce's
// ownership marks and the IdP's profile/role claims) and a requested GroupChange, what to write to Salesforce and
// what each write means for the store, as data. Pure: it reads the marks through a read-only view and changes
// nothing; src/scim/group-change.ts executes the plan. Only what scimforce made is ever removed (README "Groups").
import type { GroupsConfig } from '../config/types.js'
import type { MembershipWrite } from '../salesforce/groups.js'
import type { Membership, MembershipKind } from '../store/store.js'
import { MappingError } from './errors.js'
import {
  TARGETS, USER_FIELD, desiredMembership, electWinner, isSingleValued, memberKey, mentionedMembers, resolveDisplayName, sameId,
  type GroupChange, type SingleValuedKind,
} from './group.js'
import { sameTarget, type GroupTarget } from './group-target.js'

/** What was read before the change: rows and users of the members it touches (all of them when `full`). */
export interface ChangeState {
  /** GroupMember / PermissionSetAssignment row id per member id. */
  rows: ReadonlyMap<string, string>
  /** The users read (Id, Username, ProfileId, UserRoleId), by 18-character id. */
  users: ReadonlyMap<string, Record<string, unknown>>
  /** userName (lower case) given in `display` only → user id. */
  names: ReadonlyMap<string, string>
}

/** The store as the planner reads it: ownership marks, claims, managed User fields, tombstones. */
export interface MarksView {
  isTombstoned (id: string): boolean
  /** A public group scimforce created (the only kind of group that may be nested into one it manages). */
  isGroupCreated (id: string): boolean
  membersOf (targetId: string, userIds?: readonly string[]): string[]
  membershipsOfUser (userId: string, kinds?: readonly MembershipKind[]): Membership[]
  managedField (userId: string, field: 'ProfileId' | 'UserRoleId'): string | null | undefined
}

/** One store change. addMembership is recorded for the client the request came from. */
export type StoreEffect =
  | { type: 'addMembership', membership: Membership }
  | { type: 'removeMembership', targetId: string, userId: string }
  | { type: 'setManagedField', userId: string, field: 'ProfileId' | 'UserRoleId', value: string | null }
  | { type: 'clearManagedField', userId: string, field: 'ProfileId' | 'UserRoleId' }
  | { type: 'setGroupExternalId', groupId: string, externalId: string | null }

/**
 * A Salesforce write and its store effects: `effects` are applied before the write and `undo` only when
 * Salesforce surely did not apply it (after a broken connection the mark stays, so that scimforce never loses
 * track of an assignment it may have made; a stale mark is cleared the next time that member is touched).
 */
export interface PlannedWrite { write: MembershipWrite, effects: StoreEffect[], undo: StoreEffect[] }

export interface GroupPlan {
  /** The new Name of a public group (written first). */
  rename?: string
  /** The target's displayName once the change is made. */
  displayName: string
  writes: PlannedWrite[]
  /** Store effects once every write succeeded (or with no write at all). */
  after: StoreEffect[]
  /** Rows an admin made, which a removal leaves alone (worth a log line). */
  kept: Array<{ userId: string, row: string }>
  /** Public groups and permission sets, when `full`: the member ids after the change (no second read needed). */
  members?: Set<string>
}

export interface PlanInput {
  config: GroupsConfig
  /** users.defaults.ProfileId (18 characters): where a user who leaves every profile group falls back to. */
  fallbackProfileId: string
  target: GroupTarget
  change: GroupChange
  state: ChangeState
  /** The state holds every current member: members the change does not name leave. */
  full: boolean
  marks: MarksView
}

/** Echoed input is clipped: a member `display` may be any length, and the error must stay readable. */
const clip = (text: string, max = 100): string => text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text
const listed = (items: readonly string[], max: number): string => `${items.slice(0, max).map((i) => clip(i)).join(', ')}${items.length > max ? ` and ${items.length - max} more` : ''}`

/**
 * Only groups scimforce created may be nested into a public group (issue 11): a nested group hands its members
 * the sharing of the group it joins, so nesting an admin's group (All Internal Users, say) would widen every
 * internal user's access. A row that exists already is not a write, and is left alone.
 */
export function foreignGroups (adds: readonly string[], rows: ReadonlyMap<string, string>, marks: Pick<MarksView, 'isGroupCreated'>): MappingError | undefined {
  const foreign = adds.filter((id) => id.startsWith('00G') && !rows.has(id) && !marks.isGroupCreated(id))
  if (foreign.length === 0) return undefined
  return new MappingError('invalidValue', `Only groups scimforce created can be members of a group; ${listed(foreign, 5)} ${foreign.length === 1 ? 'was' : 'were'} not created by scimforce (a nested group passes on the sharing of the group it joins), so nothing was changed`)
}

/** The message of an unknown member (also used when a create checks its members). */
export function noSuchUser (names: readonly string[]): MappingError {
  return new MappingError('invalidValue', `No such user in Salesforce: ${listed(names, 10)}`)
}

/** Throws MappingError (invalidValue) for unknown or ill-typed members and for a rename that would relink. */
export function planGroupChange (input: PlanInput): GroupPlan {
  const { target, change, state, full, marks } = input
  const nameOf = (userName: string | undefined): string | undefined => state.names.get((userName ?? '').toLowerCase())
  const mentioned = mentionedMembers(change)
  const ids = new Map<string, string>()
  for (const r of mentioned) {
    const id = r.id ?? nameOf(r.userName)
    if (id !== undefined) ids.set(memberKey(r), id)
  }
  const { desired } = desiredMembership(change, ids)
  const adds = [...desired].filter(([, add]) => add).map(([id]) => id)
  const added = (key: string): boolean => change.ops.some((o) => o.add && memberKey(o.ref) === key) || (change.base ?? []).some((b) => memberKey(b) === key)
  const unknown = [
    ...mentioned.filter((r) => r.id === undefined && nameOf(r.userName) === undefined && added(memberKey(r))).map((r) => r.userName ?? ''),
    ...adds.filter((id) => id.startsWith('005') && (!state.users.has(id) || marks.isTombstoned(id))),
  ]
  if (unknown.length > 0) throw noSuchUser(unknown)
  const wrongType = adds.filter((id) => !(id.startsWith('005') || (target.kind === 'group' && id.startsWith('00G'))))
  if (wrongType.length > 0) {
    throw new MappingError('invalidValue', `Members of a ${TARGETS[target.kind].label} are users; not ${wrongType.slice(0, 5).join(', ')}${target.kind === 'group' ? ' (public groups may also hold public groups)' : ''}`)
  }
  if (target.kind === 'group') {
    const foreign = foreignGroups(adds, state.rows, marks)
    if (foreign !== undefined) throw foreign
  }
  if (full) {
    // Everyone who is a member now and is not named by the new list leaves.
    const current = isSingleValued(target.kind) ? marks.membersOf(target.id) : [...state.rows.keys()]
    for (const id of current) if (!desired.has(id)) desired.set(id, false)
  }
  const rename = renameOf(input.config, target, change.displayName)
  const plan: GroupPlan = { displayName: rename ?? target.displayName, writes: [], after: [], kept: [], ...(rename !== undefined ? { rename } : {}) }
  const owned = new Set(marks.membersOf(target.id, [...desired.keys()]).map((id) => id.slice(0, 15)))

  if (isSingleValued(target.kind)) {
    planSingleValued(input, target.kind, desired, plan)
  } else {
    const membership = (userId: string): Membership => ({ targetId: target.id, userId, kind: target.kind, displayName: plan.displayName })
    const add = (userId: string): StoreEffect => ({ type: 'addMembership', membership: membership(userId) })
    const remove = (userId: string): StoreEffect => ({ type: 'removeMembership', targetId: target.id, userId })
    for (const [userId, want] of desired) {
      const row = state.rows.get(userId)
      const isOwned = owned.has(userId.slice(0, 15))
      if (want && row === undefined) {
        plan.writes.push({ write: { op: 'addMember', userId }, effects: [add(userId)], undo: [remove(userId)] })
      } else if (!want && row !== undefined && isOwned) {
        plan.writes.push({ write: { op: 'removeRow', userId, rowId: row }, effects: [remove(userId)], undo: [add(userId)] })
      } else if (!want && row !== undefined) {
        plan.kept.push({ userId, row })
      } else if (!want && isOwned) {
        // The row is gone already (removed in Salesforce): forget the mark.
        plan.after.push(remove(userId))
      }
    }
    if (full) {
      // Rows were all read, and of those the request removes only scimforce's own.
      const members = new Set(state.rows.keys())
      for (const [id, want] of desired) {
        if (want) members.add(id)
        else if (owned.has(id.slice(0, 15))) members.delete(id)
      }
      plan.members = members
    }
  }
  if (change.externalId !== undefined) plan.after.push({ type: 'setGroupExternalId', groupId: target.id, externalId: change.externalId })
  return plan
}

/** A rename: public groups rename their Name; a mapped group may only be renamed to a name that maps to it still. */
function renameOf (config: GroupsConfig, target: GroupTarget, displayName: string | undefined): string | undefined {
  if (displayName === undefined || displayName === target.displayName) return undefined
  if (!sameTarget(config, displayName, target.kind, target.record)) {
    const r = resolveDisplayName(config, displayName)
    const now = target.kind === 'group' ? 'a public group' : `${TARGETS[target.kind].label} ${String(target.record[TARGETS[target.kind].nameField] ?? target.id)}`
    const then = r.kind === 'group' ? 'a public group' : r.kind === 'none' ? 'nothing (groups.defaultTarget is none)' : `${TARGETS[r.kind].label} ${r.target}`
    // A SCIM id never changes, and moving assignments silently to another record is not what a rename means.
    throw new MappingError('invalidValue', `Renaming '${target.displayName}' to '${displayName}' would turn ${now} into ${then}: scimforce does not relink groups; delete the group and create it under the new name, or change groups.mappings`)
  }
  if (target.kind !== 'group') return undefined
  // A name holding `@{` is data: the groups gateway renames it with a plain sObject PATCH, outside any composite.
  return displayName
}

/**
 * Profile and role groups: the IdP's claims change, then each affected user gets the winner of its claims of
 * this kind (configured priority), or, with none left, falls back (profile: users.defaults.ProfileId; role:
 * none) — but only if the field still holds what scimforce wrote: a value an admin set since is left alone.
 * Salesforce may refuse a profile of another licence type (docs/salesforce-behaviour.md#group-objects): the change then fails as a whole, with a 400.
 */
function planSingleValued (input: PlanInput, kind: SingleValuedKind, desired: ReadonlyMap<string, boolean>, plan: GroupPlan): void {
  const { target, state, marks, config } = input
  const field = USER_FIELD[kind]
  const claimed = new Set(marks.membersOf(target.id, [...desired.keys()]).map((id) => id.slice(0, 15)))
  for (const [userId, want] of desired) {
    // Removing a claim that is not there changes nothing; adding one that is there still checks the field, so
    // that a retry after a partial failure converges.
    if (!want && !claimed.has(userId.slice(0, 15))) continue
    const user = state.users.get(userId)
    if (user === undefined) continue
    const claim: Membership = { targetId: target.id, userId, kind, displayName: target.displayName }
    const others = marks.membershipsOfUser(userId, [kind]).filter((c) => !sameId(c.targetId, target.id))
    const winner = electWinner(config, want ? [...others, claim] : others, kind)
    const current = (user[field] as string | null | undefined) ?? null
    const managed = marks.managedField(userId, field)
    let value: string | null | undefined
    const effects: StoreEffect[] = [want ? { type: 'addMembership', membership: claim } : { type: 'removeMembership', targetId: target.id, userId }]
    if (winner !== undefined) {
      value = sameId(current, winner) ? undefined : winner
      effects.push({ type: 'setManagedField', userId, field, value: winner })
    } else if (managed !== undefined) {
      const fallback = kind === 'profile' ? input.fallbackProfileId : null
      const stillOurs = managed === null ? current === null : sameId(current, managed)
      value = stillOurs && !(fallback === null ? current === null : sameId(current, fallback)) ? fallback : undefined
      effects.push({ type: 'clearManagedField', userId, field })
    }
    if (value === undefined) {
      plan.after.push(...effects)
      continue
    }
    const undo: StoreEffect[] = [
      claimed.has(userId.slice(0, 15)) ? { type: 'addMembership', membership: claim } : { type: 'removeMembership', targetId: target.id, userId },
      managed === undefined ? { type: 'clearManagedField', userId, field } : { type: 'setManagedField', userId, field, value: managed },
    ]
    plan.writes.push({ write: { op: 'setUserField', userId, field, value }, effects, undo })
  }
}
