// /healthz and /readyz: open to probes, truthful about Salesforce and the store, and silent about secrets.
import supertest from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import type { Config } from '../../src/config/types.js'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { openStore, type Store } from '../../src/store/store.js'
import { BASIC_PASSWORD, BEARER, testConfig } from '../helper.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function emulator (): Promise<Emulator> {
  const e = await createEmulator()
  await e.listen()
  let closed = false
  cleanups.push(async () => { if (!closed) await e.close() })
  const close = e.close.bind(e)
  // The test may close it early (Salesforce gone); the cleanup must not close it twice.
  return Object.assign(Object.create(e) as Emulator, { close: async () => { closed = true; await close() } })
}

async function app (config: Config, store: Store = openStore(':memory:')): Promise<ReturnType<typeof supertest>> {
  const a = await buildApp(config, { store })
  await a.listen({ port: 0, host: '127.0.0.1' })
  cleanups.push(async () => { await a.close(); store.close() })
  return supertest(a.server)
}

const SECRETS = (config: Config): string[] => [BEARER, BASIC_PASSWORD, config.salesforce.clientSecret as string]

function expectNothingSecret (body: unknown, config: Config): void {
  const text = JSON.stringify(body)
  for (const s of SECRETS(config)) expect(text).not.toContain(s)
  // Not even where Salesforce is: the answer is for probes, the reasons are in the log.
  expect(text).not.toContain(config.salesforce.loginUrl)
}

describe('/healthz', () => {
  it('answers 200 without credentials and says nothing but ok, whatever Salesforce does', async () => {
    const e = await emulator()
    const config = testConfig(e)
    config.salesforce.clientSecret = 'not-the-emulator-secret-000000'
    const http = await app(config)
    const res = await http.get('/healthz')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.body).toEqual({ status: 'ok' })
  })
})

describe('/readyz', () => {
  it('is 200 with a reachable org and a writable store, without credentials', async () => {
    const e = await emulator()
    const config = testConfig(e)
    const http = await app(config)
    const res = await http.get('/readyz')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ status: 'ready', checks: { salesforce: 'ok', store: 'ok' } })
    expectNothingSecret(res.body, config)
  })

  it('is 503 when the org refuses scimforce a token, and does not say why', async () => {
    const e = await emulator()
    const config = testConfig(e)
    config.salesforce.clientSecret = 'wrong-secret-for-the-emulator-0001'
    const http = await app(config)
    const res = await http.get('/readyz')
    expect(res.status).toBe(503)
    expect(res.body).toEqual({ status: 'not ready', checks: { salesforce: 'failed', store: 'ok' } })
    expectNothingSecret(res.body, config)
  })

  it('is 503 once the org is gone, even with a token already cached', async () => {
    const e = await emulator()
    const config = testConfig(e)
    const http = await app(config)
    expect((await http.get('/readyz')).status).toBe(200)
    await e.close()
    const res = await http.get('/readyz')
    expect(res.status).toBe(503)
    expect(res.body).toEqual({ status: 'not ready', checks: { salesforce: 'failed', store: 'ok' } })
    expectNothingSecret(res.body, config)
  })

  it('is 503 when the store cannot be written', async () => {
    const e = await emulator()
    const config = testConfig(e)
    const store = openStore(':memory:')
    const broken: Store = { ...store, probe: () => { throw new Error('SQLITE_READONLY: attempt to write a readonly database') } }
    const http = await app(config, broken)
    const res = await http.get('/readyz')
    expect(res.status).toBe(503)
    expect(res.body).toEqual({ status: 'not ready', checks: { salesforce: 'ok', store: 'failed' } })
    expect(JSON.stringify(res.body)).not.toContain('SQLITE')
  })

  it('does not spend the daily API allowance', async () => {
    const e = await emulator()
    const http = await app(testConfig(e))
    for (let i = 0; i < 3; i++) expect((await http.get('/readyz')).status).toBe(200)
    expect(e.counters.snapshot().apiCalls).toBe(0)
    expect(e.counters.snapshot().tokenRequests).toBe(1)
  })
})
