// Coalesced writes: while a Salesforce call of one kind is in flight, further writes of that kind queue, and when
// it finishes they go out together as one batch (README.md#bulk-and-coalesced-writes). No timer: a lone
// write is dispatched at once, and each caller gets its own answer or its own error.

/** One caller's answer: its value, or the error that is its alone. */
export type Settled<R> = { ok: true, value: R } | { ok: false, error: unknown }

export interface CoalescerOptions<I> {
  /** Most items one batch carries (what one run can send in few API calls). */
  maxBatch: number
  /**
   * The resource an item writes (a user's id, a new username). Two writes to one resource never share a batch:
   * the later one waits for the next, so that Salesforce applies them in the order they arrived.
   */
  key: (item: I) => string
  /**
   * The caller an item comes from (one HTTP request: a Bulk request's operations share it). A batch that returns
   * answers this many callers, and that many are expected back; default: each item is its own caller.
   */
  origin?: (item: I) => unknown
  /** Longest wait for the callers of the last batch to come back, in ms (default: returnWaitMs below). */
  returnWaitMs?: (lastBatchMs: number) => number
  /** Clock in ms (a test passes its fake clock's). */
  now?: () => number
}

export interface Coalescer<I, R> {
  submit (item: I): Promise<R>
  /** Items queued, not yet sent (tests, metrics). */
  readonly queued: number
}

interface Entry<I, R> { item: I, key: string, resolve: (value: R) => void, reject: (error: unknown) => void }

/**
 * How long the queue waits for the callers a batch has just answered, counted from the answer and again from each
 * caller's return (a gap in their arrivals): a quarter of that batch's own round trip, between 5 and 50 ms. It only
 * matters when a caller does not come back (its client stopped, or sends something else next); the last caller
 * to come back ends the wait at once. A quarter of a round trip keeps the cost of a caller that never returns
 * small beside the round trip each write costs anyway.
 */
export function returnWaitMs (lastBatchMs: number): number {
  return Math.min(50, Math.max(5, lastBatchMs / 4))
}

/**
 * `run` gets the items of one batch and answers one Settled per item, in order; if it throws, every item of the
 * batch gets that error.
 *
 * Dispatch (why it is not simply "send what queued when the last batch returns"): clients that each wait for
 * their answer before sending their next write come back one by one after a batch returns, a few ms apart (their
 * answers are rendered one after another, then the network, then their next request is parsed). Sending the
 * first of them at once, alone, leaves the others to queue behind it: batches alternate 1 / 15 for 16 clients,
 * two calls and two round trips per cycle instead of one. So:
 * - one batch of a kind is in flight at a time; what arrives meanwhile queues;
 * - when a batch returns, its callers are answered and expected back: the queue is sent once as many callers
 *   (origins) have submitted again as the batch answered, or when the queue holds a full batch, or when none of
 *   them has come back for returnWaitMs (a caller that never comes back delays the others by at most that);
 * - with no batch in flight and nobody expected, a write is sent at once (on the next turn of the event loop, so
 *   that what one request submits in one go, a Bulk request's operations, leaves together).
 * A lone client is never delayed: it is the only caller expected back, so its next write is sent the moment it
 * arrives. Sixteen clients settle into one batch of sixteen per round trip.
 */
export function createCoalescer<I, R> (run: (items: readonly I[]) => Promise<Array<Settled<R>>>, opts: CoalescerOptions<I>): Coalescer<I, R> {
  const now = opts.now ?? (() => performance.now())
  const origin = opts.origin ?? ((item: I) => item)
  const waitFor = opts.returnWaitMs ?? returnWaitMs
  let queue: Array<Entry<I, R>> = []
  let inFlight = false
  let scheduled = false
  /** Callers of the last batch not yet back, the origins already back, and when the queue stops waiting for them. */
  let expected = 0
  let back = new Set<unknown>()
  let waitUntil = 0
  let waitTimer: NodeJS.Timeout | undefined

  /** The wait's length for the current batch's callers (returnWaitMs of its round trip). */
  let wait = 0

  /** The queue waits `wait` ms more: from a batch's answer, and again from each of its callers' return. */
  function restartWait (): void {
    if (waitTimer !== undefined) clearTimeout(waitTimer)
    waitUntil = now() + wait
    // The timer ends the wait itself: Node's timers keep whole milliseconds and may fire a fraction early.
    waitTimer = setTimeout(() => { waitTimer = undefined; waitUntil = 0; schedule() }, wait)
    waitTimer.unref()
  }

  function ready (): boolean {
    if (inFlight || queue.length === 0) return false
    return expected === 0 || queue.length >= opts.maxBatch || now() >= waitUntil
  }

  /**
   * The decision is taken on the next turn of the event loop (setImmediate), not at once: it waits for no I/O and
   * no other request, only for the code already running to yield.
   */
  function schedule (): void {
    if (scheduled || !ready()) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      if (!ready()) return
      if (waitTimer !== undefined) { clearTimeout(waitTimer); waitTimer = undefined }
      expected = 0
      flush().catch(() => {}) // flush settles every caller itself; nothing is left to report
    })
  }

  function take (): Array<Entry<I, R>> {
    const batch: Array<Entry<I, R>> = []
    const keys = new Set<string>()
    const rest: Array<Entry<I, R>> = []
    for (const e of queue) {
      // A second write to a resource already in this batch keeps its place for the next one.
      if (batch.length < opts.maxBatch && !keys.has(e.key)) {
        batch.push(e)
        keys.add(e.key)
      } else {
        rest.push(e)
      }
    }
    queue = rest
    return batch
  }

  async function flush (): Promise<void> {
    inFlight = true
    const batch = take()
    const started = now()
    try {
      const results = await run(batch.map((e) => e.item))
      batch.forEach((e, i) => {
        const r = results[i]
        if (r === undefined) e.reject(new Error('coalesced write got no answer'))
        else if (r.ok) e.resolve(r.value)
        else e.reject(r.error)
      })
    } catch (err) {
      for (const e of batch) e.reject(err)
    } finally {
      inFlight = false
      // The callers just answered are expected back; what queued meanwhile waits for them, bounded.
      expected = new Set(batch.map((e) => origin(e.item))).size
      back = new Set()
      wait = waitFor(now() - started)
      restartWait()
      schedule()
    }
  }

  return {
    get queued () { return queue.length },
    async submit (item) {
      return await new Promise<R>((resolve, reject) => {
        queue.push({ item, key: opts.key(item), resolve, reject })
        const o = origin(item)
        if (expected > 0 && !back.has(o)) {
          back.add(o)
          expected--
          // Callers still coming back one by one: the wait is for a gap in their arrivals, not from the answer.
          if (expected > 0) restartWait()
        }
        schedule()
      })
    },
  }
}
