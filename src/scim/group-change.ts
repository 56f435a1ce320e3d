// Reading what a group change needs and executing the plan mapping/group-plan.ts makes of it: store effects are
// recorded before each Salesforce write and undone only when Salesforce surely did not apply it, and errors are
// worded for the admin (which member, how far a multi-step change got).
import { TARGETS, displayNameOf, isSingleValued, keepFullName, salesforceGroupName, kindOfId, sameId, type GroupChange, type GroupKind, type MemberRef, type ScimMember } from '../mapping/group.js'
import { sameTarget } from '../mapping/group-target.js'
import { planGroupChange, type ChangeState, type StoreEffect } from '../mapping/group-plan.js'
import { RecordWriteError, progressOf } from '../salesforce/batch.js'
import { SalesforceError } from '../salesforce/errors.js'
import type { SfRecord } from '../salesforce/gateway.js'
import type { GroupRead, GroupReadResult } from '../salesforce/groups.js'
import { normalizeSalesforceId } from '../salesforce/ids.js'
import { ScimError, toScimError } from './errors.js'
import { notFound } from './errors.js'
import { loadMarks } from './group-marks.js'
import { createIntents, GROUP_INTENTS } from './intents.js'
import { explainUserLicenceLimit, licenceOf } from './licence-keeper.js'
import { recordReleased } from './licence-release.js'
import type { GroupContext, Target } from './group-types.js'
import type { RequestContext } from './user-service.js'

/** The state a change was planned on (the users read, with their records). */
export interface State extends ChangeState {
  rows: Map<string, string>
  users: Map<string, SfRecord>
  names: Map<string, string>
}

export const emptyState = (): State => ({ rows: new Map(), users: new Map(), names: new Map() })

/** Salesforce's Username holds 80 characters (Object Reference, User). */
const MAX_USERNAME = 80

/**
 * Whether a userName given as a member's `display` can name a Salesforce user at all. One that cannot (longer
 * than a Username, or holding `@{`, which no email-shaped Username does and which Salesforce could read as a
 * composite reference) is never sent: it is an unknown member (400), whatever its length.
 */
export const canBeUsername = (username: string): boolean => username.length <= MAX_USERNAME && !username.includes('@{')

/** The config key that opens an admin-made public group to SCIM writes (src/config/schema.ts). */
export const MANAGE_EXISTING_KEY = 'groups.manageExisting'

