// Email changes Salesforce holds for verification (help article 000385115, docs/salesforce-behaviour.md#email-verification): the User keeps its
// old Email until the user clicks the link sent to the new address (72 hours). scimforce remembers the address the
// IdP asked for (store documents), answers it in SCIM so the IdP sees what it sent (no endless re-send), logs and
// counts the wait, and forgets it once Salesforce has the new address or the link has expired.
import type { Logger } from '../salesforce/connection.js'
import { idKey, type Store } from '../store/types.js'

/** `${userId15}` → PendingEmail. */
export const PENDING_EMAIL_NS = 'user-pendingEmail'
/** The verification link's lifetime (help article 000385115). After it, Salesforce's own value is the truth again. */
export const EMAIL_LINK_LIFETIME_MS = 72 * 60 * 60 * 1000

export interface PendingEmail {
  /** The address the IdP asked for. */
  email: string
  /** Salesforce's Email when it was asked for. */
  previous: string
  requestedAt: string
}

export type PendingEmailEvent = 'requested' | 'confirmed' | 'expired'

export interface PendingEmails {
  /** After a write that set Email to `requested`: `current` is Email as read back in the same call. */
  afterWrite (userId: string, requested: string, current: unknown, log: Logger): Promise<void>
  /** The address to answer for a user whose Salesforce Email is `current`: the pending one while it waits. */
  shown (userId: string, current: unknown, log: Logger): Promise<string | undefined>
}

export function createPendingEmails (store: Store, onEvent: (e: PendingEmailEvent) => void = () => {}, now: () => number = Date.now): PendingEmails {
  return {
    async afterWrite (userId, requested, current, log) {
      const key = idKey(userId)
      if (current === requested) {
        if (await store.deleteDoc(PENDING_EMAIL_NS, key)) onEvent('confirmed')
        return
      }
      const doc: PendingEmail = { email: requested, previous: typeof current === 'string' ? current : '', requestedAt: new Date(now()).toISOString() }
      await store.putDoc(PENDING_EMAIL_NS, key, doc)
      onEvent('requested')
      log.warn({ userId, pendingEmail: requested, salesforceEmail: current }, 'email change pending verification: Salesforce keeps the old address until the user confirms the new one (help article 000385115)')
    },
    async shown (userId, current, log) {
      const doc = await store.getDoc<PendingEmail>(PENDING_EMAIL_NS, idKey(userId))
      if (doc === undefined) return undefined
      const pending = doc.value
      if (current === pending.email) {
        await store.deleteDoc(PENDING_EMAIL_NS, idKey(userId))
        onEvent('confirmed')
        log.info({ userId, email: pending.email }, 'pending email change confirmed: Salesforce has the new address')
        return undefined
      }
      // An admin changed Email by hand meanwhile, or the link expired: Salesforce's value is the truth again.
      if (current !== pending.previous || now() - Date.parse(pending.requestedAt) > EMAIL_LINK_LIFETIME_MS) {
        await store.deleteDoc(PENDING_EMAIL_NS, idKey(userId))
        onEvent('expired')
        log.warn({ userId, pendingEmail: pending.email, salesforceEmail: current }, 'pending email change dropped: the verification link expired or Email changed otherwise')
        return undefined
      }
      return pending.email
    },
  }
}
