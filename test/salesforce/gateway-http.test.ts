// jsforce 3.10.16's HTTP layer as scimforce configures it, against the emulated org: the timeout really fires
// (node-fetch abort through executeWithTimeout; our own bound on the token request), its own retries are off, and
// connections are kept alive.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { createSalesforceSession, type SalesforceSession } from '../../src/salesforce/connection.js'
import { classify, SalesforceError } from '../../src/salesforce/errors.js'
import { createGateway, type Gateway } from '../../src/salesforce/gateway.js'
import { select } from '../../src/salesforce/soql.js'
import { salesforceConfig } from '../fixtures/config.js'
import { quietLog } from '../reliability/fakes.js'

let emulator: Emulator
let session: SalesforceSession
let gateway: Gateway
let connections = 0

const Q = select({ fields: ['Id'], from: 'User', limit: 1 })

beforeAll(async () => {
  emulator = await createEmulator()
  await emulator.listen()
  emulator.app.server.on('connection', () => { connections++ })
  session = createSalesforceSession(salesforceConfig(emulator.url, { timeoutMs: 600 }), quietLog) // 300 ms per HTTP request
  gateway = createGateway(session, { attempts: 1, baseDelayMs: 10, budgetMs: 5_000, breaker: { consecutiveFailures: 1000 } })
})
afterAll(async () => { await emulator.close() })
beforeEach(() => { emulator.faults.reset() })

async function failure (p: Promise<unknown>): Promise<SalesforceError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(SalesforceError)
    return err as SalesforceError
  }
  throw new Error('expected a failure')
}

describe('timeouts', () => {
  it('aborts a call Salesforce is slow to answer, as TIMEOUT with an unknown outcome (jsforce\'s own abort, not our backstop)', async () => {
    await gateway.query(Q, quietLog) // a token first: the token request is not what is being timed
    emulator.faults.set({ latencyMs: 2_000 })
    const err = await failure(gateway.query(Q, quietLog))
    expect(err).toMatchObject({ code: 'TIMEOUT', kind: 'unknownOutcome' })
    // The backstop's error has no cause; jsforce's is node-fetch's AbortError.
    expect((err.cause as Error | undefined)?.name).toBe('AbortError')
  })

  it('applies the configured timeout to calls made outside the gateway too (module default)', async () => {
    await session.ensureAuthorized()
    emulator.faults.set({ latencyMs: 2_000 })
    await expect(session.conn.request({ method: 'GET', url: '/services/data/v62.0/limits' })).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('bounds the token request by the configured timeout too (it takes no per-call options in jsforce)', async () => {
    const fresh = createSalesforceSession(salesforceConfig(emulator.url, { timeoutMs: 600 }), quietLog)
    emulator.faults.set({ latencyMs: 2_000 })
    const started = Date.now()
    const err = await fresh.ensureAuthorized().then(() => undefined, (e: unknown) => e)
    expect(Date.now() - started).toBeLessThan(1_500)
    expect(classify(err)).toMatchObject({ code: 'TIMEOUT', kind: 'unknownOutcome' })
  })

  it('has jsforce\'s own retries off: a 503 on a GET is one call, and the gateway decides', async () => {
    await session.ensureAuthorized()
    const before = emulator.counters.snapshot().byStatus['503'] ?? 0
    emulator.faults.failNext(1, 'serverUnavailable', { method: 'GET' })
    emulator.faults.failNext(1, 'serverUnavailable', { method: 'GET' })
    const err = await failure(gateway.query(Q, quietLog))
    expect(err.code).toBe('SERVER_UNAVAILABLE')
    expect((emulator.counters.snapshot().byStatus['503'] ?? 0) - before).toBe(1)
  })
})

describe('keep-alive', () => {
  it('reuses one connection for sequential calls, and opens a new one after a dropped connection', async () => {
    await gateway.query(Q, quietLog)
    const start = connections
    for (let i = 0; i < 30; i++) await gateway.query(Q, quietLog)
    expect(connections - start).toBe(0)

    emulator.faults.failNext(1, 'dropConnection')
    await failure(gateway.query(Q, quietLog))
    for (let i = 0; i < 10; i++) await gateway.query(Q, quietLog)
    expect(connections - start).toBe(1)
  })

  it('keeps as many connections as calls run at once, and reuses them for the next burst', async () => {
    const burst = async (): Promise<void> => { await Promise.all(Array.from({ length: 8 }, async () => await gateway.query(Q, quietLog))) }
    await burst()
    const start = connections
    for (let i = 0; i < 5; i++) await burst()
    expect(connections - start).toBe(0)
  })
})
