// The userName an IdP sent, kept when Salesforce holds another form of it (users.usernameDomain made `omalley` the
// Username `omalley@corp.example`): the IdP gets back exactly what it sent, not the Salesforce form, so it sees no
// drift and does not rewrite the user forever. Kept in store documents keyed by the Salesforce Username (unique
// across every org), so a Username an admin changes in Salesforce is answered as Salesforce holds it.
import type { PatchOperation } from '../mapping/patch.js'
import type { UserMapping } from '../mapping/user.js'
import { CORE_USER_SCHEMA } from '../protocol/constants.js'
import type { Store } from '../store/types.js'

/** lowercased Salesforce Username → { userName } (the IdP's literal). */
export const USER_NAME_NS = 'user-userName'

interface Doc { userName: string }

export interface UserNames {
  /** Records what a write sent as userName (undefined: the write did not carry one). */
  keep: (userName: unknown) => Promise<void>
  /** The userName to answer for a Salesforce Username, when the IdP sent another form of it; else undefined. */
  shown: (username: unknown) => Promise<string | undefined>
}

export function createUserNames (store: Store, mapping: UserMapping): UserNames {
  // Without users.usernameDomain every userName is held as sent (or with the suffix, stripped on the way back).
  const active = mapping.usernameDomain !== undefined && mapping.usernameDomain !== ''
  return {
    async keep (userName) {
      if (!active || typeof userName !== 'string' || userName === '') return
      const username = mapping.toUsername(userName)
      const key = username.toLowerCase()
      // Held as sent (an email-shaped name): nothing to remember, and nothing older may shadow it.
      if (mapping.fromUsername(username) === userName) await store.deleteDoc(USER_NAME_NS, key)
      else await store.putDoc(USER_NAME_NS, key, { userName } satisfies Doc)
    },
    async shown (username) {
      if (!active || typeof username !== 'string' || username === '') return undefined
      return (await store.getDoc<Doc>(USER_NAME_NS, username.toLowerCase()))?.value.userName
    },
  }
}

const USER_NAME_PATH = new RegExp(`^(${CORE_USER_SCHEMA.replace(/[.]/g, '\\.')}:)?username$`, 'i')

/** The userName a PATCH sets (`replace userName`, or a path-less value carrying it); the last one wins. */
export function userNameInPatch (operations: readonly PatchOperation[]): string | undefined {
  let found: string | undefined
  for (const op of operations) {
    const kind = String(op.op).toLowerCase()
    if (kind !== 'add' && kind !== 'replace') continue
    if (typeof op.path === 'string' && op.path !== '') {
      if (USER_NAME_PATH.test(op.path.trim()) && typeof op.value === 'string') found = op.value
      continue
    }
    if (op.value !== null && typeof op.value === 'object' && !Array.isArray(op.value)) {
      for (const [k, v] of Object.entries(op.value as Record<string, unknown>)) if (USER_NAME_PATH.test(k) && typeof v === 'string') found = v
    }
  }
  return found
}
