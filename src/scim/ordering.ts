// Per-resource order for writes whose outcome is unknown (issue 16): a user's or group's writes run one after
// another under a store lock, and a write whose Salesforce request timed out keeps the lock after the IdP has had
// its 503, until that request really ends. So a late PATCH A can never land after the PATCH B that followed it,
// and a read of the resource is served after the writes queued before it. Wraps the services' methods; the
// services themselves know nothing of it.
import type { FilterNode } from '../protocol/filter.js'
import { SETTLE_CAP_MS } from '../salesforce/gateway.js'
import { normalizeSalesforceId } from '../salesforce/ids.js'
import { trackingInFlight } from '../salesforce/in-flight.js'
import { idKey, type Store } from '../store/store.js'
import { RETRY_AFTER_UNAVAILABLE, ScimError } from './errors.js'

export interface OrderingOptions {
  /**
   * How long a request waits for the writes queued before it on the same resource. Past it the request is
   * answered 503 and, for a write, never runs: it is the IdP's retry that will. 4 s answers within the 5 s read
   * timeout of WSO2 IS (docs/idp-behaviour.md#wso2-timeouts), the shortest among the IdPs scimforce serves, so the IdP
   * hears a 503 rather than giving up on a write that would then still run behind its back.
   */
  waitMs?: number
  /**
   * The longest a lock is kept for writes that are still in flight after their answer: the gateway's hard cap
   * (SETTLE_CAP_MS) plus a margin. Only a request that ignores that cap would reach it; it is logged.
   */
  holdCapMs?: number
}

/** The default of OrderingOptions.waitMs (config `salesforce.orderWaitMs`, SF_ORDER_WAIT_MS). */
export const ORDER_WAIT_MS = 4_000

/** The lock is kept this much past the gateway's settle cap, so that it is the gateway's cap that normally ends a wait. */
export const HOLD_MARGIN_MS = 10_000

export interface Ordering {
  /** Runs a write holding `key`; the lock outlives the answer while a Salesforce request it made is in flight. */
  write<T> (key: string, fn: () => Promise<T>, log?: Log): Promise<T>
  /**
   * Waits (bounded) for the writes queued on `key` (on each of `key`, when several) before it, then runs the read
   * without holding any of them.
   */
  read<T> (key: string | readonly string[], fn: () => Promise<T>): Promise<T>
}

interface Log { warn (obj: object, msg?: string): void }

function busy (): ScimError {
  return new ScimError(503, undefined, 'An earlier change to this resource is still being carried out by Salesforce; retry later', { retryAfter: RETRY_AFTER_UNAVAILABLE })
}

