// SCIM User operations on top of the Users gateway (src/salesforce/users.ts): create (with rehire), read, list,
// replace, patch and delete. Each operation costs one Salesforce API call on its common path (a write and its
// read-back travel in one composite request, which Salesforce counts as one call).
import SCIMMY from 'scimmy'
import type { UsersConfig } from '../config/types.js'
import { CORE_USER_SCHEMA } from '../protocol/constants.js'
import type { Logger } from '../salesforce/connection.js'
import { SalesforceError } from '../salesforce/errors.js'
import type { CompositeSubrequest, Gateway, SfRecord } from '../salesforce/gateway.js'
import { normalizeSalesforceId } from '../salesforce/ids.js'
import type { ApiVersionCheck } from '../salesforce/api-version.js'
import { createLicenceGateway } from '../salesforce/licences.js'
import { createUserGateway, renamedUsername, userScopeOf } from '../salesforce/users.js'
import type { Store } from '../store/store.js'
import {
  buildCreateRecord, clearableFields, scimToFields, toScimUser,
  type FieldChanges, type ScimUser, type UserMapping,
} from '../mapping/user.js'
import { lowerCaseOperationTypes, planPatch, resolveValueFilters, takeExternalId, type PatchOperation } from '../mapping/patch.js'
import { createDeprovisioner } from './deprovision.js'
import { explainUserLicenceLimit } from './licence-keeper.js'
import { createLicenceRelease } from './licence-release.js'
import { fromScimmy, guard, notFound, ScimError, toScimError } from './errors.js'
import { createUserNames, userNameInPatch } from './user-names.js'
import { createUserExternalIds } from './user-external-ids.js'
import { createPendingEmails, type PendingEmailEvent } from './user-pending-email.js'
import { createIntents, USER_INTENTS } from './intents.js'
import { createOrdering, equalityNames, idLockKey, nameLockKey, type Ordering, type OrderingOptions } from './ordering.js'
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
  build: (bodies: ReadonlyMap<string, unknown>, log?: Logger) => Promise<Array<Record<string, unknown>>>
}

export interface UserServiceDeps {
  gateway: Gateway
  mapping: UserMapping
  config: UsersConfig
  store: Store
  /** The integration user's Id (connection.ts integrationUserId): outside the managed scope, always. */
  integrationUserId: () => Promise<string>
  /**
   * Asked before a user is answered 404: when SF_API_VERSION is not offered, every record reads NOT_FOUND, and the
   * IdP must hear an outage (503), never "deleted" (it would re-create its users).
   */
  apiVersion?: ApiVersionCheck
  /** Counts email changes waiting for the user's verification (metrics.ts). */
  onPendingEmail?: (event: PendingEmailEvent) => void
  /** Per-user ordering's waits (config salesforce.orderWaitMs and settleCapMs, orderingOptions); omitted: the defaults. */
  ordering?: OrderingOptions
}

