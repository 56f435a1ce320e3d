// The coalescer's dispatch (coalesce.ts) on a fake clock with scripted clients: closed-loop clients that each send
// their next write a few ms after their answer settle into one batch per round trip (not the 1 / 15 alternation of
// "send what queued when the last batch returns"), a lone client is never delayed, and a caller that does not come
// back delays the others by at most the bounded wait.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createCoalescer, returnWaitMs, type Settled } from '../../src/salesforce/coalesce.js'

interface Item { client: number, seq: number }

beforeEach(() => { vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }) })
afterEach(() => { vi.useRealTimers() })

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * `clients` closed-loop clients write `total` items in all; each batch takes `rttMs`, and client i sends its next
 * write `turnaround(i)` ms after its answer (rendering, network, parsing: the spread that breaks naive coalescing).
 * Returns the batch sizes, the fake time it took, and each write's latency.
 */
async function simulate (clients: number, total: number, rttMs: number, turnaround: (client: number) => number): Promise<{ batches: number[], ms: number, latencies: number[] }> {
  const batches: number[] = []
  const latencies: number[] = []
  const c = createCoalescer<Item, string>(async (items) => {
    batches.push(items.length)
    await sleep(rttMs)
    return items.map((i): Settled<string> => ({ ok: true, value: `${i.client}.${i.seq}` }))
  }, { maxBatch: 1000, key: (i) => `${i.client}.${i.seq}`, origin: (i) => i.client, now: () => Date.now() })
  let sent = 0
  const start = Date.now()
  const loop = async (client: number): Promise<void> => {
    for (let seq = 0; sent < total; seq++) {
      sent++
      const t0 = Date.now()
      expect(await c.submit({ client, seq })).toBe(`${client}.${seq}`) // each caller its own answer
      latencies.push(Date.now() - t0)
      await sleep(turnaround(client))
    }
  }
  const state = { finished: false }
  const done = Promise.all(Array.from({ length: clients }, async (_v, i) => { await sleep(turnaround(i)); await loop(i) })).finally(() => { state.finished = true })
  // A millisecond at a time, so every client's next write is scheduled before the clock moves on.
  while (!state.finished) await vi.advanceTimersByTimeAsync(1)
  await done
  return { batches, ms: Date.now() - start, latencies }
}

describe('coalescer dispatch (fake clock, scripted clients)', () => {
  it('16 clients at a 150 ms round trip: one batch of 16 per round trip after the first, wall time as one call per user', async () => {
    // Clients come back 1..16 ms after their answer: 16 answers rendered and 16 requests parsed one after another.
    const turnaround = (i: number): number => 1 + i
    const { batches, ms } = await simulate(16, 320, 150, turnaround)
    console.log(`dispatch: 16 clients, 320 writes: ${batches.length} batches, sizes ${batches.slice(0, 4).join(', ')}, … then ${[...new Set(batches.slice(4))].join('/')}; ${ms} ms`)
    // Cold start: the first alone, the other fifteen queued behind it; its caller comes back and joins them, and
    // from then on all sixteen go together every round trip (the last batch is what is left of the 320).
    expect(batches).toEqual([1, ...Array.from({ length: 19 }, () => 16), 15])
    // One call per user: each client's cycle is its round trip plus its own turnaround, the slowest 150 + 16 ms.
    const onePerUser = (320 / 16) * (150 + 16)
    expect(ms).toBeLessThanOrEqual(onePerUser * 1.1)
  })

  it('a lone client is never delayed: each write leaves the moment it arrives', async () => {
    const { batches, latencies } = await simulate(1, 20, 50, () => 3)
    expect(batches).toEqual(Array.from({ length: 20 }, () => 1))
    expect(latencies.every((l) => l === 50)).toBe(true) // the round trip and nothing else
  })

  it('a caller that does not come back holds the queue for at most the bounded wait', async () => {
    const batches: number[] = []
    const c = createCoalescer<string, string>(async (items) => {
      batches.push(items.length)
      await sleep(100)
      return items.map((v): Settled<string> => ({ ok: true, value: v }))
    }, { maxBatch: 100, key: (s) => s, now: () => Date.now() })
    const first = c.submit('a') // alone; its caller then goes quiet
    await vi.advanceTimersByTimeAsync(10)
    const t0 = Date.now()
    let t1 = 0
    const others = Promise.all([c.submit('b'), c.submit('c')]).then(() => { t1 = Date.now() }) // queued behind 'a'
    await vi.runAllTimersAsync()
    await first
    await others
    // 'a' returned at 100 ms; 'b' and 'c' waited returnWaitMs(100) = 25 ms for a's caller, then left together.
    expect(batches).toEqual([1, 2])
    expect(t1 - t0).toBe(90 + returnWaitMs(100) + 100)
  })

  it('a full batch does not wait for anyone', async () => {
    const batches: number[] = []
    const c = createCoalescer<string, string>(async (items) => {
      batches.push(items.length)
      await sleep(100)
      return items.map((v): Settled<string> => ({ ok: true, value: v }))
    }, { maxBatch: 3, key: (s) => s, now: () => Date.now() })
    const all = Promise.all(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map(async (v) => await c.submit(v)))
    await vi.advanceTimersByTimeAsync(100) // the first batch (a, b, c) returns; d..f make a full batch at once
    await new Promise((resolve) => setImmediate(resolve))
    expect(batches).toEqual([3, 3])
    await vi.runAllTimersAsync()
    expect(await all).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g'])
    expect(batches).toEqual([3, 3, 1])
  })
})
