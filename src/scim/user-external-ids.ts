// Users' SCIM externalId, kept by scimforce per IdP client in store documents: RFC 7643 §3.1 makes it the client's
// own identifier, case-exact and not unique, which no standard Salesforce User field is (FederationIdentifier is the
// org-unique SAML key). Writing it into a Salesforce field is an explicit mapping (users.externalIdField).
import { matches as evaluate } from '../protocol/evaluate.js'
import type { CompareNode, FilterNode } from '../protocol/filter.js'
import { idKey, type Store } from '../store/types.js'

/** `${client}|${userId15}` → { externalId, userId }. */
export const EXTERNAL_ID_NS = 'user-externalId'
/** `${client}|${externalId}|${userId15}` → { externalId, userId }: finds `externalId eq "x"` without a scan. */
export const EXTERNAL_ID_BY_VALUE_NS = 'user-externalId-by-value'

interface Doc { externalId: string, userId: string }

export interface UserExternalIds {
  get (client: string, userId: string): Promise<string | undefined>
  /** Sets (or with null/'' removes) a user's externalId for this client. */
  set (client: string, userId: string, externalId: string | null): Promise<void>
  /** The users (18-character ids) of this client whose externalId satisfies `node`, a filter on externalId alone. */
  matching (client: string, node: CompareNode | Extract<FilterNode, { type: 'present' }>): Promise<string[]>
}

export function createUserExternalIds (store: Store): UserExternalIds {
  const key = (client: string, userId: string): string => `${client}|${idKey(userId)}`
  const valueKey = (client: string, externalId: string, userId: string): string => `${client}|${externalId}|${idKey(userId)}`

  return {
    async get (client, userId) {
      return (await store.getDoc<Doc>(EXTERNAL_ID_NS, key(client, userId)))?.value.externalId
    },
    async set (client, userId, externalId) {
      await store.transaction(async (tx) => {
        const old = await tx.getDoc<Doc>(EXTERNAL_ID_NS, key(client, userId))
        if (old !== undefined) {
          if (old.value.externalId === externalId) return
          await tx.deleteDoc(EXTERNAL_ID_BY_VALUE_NS, valueKey(client, old.value.externalId, userId))
        }
        if (externalId === null || externalId === '') {
          await tx.deleteDoc(EXTERNAL_ID_NS, key(client, userId))
          return
        }
        const doc: Doc = { externalId, userId }
        await tx.putDoc(EXTERNAL_ID_NS, key(client, userId), doc)
        await tx.putDoc(EXTERNAL_ID_BY_VALUE_NS, valueKey(client, externalId, userId), doc)
      })
    },
    async matching (client, node) {
      // eq: the reverse index by prefix. The prefix also matches longer values that contain '|' (a|b for a), so the
      // value is compared again, exactly.
      if (node.type === 'compare' && node.op === 'eq' && typeof node.value === 'string') {
        const docs = await store.listDocs<Doc>(EXTERNAL_ID_BY_VALUE_NS, { prefix: `${client}|${node.value}|` })
        return docs.filter((d) => d.value.externalId === node.value).map((d) => d.value.userId)
      }
      const docs = await store.listDocs<Doc>(EXTERNAL_ID_NS, { prefix: `${client}|` })
      return docs.filter((d) => evaluate(node, () => ({ type: 'string', caseExact: true, values: [d.value.externalId] }))).map((d) => d.value.userId)
    },
  }
}