export function createGroupChanges (gc: GroupContext) {
  const { sf, store, config, userMapping } = gc
  const fallbackProfileId = normalizeSalesforceId(gc.users.defaults.ProfileId) ?? gc.users.defaults.ProfileId
  const intents = createIntents(store)

  const display = (rec: SfRecord): string => userMapping.fromUsername(String(rec.Username ?? ''))

  /** The SCIM group an id names: 404 unless a record of a SCIM kind exists and maps back to itself. */
  async function parseId (raw: string): Promise<{ id: string, kind: GroupKind }> {
    // A feature licence group's id is the field a mapping names (no record has an Id, issue 13); any other such
    // name is no SCIM group, and is never sent to Salesforce.
    const feature = raw.startsWith(TARGETS.featureLicence.prefix)
      ? config.mappings.find((m) => m.kind === 'featureLicence' && m.target.toLowerCase() === raw.toLowerCase())?.target
      : undefined
    const id = raw.startsWith(TARGETS.featureLicence.prefix) ? feature : normalizeSalesforceId(raw)
    const kind = id === undefined ? undefined : kindOfId(id)
    if (id === undefined || kind === undefined || await store.isGroupTombstoned(id)) throw notFound(raw)
    return { id, kind }
  }

  function asTarget (kind: GroupKind, record: SfRecord | undefined, raw: string): Target {
    if (record === undefined || record === null) throw notFound(raw)
    const displayName = displayNameOf(config, kind, record)
    if (displayName === undefined || !sameTarget(config, displayName, kind, record)) throw notFound(raw)
    return { kind, id: String(record.Id), record, displayName }
  }

  /**
   * Whether SCIM may write to this target: any mapped record (the mapping is the admin's consent), a public group
   * scimforce created, or an admin-made one that groups.manageExisting names by Name or Id.
   */
  async function manages (target: Target): Promise<boolean> {
    if (target.kind !== 'group' || await store.isGroupCreated(target.id)) return true
    if (await adoptIntended(target)) return true
    const name = String(target.record.Name ?? target.displayName).toLowerCase()
    return (config.manageExisting ?? []).some((entry) => {
      const id = normalizeSalesforceId(entry)
      return (id !== undefined && sameId(id, target.id)) || entry.toLowerCase() === name
    })
  }

  /**
   * A public group whose create lost its answer (a drop or a crash after the commit), found by the IdP by name
   * rather than by re-POSTing: a create intent (intents.ts) shows scimforce made it, with its first members, so
   * it is recorded as scimforce's own on first sight, as the first answer would have had it (issue 16).
   */
  async function adoptIntended (target: Target): Promise<boolean> {
    const name = String(target.record.Name ?? target.displayName)
    const intent = await intents.explainedBy(GROUP_INTENTS, name, target.record)
    if (intent === undefined) return false
    await store.transaction(async (tx) => {
      await tx.markGroupCreated(target.id)
      await tx.addMemberships((intent.members ?? []).map((userId) => ({ targetId: target.id, userId, kind: 'group' as const, displayName: name })), intent.client)
    })
    await intents.clear(GROUP_INTENTS, name, intent.client)
    return true
  }

  /**
   * Refuses (403, nothing written) a change of the members or displayName of a public group an admin made, unless
   * groups.manageExisting opts it in: every internal user may inherit such a group's sharing. An externalId alone
   * is scimforce's own bookkeeping and goes through.
   */
  async function assertWritable (target: Target, change: GroupChange): Promise<void> {
    const touches = change.base !== undefined || change.ops.length > 0 || (change.displayName !== undefined && change.displayName !== target.displayName)
    if (!touches || await manages(target)) return
    throw new ScimError(403, undefined, `'${target.displayName}' (${target.id}) is a public group an admin made in Salesforce, not scimforce: its members and name are left alone. To let SCIM manage it, add its name or Id to ${MANAGE_EXISTING_KEY}`)
  }

  /** Reads the target together with `extra` reads, in one call. */
  async function load (raw: string, extra: GroupRead, ctx: RequestContext): Promise<{ target: Target, read: GroupReadResult }> {
    const { id, kind } = await parseId(raw)
    let read: GroupReadResult
    try {
      read = await sf.read({ ...extra, target: { kind, id } }, ctx.log)
    } catch (err) {
      if (err instanceof SalesforceError && (err.kind === 'notFound' || err.code === 'MALFORMED_ID')) throw notFound(raw)
      throw err
    }
    // Queues share the 00G prefix with public groups: the record's Type says which it is (issue 13).
    const actual: GroupKind = kind === 'group' && read.target?.Type === 'Queue' ? 'queue' : kind
    return { target: asTarget(actual, read.target, raw), read }
  }

  /** The members read for a target: users (a SCIM-deleted one is gone for the IdP, RFC 7644 §3.6), then groups. */
  async function membersFrom (read: { users: SfRecord[], groups: SfRecord[] } | undefined): Promise<ScimMember[]> {
    const users: SfRecord[] = []
    for (const r of read?.users ?? []) if (!await store.isTombstoned(String(r.Id))) users.push(r)
    return [
      ...users.map((r): ScimMember => ({ value: String(r.Id), display: display(r), type: 'User' })),
      ...(read?.groups ?? []).map((r): ScimMember => ({ value: String(r.Id), display: String(r.Name ?? ''), type: 'Group' })),
    ]
  }

  /** The members a full state read found, with userNames, for PUT and POST answers (no further read). */
  async function membersAfter (result: Set<string>, state: State): Promise<ScimMember[]> {
    const out: ScimMember[] = []
    for (const id of [...result].sort()) {
      if (id.startsWith('00G')) {
        out.push({ value: id, type: 'Group' })
      } else if (!await store.isTombstoned(id)) {
        const u = state.users.get(id)
        out.push({ value: id, ...(u !== undefined ? { display: display(u) } : {}), type: 'User' })
      }
    }
    return out
  }

  /**
   * Reads the target and what the change touches, in one call (two when members come by userName only: the
   * names are resolved first). `full`: every current member (PUT, replace, or a POST that links an existing
   * target); otherwise only the members the request names are looked at.
   */
  async function readForChange (raw: string | Target, refs: MemberRef[], full: boolean, ctx: RequestContext): Promise<{ target: Target, state: State }> {
    const names = [...new Set(refs.filter((r) => r.id === undefined).map((r) => (r.userName ?? '').toLowerCase()))]
      .filter((n) => canBeUsername(userMapping.toUsername(n)))
    const state = emptyState()
    const collect = (records: readonly SfRecord[], byName: boolean): void => {
      for (const r of records) {
        const id = String(r.Id)
        state.users.set(id, r)
        if (byName) state.names.set(display(r).toLowerCase(), id)
      }
    }
    let target = typeof raw === 'string' ? undefined : raw
    if (names.length > 0) {
      const byName: GroupRead = { userNames: names.map((n) => userMapping.toUsername(n)) }
      if (target === undefined) {
        const loaded = await load(raw as string, byName, ctx)
        target = loaded.target
        collect(loaded.read.byName, true)
      } else {
        collect((await sf.read(byName, ctx.log)).byName, true)
      }
    }
    const ids = [...new Set(refs.map((r) => r.id ?? state.names.get((r.userName ?? '').toLowerCase())).filter((id): id is string => id !== undefined))]
    const { kind, id: targetId } = target ?? await parseId(raw as string)
    const extraUsers = isSingleValued(kind) && full ? await store.membersOf(targetId) : []
    const request: GroupRead = {
      userIds: [...new Set([...ids, ...extraUsers])].filter((id) => !state.users.has(id)),
      ...(!isSingleValued(kind) ? { rows: { kind, targetId, userIds: full ? undefined : ids } } : {}),
    }
    let read: GroupReadResult
    if (target === undefined) {
      const loaded = await load(raw as string, request, ctx)
      target = loaded.target
      read = loaded.read
    } else {
      read = await sf.read(request, ctx.log)
    }
    collect(read.users, false)
    for (const [userId, row] of read.rows) state.rows.set(userId, row)
    return { target, state }
  }

  /** Applies store effects, all or none. */
  async function applyEffects (effects: readonly StoreEffect[], client: string): Promise<void> {
    if (effects.length === 0) return
    await store.transaction(async (tx) => {
      for (const e of effects) {
        switch (e.type) {
          case 'addMembership': await tx.addMemberships([e.membership], client); break
          case 'removeMembership': await tx.removeMemberships(e.targetId, [e.userId]); break
          case 'setManagedField': await tx.setManagedField(e.userId, e.field, e.value); break
          case 'clearManagedField': await tx.clearManagedField(e.userId, e.field); break
          case 'setGroupExternalId': await tx.setGroupExternalId(e.groupId, e.externalId); break
        }
      }
    })
  }

  /**
   * Plans the change (mapping/group-plan.ts), then executes it: each write's store effects first, the writes,
   * then the effects that need no write. Returns the resulting member set when the state read was full.
   */
  async function apply (target: Target, change: GroupChange, state: State, full: boolean, ctx: RequestContext): Promise<Set<string> | undefined> {
    const marks = await loadMarks(store, target, change, state)
    const plan = planGroupChange({ config, fallbackProfileId, target, change, state, full, marks })
    for (const { userId, row } of plan.kept) ctx.log.info({ group: target.id, userId, row }, `left a ${TARGETS[target.kind].label} membership scimforce did not make`)
    target.displayName = plan.displayName
    // A permission set that needs a permission set licence: the licence first, for the members who lack it.
    const licenceId = gc.licences === undefined ? undefined : licenceOf(target)
    await deferForInactive(target, plan, state, licenceId, ctx)
    const granted = licenceId === undefined
      ? []
      : await gc.licences?.grant(licenceId, plan.writes.filter((w) => w.write.op === 'addMember').map((w) => w.write.userId), ctx.client, ctx.log) ?? []
    if (plan.writes.length > 0 || plan.rename !== undefined) {
      const byLabel = new Map(plan.writes.map((w) => [w.write.userId, w]))
      await applyEffects(plan.writes.flatMap((w) => w.effects), ctx.client)
      await sf.writeMembership(target, plan.rename === undefined ? undefined : salesforceGroupName(plan.rename), plan.writes.map((w) => w.write), ctx.log).catch(async (err: unknown) => {
        // Licences granted for assignments that were not made go again (release checks what Salesforce holds).
        if (licenceId !== undefined && granted.length > 0) await gc.licences?.release(licenceId, granted, ctx.log)
        const progress = progressOf(err)
        const unknown = progress === undefined ? err instanceof SalesforceError && err.kind === 'unknownOutcome' : progress.outcomeUnknown === true
        const sentAndUnknown = unknown ? (progress === undefined ? [...byLabel.keys()] : progress.failed ?? []) : []
        const undo = progress === undefined
          ? (unknown ? [] : [...byLabel.keys()])
          : [...(unknown ? [] : progress.failed ?? []), ...progress.unsent ?? []]
        // A write whose outcome is unknown keeps every mark it may need (issue 16): an added row's mark stays (it
        // may exist), and a removed row's mark comes back (it may still exist, and the IdP's retry must be free
        // to remove it); a mark whose row turns out absent is harmless, a row without its mark is never removed.
        const restore = sentAndUnknown.flatMap((label) => (byLabel.get(label)?.undo ?? []).filter((e) => e.type === 'addMembership'))
        await applyEffects([...undo.flatMap((label) => byLabel.get(label)?.undo ?? []), ...restore], ctx.client)
        // A feature licence without a free seat: named, with how many users hold it (read now, after the refusal).
        if (target.kind === 'featureLicence' && err instanceof SalesforceError && err.code === 'LICENSE_LIMIT_EXCEEDED' && gc.licenceGateway !== undefined) {
          const refused = err.fields.length > 0 ? err : new SalesforceError(err.code, err.message, err.kind, { fields: [target.id] })
          throw await explainUserLicenceLimit(refused, gc.licenceGateway, err instanceof RecordWriteError && err.label !== '' ? `member ${err.label}` : `the members of '${target.displayName}'`, ctx.log)
        }
        throw explainWriteError(err, target)
      })
    }
    await applyEffects(plan.after, ctx.client)
    if (licenceId !== undefined) {
      // After the last set that needed it is gone, the licence goes too, if scimforce granted it.
      const removed = [...plan.writes.filter((w) => w.write.op === 'removeRow'), ...plan.after.filter((e) => e.type === 'removeMembership')]
        .map((w) => 'write' in w ? w.write.userId : w.userId)
      await gc.licences?.release(licenceId, removed, ctx.log)
    }
    if (plan.rename !== undefined) {
      target.record = { ...target.record, Name: salesforceGroupName(target.displayName) }
      await keepFullName(store, target.id, plan.rename)
    }
    if (!full) return undefined
    // Claims (profile, role) are in the store; the plan knows the rows.
    return isSingleValued(target.kind) ? new Set(await store.membersOf(target.id)) : plan.members
  }

  /**
   * With users.releaseLicencesOnDeactivate, an inactive user holds no licence scimforce grants: a member added to
   * a package licence, feature licence or licensed permission set group while inactive (WSO2 sends a group's whole
   * member list on every change, deactivated members included) is recorded as scimforce's and listed for the
   * reactivation (licence-release.ts), with no Salesforce write now. Takes those writes out of the plan.
   */
  async function deferForInactive (target: Target, plan: { writes: Array<{ write: { op: string, userId: string }, effects: StoreEffect[] }> }, state: State, licenceId: string | undefined, ctx: RequestContext): Promise<void> {
    if (gc.users.releaseLicencesOnDeactivate === false) return
    if (target.kind !== 'packageLicence' && target.kind !== 'featureLicence' && licenceId === undefined) return
    const deferred = plan.writes.filter((w) => w.write.op === 'addMember' && state.users.get(w.write.userId)?.IsActive === false)
    if (deferred.length === 0) return
    await applyEffects(deferred.flatMap((w) => w.effects), ctx.client)
    for (const { write: { userId } } of deferred) {
      await recordReleased(store, userId, target.kind === 'packageLicence'
        ? { packageLicences: [target.id] }
        : target.kind === 'featureLicence' ? { features: [target.id] } : { permissionSets: [{ id: target.id, licenceId: licenceId as string }] })
    }
    ctx.log.info({ group: target.id, users: deferred.map((w) => w.write.userId) }, 'members added while inactive get their licence when they are reactivated')
    plan.writes = plan.writes.filter((w) => !deferred.includes(w))
  }

  /** Names the member a record error is about, and says how far a multi-step change got. */
  function explainWriteError (err: unknown, target: Target): unknown {
    if (!(err instanceof SalesforceError)) return err
    const progress = progressOf(err)
    let scim = toScimError(err)
    const extra = (): { retryAfter?: number, salesforceCode?: string, cause: unknown } =>
      ({ ...(scim.retryAfter !== undefined ? { retryAfter: scim.retryAfter } : {}), ...(scim.salesforceCode !== undefined ? { salesforceCode: scim.salesforceCode } : {}), cause: err })
    if (err instanceof RecordWriteError && err.label !== '' && err.label !== 'rename') {
      const what = err.code === 'INVALID_CROSS_REFERENCE_KEY' || err.code === 'MALFORMED_ID' ? 'does not exist in Salesforce' : 'was refused'
      scim = new ScimError(scim.status, scim.scimType, `Member ${err.label} of '${target.displayName}' ${what}: ${scim.message}`, extra())
    }
    if (progress !== undefined && progress.done > 0) {
      // Each composite is all-or-none; the ones before the failure stay. Every step is recomputed from the state
      // it finds, so sending the same request again completes the change.
      return new ScimError(scim.status, scim.scimType, `${scim.message} — ${progress.done} of ${progress.total} parts of this change were applied in Salesforce before the failure; sending the same request again completes it`, extra())
    }
    return scim
  }

  return { display, parseId, asTarget, load, manages, adoptIntended, assertWritable, membersFrom, membersAfter, readForChange, apply, explainWriteError }
}

export type GroupChanges = ReturnType<typeof createGroupChanges>
