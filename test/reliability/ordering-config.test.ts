// The ordering's waits are the admin's to tune (SF_ORDER_WAIT_MS, SF_SETTLE_CAP_MS; issue 16): a shorter order
// wait answers 503 sooner to a write queued behind a late one, and a shorter settle cap lets the queued write go
// once the late one is given up, instead of after the 120 s default.
import { afterEach, describe, expect, it } from 'vitest'
import type { RetryPolicy } from '../../src/salesforce/gateway.js'
import { scim, sleep, startReliabilityHarness, type ReliabilityHarness } from './harness.js'

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const TIMEOUT_MS = 600
const RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 10, maxDelayMs: 50, breaker: { consecutiveFailures: 50, minCalls: 100 } }

let h: ReliabilityHarness | undefined
afterEach(async () => { await h?.close(); h = undefined })

async function userIn (harness: ReliabilityHarness): Promise<string> {
  const userName = `tuned.${Date.now().toString(36)}@pickup.example`
  const res = await scim('POST', `${harness.scim}/Users`, { userName, name: { givenName: 'Tu', familyName: 'Ned' } })
  expect(res.status).toBe(201)
  return String(res.body?.id)
}

const title = async (harness: ReliabilityHarness, id: string, value: string): ReturnType<typeof scim> =>
  await scim('PATCH', `${harness.scim}/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value }] })

describe('configured ordering waits', () => {
  it('salesforce.orderWaitMs: a write queued behind a late one is answered 503 after that wait, and never sent', async () => {
    h = await startReliabilityHarness({ seed: 1, retry: RETRY, timeoutMs: TIMEOUT_MS, salesforce: { orderWaitMs: 150 } })
    const id = await userIn(h)
    h.emulator.faults.set({ latencyMs: 1_500 })
    expect((await title(h, id, 'A')).status).toBe(503)
    h.emulator.faults.set({ latencyMs: 0 })
    const b = await title(h, id, 'B')
    // With the default 4 s it would have waited for A (some 900 ms more) and answered 200.
    expect(b.status).toBe(503)
    await sleep(1_200)
    expect(h.emulator.org.get('User', id)?.Title).toBe('A')
  })

  it('salesforce.settleCapMs: a late write is given up at the cap, and the write queued behind it then runs', async () => {
    h = await startReliabilityHarness({ seed: 2, retry: RETRY, timeoutMs: TIMEOUT_MS, salesforce: { settleCapMs: 1_000 } })
    const id = await userIn(h)
    h.emulator.faults.set({ latencyMs: 4_800 })
    const t0 = Date.now()
    expect((await title(h, id, 'A')).status).toBe(503)
    h.emulator.faults.set({ latencyMs: 0 })
    const b = await title(h, id, 'B')
    // With the default 120 s cap B would have waited its 4 s behind A, still in flight, and been answered 503.
    expect(b.status).toBe(200)
    expect(Date.now() - t0).toBeLessThan(4_000)
  })
})
