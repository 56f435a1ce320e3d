// Making groups and adding to them: POST of a new public group (created with its first members in one call), of
// a mapped or existing record (linked, never re-created), and the one-call path for members added to a public
// group scimforce made.
import {
  TARGETS, deriveDeveloperName, displayNameOf, keepFullName, salesforceGroupName, mentionedMembers, parseMembers, resolveDisplayName, type GroupChange, type ScimGroup,
} from '../mapping/group.js'
import { privilegedRefusal, sameTarget, targetKey } from '../mapping/group-target.js'
import { foreignGroups, noSuchUser } from '../mapping/group-plan.js'
import { MAX_COLLECTION_RECORDS, RecordWriteError } from '../salesforce/batch.js'
import { SalesforceError } from '../salesforce/errors.js'
import type { SfRecord } from '../salesforce/gateway.js'
import { ScimError } from './errors.js'
import { createIntents, GROUP_INTENTS } from './intents.js'
import { MANAGE_EXISTING_KEY, canBeUsername, emptyState, type GroupChanges } from './group-change.js'
import { guard, notFound } from './errors.js'
import type { GroupContext, Target } from './group-types.js'
import type { RequestContext } from './user-service.js'

/** Salesforce's DeveloperName clash code [assumption, docs/salesforce-behaviour.md#group-objects: not documented; DUPLICATE_VALUE also seen]. */
const DUPLICATE_NAME = new Set(['DUPLICATE_DEVELOPER_NAME', 'DUPLICATE_VALUE'])
/** Derived DeveloperNames tried before giving up (the base, then two suffixed ones). */
const NAME_ATTEMPTS = 3

