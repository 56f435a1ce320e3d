// Test harness: an emulated org on an ephemeral 127.0.0.1 port and a fresh scimforce app configured against it,
// plus response helpers. One per test (or per file, for read-only suites); always closed afterwards.
import type { FastifyInstance } from 'fastify'
import supertest from 'supertest'
import { expect } from 'vitest'
import { buildApp } from '../src/app.js'
import type { Config } from '../src/config/types.js'
import { createEmulator, type Emulator, type EmulatorOptions } from '../src/emulator/index.js'
import { openStore, type Store } from '../src/store/store.js'
import { BASIC_PASSWORD, BASIC_USER, BEARER, scimforceConfig } from './fixtures/config.js'

export { BASIC_PASSWORD, BASIC_USER, BEARER } from './fixtures/config.js'
export const SCIM = '/scim/v2'

export interface Harness {
  emulator: Emulator
  app: FastifyInstance
  config: Config
  store: Store
  /** supertest against the app's listening server, with Bearer auth (Entra/Okta style). */
  bearer: () => ReturnType<typeof supertest>
  http: ReturnType<typeof supertest>
  close: () => Promise<void>
}

/** The test Config (fixtures/config.ts) against this emulated org, its 'Standard User' profile for new users. */
export function testConfig (emulator: Emulator, overrides: Partial<Config['users']> = {}): Config {
  return scimforceConfig({ loginUrl: emulator.url, profileId: String(emulator.seed.profiles['Standard User']), users: overrides })
}

export async function startHarness (opts: { emulator?: EmulatorOptions, users?: Partial<Config['users']>, config?: (c: Config) => Config, store?: Store } = {}): Promise<Harness> {
  const emulator = await createEmulator(opts.emulator)
  await emulator.listen()
  let config = testConfig(emulator, opts.users)
  if (opts.config !== undefined) config = opts.config(config)
  const store = opts.store ?? openStore(':memory:')
  // Fast retries: the policy is the same, the waits are not worth spending in tests.
  const app = await buildApp(config, { store, retry: { attempts: 3, baseDelayMs: 5, budgetMs: 2000 } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const http = supertest(app.server)
  return {
    emulator,
    app,
    config,
    store,
    http,
    bearer: () => http,
    close: async () => {
      await app.close()
      if (opts.store === undefined) store.close()
      await emulator.close()
    },
  }
}

export const auth = { Authorization: `Bearer ${BEARER}` }
export const basicAuth = { Authorization: `Basic ${Buffer.from(`${BASIC_USER}:${BASIC_PASSWORD}`).toString('base64')}` }

export function expectScimError (res: { status: number, body: unknown, headers: Record<string, string> }, status: number, scimType?: string): void {
  expect(res.status).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/)
  expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status) })
  if (scimType !== undefined) expect((res.body as { scimType?: string }).scimType).toBe(scimType)
  expect(JSON.stringify(res.body)).not.toMatch(/\bat .+\.(ts|js):\d+/) // never a stack trace
}
