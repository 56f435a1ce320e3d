// SCIM Group operations on Salesforce: a public group (Group + GroupMember) by default, or an existing permission
// set, permission set group, profile, role, package licence, queue or feature licence (a UserPermissions* flag) that
// configuration maps the group's displayName to. Membership changes are translated straight from the request
// (never by reading a large group to add one member), planned by mapping/group-plan.ts, written by the Groups
// gateway (src/salesforce/groups.ts) in all-or-none composite requests, and only ever remove what scimforce itself
// made. This module only orchestrates.
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
//   GET /Users/{id} with groups             1 (the membership queries travel in the user's composite); 2 when more
//                                           than four membership queries are needed (many kinds mapped)
// A write larger than one composite (25 subrequests, 5 collections of 200 records) costs one call per composite.
import type { GroupsConfig, UsersConfig } from '../config/types.js'
import {
  DEFAULT_GROUPS_CONFIG, GROUP_DISPLAY_NAME_NS, TARGETS, displayNameOf, isShortenedGroupName, salesforceGroupName, isSingleValued, mentionedMembers, planGroupPatch, planGroupPut, stripUserStorePrefix, toScimGroup,
  type GroupChange, type GroupKind, type PatchOperation, type ScimGroup, type ScimMember,
} from '../mapping/group.js'
import { sameTarget } from '../mapping/group-target.js'
import { CORE_GROUP_SCHEMA } from '../protocol/constants.js'
import type { UserMapping } from '../mapping/user.js'
import { SalesforceError } from '../salesforce/errors.js'
import type { Gateway, SfRecord } from '../salesforce/gateway.js'
import { createGroupsGateway, type RowKind, type UserGroupKinds } from '../salesforce/groups.js'
import { MAX_QUERIES_OR_COLLECTIONS, readAll } from '../salesforce/batch.js'
import { createLicenceGateway } from '../salesforce/licences.js'
import { scopeConditionOf, userScopeOf } from '../salesforce/users.js'
import type { Store } from '../store/store.js'
import { asScimError } from './errors.js'
import { createGroupChanges } from './group-change.js'
import { createGroupCreator } from './group-create.js'
import { createGroupLister, type GroupListQuery } from './group-list.js'
import { createLicenceKeeper } from './licence-keeper.js'
import { createOrdering, equalityNames, idLockKey, nameLockKey, type Ordering, type OrderingOptions } from './ordering.js'
import { guard, notFound } from './errors.js'
import type { GroupContext, GroupReadOptions, Target, UserGroupsRead } from './group-types.js'
import type { ListPage } from './user-list.js'
import type { RequestContext } from './user-service.js'

export { notFound, type GroupReadOptions, type Target, type UserGroupsRead }

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

export interface GroupServiceDeps {
  gateway: Gateway
  store: Store
  groups?: GroupsConfig | undefined
  users: UsersConfig
  userMapping: UserMapping
  /** The integration user's Id (gateway.integrationUserId): members come only from the Users path's scope. */
  integrationUserId: () => Promise<string>
  /** Per-group ordering's waits (config salesforce.orderWaitMs and settleCapMs, orderingOptions); omitted: the defaults. */
  ordering?: OrderingOptions | undefined
}

