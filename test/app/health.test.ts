// /healthz and /readyz: open to probes, truthful about Salesforce and the store, and silent about secrets.
import supertest from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp, type AppDeps } from '../../src/app.js'
import type { Config } from '../../src/config/types.js'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { REASONS } from '../../src/http/readiness.js'
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

// No cache, unless a test is about the cache: most tests change the org between two probes.
async function app (config: Config, store: Store = openStore(':memory:'), deps: AppDeps = { readiness: { cacheMs: 0 } }): Promise<ReturnType<typeof supertest>> {
  const a = await buildApp(config, { store, ...deps })
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
    expect(res.body).toEqual({ status: 'ready', checks: { salesforce: 'ok', circuit: 'closed', store: 'ok', dailyLimit: 'ok' } })
    expect(res.headers['cache-control']).toBe('no-store')
    expectNothingSecret(res.body, config)
  })

  it('is 503 when the org refuses scimforce a token, and does not say why', async () => {
    const e = await emulator()
    const config = testConfig(e)
    config.salesforce.clientSecret = 'wrong-secret-for-the-emulator-0001'
    const http = await app(config)
    const res = await http.get('/readyz')
    expect(res.status).toBe(503)
    expect(res.body).toEqual({ status: 'not ready', checks: { salesforce: 'failed', circuit: 'closed', store: 'ok', dailyLimit: 'ok' }, reasons: [REASONS.api] })
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
    expect(res.body).toEqual({ status: 'not ready', checks: { salesforce: 'failed', circuit: 'closed', store: 'ok', dailyLimit: 'ok' }, reasons: [REASONS.api] })
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
    expect(res.body).toEqual({ status: 'not ready', checks: { salesforce: 'ok', circuit: 'closed', store: 'failed', dailyLimit: 'ok' }, reasons: [REASONS.store] })
    expect(JSON.stringify(res.body)).not.toContain('SQLITE')
  })

  it('costs at most one API call per cache period, however many probes come and however fast', async () => {
    const e = await emulator()
    let t = 1_000_000
    const http = await app(testConfig(e), openStore(':memory:'), { readiness: { cacheMs: 5000, now: () => t } })
    // A burst: 25 probes at once share one check, then 25 more in a row are answered from its verdict.
    const burst = await Promise.all(Array.from({ length: 25 }, async () => await http.get('/readyz')))
    for (const res of burst) expect(res.status).toBe(200)
    for (let i = 0; i < 25; i++) expect((await http.get('/readyz')).status).toBe(200)
    expect(e.counters.snapshot().apiCalls).toBe(1)
    expect(e.counters.snapshot().tokenRequests).toBe(1)
    // The next period: one more call, and only one.
    t += 5000
    for (let i = 0; i < 10; i++) expect((await http.get('/readyz')).status).toBe(200)
    expect(e.counters.snapshot().apiCalls).toBe(2)
  })

  it('caches a failure as well: a deactivated user is not asked for a token on every probe', async () => {
    const e = await emulator()
    let t = 1_000_000
    const http = await app(testConfig(e), openStore(':memory:'), { readiness: { cacheMs: 5000, now: () => t } })
    expect((await http.get('/readyz')).status).toBe(200)
    t += 5000
    e.org.update('User', String(e.seed.users['integration@scimforce.demo']), { IsActive: false })
    expect((await http.get('/readyz')).status).toBe(503)
    const tokens = e.counters.snapshot().tokenRequests
    for (let i = 0; i < 10; i++) expect((await http.get('/readyz')).status).toBe(503)
    expect(e.counters.snapshot().tokenRequests).toBe(tokens)
  })
})