export function createOrdering (store: Pick<Store, 'withLock'>, opts: OrderingOptions = {}): Ordering {
  const waitMs = opts.waitMs ?? ORDER_WAIT_MS
  const holdCapMs = opts.holdCapMs ?? SETTLE_CAP_MS + HOLD_MARGIN_MS

  /** Resolves when every pending request has ended, or at the cap. */
  async function settled (pending: Set<Promise<unknown>>, key: string, log: Log | undefined): Promise<void> {
    if (pending.size === 0) return
    let timer: NodeJS.Timeout | undefined
    const cap = new Promise<'cap'>((resolve) => { timer = setTimeout(() => { resolve('cap') }, holdCapMs); timer.unref() })
    const outcome = await Promise.race([Promise.all(pending).then(() => 'settled' as const), cap])
    clearTimeout(timer)
    if (outcome === 'cap') log?.warn({ key, holdCapMs }, 'a Salesforce write is still in flight past the hard cap; releasing its resource')
  }

  async function write<T> (key: string, fn: () => Promise<T>, log?: Log): Promise<T> {
    let started = false
    let abandoned = false
    let resolveAnswer!: (v: T) => void
    let rejectAnswer!: (e: unknown) => void
    const answer = new Promise<T>((resolve, reject) => { resolveAnswer = resolve; rejectAnswer = reject })
    const held = store.withLock(key, async () => {
      if (abandoned) return
      started = true
      const pending = new Set<Promise<unknown>>()
      try {
        resolveAnswer(await trackingInFlight(pending, fn))
      } catch (err) {
        rejectAnswer(err)
      }
      // The IdP has its answer; the lock stays until what Salesforce is still doing is done.
      await settled(pending, key, log)
    })
    // A lock that cannot be taken (the shared store is down) fails the request rather than hanging it.
    held.catch((err: unknown) => { rejectAnswer(err) })
    const timer = setTimeout(() => {
      if (started) return
      abandoned = true
      rejectAnswer(busy())
    }, waitMs)
    try {
      return await answer
    } finally {
      clearTimeout(timer)
    }
  }

  async function read<T> (key: string | readonly string[], fn: () => Promise<T>): Promise<T> {
    const keys = typeof key === 'string' ? [key] : [...new Set(key)]
    if (keys.length === 0) return await fn()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'busy'>((resolve) => { timer = setTimeout(() => { resolve('busy') }, waitMs) })
    // One wait for all the keys: each turn is taken and released at once, so waiting on them together holds none.
    const turn = Promise.all(keys.map(async (k) => await store.withLock(k, async () => 'turn' as const))).then(() => 'turn' as const)
    turn.catch(() => {})
    try {
      // A read that cannot know what Salesforce will hold does not guess: 503, like a write that cannot start.
      if (await Promise.race([turn, timeout]) === 'busy') throw busy()
    } finally {
      clearTimeout(timer)
    }
    return await fn()
  }

  return { write, read }
}

/**
 * The ordering's waits from config (`salesforce.orderWaitMs`, SF_ORDER_WAIT_MS; `salesforce.settleCapMs`,
 * SF_SETTLE_CAP_MS): a lock is held as long as the gateway keeps a late write open (never less than timeoutMs, as
 * gateway.ts does) plus HOLD_MARGIN_MS.
 */
export function orderingOptions (sf: { orderWaitMs?: number | undefined, settleCapMs?: number | undefined, timeoutMs: number }): OrderingOptions {
  return {
    waitMs: sf.orderWaitMs ?? ORDER_WAIT_MS,
    holdCapMs: Math.max(sf.settleCapMs ?? SETTLE_CAP_MS, sf.timeoutMs) + HOLD_MARGIN_MS,
  }
}

/** The lock key of a user or group id: its 15-character form, so that every spelling of one id is one key. */
export function idLockKey (kind: 'user' | 'group', id: string): string {
  const canonical = normalizeSalesforceId(id)
  return `${kind}:${canonical === undefined ? id : idKey(canonical)}`
}

/** A create is ordered by the name that makes it unique: its userName (or the group's displayName). */
export function nameLockKey (kind: 'userName' | 'groupName', name: unknown): string {
  return `${kind}:${String(name ?? '').toLowerCase()}`
}

/**
 * The names a list filter looks up by equality (`userName eq "x"`, also inside `and`/`or`, never under `not`): the
 * IdP's "does this user exist?" before it POSTs. A create of one of them that is still in Salesforce's hands
 * (ordering holds its name key) is waited for, so the answer is what Salesforce will hold rather than an empty
 * list that makes the IdP POST again (issue 16). At most `max` names: a filter listing more is not a look-up.
 */
export function equalityNames (filter: FilterNode | undefined, attr: string, urn: string, max = 20): string[] {
  const out: string[] = []
  const visit = (node: FilterNode): void => {
    if (node.type === 'and' || node.type === 'or') { node.operands.forEach(visit); return }
    if (node.type !== 'compare' || node.op !== 'eq' || typeof node.value !== 'string') return
    const p = node.path
    if (p.subAttr !== undefined || p.valueFilter !== undefined || p.attr.toLowerCase() !== attr.toLowerCase()) return
    if (p.urn !== undefined && p.urn.toLowerCase() !== urn.toLowerCase()) return
    out.push(node.value)
  }
  if (filter !== undefined) visit(filter)
  return out.length > max ? [] : out
}
