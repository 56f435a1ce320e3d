// SCIM User operations on top of the Users gateway (src/salesforce/users.ts): create (with rehire), read, list,
// replace, patch and delete. Each operation costs one Salesforce API call on its common path (a write and its
// read-back travel in one composite request, which Salesforce counts as one call).
import SCIMMY from 'scimmy'
import type { UsersConfig } from '../config/types.js'
import type { Logger } from '../salesforce/connection.js'
import { SalesforceError } from '../salesforce/errors.js'
import type { CompositeSubrequest, Gateway, SfRecord } from '../salesforce/gateway.js'
import { normalizeSalesforceId } from '../salesforce/ids.js'
import { createUserGateway } from '../salesforce/users.js'
import type { Store } from '../store/store.js'
import {
  buildCreateRecord, clearableFields, scimToFields, toScimUser,
  type FieldChanges, type ScimUser, type UserMapping,
} from '../mapping/user.js'
import { planPatch, type PatchOperation } from '../mapping/patch.js'
import { fromScimmy, guard, notFound, ScimError, toScimError } from './errors.js'
import { createIntents, USER_INTENTS } from './intents.js'
import { createOrdering, orderUserService } from './ordering.js'
import { createUserLister, type ListQuery, type ListPage } from './user-list.js'

export interface RequestContext {
  log: Logger
  /** Name of the authenticated SCIM client (journal, tombstones). */
  client: string
}

export interface UserService {
  /**
   * With `groups`, the user's group memberships are read in the same composite request as the user record: still
   * one API call (the membership queries are subrequests of it).
   */
  get (id: string, ctx: RequestContext, opts?: { groups?: UserGroupsReader }): Promise<ScimUser>
  list (q: ListQuery, ctx: RequestContext): Promise<ListPage<ScimUser>>
  /** `created` is false when an existing user was rehired or adopted (still 201 for the IdP). */
  create (user: Record<string, unknown>, ctx: RequestContext): Promise<{ user: ScimUser, rehired: boolean }>
  replace (id: string, user: Record<string, unknown>, mode: 'merge' | 'replace', ctx: RequestContext): Promise<ScimUser>
  patch (id: string, body: { Operations: PatchOperation[] }, ctx: RequestContext): Promise<ScimUser>
  delete (id: string, ctx: RequestContext): Promise<void>
}

/** The reads that find a user's groups, and how their answers become `groups` (src/scim/group-service.ts). */
export interface UserGroupsReader {
  requests: CompositeSubrequest[]
  build: (bodies: ReadonlyMap<string, unknown>) => Promise<Array<Record<string, unknown>>>
}

export interface UserServiceDeps {
  gateway: Gateway
  mapping: UserMapping
  config: UsersConfig
  store: Store
  /** The integration user's Id (connection.ts integrationUserId): outside the managed scope, always. */
  integrationUserId: () => Promise<string>
}

/**
 * A path id as the canonical 18-character Id (15 or 18 characters, any case: salesforce.md §2.6), so that every
 * lookup and the tombstone check see one form (a lower-case variant of a deleted user's id is the same user).
 * User ids carry the key prefix 005; any other id cannot name a User, so it is a 404 without a call.
 */
function userId (id: string): string {
  const canonical = normalizeSalesforceId(id)
  if (canonical === undefined || !canonical.startsWith('005')) throw notFound(id)
  return canonical
}

/** How often a CommunityNickname clash is retried with a fresh suffix before giving up. */
const NICKNAME_ATTEMPTS = 3

