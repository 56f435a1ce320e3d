// Deprovisioning that never leaves a leaver able to log in (issue 13): every disable path (DELETE, PATCH or PUT
// active:false) ends with the user inactive or frozen, never neither. Salesforce may refuse a deactivation (the
// user is the default case owner, the default workflow user, the last admin...; docs/salesforce-behaviour.md#deactivation, #bridge-answers): the user
// is then frozen (UserLogin.IsFrozen) in a request of its own and the IdP hears so, with the blocker named, as a
// 409 it will retry; the retry completes the deactivation once an admin removed the blocker. A freeze scimforce
// made is remembered (store documents, namespace `frozen`) and undone when the IdP reactivates the user; a freeze
// an admin made is never undone by SCIM. With users.releaseLicencesOnDeactivate, the licences scimforce granted go
// with the deactivation and come back with the reactivation (licence-release.ts).
import type { Logger } from '../salesforce/connection.js'
import { SalesforceError } from '../salesforce/errors.js'
import type { SfRecord } from '../salesforce/gateway.js'
import type { UserChanges, UserGateway } from '../salesforce/users.js'
import type { Store } from '../store/store.js'
import { idKey } from '../store/store.js'
import { ScimError, toScimError } from './errors.js'
import type { LicenceRelease } from './licence-release.js'

/** Store namespace of the freezes scimforce made: key = the user's 15-character id. */
export const FROZEN_NS = 'frozen'

/** What a freeze mark records: who froze, when, and why. */
interface FreezeMark { userId: string, reason: 'disable' | 'refused', at: string }

/**
 * Whether Salesforce's refusal is about the deactivation itself (rather than another field of the same write).
 * Texts from KB 000384586/000003585 ("You cannot deactivate this user…", "You cannot disable the Web to Lead
 * Default Creator", "Cannot inactivate user that is the value of a hierarchy field") and the last admin's code.
 */
export function isDeactivationRefusal (err: SalesforceError): boolean {
  return err.code === 'CANNOT_DISABLE_LAST_ADMIN' || /\b(deactivat|inactivat|disable)/i.test(err.message)
}

/** The honest answer to a refused deactivation: 409, the blocker in Salesforce's words, the user's state, the fix. */
export function refusalError (err: SalesforceError, frozen: boolean, userName: string): ScimError {
  const message = err.message.replace(/<br>/g, ' ').trim()
  const state = frozen
    ? 'scimforce froze the user instead: they cannot log in, but stay active and keep their licence'
    : 'scimforce could not freeze them either: THEY CAN STILL LOG IN; freeze them in Setup → Users'
  if (err.code === 'CANNOT_DISABLE_LAST_ADMIN') {
    return new ScimError(409, undefined, `Salesforce refused to deactivate ${userName}: it needs at least one active System Administrator (CANNOT_DISABLE_LAST_ADMIN); ${state}. Give another user the System Administrator profile, then send the request again`, { salesforceCode: err.code, cause: err })
  }
  return new ScimError(409, undefined, `Salesforce refused to deactivate ${userName}: "${message}" (Salesforce ${err.code}); ${state}. Remove the blocker in Salesforce Setup, then send the same request again to finish the deactivation`, { salesforceCode: err.code, cause: err })
}

export interface Deprovisioner {
  /**
   * Writes `changes` (IsActive=false among them). `freezeFirst`: freeze in its own transaction before the
   * deactivation. A refusal freezes the user (always) and throws a 409 ScimError; a user outside the scope or
   * unknown throws the gateway's NOT_FOUND.
   */
  disable (id: string, changes: UserChanges, opts: { freezeFirst: boolean, userName: string }, log: Logger): Promise<SfRecord>
  /** Writes `changes` (IsActive=true among them), unfreezing the user when scimforce froze them. */
  enable (id: string, changes: UserChanges, log: Logger): Promise<SfRecord>
  /** Whether scimforce froze this user and has not unfrozen them since. */
  frozenByUs (id: string): Promise<boolean>
}

