// Email change verification: a changed User.Email stays pending until the user confirms the new address.

import type { Org } from './org.js'
import type { SRecord } from './schema.js'

/**
 * Help article 000385115 (docs/salesforce-behaviour.md#email-verification): changing a User's Email sends a verification link to the new
 * address; the field keeps its old value until the link is clicked, and the link expires after 72 hours. Admin
 * blogs add "even through the API". Modelled when `org.emailVerification` is on (the default).
 * Assumptions (UNVERIFIED):
 * - the API reports nothing: the update answers 204 and every read shows the old address;
 * - the new address is validated when it is requested (INVALID_EMAIL_ADDRESS, length) like any other value;
 * - a new user's first address needs no verification (creation is not a change);
 * - another change replaces the pending address (a new link), and setting the current address again leaves the
 *   pending one as it is;
 * - any difference counts as a change, letter case included.
 * The pending address is kept on the stored row under keys no describe or query lists, so a rolled-back
 * transaction takes it back with the row.
 */
const PENDING = '$PendingEmail'
const PENDING_SINCE = '$PendingEmailSince'
export const EMAIL_LINK_LIFETIME_MS = 72 * 60 * 60 * 1000

/** Called by the User rules on update, after validation: holds a changed Email back as pending. */
export function holdEmailChange (org: Org, rec: SRecord, old: SRecord | undefined): void {
  if (!org.emailVerification || old === undefined || rec.Email === old.Email) return
  if (typeof rec.Email !== 'string') return // Email is required; the required check has answered already
  rec[PENDING] = rec.Email
  rec[PENDING_SINCE] = org.now()
  rec.Email = old.Email ?? null
}

/** The address waiting for confirmation, or undefined (none, or its link expired). */
export function pendingEmail (org: Org, userId: string): string | undefined {
  const rec = org.get('User', userId)
  const pending = rec?.[PENDING]
  const since = rec?.[PENDING_SINCE]
  if (typeof pending !== 'string' || typeof since !== 'number') return undefined
  return org.now() - since <= EMAIL_LINK_LIFETIME_MS ? pending : undefined
}

/**
 * The user clicks the link: the pending address becomes the Email (changed by the user themselves). Returns the
 * new address, or undefined when nothing was pending or the link had expired (the pending address is dropped).
 */
export function confirmEmail (org: Org, userId: string): string | undefined {
  const rec = org.get('User', userId)
  if (rec === undefined || rec[PENDING] === undefined || rec[PENDING] === null) return undefined
  const address = pendingEmail(org, userId)
  const id = rec.Id as string
  org.systemUpdate('User', id, { ...(address !== undefined ? { Email: address } : {}), [PENDING]: null, [PENDING_SINCE]: null }, { actorId: id })
  return address
}
