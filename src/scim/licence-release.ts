// Release on deactivation (issue 13, users.releaseLicencesOnDeactivate): the managed-package seats, permission set
// licences and feature licences scimforce granted a user are given back when scimforce deactivates them, and
// granted again when the IdP reactivates or rehires them. Only what scimforce granted is touched, by the same
// ownership marks as assignments: membership marks (packageLicence, permissionSet, featureLicence) and `psl-grants`
// documents. The marks stay while the user is inactive (scimforce still answers for them; an IdP
// that removes the member meanwhile clears the mark, and nothing comes back); what was released is listed in a
// `released-licences` document per user, written before Salesforce is asked, so a lost answer is re-granted too.
//
// Salesforce facts (docs/salesforce-behaviour.md#licences): a permission set licence cannot be removed while a permission set that
// needs it is assigned (Help "Remove a Permission Set License from a User": "First remove ... the relevant
// assigned permission sets that require the license, and then remove the assigned permission set license";
// SailPoint's connector says the same). So the assignments scimforce made of sets that need a licence it is
// releasing go first, in the same call, and come back after the licence. When a set that needs the licence was
// assigned by an admin, the licence stays (removing it would fail) and so do scimforce's own sets that need it.
// Feature licences are UserPermissions* flags: they ride in the deactivation and reactivation writes themselves.
import { sameId } from '../mapping/group.js'
import type { Logger } from '../salesforce/connection.js'
import { SalesforceError } from '../salesforce/errors.js'
import type { LicenceGateway, NewRow, RowResult, UserLicences } from '../salesforce/licences.js'
import type { UserChanges } from '../salesforce/users.js'
import { idKey, type Store } from '../store/store.js'
import { ScimError, toScimError } from './errors.js'
import { noSeatError, PSL_GRANTS_NS, pslGrantKey } from './licence-keeper.js'

/** Store namespace of what was released per user: key = the user's 15-character id. */
export const RELEASED_NS = 'released-licences'

/** What scimforce released from a user at deactivation, to grant again on reactivation. */
export interface ReleasedDoc {
  userId: string
  at: string
  /** PackageLicense ids. */
  packageLicences: string[]
  /** Permission sets scimforce had assigned, removed before the licence they need. */
  permissionSets: Array<{ id: string, licenceId: string }>
  /** PermissionSetLicense ids. */
  permissionSetLicences: string[]
  /** UserPermissions* fields. */
  features: string[]
}

export interface LicenceRelease {
  /** The feature flags scimforce granted the user, set false: they travel in the deactivation write. */
  featuresOff (userId: string): Promise<UserChanges>
  /** After Salesforce deactivated the user: releases package seats and permission set licences. Never throws. */
  release (userId: string, log: Logger): Promise<void>
  /** The feature flags released at deactivation that are still scimforce's, set true: they travel in the reactivation. */
  featuresOn (userId: string): Promise<UserChanges>
  /**
   * After Salesforce reactivated the user: grants again what was released and is still scimforce's. A refusal
   * (no free seat) undoes this attempt's grants and throws a 409 ScimError naming the licence and its seats.
   */
  regrant (userId: string, log: Logger): Promise<void>
}

const uniq = (ids: readonly string[]): string[] => [...new Map(ids.map((id) => [idKey(id), id])).values()]

/**
 * Adds to the user's released document (a second deactivation before a reactivation keeps the first's list). Also
 * used for a member added to a licence group while inactive: the grant waits for the reactivation (group-change.ts).
 */
export async function recordReleased (store: Store, userId: string, add: Partial<Omit<ReleasedDoc, 'userId' | 'at'>>): Promise<void> {
  const was = (await store.getDoc<ReleasedDoc>(RELEASED_NS, idKey(userId)))?.value
  const doc: ReleasedDoc = {
    userId,
    at: new Date().toISOString(),
    packageLicences: uniq([...was?.packageLicences ?? [], ...add.packageLicences ?? []]),
    permissionSets: [...new Map([...was?.permissionSets ?? [], ...add.permissionSets ?? []].map((p) => [idKey(p.id), p])).values()],
    permissionSetLicences: uniq([...was?.permissionSetLicences ?? [], ...add.permissionSetLicences ?? []]),
    features: [...new Set([...was?.features ?? [], ...add.features ?? []])],
  }
  await store.putDoc(RELEASED_NS, idKey(userId), doc)
}