describe('/readyz tells the truth about the integration user', () => {
  const NOT_READY = { status: 'not ready', checks: { salesforce: 'failed', circuit: 'closed', store: 'ok', dailyLimit: 'ok' }, reasons: [REASONS.api] }

  it('is 503 once the integration user is deactivated (Salesforce ends its sessions), though a token was cached', async () => {
    const e = await emulator()
    const config = testConfig(e)
    const http = await app(config)
    expect((await http.get('/readyz')).status).toBe(200)
    e.org.update('User', String(e.seed.users['integration@scimforce.demo']), { IsActive: false })
    const res = await http.get('/readyz')
    expect(res.status).toBe(503)
    expect(res.body).toEqual(NOT_READY)
    expectNothingSecret(res.body, config)
    // And back when the admin reactivates it.
    e.org.update('User', String(e.seed.users['integration@scimforce.demo']), { IsActive: true })
    expect((await http.get('/readyz')).status).toBe(200)
  })

  it('is 503 once the integration user is frozen', async () => {
    const e = await emulator()
    const http = await app(testConfig(e))
    expect((await http.get('/readyz')).status).toBe(200)
    const [login] = e.org.lookup('UserLogin.user', String(e.seed.users['integration@scimforce.demo']))
    e.org.update('UserLogin', String(login), { IsFrozen: true })
    const res = await http.get('/readyz')
    expect(res.status).toBe(503)
    expect(res.body).toEqual(NOT_READY)
  })

  it('is 503 when the session is revoked and a new one is refused; ready again on a new session when it is not', async () => {
    const e = await emulator()
    const config = testConfig(e)
    const http = await app(config)
    expect((await http.get('/readyz')).status).toBe(200)
    // Revoked, and the org answers a new token request: the check really called, on a new session.
    await supertest(e.url).post('/__emulator/sessions/expire').expect((r) => { expect(r.status).toBeLessThan(300) })
    const tokens = e.counters.snapshot().tokenRequests
    expect((await http.get('/readyz')).status).toBe(200)
    expect(e.counters.snapshot().tokenRequests).toBe(tokens + 1)
    // Revoked, and the integration user may no longer log in: not ready.
    await supertest(e.url).post('/__emulator/sessions/expire')
    e.org.systemUpdate('User', String(e.seed.users['integration@scimforce.demo']), { IsActive: false })
    const res = await http.get('/readyz')
    expect(res.status).toBe(503)
    expect(res.body).toEqual(NOT_READY)
  })
})

describe('/readyz and the daily API allowance', () => {
  it('stays 200 with the daily API allowance spent, and says dailyLimit: spent (the IdP meets 429s, not closed doors)', async () => {
    const e = await emulator()
    const config = testConfig(e)
    const http = await app(config)
    expect((await http.get('/readyz')).body.checks.dailyLimit).toBe('ok')
    e.faults.exhaustDailyLimit()
    const res = await http.get('/readyz')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ status: 'ready', checks: { salesforce: 'ok', circuit: 'closed', store: 'ok', dailyLimit: 'spent' } })
    e.faults.reset()
    expect((await http.get('/readyz')).body.checks.dailyLimit).toBe('ok')
  })
})

describe('/readyz reports the circuit breaker', () => {
  it('is 503 while the breaker holds Salesforce calls back, and ready once it lets a probe through', async () => {
    const e = await emulator()
    const config = testConfig(e)
    const openMs = 300
    const http = await app(config, openStore(':memory:'), { readiness: { cacheMs: 0 }, retry: { attempts: 1, baseDelayMs: 5, breaker: { consecutiveFailures: 1, openMs, maxOpenMs: openMs } } })
    e.faults.failNext(1, 'serverUnavailable')
    expect((await http.get('/scim/v2/Users').set('authorization', `Bearer ${BEARER}`)).status).toBe(503)
    const res = await http.get('/readyz')
    expect(res.status).toBe(503)
    // Salesforce itself answers the check: the reason is the breaker, and the answer says so.
    expect(res.body).toEqual({ status: 'not ready', checks: { salesforce: 'ok', circuit: 'open', store: 'ok', dailyLimit: 'ok' }, reasons: [REASONS.circuit] })
    expectNothingSecret(res.body, config)
    // Due for its probe: ready, so traffic comes back and its first call closes the breaker.
    await new Promise((resolve) => setTimeout(resolve, openMs + 50))
    const due = await http.get('/readyz')
    expect(due.status).toBe(200)
    expect(due.body.checks.circuit).toBe('halfOpen')
    expect((await http.get('/scim/v2/Users').set('authorization', `Bearer ${BEARER}`)).status).toBe(200)
    expect((await http.get('/readyz')).body.checks.circuit).toBe('closed')
  })
})
