// Permission set licences follow their permission sets (issue 13): before scimforce assigns a permission set whose
// LicenseId is a permission set licence, the user gets the licence if they lack it; after scimforce removed the
// last set that needed it, the licence goes again, but only if scimforce granted it. Ownership marks live in the
// store (documents, namespace `psl-grants`), written before the grant and taken back only when Salesforce surely
// did not grant; a licence an admin assigned is never released by SCIM. Seats are read only after a refusal.
import type { Logger } from '../salesforce/connection.js'
import { SalesforceError } from '../salesforce/errors.js'
import { isPermissionSetLicenseId, type LicenceGateway, type Seats } from '../salesforce/licences.js'
import { idKey, type Store } from '../store/store.js'
import { ScimError, toScimError } from './errors.js'

export const PSL_GRANTS_NS = 'psl-grants'

interface GrantMark { licenceId: string, userId: string, client: string, at: string }

/** Key of a psl-grants mark: the licence, then the user. */
export const pslGrantKey = (licenceId: string, userId: string): string => `${idKey(licenceId)}|${idKey(userId)}`
const key = pslGrantKey

/** The permission set licence a permission set needs, from its record as read (PermissionSet.LicenseId). */
export function licenceOf (target: { kind: string, record: Record<string, unknown> }): string | undefined {
  const id = target.kind === 'permissionSet' ? target.record.LicenseId : undefined
  return isPermissionSetLicenseId(id) ? id : undefined
}

/**
 * LICENSE_LIMIT_EXCEEDED as an admin can act on it: which licence, how many seats are used of how many, and what
 * to do. `seats` is read after the refusal only (undefined when that read failed: the licence is named anyway).
 */
export function noSeatError (err: SalesforceError, what: string, seats: Seats | undefined, forWhom: string, named?: string): ScimError {
  const counts = seats === undefined ? '' : `: ${seats.used} of ${seats.total} seats used`
  const name = seats === undefined ? `${what}${named !== undefined ? ` '${named}'` : ''}` : `${what} '${seats.label}'${seats.name !== seats.label ? ` (${seats.name})` : ''}`
  return new ScimError(409, undefined, `No free seat of the ${name} for ${forWhom}${counts} (Salesforce ${err.code}: ${err.message}). Free a seat in Salesforce (Setup → Company Information) or buy more, then send the request again`, { salesforceCode: err.code, cause: err })
}

/** The licence Salesforce names in "License Limit Exceeded - <name>" (docs/salesforce-behaviour.md#error-catalog). */
const LIMIT_TEXT = /License Limit Exceeded\s*-\s*(.+)$/i

/**
 * A user write (create, reactivation, a feature flag) refused with LICENSE_LIMIT_EXCEEDED, explained: which
 * licence and its counts, read now that the write failed (one call; none on the common path). A feature licence
 * (the error names a UserPermissions* field) is counted by its holders; Salesforce's REST API has no allocation
 * for it (Assumption, UNVERIFIED: Setup → Company Information shows it, no sObject does).
 */
export async function explainUserLicenceLimit (err: SalesforceError, licences: LicenceGateway, forWhom: string, log: Logger): Promise<ScimError> {
  const feature = err.fields.find((f) => /^UserPermissions/i.test(f))
  licences.refused(feature !== undefined ? 'featureLicence' : 'userLicence')
  if (feature !== undefined) {
    const holders = await licences.featureHolders(feature, log).catch(() => undefined)
    const counts = holders === undefined ? '' : `: ${holders} users hold it, which is the org's whole allocation`
    return new ScimError(409, undefined, `No free feature licence ${feature} for ${forWhom}${counts} (Salesforce ${err.code}: ${err.message}). Take it from a user who no longer needs it or buy more, then send the request again`, { salesforceCode: err.code, cause: err })
  }
  const name = LIMIT_TEXT.exec(err.message)?.[1]?.trim()
  const seats = name === undefined
    ? undefined
    : await licences.seats(log).then((s) => [...s.userLicences, ...s.permissionSetLicences, ...s.packageLicences]
      .find((l) => l.name.toLowerCase() === name.toLowerCase() || l.label.toLowerCase() === name.toLowerCase())).catch(() => undefined)
  return noSeatError(err, 'licence', seats, forWhom, name)
}