export function createLicenceRelease (licences: LicenceGateway, store: Store): LicenceRelease {
  async function released (userId: string): Promise<ReleasedDoc | undefined> {
    return (await store.getDoc<ReleasedDoc>(RELEASED_NS, idKey(userId)))?.value
  }

  const record = async (userId: string, add: Partial<Omit<ReleasedDoc, 'userId' | 'at'>>): Promise<void> => { await recordReleased(store, userId, add) }

  /** The feature flags scimforce set on the user: its featureLicence memberships (the target id is the field). */
  async function ownedFeatures (userId: string): Promise<string[]> {
    return (await store.membershipsOfUser(userId, ['featureLicence'])).map((m) => m.targetId)
  }

  async function featuresOff (userId: string): Promise<UserChanges> {
    const fields = await ownedFeatures(userId)
    if (fields.length === 0) return {}
    // Recorded before the write: a deactivation whose answer is lost still gets its flags back on reactivation.
    await record(userId, { features: fields })
    return Object.fromEntries(fields.map((f) => [f, false]))
  }

  async function featuresOn (userId: string): Promise<UserChanges> {
    const doc = await released(userId)
    if (doc === undefined || doc.features.length === 0) return {}
    const owned = new Set(await ownedFeatures(userId))
    return Object.fromEntries(doc.features.filter((f) => owned.has(f)).map((f) => [f, true]))
  }

  /** Which of the user's package licences and permission sets scimforce assigned (membership marks). */
  async function marks (userId: string): Promise<{ packages: string[], sets: string[] }> {
    const rows = await store.membershipsOfUser(userId, ['packageLicence', 'permissionSet'])
    return { packages: rows.filter((r) => r.kind === 'packageLicence').map((r) => r.targetId), sets: rows.filter((r) => r.kind === 'permissionSet').map((r) => r.targetId) }
  }

  const pslOurs = async (licenceId: string, userId: string): Promise<boolean> => (await store.getDoc(PSL_GRANTS_NS, pslGrantKey(licenceId, userId))) !== undefined

  /** The rows to delete: our package seats; our licences whose every needing set is ours, with those sets. */
  async function toRelease (userId: string, held: UserLicences, own: { packages: string[], sets: string[] }): Promise<{ doc: Omit<ReleasedDoc, 'userId' | 'at' | 'features'>, sets: string[], rows: string[] }> {
    const packages = held.packages.filter((p) => own.packages.some((t) => sameId(t, p.licenceId)))
    const licences: UserLicences['permissionSetLicences'] = []
    const sets: UserLicences['assignments'] = []
    for (const psl of held.permissionSetLicences) {
      if (!await pslOurs(psl.licenceId, userId)) continue
      const needing = held.assignments.filter((a) => sameId(a.licenceId, psl.licenceId))
      // A set an admin assigned still needs the licence: Salesforce would refuse its removal; both stay.
      if (!needing.every((a) => own.sets.some((t) => sameId(t, a.permissionSetId)))) continue
      licences.push(psl)
      sets.push(...needing)
    }
    return {
      doc: {
        packageLicences: packages.map((p) => p.licenceId),
        permissionSets: sets.map((s) => ({ id: s.permissionSetId, licenceId: s.licenceId })),
        permissionSetLicences: licences.map((l) => l.licenceId),
      },
      sets: sets.map((s) => s.rowId),
      rows: [...licences.map((l) => l.rowId), ...packages.map((p) => p.rowId)],
    }
  }

  async function release (userId: string, log: Logger): Promise<void> {
    try {
      const own = await marks(userId)
      // Nothing scimforce assigned that could hold a licence: no call at all (the common path).
      if (own.packages.length === 0 && own.sets.length === 0) return
      const plan = await toRelease(userId, await licences.heldBy(userId, log), own)
      if (plan.rows.length === 0) return
      await record(userId, plan.doc)
      const results = await licences.deleteRows([plan.sets, plan.rows], log)
      const kept = results.filter((r) => !r.ok)
      log.info({ userId, packageLicences: plan.doc.packageLicences, permissionSetLicences: plan.doc.permissionSetLicences, permissionSets: plan.doc.permissionSets.map((p) => p.id), kept: kept.map((k) => k.error?.code) }, 'released the licences scimforce had granted a deactivated user')
    } catch (err) {
      // The deactivation itself succeeded: the user keeps these licences for now (a later deactivation retries).
      log.warn({ userId, err: err instanceof SalesforceError ? err.code : String(err) }, 'could not release the licences of a deactivated user; they stay assigned')
    }
  }

  async function regrant (userId: string, log: Logger): Promise<void> {
    const doc = await released(userId)
    if (doc === undefined) return
    const own = await marks(userId)
    // Only what is still scimforce's: an IdP that took the user out of a group meanwhile cleared its mark.
    const packages = doc.packageLicences.filter((p) => own.packages.some((t) => sameId(t, p)))
    const sets = doc.permissionSets.filter((s) => own.sets.some((t) => sameId(t, s.id)))
    if (packages.length === 0 && sets.length === 0) {
      await store.deleteDoc(RELEASED_NS, idKey(userId))
      return
    }
    const held = await licences.heldBy(userId, log)
    const has = (list: ReadonlyArray<{ licenceId: string }>, id: string): boolean => list.some((l) => sameId(l.licenceId, id))
    const psls = uniq(sets.map((s) => s.licenceId)).filter((l) => !has(held.permissionSetLicences, l))
    const pkgs = packages.filter((p) => !has(held.packages, p))
    const psas = sets.filter((s) => !held.assignments.some((a) => sameId(a.permissionSetId, s.id)))
    // Marks first, as for every grant: a licence whose answer is lost stays scimforce's.
    for (const l of psls) await store.putDoc(PSL_GRANTS_NS, pslGrantKey(l, userId), { licenceId: l, userId, client: 'reactivation', at: new Date().toISOString() })
    const first: NewRow[] = [
      ...psls.map((l): NewRow => ({ sobject: 'PermissionSetLicenseAssign', fields: { AssigneeId: userId, PermissionSetLicenseId: l }, label: `psl:${l}` })),
      ...pkgs.map((p): NewRow => ({ sobject: 'UserPackageLicense', fields: { UserId: userId, PackageLicenseId: p }, label: `pkg:${p}` })),
    ]
    const then = psas.map((s): NewRow => ({ sobject: 'PermissionSetAssignment', fields: { AssigneeId: userId, PermissionSetId: s.id }, label: `ps:${s.id}` }))
    const results = await licences.createRows([first, then], log)
    const refused = results.find((r) => !r.ok)
    if (refused === undefined) {
      await store.deleteDoc(RELEASED_NS, idKey(userId))
      log.info({ userId, packageLicences: pkgs, permissionSetLicences: psls, permissionSets: psas.map((s) => s.id) }, 'granted again the licences scimforce released when it deactivated the user')
      return
    }
    // All or nothing: this attempt's grants go again (sets before licences), and the released list stays.
    await undo(results, log)
    throw await explain(refused, userId, log)
  }

  async function undo (results: readonly RowResult[], log: Logger): Promise<void> {
    const made = results.filter((r) => r.ok && r.id !== undefined)
    await licences.deleteRows([made.filter((r) => r.key.startsWith('ps:')).map((r) => r.id as string), made.filter((r) => !r.key.startsWith('ps:')).map((r) => r.id as string)], log)
      .catch((err: unknown) => { log.warn({ err: err instanceof SalesforceError ? err.code : String(err) }, 'could not take back the licences granted in a refused reactivation') })
  }

  async function explain (refused: RowResult, userId: string, log: Logger): Promise<ScimError> {
    const err = refused.error ?? new SalesforceError('UNKNOWN', 'refused', 'validation')
    const [kind, id = ''] = refused.key.split(':')
    const what = kind === 'pkg' ? 'package licence' : kind === 'psl' ? 'permission set licence' : 'permission set'
    const after = 'scimforce released it when it deactivated the user and grants it again on reactivation; the user stays inactive until it can'
    if (err.code !== 'LICENSE_LIMIT_EXCEEDED') {
      // The IdP's request was fine; the org's state refused (an expired package, say): a conflict, not a 400.
      const scim = toScimError(err)
      return new ScimError(scim.status === 400 ? 409 : scim.status, scim.scimType, `Reactivating user ${userId} needs the ${what} ${id} again, and Salesforce refused it: ${scim.message}; ${after}`, { salesforceCode: err.code, cause: err })
    }
    licences.refused(kind === 'pkg' ? 'packageLicence' : 'permissionSetLicence')
    const all = await licences.seats(log).catch(() => undefined)
    const seats = (kind === 'pkg' ? all?.packageLicences : all?.permissionSetLicences)?.find((l) => sameId(l.id, id))
    const base = noSeatError(err, what, seats, `user ${userId}`, id)
    return new ScimError(409, undefined, `${base.message} (${after})`, { salesforceCode: err.code, cause: err })
  }

  return { featuresOff, release, featuresOn, regrant }
}