/**
 * A path id as the canonical 18-character Id (15 or 18 characters, any case: docs/salesforce-behaviour.md#ids), so that every
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
  const users = createUserGateway(deps.gateway, mapping.selectFields, userScopeOf(config, deps.integrationUserId), { coalesce: config.coalesceWrites })
  const externalIds = createUserExternalIds(store)
  const userNames = createUserNames(store, mapping)
  const lister = createUserLister({ users, mapping, store, externalIds })
  /** Without users.externalIdField, externalId is scimforce's own (per client), not a Salesforce field. */
  const keepsExternalId = mapping.externalIdField === undefined

  const pendingEmails = createPendingEmails(store, deps.onPendingEmail)
  const intents = createIntents(store)

  /** The SCIM User of a record, with what scimforce keeps beside Salesforce (externalId, a pending Email). */
  async function present (rec: SfRecord, ctx: RequestContext): Promise<ScimUser> {
    let user = toScimUser(mapping, rec)
    // users.usernameDomain: the userName the IdP sent, not the Username Salesforce holds for it.
    const literal = await userNames.shown(rec.Username)
    if (literal !== undefined) user = { ...user, userName: literal }
    const pending = await pendingEmails.shown(user.id, rec.Email, ctx.log)
    if (pending !== undefined) user = withWorkEmail(user, pending)
    if (!keepsExternalId) return user
    const externalId = await externalIds.get(ctx.client, user.id)
    return externalId === undefined ? user : { ...user, externalId }
  }

  /** After a write: an Email the read-back does not show is waiting for the user's verification. */
  async function checkEmail (id: string, changes: FieldChanges, rec: SfRecord, ctx: RequestContext): Promise<void> {
    if (typeof changes.Email === 'string') await pendingEmails.afterWrite(id, changes.Email, rec.Email, ctx.log)
  }

  /** Records the externalId a write carried (`null` removes; undefined leaves it). */
  async function keepExternalId (id: string, value: unknown, ctx: RequestContext): Promise<void> {
    if (!keepsExternalId || value === undefined) return
    await externalIds.set(ctx.client, id, typeof value === 'string' && value !== '' ? value : null)
  }

  const licences = createLicenceGateway(deps.gateway)
  const deprovision = createDeprovisioner(users, store, config.releaseLicencesOnDeactivate !== false ? createLicenceRelease(licences, store) : undefined)

  /**
   * Every write of an existing user: one that disables goes through the deprovisioner (frozen or inactive, never
   * neither), one that enables undoes scimforce's freeze; anything else is the plain guarded update.
   */
  async function write (id: string, changes: FieldChanges, ctx: RequestContext, freezeFirst = config.freezeOnDisable === 'always'): Promise<SfRecord> {
    if (config.sandbox !== undefined && typeof changes.Email === 'string') await keepInvalidEmail(id, changes, ctx)
    if (changes.IsActive === false) return await deprovision.disable(id, changes, { freezeFirst, userName: userNameOf(id, changes) }, ctx.log)
    return await (changes.IsActive === true ? deprovision.enable(id, changes, ctx.log) : users.updateAndRead(id, changes, ctx.log))
      .catch(async (err: unknown) => {
        // A reactivation (or a feature flag) without a free licence: name it and its counts, read only now.
        if (err instanceof SalesforceError && err.code === 'LICENSE_LIMIT_EXCEEDED') throw await explainUserLicenceLimit(err, licences, `user ${id}`, ctx.log)
        throw err
      })
  }

  /**
   * Sandbox mode: an Email the IdP sends unchanged while Salesforce holds it with `.invalid` appended (a refresh
   * did that) is dropped from the write, so no verification mail goes out at every PUT. Costs one read, in
   * sandbox mode only, for writes that carry an Email.
   */
  async function keepInvalidEmail (id: string, changes: FieldChanges, ctx: RequestContext): Promise<void> {
    const current = await users.retrieve(id, ctx.log)
    const held = typeof current?.Email === 'string' ? current.Email : undefined
    if (held !== undefined && held.toLowerCase() === `${String(changes.Email).toLowerCase()}.invalid`) delete changes.Email
  }

  /** Who a message is about, without a call: the userName a PUT carries, else the id. */
  function userNameOf (id: string, changes: FieldChanges): string {
    return typeof changes.Username === 'string' && config.deleteMode !== 'rename' ? `${mapping.fromUsername(changes.Username)} (${id})` : `user ${id}`
  }

  async function rehire (existing: SfRecord, user: Record<string, unknown>, ctx: RequestContext, why = 'rehired an inactive Salesforce user'): Promise<ScimUser> {
    const id = String(existing.Id)
    const changes = scimToFields(mapping, user)
    changes.IsActive = user.active !== false
    delete changes.CommunityNickname
    // The guard travels with the write: a user that left the scope since the look-up is not taken over.
    const rec = await write(id, changes, ctx).catch((err: unknown) => {
      if (err instanceof SalesforceError && err.code === 'NOT_FOUND') throw outOfScope(user)
      throw err
    })
    await store.removeTombstone(id)
    await checkEmail(id, changes, rec, ctx)
    await keepExternalId(id, user.externalId ?? null, ctx)
    await userNames.keep(user.userName)
    ctx.log.info({ userId: id }, why)
    return await present(rec, ctx)
  }

  /** A 404 for `id`, unless the org does not offer the configured API version: then an outage (503). */
  async function missing (id: string, log: Logger): Promise<never> {
    if (await deps.apiVersion?.offered(log) === false) {
      throw new ScimError(503, undefined, `Salesforce does not offer API version v${deps.apiVersion?.version ?? '?'} (SF_API_VERSION): scimforce cannot read any record; run \`scimforce doctor\``, { retryAfter: 300 })
    }
    throw notFound(id)
  }

  /** notFoundOn, with the API version checked first (missing). */
  function lostOn (id: string, log: Logger): (err: unknown) => Promise<never> {
    return async (err: unknown) => {
      let mapped: unknown
      try { notFoundOn(id)(err) } catch (e) { mapped = e }
      if (mapped instanceof ScimError && mapped.status === 404) return await missing(id, log)
      throw mapped
    }
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
        .catch(async (err: unknown) => {
          // A membership query the org refuses must not cost the IdP its user: read the user alone (one more call).
          if (err instanceof SalesforceError && err.kind === 'validation') {
            ctx.log.warn({ userId: id, code: err.code }, 'could not read the user\'s groups; answering without them')
            return undefined
          }
          return await lostOn(id, ctx.log)(err)
        }))
      : undefined
    if (withGroups !== undefined && reader !== undefined) {
      rec = withGroups.user
      groups = await reader.build(withGroups.bodies, ctx.log)
    } else {
      rec = await guard(users.retrieve(id, ctx.log))
      // Groups that need no Salesforce read (profile and role claims) when there was nothing to ask.
      if (reader !== undefined && reader.requests.length === 0) groups = await reader.build(new Map(), ctx.log)
    }
    if (rec === undefined) return await missing(id, ctx.log)
    if (await store.isTombstoned(id)) {
      // A tombstone only hides a user while it stays inactive: an admin who reactivated it by hand revived it.
      if (rec.IsActive !== true) throw notFound(id)
      await store.removeTombstone(id)
    }
    const user = await present(rec, ctx)
    return groups !== undefined && groups.length > 0 ? { ...user, groups } : user
  }

  // Concurrent creates of one userName, on any replica, run one after another: the ordering (ordering.ts) holds the
  // store lock `userName:<lowercased>` around every create, so the second finds the first's user (DUPLICATE_USERNAME
  // → 409, adopt, or this client's own retry) instead of racing it into Salesforce.
  async function create (user: Record<string, unknown>, ctx: RequestContext): Promise<{ user: ScimUser, rehired: boolean }> {
    const name = String(user.userName ?? '')
    // Recorded before the call (intents.ts): what explains the user when this create's answer is lost.
    const { prior, intent } = await intents.begin(USER_INTENTS, name, ctx.client)
    const settled = async <T>(value: T): Promise<T> => { await intents.clear(USER_INTENTS, name, ctx.client); return value }
    const refused = async (err: unknown): Promise<never> => {
      if (prior === undefined) await intents.clear(USER_INTENTS, name, ctx.client)
      throw err
    }
    let duplicateRetries = 0
    for (let attempt = 0; ; attempt++) {
      const record = buildCreateRecord(mapping, config.defaults, user, attempt)
      try {
        const rec = await users.createAndRead(record, ctx.log)
        await keepExternalId(String(rec.Id), user.externalId ?? null, ctx)
        await userNames.keep(user.userName)
        // Settled and answered: a later POST of this userName is a new request (409 if the user is still there).
        return await settled({ user: await present(rec, ctx), rehired: false })
      } catch (err) {
        if (!(err instanceof SalesforceError)) throw err
        if (err.code === 'DUPLICATE_COMM_NICKNAME' && attempt + 1 < NICKNAME_ATTEMPTS) continue
        const username = String(record.Username)
        if (err.code === 'DUPLICATE_USERNAME') {
          const match = await guard(users.findByUsername(username, ctx.log))
          if (match === undefined) {
            // A sandbox refreshed lately: the username may be a replica of this org's own user (docs/salesforce-behaviour.md#licences).
            const wait = sandboxRetryDelay(config, duplicateRetries++)
            if (wait !== undefined) {
              ctx.log.info({ userName: user.userName, waitMs: wait }, 'DUPLICATE_USERNAME in a sandbox after a refresh; retrying')
              await new Promise((resolve) => setTimeout(resolve, wait))
              attempt--
              continue
            }
            return await refused(new ScimError(409, 'uniqueness', `userName ${String(user.userName)} is taken by a user in another Salesforce org (Salesforce usernames are unique across all orgs); use a different userName or a username suffix`, { salesforceCode: err.code }))
          }
          // Outside the scope a user does not exist for SCIM: never rehired, adopted or named by its id.
          if (!match.inScope) return await refused(outOfScope(user, err.code))
          const existing = match.record
          const id = String(existing.Id)
          if (existing.IsActive !== true || await store.isTombstoned(id)) {
            return await settled({ user: await guard(rehire(existing, user, ctx)), rehired: true })
          }
          // The retry of this client's own create whose answer was lost (a timeout, a drop, a crash): the same
          // user, 201 as the first answer would have been, with what this POST says. Never a user someone else made.
          if (prior !== undefined && await intents.explains(USER_INTENTS, prior, existing)) {
            const again = await guard(rehire(existing, user, ctx, 'a retried create found the user its first attempt made; answering with it'))
            return await settled({ user: again, rehired: false })
          }
          if (config.onActiveConflict === 'adopt') {
            return await settled({ user: await guard(rehire(existing, user, ctx, 'adopted an existing active Salesforce user')), rehired: true })
          }
          return await refused(new ScimError(409, 'uniqueness', `userName ${String(user.userName)} already exists (Salesforce user ${id})`, { salesforceCode: err.code }))
        }
        if (err.kind === 'unknownOutcome') {
          // The POST may have reached Salesforce before the connection broke: look, never create twice. The user
          // found is this create's only if it was made after the intent (an admin's user of this name is not).
          const existing = (await guard(users.findByUsername(username, ctx.log)))
          if (existing !== undefined && existing.inScope && existing.record.IsActive === true && !await store.isTombstoned(String(existing.record.Id)) &&
            await intents.explains(USER_INTENTS, intent, existing.record)) {
            ctx.log.warn({ userId: existing.record.Id }, 'create outcome was unknown; the user exists, answering with it')
            await keepExternalId(String(existing.record.Id), user.externalId ?? null, ctx)
            await userNames.keep(user.userName)
            return await settled({ user: await present(existing.record, ctx), rehired: false })
          }
          // The intent stays: the IdP's retry will find what this create made, if it made anything.
          throw toScimError(err)
        }
        if (err.code === 'LICENSE_LIMIT_EXCEEDED') return await refused(await explainUserLicenceLimit(err, licences, `userName ${String(user.userName)}`, ctx.log))
        return await refused(toScimError(err))
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
    const rec = await guard(write(id, changes, ctx).catch(lostOn(id, ctx.log)))
    await checkEmail(id, changes, rec, ctx)
    await keepExternalId(id, mode === 'replace' ? user.externalId ?? null : user.externalId, ctx)
    await userNames.keep(user.userName)
    return await present(rec, ctx)
  }

  async function patch (pathId: string, body: { Operations: PatchOperation[] }, ctx: RequestContext): Promise<ScimUser> {
    const id = await checkId(pathId)
    const taken = keepsExternalId ? takeExternalId(body.Operations) : { operations: body.Operations }
    let operations = lowerCaseOperationTypes(taken.operations)
    let rec: SfRecord | undefined
    let current: SfRecord | undefined
    let plan = operations.length === 0 ? { kind: 'direct' as const, changes: {} } : planPatch(mapping, operations)
    if (plan.kind === 'needsCurrent') {
      // Value filters that name an entry by its value (`emails[value eq "x"]`) resolve against the current user to
      // the slot they name; what still depends on current values is applied with SCIMMY (two calls either way).
      ctx.log.debug({ reason: plan.reason }, 'PATCH needs the current user')
      current = await guard(users.retrieve(id, ctx.log))
      if (current === undefined) return await missing(id, ctx.log)
      operations = resolveValueFilters(operations, toScimUser(mapping, current))
      plan = planPatch(mapping, operations)
    }
    let written: FieldChanges = {}
    if (plan.kind === 'direct') {
      written = plan.changes
      rec = Object.keys(plan.changes).length === 0 ? current : await guard(write(id, plan.changes, ctx).catch(lostOn(id, ctx.log)))
    } else {
      const before = toScimUser(mapping, current as SfRecord)
      const patched = await fromScimmy(async () => await new SCIMMY.Messages.PatchOp({ schemas: [SCIMMY.Messages.PatchOp.id], Operations: operations as never })
        .apply(new SCIMMY.Schemas.User(before, 'out'), async (instance) => instance))
      // SCIMMY answers undefined when the operations changed nothing: a no-op PATCH is a 200 with the user as it is.
      const after = patched === undefined ? before : JSON.parse(JSON.stringify(patched)) as Record<string, unknown>
      const oldFields = scimToFields(mapping, before)
      const newFields = scimToFields(mapping, after)
      const changes: FieldChanges = {}
      for (const [k, v] of Object.entries(newFields)) if (oldFields[k] !== v) changes[k] = v
      for (const k of Object.keys(oldFields)) if (!(k in newFields) && clearableFields(mapping).includes(k)) changes[k] = null
      written = changes
      rec = Object.keys(changes).length === 0 ? current : await guard(write(id, changes, ctx).catch(lostOn(id, ctx.log)))
    }
    // Nothing to write in Salesforce (only externalId, or a no-op): the user as it is.
    rec ??= await guard(users.retrieve(id, ctx.log).catch(lostOn(id, ctx.log)))
    if (rec === undefined) return await missing(id, ctx.log)
    await checkEmail(id, written, rec, ctx)
    await keepExternalId(id, taken.externalId, ctx)
    if (typeof written.Username === 'string') await userNames.keep(userNameInPatch(operations))
    return await present(rec, ctx)
  }

  async function remove (pathId: string, ctx: RequestContext): Promise<void> {
    const id = await checkId(pathId)
    const changes: FieldChanges = { IsActive: false }
    if (config.deleteMode === 'rename') {
      // The rename needs the current Username (one more call, as before).
      const current = await guard(users.retrieve(id, ctx.log))
      if (current === undefined) throw notFound(id)
      changes.Username = renamedUsername(String(current.Username))
    }
    const freezeFirst = config.deleteMode === 'freeze' || config.freezeOnDisable === 'always'
    // A refused deactivation throws (409, the user frozen): no tombstone, so the IdP's retry reaches the user again.
    const rec = await guard(write(id, changes, ctx, freezeFirst).catch(lostOn(id, ctx.log)))
    await store.addTombstone({ id: String(rec.Id), userName: mapping.fromUsername(String(rec.Username ?? '')), client: ctx.client })
  }

  // Writes to one user run in order, also past a timeout (ordering.ts, issue 16).
  return orderUserService({
    get,
    list: async (q, ctx) => {
      const page = await guard(lister.list(q, ctx.log, ctx.client))
      return { ...page, resources: await Promise.all(page.resources.map(async (r) => await present(r, ctx))) }
    },
    create,
    replace,
    patch,
    delete: remove,
  }, createOrdering(store, deps.ordering))
}

/** The user with its work (Salesforce Email) address shown as `email`. */
function withWorkEmail (user: ScimUser, email: string): ScimUser {
  const emails = Array.isArray(user.emails) ? (user.emails as Array<Record<string, unknown>>) : []
  const rest = emails.filter((e) => e.type !== 'work')
  return { ...user, emails: [{ value: email, type: 'work', primary: true }, ...rest] }
}

/** How long to wait before retrying a DUPLICATE_USERNAME in a refreshed sandbox (48 h window, KB 000383623), or undefined. */
export function sandboxRetryDelay (config: UsersConfig, retry: number, now = Date.now()): number | undefined {
  const sandbox = config.sandbox
  if (sandbox === undefined) return undefined
  if (sandbox.refreshedAt !== undefined && now - Date.parse(sandbox.refreshedAt) > 48 * 3600_000) return undefined
  return sandbox.duplicateRetryDelaysMs[retry]
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

/** The user service with its writes ordered per user and its reads served after them. */
export function orderUserService (users: UserService, ordering: Ordering): UserService {
  return {
    get: async (id, ctx, opts) => await ordering.read(idLockKey('user', id), async () => await users.get(id, ctx, opts)),
    // A look-up by userName waits for a create of that name still in Salesforce's hands (equalityNames).
    list: async (q, ctx) => await ordering.read(equalityNames(q.filter, 'userName', CORE_USER_SCHEMA).map((n) => nameLockKey('userName', n)), async () => await users.list(q, ctx)),
    create: async (user, ctx) => await ordering.write(nameLockKey('userName', user.userName), async () => await users.create(user, ctx), ctx.log),
    replace: async (id, user, mode, ctx) => await ordering.write(idLockKey('user', id), async () => await users.replace(id, user, mode, ctx), ctx.log),
    patch: async (id, body, ctx) => await ordering.write(idLockKey('user', id), async () => await users.patch(id, body, ctx), ctx.log),
    delete: async (id, ctx) => { await ordering.write(idLockKey('user', id), async () => { await users.delete(id, ctx) }, ctx.log) },
  }
}