export interface LicenceKeeper {
  /** Grants the licence to the users who lack it; returns those granted now. Throws ScimError when refused. */
  grant (licenceId: string, userIds: readonly string[], client: string, log: Logger): Promise<string[]>
  /** Releases the licence from those of the users scimforce granted it to; never fails the request. */
  release (licenceId: string, userIds: readonly string[], log: Logger): Promise<void>
}

export function createLicenceKeeper (licences: LicenceGateway, store: Store): LicenceKeeper {
  async function owned (licenceId: string, userIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>()
    for (const u of userIds) if (await store.getDoc(PSL_GRANTS_NS, key(licenceId, u)) !== undefined) out.add(u)
    return out
  }

  async function grant (licenceId: string, userIds: readonly string[], client: string, log: Logger): Promise<string[]> {
    if (userIds.length === 0) return []
    const before = await owned(licenceId, userIds)
    const fresh = userIds.filter((u) => !before.has(u))
    // Marks first: a grant whose answer is lost stays ours (the next removal releases it).
    for (const userId of fresh) await store.putDoc(PSL_GRANTS_NS, key(licenceId, userId), { licenceId, userId, client, at: new Date().toISOString() } satisfies GrantMark)
    const result = await licences.grantPermissionSetLicence(licenceId, userIds, log)
    // Held already and not marked: someone else's assignment. Refused: nothing was granted.
    for (const userId of [...result.held, ...result.refused.map((r) => r.userId)]) {
      if (!before.has(userId)) await store.deleteDoc(PSL_GRANTS_NS, key(licenceId, userId))
    }
    if (result.granted.length > 0) log.info({ licenceId, users: result.granted }, 'granted a permission set licence a mapped permission set needs')
    const refused = result.refused[0]
    if (refused !== undefined) {
      // The seats as Salesforce saw them when it refused; then the members granted in this call are released
      // again: the request fails as a whole.
      const error = await explain(refused.error, licenceId, refused.userId, log)
      await release(licenceId, result.granted, log)
      throw error
    }
    return result.granted
  }

  async function explain (err: SalesforceError, licenceId: string, userId: string, log: Logger): Promise<ScimError> {
    if (err.code !== 'LICENSE_LIMIT_EXCEEDED') return toScimError(err)
    licences.refused('permissionSetLicence')
    const seats = await licences.seats(log).then((s) => s.permissionSetLicences.find((l) => idKey(l.id) === idKey(licenceId))).catch(() => undefined)
    return noSeatError(err, 'permission set licence', seats, `user ${userId}`)
  }

  async function release (licenceId: string, userIds: readonly string[], log: Logger): Promise<void> {
    const ours = [...await owned(licenceId, userIds)]
    if (ours.length === 0) return
    try {
      const result = await licences.releasePermissionSetLicence(licenceId, ours, log)
      for (const userId of [...result.released, ...result.gone]) await store.deleteDoc(PSL_GRANTS_NS, key(licenceId, userId))
      if (result.released.length > 0) log.info({ licenceId, users: result.released }, 'released a permission set licence scimforce had granted')
      // Another assigned set still needs it (Salesforce refuses the delete): ours still, released with that set.
      for (const k of result.kept) log.info({ licenceId, userId: k.userId, code: k.error.code }, 'kept a permission set licence another permission set still needs')
    } catch (err) {
      // The membership change itself succeeded; the mark stays, so a later removal releases the licence.
      log.warn({ licenceId, err: err instanceof SalesforceError ? err.code : String(err) }, 'could not release a permission set licence; it stays assigned for now')
    }
  }

  return { grant, release }
}