export function createGroupService (deps: GroupServiceDeps): GroupService {
  const { store } = deps
  const config = deps.groups ?? DEFAULT_GROUPS_CONFIG
  const sf = createGroupsGateway({
    gateway: deps.gateway,
    objects: TARGETS,
    userScope: async () => await scopeConditionOf(userScopeOf(deps.users, deps.integrationUserId)),
  })
  const licenceGateway = createLicenceGateway(deps.gateway)
  const licences = createLicenceKeeper(licenceGateway, store)
  const gc: GroupContext = { sf, store, config, users: deps.users, userMapping: deps.userMapping, licences, licenceGateway }
  const changes = createGroupChanges(gc)
  const { parseId, load, membersFrom, membersAfter, readForChange, apply, assertWritable } = changes

  async function render (target: Target, members: ScimMember[] | undefined): Promise<ScimGroup> {
    // A public group's Name holds 40 characters: a longer displayName is kept in the store (mapping/group.ts).
    const full = target.kind === 'group' && isShortenedGroupName(target.displayName)
      ? (await store.getDoc<{ displayName: string }>(GROUP_DISPLAY_NAME_NS, target.id.slice(0, 15)))?.value.displayName
      : undefined
    const displayName = full !== undefined && salesforceGroupName(full) === target.displayName ? full : target.displayName
    return toScimGroup(target.record, displayName, { externalId: await store.groupExternalId(target.id), members })
  }

  const creator = createGroupCreator(gc, changes, render)

  /** What the members of a target are read from: rows in Salesforce, or (profiles, roles) the store's claims. */
  const memberSource = async (kind: GroupKind, id: string): Promise<{ kind: GroupKind, id: string, claimed?: string[] }> =>
    isSingleValued(kind) ? { kind, id, claimed: await store.membersOf(id) } : { kind, id }

  async function membersOf (groups: ReadonlyArray<{ id: string, kind: GroupKind }>, ctx: RequestContext): Promise<Map<string, ScimMember[]>> {
    const sources = await Promise.all(groups.map(async (g) => await memberSource(g.kind, g.id)))
    const read = await guard(sf.read({ members: sources }, ctx.log))
    const out = new Map<string, ScimMember[]>()
    for (const [i, g] of groups.entries()) out.set(g.id, await membersFrom(read.members[i]))
    return out
  }

  async function get (id: string, ctx: RequestContext, opts: GroupReadOptions): Promise<ScimGroup> {
    const { id: sfId, kind } = await parseId(id)
    const { target, read } = await guard(load(id, opts.members ? { members: [await memberSource(kind, sfId)] } : {}, ctx))
    return await render(target, opts.members ? await membersFrom(read.members[0]) : undefined)
  }

  async function replace (id: string, body: Record<string, unknown>, mode: 'merge' | 'replace', ctx: RequestContext): Promise<ScimGroup> {
    const change = planGroupPut(body, mode)
    const full = change.base !== undefined
    const { target, state } = await guard(readForChange(id, mentionedMembers(change), full, ctx))
    await assertWritable(target, change)
    const result = await guard(apply(target, change, state, full, ctx))
    return await render(target, result === undefined ? undefined : await membersAfter(result, state))
  }

  async function patch (id: string, operations: PatchOperation[], ctx: RequestContext, opts: GroupReadOptions): Promise<ScimGroup> {
    const change = planGroupPatch(operations)
    if (!opts.members) {
      const fast = await guard(creator.addToOwnGroup(id, change, ctx))
      if (fast !== undefined) return await render(fast, undefined)
    }
    const full = change.base !== undefined
    const { target, state } = await guard(readForChange(id, mentionedMembers(change), full, ctx))
    await assertWritable(target, change)
    const result = await guard(apply(target, change, state, full, ctx))
    if (!opts.members) return await render(target, undefined)
    if (result !== undefined) return await render(target, await membersAfter(result, state))
    return await render(target, (await membersOf([{ id: target.id, kind: target.kind }], ctx)).get(target.id))
  }

  async function remove (id: string, ctx: RequestContext): Promise<void> {
    const { id: sfId, kind } = await parseId(id)
    if (kind === 'group' && await store.isGroupCreated(sfId)) {
      // scimforce made this group: it goes, and its GroupMember rows with it [assumption: Salesforce deletes a
      // group's member rows with the group, as the emulator does; docs/salesforce-behaviour.md#group-objects does not say].
      try {
        await sf.deletePublicGroup(sfId, ctx.log)
      } catch (err) {
        if (err instanceof SalesforceError && (err.kind === 'notFound' || err.code === 'ENTITY_IS_DELETED')) {
          await store.forgetGroup(sfId)
          throw notFound(id)
        }
        throw asScimError(err)
      }
      await store.forgetGroup(sfId)
      return
    }
    // A linked record stays; what scimforce made for it goes: its assignments, or its claims (with the fallback).
    const ownedUsers = await store.membersOf(sfId)
    const change: GroupChange = { ops: ownedUsers.map((userId) => ({ ref: { id: userId }, add: false })) }
    const { target, state } = await guard(readForChange(id, mentionedMembers(change), false, ctx))
    if (target.kind === 'group' && await changes.adoptIntended(target)) {
      // The IdP's create of this group lost its answer and the IdP found the group by name instead of retrying
      // the POST: it is scimforce's own (intents.ts), so its DELETE deletes it, as the first answer would have had it.
      ctx.log.warn({ group: sfId }, 'deleting a public group whose create answer was lost; an intent shows scimforce made it')
      return await remove(id, ctx)
    }
    await guard(apply(target, change, state, false, ctx))
    await store.transaction(async (tx) => {
      await tx.forgetGroup(sfId)
      await tx.addGroupTombstone(sfId)
    })
  }

  const mappedKinds = new Set(config.mappings.map((m) => m.kind))
  const userGroupKinds: UserGroupKinds = {
    group: config.defaultTarget === 'publicGroup',
    permissionSet: mappedKinds.has('permissionSet'),
    permissionSetGroup: mappedKinds.has('permissionSetGroup'),
    packageLicence: mappedKinds.has('packageLicence'),
    queue: mappedKinds.has('queue'),
    featureLicences: [...new Set(config.mappings.filter((m) => m.kind === 'featureLicence').map((m) => m.target))],
  }

  /** The SCIM groups among a user's memberships, then (profile and role groups) the user's claims. */
  async function groupsOfUser (userId: string, records: ReadonlyArray<{ kind: RowKind, record: SfRecord }>): Promise<Array<{ id: string, displayName: string }>> {
    const out: Array<{ id: string, displayName: string }> = []
    for (const { kind, record } of records) {
      const id = String(record.Id)
      const displayName = displayNameOf(config, kind, record)
      if (displayName !== undefined && sameTarget(config, displayName, kind, record) && !await store.isGroupTombstoned(id)) out.push({ id, displayName })
    }
    // Profile and role groups: the user's claims (what the IdP said), not only the winner the User field holds.
    for (const c of await store.membershipsOfUser(userId, ['profile', 'role'])) {
      if (!await store.isGroupTombstoned(c.targetId)) out.push({ id: c.targetId, displayName: c.displayName })
    }
    return out
  }

  function userGroups (userId: string, groupsUrl: string): UserGroupsRead {
    const read = sf.userGroupsRead(userId, userGroupKinds)
    // A composite holds five queries (docs/salesforce-behaviour.md#composite), the user's own among them: with many kinds mapped, the
    // membership queries beyond four are read in one more call.
    const inline = read.requests.slice(0, MAX_QUERIES_OR_COLLECTIONS - 1)
    const rest = read.requests.slice(MAX_QUERIES_OR_COLLECTIONS - 1)
    return {
      requests: inline,
      build: async (bodies, log) => {
        const all = rest.length === 0 || log === undefined ? bodies : new Map([...bodies, ...await readAll(deps.gateway, rest, log)])
        return (await groupsOfUser(userId, read.records(all)))
          .map((g) => ({ value: g.id, display: g.displayName, $ref: `${groupsUrl}/${g.id}`, type: 'direct' as const }))
      },
    }
  }

  const lister = createGroupLister({
    sf,
    store,
    groups: config,
    groupsOfUser: async (userId, log) => (await groupsOfUser(userId, await sf.readUserGroups(userId, userGroupKinds, log))).map((g) => g.id),
  })

  async function list (q: GroupListQuery, ctx: RequestContext, opts: GroupReadOptions): Promise<ListPage<ScimGroup>> {
    const page = await guard(lister.list(q, ctx.log))
    const members = opts.members && page.resources.length > 0 ? await membersOf(page.resources, ctx) : undefined
    return { ...page, resources: await Promise.all(page.resources.map(async (t) => await render(t, members?.get(t.id)))) }
  }

  // Writes to one group run in order, also past a timeout (ordering.ts, issue 16).
  return orderGroupService({ get, list, create: creator.create, replace, patch, delete: remove, membersOf, userGroups }, createOrdering(store, deps.ordering))
}

