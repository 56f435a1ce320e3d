// Reliability harness: an emulated org with deterministic faults and scimforce built against it with a retry
// policy and breaker sized for tests (the shapes of production, shorter waits), listening on 127.0.0.1.
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import type { Config, SalesforceConfig } from '../../src/config/types.js'
import { createEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js'
import type { RetryPolicy } from '../../src/salesforce/gateway.js'
import { openStore, type Store } from '../../src/store/store.js'
import { BEARER, testConfig } from '../helper.js'

export interface ReliabilityHarness {
  emulator: Emulator
  app: FastifyInstance
  store: Store
  config: Config
  /** http://127.0.0.1:PORT/scim/v2 */
  scim: string
  close: () => Promise<void>
}

/** mulberry32: a small seeded PRNG, so fault rates and workloads repeat from run to run. */
export function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export async function startReliabilityHarness (opts: { emulator?: EmulatorOptions, retry: RetryPolicy, timeoutMs: number, seed: number, salesforce?: Partial<SalesforceConfig> }): Promise<ReliabilityHarness> {
  const emulator = await createEmulator(opts.emulator)
  emulator.faults.random = seeded(opts.seed)
  await emulator.listen()
  const config = testConfig(emulator)
  config.salesforce = { ...config.salesforce, ...opts.salesforce, timeoutMs: opts.timeoutMs }
  const store = openStore(':memory:')
  const app = await buildApp(config, { store, retry: opts.retry })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return {
    emulator,
    app,
    store,
    config,
    scim: `http://127.0.0.1:${port}/scim/v2`,
    close: async () => {
      await app.close()
      store.close()
      await emulator.close()
    },
  }
}

export const bearerHeaders = { Authorization: `Bearer ${BEARER}`, 'Content-Type': 'application/scim+json' }

export interface Answer {
  status: number
  retryAfter: string | null
  body: Record<string, unknown> | undefined
}

/** One SCIM request as an IdP sends it; a connection failure is status 0. */
export async function scim (method: string, url: string, body?: unknown): Promise<Answer> {
  try {
    const res = await fetch(url, { method, headers: bearerHeaders, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(60_000) })
    const text = await res.text()
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: text === '' ? undefined : JSON.parse(text) as Record<string, unknown> }
  } catch {
    return { status: 0, retryAfter: null, body: undefined }
  }
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