export function createDeprovisioner (users: UserGateway, store: Store, licences?: LicenceRelease): Deprovisioner {
  const mark = async (userId: string, reason: FreezeMark['reason']): Promise<void> => {
    await store.putDoc(FROZEN_NS, idKey(userId), { userId, reason, at: new Date().toISOString() } satisfies FreezeMark)
  }
  const frozenByUs = async (id: string): Promise<boolean> => (await store.getDoc(FROZEN_NS, idKey(id))) !== undefined

  async function disable (id: string, changes: UserChanges, opts: { freezeFirst: boolean, userName: string }, log: Logger): Promise<SfRecord> {
    // The mark goes first: a freeze whose answer is lost must still be undone on reactivation.
    if (opts.freezeFirst) await mark(id, 'disable')
    // Feature licences scimforce granted go in the deactivation itself: refused together, or released together.
    changes = { ...changes, ...await licences?.featuresOff(id) }
    try {
      const rec = await users.disableAndRead(id, changes, { freezeFirst: opts.freezeFirst }, log)
      await licences?.release(id, log)
      return rec
    } catch (err) {
      if (!(err instanceof SalesforceError) || err.kind !== 'validation') throw err
      if (!isDeactivationRefusal(err)) {
        // Another field of the write was refused (a PATCH sends active:false also to a user already inactive): a
        // user who is inactive already cannot log in, so nothing is written and the error is the answer (a
        // refused request leaves Salesforce as it was). One read, on this error path only.
        const now = await users.retrieve(id, log).catch(() => undefined)
        if (now !== undefined && now.IsActive === false) throw toScimError(err)
      }
      // Refused: the user must not keep the ability to log in. A freeze of its own, which nothing rolls back.
      await mark(id, 'refused')
      let frozen = false
      try {
        frozen = (await users.setFrozen(id, true, log)).IsFrozen
      } catch (freezeErr) {
        log.error({ userId: id, err: freezeErr }, 'could not freeze a user whose deactivation Salesforce refused')
      }
      if (!frozen) {
        // With freezeFirst the composite may have failed on the freeze while the deactivation went through.
        const now = await users.retrieve(id, log).catch(() => undefined)
        if (now !== undefined && now.IsActive === false) {
          await licences?.release(id, log)
          return now
        }
      }
      log.warn({ userId: id, code: err.code, frozen }, 'Salesforce refused a deactivation; the user is frozen instead')
      if (isDeactivationRefusal(err)) throw refusalError(err, frozen, opts.userName)
      // Another field of the same write was refused: that is the error, and the freeze is said.
      const scim = toScimError(err)
      throw new ScimError(scim.status, scim.scimType, `${scim.message}; the user was not deactivated, ${frozen ? 'so scimforce froze them (they cannot log in) until the request succeeds' : 'and scimforce could not freeze them: THEY CAN STILL LOG IN'}`, { salesforceCode: err.code, cause: err })
    }
  }

  async function enable (id: string, changes: UserChanges, log: Logger): Promise<SfRecord> {
    // Feature licences released at deactivation come back in the reactivation itself: a full one refuses it
    // (LICENSE_LIMIT_EXCEEDED naming the field), and the user stays inactive.
    changes = { ...changes, ...await licences?.featuresOn(id) }
    let rec: SfRecord
    if (!await frozenByUs(id)) {
      rec = await users.updateAndRead(id, changes, log)
    } else {
      rec = await users.reactivateAndRead(id, changes, log)
      await store.deleteDoc(FROZEN_NS, idKey(id))
      log.info({ userId: id }, 'reactivated a user scimforce had frozen, and unfroze them')
    }
    if (licences === undefined || rec.IsActive !== true) return rec
    try {
      await licences.regrant(id, log)
    } catch (err) {
      // A licence scimforce released cannot be granted again (no free seat): the reactivation is taken back, so that
      // the IdP's retry redoes all of it once a seat is free, rather than leaving an active user without the licence
      // and a retry with nothing left to change.
      const off = await licences.featuresOff(id)
      await users.updateAndRead(id, { IsActive: false, ...off }, log)
        .catch((undoErr: unknown) => { log.error({ userId: id, err: undoErr }, 'could not take back a reactivation whose licences could not be granted again; the user is active without them') })
      throw err
    }
    return rec
  }

  return { disable, enable, frozenByUs }
}
