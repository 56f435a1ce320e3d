// SF_TIMEOUT_MS and the gateway agree: with the default policy a whole call (its retries included) ends within
// config salesforce.timeoutMs, and each HTTP request gets half of it.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { createSalesforceSession } from '../../src/salesforce/connection.js'
import { SalesforceError } from '../../src/salesforce/errors.js'
import { createGateway } from '../../src/salesforce/gateway.js'
import { select } from '../../src/salesforce/soql.js'
import { salesforceConfig } from '../fixtures/config.js'
import { quietLog } from '../reliability/fakes.js'

const TIMEOUT_MS = 1000
let emulator: Emulator
beforeAll(async () => {
  emulator = await createEmulator()
  await emulator.listen()
})
afterAll(async () => { await emulator.close() })

it('ends a read that hangs within SF_TIMEOUT_MS, each HTTP request taking half of it', async () => {
  const session = createSalesforceSession(salesforceConfig(emulator.url, { timeoutMs: TIMEOUT_MS }), quietLog)
  expect(session.timeoutMs).toBe(TIMEOUT_MS / 2)
  // The default policy: no budgetMs given, as the app builds it.
  const gateway = createGateway(session)
  const q = select({ fields: ['Id'], from: 'User', limit: 1 })
  await gateway.query(q, quietLog) // the token first
  emulator.faults.set({ latencyMs: 5_000 })
  const started = Date.now()
  const err = await gateway.query(q, quietLog).then(() => undefined, (e: unknown) => e)
  const elapsed = Date.now() - started
  emulator.faults.reset()
  expect(err).toBeInstanceOf(SalesforceError)
  expect((err as SalesforceError).code).toBe('TIMEOUT')
  // At least one whole request timeout (half the budget), and never past the budget (plus scheduling slack).
  expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS / 2)
  expect(elapsed).toBeLessThan(TIMEOUT_MS + 400)
})
