// Create intents (issue 16): before scimforce asks Salesforce to create a user or a public group, it records
// which SCIM client asked for which name. When the answer is lost (a timeout, a dropped connection, a crash
// between Salesforce's commit and the store write), the client's retry finds the record taken; the intent says
// whether the record is the one that create made, so the retry answers 201 with it instead of 409, and a group
// is recorded as created by scimforce (its DELETE deletes it). A record someone else made is never explained.
import { normalizeSalesforceId } from '../salesforce/ids.js'
import { idKey, type Store } from '../store/store.js'

/** Store document namespaces (Store.getDoc): one per kind of record created. */
export const USER_INTENTS = 'create-intent'
export const GROUP_INTENTS = 'group-create-intent'

/**
 * An intent explains a record only for this long. IdPs retry a failed create within minutes to hours, and Entra
 * can keep retrying a POST that timed out and then met 409 until the job is quarantined (docs/idp-behaviour.md#entra,
 * Entra: Q&A 1151866). Assumption (UNVERIFIED): a day covers the retries of every IdP scimforce serves; a create
 * retried later is treated as a new one (409 when the name is taken).
 */
export const INTENT_TTL_MS = 24 * 60 * 60 * 1000

/**
 * Salesforce stamps CreatedDate with its own clock (seconds); scimforce's clock may differ from it by this much.
 * A record Salesforce dates earlier than the intent minus this margin existed before the create was asked for.
 */
export const CLOCK_SKEW_MS = 60_000

export interface CreateIntent {
  client: string
  /** The userName or displayName, lower-cased. */
  name: string
  /** When the first attempt of this create was about to be sent. */
  at: string
  /** The record the create made, once an answer said so. */
  id?: string
  /** A public group's first members, created with it in one all-or-none call: scimforce's rows if the group is. */
  members?: string[]
}

export interface Intents {
  /**
   * Records that `client` is about to create `name`. `prior` is the intent an earlier attempt left, if it is still
   * fresh: the one that may explain a record found in the way. `intent` is the one now stored (the prior one, kept).
   */
  begin (ns: string, name: string, client: string, members?: readonly string[]): Promise<{ prior: CreateIntent | undefined, intent: CreateIntent }>
  /** This client's fresh intent to create `name`, if any. */
  pending (ns: string, name: string, client: string): Promise<CreateIntent | undefined>
  /** The create is known to have made `id` (kept, so that a retry whose 201 was lost gets the same id). */
  created (ns: string, name: string, client: string, id: string): Promise<void>
  /** The create is known to have made nothing and no earlier attempt is pending: forget it. */
  clear (ns: string, name: string, client: string): Promise<void>
  /**
   * Whether `record` (Id, CreatedDate) is the one the intent's create made: the id it is known to have made, or
   * a record created after the intent and explained by no other client's intent.
   */
  explains (ns: string, intent: CreateIntent, record: Record<string, unknown>): Promise<boolean>
  /** The fresh intent of any client that explains `record`, for callers that do not know which client asked. */
  explainedBy (ns: string, name: string, record: Record<string, unknown>): Promise<CreateIntent | undefined>
}

const keyOf = (name: string, client: string): string => `${name.toLowerCase()}|${client}`

export function createIntents (store: Pick<Store, 'getDoc' | 'putDoc' | 'deleteDoc' | 'listDocs'>, now: () => number = Date.now): Intents {
  const fresh = (i: CreateIntent): boolean => now() - Date.parse(i.at) < INTENT_TTL_MS

  async function current (ns: string, name: string, client: string): Promise<CreateIntent | undefined> {
    const doc = await store.getDoc<CreateIntent>(ns, keyOf(name, client))
    if (doc === undefined) return undefined
    if (fresh(doc.value)) return doc.value
    await store.deleteDoc(ns, keyOf(name, client))
    return undefined
  }

  const sameId = (a: unknown, b: unknown): boolean => {
    const x = normalizeSalesforceId(String(a ?? ''))
    const y = normalizeSalesforceId(String(b ?? ''))
    return x !== undefined && y !== undefined && idKey(x) === idKey(y)
  }

  return {
    pending: current,
    async begin (ns, name, client, members) {
      const prior = await current(ns, name, client)
      const intent: CreateIntent = prior ?? { client, name: name.toLowerCase(), at: new Date(now()).toISOString(), ...(members !== undefined ? { members: [...members] } : {}) }
      await store.putDoc(ns, keyOf(name, client), intent)
      return { prior, intent }
    },
    async created (ns, name, client, id) {
      const prior = await current(ns, name, client)
      await store.putDoc(ns, keyOf(name, client), { client, name: name.toLowerCase(), at: prior?.at ?? new Date(now()).toISOString(), id })
    },
    async clear (ns, name, client) {
      await store.deleteDoc(ns, keyOf(name, client))
    },
    async explainedBy (ns, name, record) {
      const all = (await store.listDocs<CreateIntent>(ns, { prefix: `${name.toLowerCase()}|` })).map((d) => d.value).filter(fresh)
      for (const intent of all) if (await this.explains(ns, intent, record)) return intent
      return undefined
    },
    async explains (ns, intent, record) {
      if (intent.id !== undefined) return sameId(intent.id, record.Id)
      const createdAt = Date.parse(String(record.CreatedDate ?? ''))
      if (Number.isNaN(createdAt) || createdAt < Date.parse(intent.at) - CLOCK_SKEW_MS) return false
      // Another client that asked for the same name may be the one whose create made it: then neither adopts it.
      const others = (await store.listDocs<CreateIntent>(ns, { prefix: `${intent.name}|` }))
        .map((d) => d.value)
        .filter((o) => o.client !== intent.client && fresh(o))
      return !others.some((o) => o.id !== undefined ? sameId(o.id, record.Id) : createdAt >= Date.parse(o.at) - CLOCK_SKEW_MS)
    },
  }
}
