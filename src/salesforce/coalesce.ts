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
}

export interface Coalescer<I, R> {
  submit (item: I): Promise<R>
  /** Items queued, not yet sent (tests, metrics). */
  readonly queued: number
}

interface Entry<I, R> { item: I, key: string, resolve: (value: R) => void, reject: (error: unknown) => void }

/**
 * `run` gets the items of one batch and answers one Settled per item, in order; if it throws, every item of the
 * batch gets that error. Batches of one kind run one at a time: that is what lets the writes that arrive meanwhile
 * gather.
 */
export function createCoalescer<I, R> (run: (items: readonly I[]) => Promise<Array<Settled<R>>>, opts: CoalescerOptions<I>): Coalescer<I, R> {
  let queue: Array<Entry<I, R>> = []
  let inFlight = false
  let scheduled = false

  /**
   * Dispatch happens on the next turn of the event loop (setImmediate), not at once: the writes a single request
   * submits in one go (a Bulk request's operations) then leave together instead of the first alone. It is not a
   * timer: it waits for no I/O and no other request, only for the code already running to yield.
   */
  function schedule (): void {
    if (inFlight || scheduled || queue.length === 0) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
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
    if (inFlight || queue.length === 0) return
    inFlight = true
    const batch = take()
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
      schedule()
    }
  }

  return {
    get queued () { return queue.length },
    async submit (item) {
      return await new Promise<R>((resolve, reject) => {
        queue.push({ item, key: opts.key(item), resolve, reject })
        schedule()
      })
    },
  }
}