export function createUserService (deps: UserServiceDeps): UserService {
  const { mapping, config, store } = deps
  const users = createUserGateway(deps.gateway, mapping.selectFields, {
    integrationUserId: deps.integrationUserId,
    allowPrivileged: config.allowPrivileged,
    ...(config.scope.profiles !== undefined ? { profiles: config.scope.profiles } : {}),
  })
  const lister = createUserLister({ users, mapping, store })
  const intents = createIntents(store)

  async function rehire (existing: SfRecord, user: Record<string, unknown>, ctx: RequestContext, why = 'rehired an inactive Salesforce user'): Promise<ScimUser> {
    const id = String(existing.Id)
    const changes = scimToFields(mapping, user)
    changes.IsActive = user.active !== false
    delete changes.CommunityNickname
    // The guard travels with the write: a user that left the scope since the look-up is not taken over.
    const rec = await users.updateAndRead(id, changes, ctx.log).catch((err: unknown) => {
      if (err instanceof SalesforceError && err.code === 'NOT_FOUND') throw outOfScope(user)
      throw err
    })
    await store.removeTombstone(id)
    ctx.log.info({ userId: id }, why)
    return toScimUser(mapping, rec)
  }

  /** The canonical id of a user that is not tombstoned; a 404 otherwise. */
  async function checkId (pathId: string): Promise<string> {
    const id = userId(pathId)
    if (await store.isTombstoned(id)) throw notFound(pathId)
    return id
  }

  async function get (pathId: string, ctx: RequestContext, opts?: { groups?: UserGroupsReader }): Promise<ScimUser> {
    const id = userId(pathId)
    const reader = opts?.groups
    let rec: SfRecord | undefined
    let groups: Array<Record<string, unknown>> | undefined
    const withGroups = reader !== undefined && reader.requests.length > 0
      ? await guard(users.retrieveWith(id, reader.requests, ctx.log)
        .catch((err: unknown) => {
          // A membership query the org refuses must not cost the IdP its user: read the user alone (one more call).
          if (err instanceof SalesforceError && err.kind === 'validation') {
            ctx.log.warn({ userId: id, code: err.code }, 'could not read the user\'s groups; answering without them')
            return undefined
          }
          return notFoundOn(id)(err)
        }))
      : undefined
    if (withGroups !== undefined && reader !== undefined) {
      rec = withGroups.user
      groups = await reader.build(withGroups.bodies)
    } else {
      rec = await guard(users.retrieve(id, ctx.log))
      // Groups that need no Salesforce read (profile and role claims) when there was nothing to ask.
      if (reader !== undefined && reader.requests.length === 0) groups = await reader.build(new Map())
    }
    if (rec === undefined) throw notFound(id)
    if (await store.isTombstoned(id)) {
      // A tombstone only hides a user while it stays inactive: an admin who reactivated it by hand revived it.
      if (rec.IsActive !== true) throw notFound(id)
      await store.removeTombstone(id)
    }
    const user = toScimUser(mapping, rec)
    return groups !== undefined && groups.length > 0 ? { ...user, groups } : user
  }

  async function create (user: Record<string, unknown>, ctx: RequestContext): Promise<{ user: ScimUser, rehired: boolean }> {
    const name = String(user.userName ?? '')
    // Recorded before the call (intents.ts): what explains the user when this create's answer is lost.
    const { prior, intent } = await intents.begin(USER_INTENTS, name, ctx.client)
    for (let attempt = 0; ; attempt++) {
      const record = buildCreateRecord(mapping, config.defaults, user, attempt)
      try {
        const created = await users.createAndRead(record, ctx.log)
        // Settled and answered: a later POST of this userName is a new request (409 if the user is still there).
        await intents.clear(USER_INTENTS, name, ctx.client)
        return { user: toScimUser(mapping, created), rehired: false }
      } catch (err) {
        if (!(err instanceof SalesforceError)) throw err
        if (err.code === 'DUPLICATE_COMM_NICKNAME' && attempt + 1 < NICKNAME_ATTEMPTS) continue
        const username = String(record.Username)
        if (err.code === 'DUPLICATE_USERNAME') {
          const match = await guard(users.findByUsername(username, ctx.log))
          if (match === undefined) {
            if (prior === undefined) await intents.clear(USER_INTENTS, name, ctx.client)
            throw new ScimError(409, 'uniqueness', `userName ${String(user.userName)} is taken by a user in another Salesforce org (Salesforce usernames are unique across all orgs); use a different userName or a username suffix`, { salesforceCode: err.code })
          }
          // Outside the scope a user does not exist for SCIM: never rehired, adopted or named by its id.
          if (!match.inScope) {
            if (prior === undefined) await intents.clear(USER_INTENTS, name, ctx.client)
            throw outOfScope(user, err.code)
          }
          const existing = match.record
          const id = String(existing.Id)
          if (existing.IsActive !== true || await store.isTombstoned(id)) {
            const rehired = await guard(rehire(existing, user, ctx))
            await intents.clear(USER_INTENTS, name, ctx.client)
            return { user: rehired, rehired: true }
          }
          // The retry of this client's own create whose answer was lost (a timeout, a drop, a crash): the same
          // user, 201 as the first answer would have been, with what this POST says. Never a user someone else made.
          if (prior !== undefined && await intents.explains(USER_INTENTS, prior, existing)) {
            const again = await guard(rehire(existing, user, ctx, 'a retried create found the user its first attempt made; answering with it'))
            await intents.clear(USER_INTENTS, name, ctx.client)
            return { user: again, rehired: false }
          }
          if (config.onActiveConflict === 'adopt') {
            ctx.log.info({ userId: id }, 'adopting an existing active Salesforce user')
            const adopted = await guard(rehire(existing, user, ctx))
            await intents.clear(USER_INTENTS, name, ctx.client)
            return { user: adopted, rehired: true }
          }
          if (prior === undefined) await intents.clear(USER_INTENTS, name, ctx.client)
          throw new ScimError(409, 'uniqueness', `userName ${String(user.userName)} already exists (Salesforce user ${id})`, { salesforceCode: err.code })
        }
        if (err.kind === 'unknownOutcome') {
          // The POST may have reached Salesforce before the connection broke: look, never create twice. The user
          // found is this create's only if it was made after the intent (an admin's user of this name is not).
          const existing = (await guard(users.findByUsername(username, ctx.log)))
          if (existing !== undefined && existing.inScope && existing.record.IsActive === true && !await store.isTombstoned(String(existing.record.Id)) &&
            await intents.explains(USER_INTENTS, intent, existing.record)) {
            ctx.log.warn({ userId: existing.record.Id }, 'create outcome was unknown; the user exists, answering with it')
            await intents.clear(USER_INTENTS, name, ctx.client)
            return { user: toScimUser(mapping, existing.record), rehired: false }
          }
          // The intent stays: the IdP's retry will find what this create made, if it made anything.
          throw toScimError(err)
        }
        if (prior === undefined) await intents.clear(USER_INTENTS, name, ctx.client)
        throw toScimError(err)
      }
    }
  }

  async function replace (pathId: string, user: Record<string, unknown>, mode: 'merge' | 'replace', ctx: RequestContext): Promise<ScimUser> {
    const id = await checkId(pathId)
    const changes = scimToFields(mapping, user)
    // Alias and nickname are derived once at creation; a PUT that carries no nickName keeps the one Salesforce has.
    if (mode === 'replace') {
      for (const field of clearableFields(mapping)) if (!(field in changes)) changes[field] = null
    }
    return toScimUser(mapping, await guard(users.updateAndRead(id, changes, ctx.log).catch(notFoundOn(id))))
  }

  async function patch (pathId: string, body: { Operations: PatchOperation[] }, ctx: RequestContext): Promise<ScimUser> {
    const id = await checkId(pathId)
    const plan = planPatch(mapping, body.Operations)
    if (plan.kind === 'direct') {
      return toScimUser(mapping, await guard(users.updateAndRead(id, plan.changes, ctx.log).catch(notFoundOn(id))))
    }
    // Slow path (two calls): the operations depend on current values, so read, apply with SCIMMY, diff, write.
    ctx.log.debug({ reason: plan.reason }, 'PATCH needs the current user')
    const current = await guard(users.retrieve(id, ctx.log))
    if (current === undefined) throw notFound(id)
    const before = toScimUser(mapping, current)
    const patched = await fromScimmy(async () => await new SCIMMY.Messages.PatchOp({ schemas: [SCIMMY.Messages.PatchOp.id], Operations: body.Operations as never })
      .apply(new SCIMMY.Schemas.User(before, 'out'), async (instance) => instance))
    const after = JSON.parse(JSON.stringify(patched)) as Record<string, unknown>
    const oldFields = scimToFields(mapping, before)
    const newFields = scimToFields(mapping, after)
    const changes: FieldChanges = {}
    for (const [k, v] of Object.entries(newFields)) if (oldFields[k] !== v) changes[k] = v
    for (const k of Object.keys(oldFields)) if (!(k in newFields) && clearableFields(mapping).includes(k)) changes[k] = null
    return toScimUser(mapping, await guard(users.updateAndRead(id, changes, ctx.log).catch(notFoundOn(id))))
  }

  async function remove (pathId: string, ctx: RequestContext): Promise<void> {
    const id = await checkId(pathId)
    const rec = await guard(users.deactivateAndRead(id, config.deleteMode, ctx.log).catch(notFoundOn(id)))
    await store.addTombstone({ id: String(rec.Id), userName: mapping.fromUsername(String(rec.Username ?? '')), client: ctx.client })
  }

  // Writes to one user run in order, also past a timeout (ordering.ts, issue 16).
  return orderUserService({
    get,
    list: async (q, ctx) => {
      const page = await guard(lister.list(q, ctx.log))
      return { ...page, resources: page.resources.map((r) => toScimUser(mapping, r)) }
    },
    create,
    replace,
    patch,
    delete: remove,
  }, createOrdering(store))
}

/** A POST naming a user outside the managed scope: 409, and the detail says why (never a rehire). */
function outOfScope (user: Record<string, unknown>, salesforceCode = 'DUPLICATE_USERNAME'): ScimError {
  return new ScimError(409, 'uniqueness', `userName ${String(user.userName)} belongs to a Salesforce user outside scimforce's managed scope (the integration user, a privileged user, or a profile not in users.scope); it cannot be created, rehired or adopted through SCIM`, { salesforceCode })
}

/** A path id that Salesforce does not know is a 404 for the IdP; a bad id inside the body stays a 400. */
function notFoundOn (id: string): (err: unknown) => never {
  return (err: unknown) => {
    if (err instanceof SalesforceError && (err.code === 'NOT_FOUND' || (err.code === 'MALFORMED_ID' && err.fields.length === 0) || err.code === 'ENTITY_IS_DELETED')) {
      throw notFound(id)
    }
    throw err
  }
}