export function createGroupCreator (gc: GroupContext, changes: GroupChanges, render: (target: Target, members: ScimGroup['members']) => Promise<ScimGroup>) {
  const { sf, store, config } = gc
  const intents = createIntents(store)
  const { display, readForChange, apply, membersAfter, explainWriteError, parseId, asTarget, manages } = changes

  async function linkExisting (target: Target, change: GroupChange, ctx: RequestContext): Promise<ScimGroup> {
    const { state } = await readForChange(target, mentionedMembers(change), true, ctx)
    // Linking adds the members the POST names; it never takes away what the target already has.
    const adding: GroupChange = { ops: (change.base ?? []).map((ref) => ({ ref, add: true })), ...(change.externalId !== undefined ? { externalId: change.externalId } : {}) }
    const result = await apply(target, adding, state, true, ctx)
    await store.removeGroupTombstone(target.id)
    return await render(target, await membersAfter(result ?? new Set(), state))
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
      const found = (await guard(sf.lookupTargets([{ kind: r.kind, key: targetKey(r.kind, r.target) }], ctx.log))).records[0]?.[0]
      if (found === undefined) {
        throw new ScimError(400, 'invalidValue', `'${displayName}' maps to the ${TARGETS[r.kind].label} '${r.target}', which does not exist in Salesforce (or cannot be assigned): create it, or fix groups.mappings[${r.index}]`)
      }
      // Admin-grade records are opt-in per mapping (issue 11): refused before anything is assigned.
      const refusal = privilegedRefusal(r.mapping, r.index, found)
      if (refusal !== undefined) throw new ScimError(403, undefined, `'${displayName}' maps to ${refusal}`)
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
    const askable = names.filter((n) => canBeUsername(gc.userMapping.toUsername(n)))
    const given = [...new Set(members.flatMap((m) => m.id !== undefined ? [m.id] : []))]
    // Nested groups must be scimforce's own (mapping/group-plan.ts foreignGroups): refused before any read.
    const created = new Set<string>()
    for (const id of given) if (id.startsWith('00G') && await store.isGroupCreated(id)) created.add(id)
    const foreign = foreignGroups(given, new Map(), { isGroupCreated: (id) => created.has(id) })
    if (foreign !== undefined) throw foreign
    const found = new Set<string>()
    const nameOf = new Map<string, string>()
    if (members.length > 0) {
      const read = await sf.read({ userNames: askable.map((n) => gc.userMapping.toUsername(n)), userIds: given, publicGroupIds: given.filter((id) => id.startsWith('00G')) }, ctx.log)
      for (const r of read.byName) {
        found.add(String(r.Id))
        nameOf.set(display(r).toLowerCase(), String(r.Id))
      }
      for (const r of [...read.users, ...read.publicGroups]) found.add(String(r.Id))
    }
    const missing = names.filter((n) => !nameOf.has(n))
    for (const id of given) if (!found.has(id) || await store.isTombstoned(id)) missing.push(id)
    if (missing.length > 0) throw noSuchUser(missing)
    const bad = given.filter((id) => !id.startsWith('005') && !id.startsWith('00G'))
    if (bad.length > 0) throw new ScimError(400, 'invalidValue', `Members of a public group are users or public groups; not ${bad.slice(0, 5).join(', ')}`)
    const ids = [...new Set([...given, ...names.map((n) => nameOf.get(n) as string)])]

    // The first composite creates the group with as many members as fit beside it (4 collections of 200); the
    // rest, if any, follow as an ordinary add to the group's real id.
    const first = ids.slice(0, 4 * MAX_COLLECTION_RECORDS)
    // Recorded before the call (intents.ts): if the answer is lost after Salesforce committed, the retry still
    // knows the group as scimforce's own, so ownership marks match Salesforce and its DELETE deletes it.
    const { prior } = await intents.begin(GROUP_INTENTS, displayName, ctx.client, first)
    let record: SfRecord | undefined
    const recordCreated = async (created: SfRecord): Promise<void> => {
      record = created
      const id = String(created.Id)
      await store.transaction(async (tx) => {
        await keepFullName(tx, id, displayName)
        await tx.markGroupCreated(id)
        await tx.removeGroupTombstone(id)
        await tx.addMemberships(first.map((userId) => ({ targetId: id, userId, kind: 'group', displayName })), ctx.client)
        if (change.externalId !== undefined && change.externalId !== null) await tx.setGroupExternalId(id, change.externalId)
      })
    }
    for (let attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
      const developerName = deriveDeveloperName(displayName, attempt)
      try {
        await sf.createPublicGroup(salesforceGroupName(displayName), developerName, first, ctx.log, recordCreated)
        break
      } catch (err) {
        if (err instanceof SalesforceError && !(err instanceof RecordWriteError) && DUPLICATE_NAME.has(err.code)) {
          const existing = await sf.findPublicGroup(developerName, ctx.log)
          if (existing !== undefined && String(existing.Name).toLowerCase() === salesforceGroupName(displayName).toLowerCase()) {
            if (prior !== undefined && await intents.explains(GROUP_INTENTS, prior, existing)) {
              // This client's earlier create made it and its answer was lost (the composite created the group
              // with these first members, all or none): record it as created, as the first answer would have.
              ctx.log.warn({ group: existing.Id }, 'a retried group create found the group its first attempt made; recording it as created')
              await recordCreated(existing)
              break
            }
            // The same group exists already: a group made in Salesforce by hand under this name, or one whose
            // create is too old for an intent to explain. Link it, as a POST of a mapped group does. This attempt's
            // own intent goes first: the group existed before it, so it must not explain it (manages() asks).
            if (prior === undefined) await intents.clear(GROUP_INTENTS, displayName, ctx.client)
            ctx.log.info({ group: existing.Id }, 'a public group of this name exists; linking it')
            const shown = displayNameOf(config, 'group', existing)
            if (shown === undefined) throw new ScimError(409, 'uniqueness', `A public group named '${displayName}' exists but cannot be a SCIM group`)
            const found: Target = { kind: 'group', id: String(existing.Id), record: existing, displayName: shown }
            if (!await manages(found)) {
              throw new ScimError(409, 'uniqueness', `A public group named '${displayName}' (${found.id}) exists in Salesforce, made by an admin, not by scimforce: to let SCIM link and manage it, add its name or Id to ${MANAGE_EXISTING_KEY}`)
            }
            return await linkExisting(found, change, ctx)
          }
          continue
        }
        // An unknown outcome keeps the intent for the retry; anything else wrote nothing.
        if (prior === undefined && !(err instanceof SalesforceError && err.kind === 'unknownOutcome')) await intents.clear(GROUP_INTENTS, displayName, ctx.client)
        throw err instanceof RecordWriteError ? explainWriteError(err, { kind: 'group', id: '', record: {}, displayName }) : err
      }
    }
    if (record === undefined) {
      if (prior === undefined) await intents.clear(GROUP_INTENTS, displayName, ctx.client)
      throw new ScimError(409, 'uniqueness', `Could not find a free DeveloperName for the public group '${displayName}'`)
    }
    // Recorded as created by the store write above; the intent has done its work.
    await intents.clear(GROUP_INTENTS, displayName, ctx.client)
    const target: Target = { kind: 'group', id: String(record.Id), record, displayName }
    const rest = ids.slice(first.length)
    if (rest.length > 0) {
      const { state } = await readForChange(target, rest.map((id) => ({ id })), false, ctx)
      await apply(target, { ops: rest.map((id) => ({ ref: { id }, add: true })) }, state, false, ctx)
    }
    return await render(target, await membersAfter(new Set(ids), emptyState()))
  }

  /**
   * The commonest change in one call: members added by id to a public group scimforce created. The query before
   * the insert says which rows were there, so ownership stays exact; an unknown member fails the insert, and
   * allOrNone undoes it. Returns undefined when the change has another shape (the general path then reads
   * first, writes second).
   */
  async function addToOwnGroup (raw: string, change: GroupChange, ctx: RequestContext): Promise<Target | undefined> {
    const { id, kind } = await parseId(raw)
    const ids = [...new Set(change.ops.map((o) => o.ref.id ?? ''))]
    if (kind !== 'group' || change.base !== undefined || change.displayName !== undefined || change.externalId !== undefined ||
      change.ops.some((o) => !o.add) || ids.some((u) => !u.startsWith('005')) || ids.length === 0 || ids.length > MAX_COLLECTION_RECORDS) {
      return undefined
    }
    if (!await store.isGroupCreated(id)) return undefined
    for (const u of ids) if (await store.isTombstoned(u)) return undefined
    const intents = ids.map((userId) => ({ targetId: id, userId, kind: 'group' as const, displayName: '' }))
    const ownedBefore = new Set(await store.membersOf(id, ids))
    // Marked before the write and taken back unless it may have happened, as in group-change.ts apply().
    await store.addMemberships(intents, ctx.client)
    let added: { record: SfRecord | undefined, existing: string[] }
    try {
      added = await sf.addToPublicGroup(id, ids, ctx.log)
    } catch (err) {
      if (!(err instanceof SalesforceError && err.kind === 'unknownOutcome')) {
        await store.removeMemberships(id, ids.filter((u) => !ownedBefore.has(u)))
      }
      if (err instanceof SalesforceError && (err.kind === 'notFound' || err.code === 'MALFORMED_ID')) throw notFound(raw)
      throw explainWriteError(err, { kind: 'group', id, record: {}, displayName: id })
    }
    const target = asTarget('group', added.record, raw)
    // Rows that were there before the insert are someone else's unless scimforce had marked them already.
    const existed = added.existing.filter((u) => !ownedBefore.has(u))
    await store.transaction(async (tx) => {
      await tx.removeMemberships(id, existed)
      await tx.addMemberships(ids.filter((u) => !existed.includes(u)).map((userId) => ({ targetId: id, userId, kind: 'group' as const, displayName: target.displayName })), ctx.client)
    })
    return target
  }

  return { create, addToOwnGroup }
}
