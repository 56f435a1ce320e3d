// Writes that outlive their answer: a Salesforce write that timed out is still running, and may still commit.
// The gateway hands each such request here; the caller that opened a tracking scope (src/scim/ordering.ts) waits
// for them before it lets the next write to the same resource start (issue 16).
import { AsyncLocalStorage } from 'node:async_hooks'

const scope = new AsyncLocalStorage<Set<Promise<unknown>>>()

/**
 * Runs `fn`; every write that the gateway gives up waiting for while `fn` runs is added to `pending`, where it
 * stays settled or not (the caller awaits them). Works through any depth of awaits, as AsyncLocalStorage does.
 */
export async function trackingInFlight<T> (pending: Set<Promise<unknown>>, fn: () => Promise<T>): Promise<T> {
  return await scope.run(pending, fn)
}

/** Hands a request whose answer scimforce stopped waiting for to the current scope, if any. */
export function stillInFlight (request: Promise<unknown>): void {
  const pending = scope.getStore()
  if (pending === undefined) return
  const settled = request.then(() => undefined, () => undefined)
  pending.add(settled)
}