/** The group service with its writes ordered per group and its reads served after them. */
export function orderGroupService (groups: GroupService, ordering: Ordering): GroupService {
  return {
    ...groups,
    get: async (id, ctx, opts) => await ordering.read(idLockKey('group', id), async () => await groups.get(id, ctx, opts)),
    // A look-up by displayName waits for a create of that name still in Salesforce's hands (equalityNames); the
    // create's key is the displayName after compat.ts dropped a user-store prefix, so the look-up's is too.
    list: async (q, ctx, opts) => await ordering.read(
      equalityNames(q.filter, 'displayName', CORE_GROUP_SCHEMA).map((n) => nameLockKey('groupName', q.stripPrefix ? stripUserStorePrefix(n) : n)),
      async () => await groups.list(q, ctx, opts)),
    create: async (body, ctx) => await ordering.write(nameLockKey('groupName', body.displayName), async () => await groups.create(body, ctx), ctx.log),
    replace: async (id, body, mode, ctx) => await ordering.write(idLockKey('group', id), async () => await groups.replace(id, body, mode, ctx), ctx.log),
    patch: async (id, ops, ctx, opts) => await ordering.write(idLockKey('group', id), async () => await groups.patch(id, ops, ctx, opts), ctx.log),
    delete: async (id, ctx) => { await ordering.write(idLockKey('group', id), async () => { await groups.delete(id, ctx) }, ctx.log) },
  }
}
