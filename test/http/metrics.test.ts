// GET /metrics: served only to a scraper with METRICS_TOKEN, counts SCIM requests and Salesforce calls as they
// happen, and never shows a credential.
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig, redactedConfig } from '../../src/config/loader.js'
import Fastify from 'fastify'
import { DEFAULT_THROTTLE } from '../../src/http/auth.js'
import metricsPlugin, { createMetrics } from '../../src/http/metrics.js'
import { auth, basicAuth, BASIC_PASSWORD, BEARER, SCIM, startHarness, type Harness } from '../helper.js'

const METRICS_TOKEN = 'test-metrics-token-0123456789'
let h: Harness | undefined
afterEach(async () => { await h?.close(); h = undefined })

async function harness (metricsToken: string | null = METRICS_TOKEN): Promise<Harness> {
  h = await startHarness({ config: (c) => ({ ...c, server: { ...c.server, ...(metricsToken !== null ? { metricsToken } : {}) } }) })
  return h
}

async function scrape (x: Harness): Promise<string> {
  const res = await x.http.get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`)
  expect(res.status).toBe(200)
  return res.text
}

/** The value of one sample in Prometheus text format; 0 when the series does not exist yet. */
function sample (text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null || m[1] !== name) continue
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]))
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3])
  }
  return 0
}

/** The sum of every sample of `name` (all label sets). */
function total (text: string, name: string): number {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((n, l) => n + Number(l.split(' ').pop()), 0)
}

/** Failed attempts across every call name (which call a SCIM read uses is the user service's business). */
function errors (text: string): number {
  return text.split('\n').filter((l) => l.startsWith('scimforce_salesforce_calls_total{') && l.includes('outcome="error"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0)
}

const user = (userName: string): Record<string, unknown> => ({ userName, name: { givenName: 'Ada', familyName: 'Lovelace' }, password: 'scim-body-password-1234' })

describe('/metrics access', () => {
  it('refuses a scrape without the token or with a wrong one, and says which realm', async () => {
    const x = await harness()
    for (const header of [undefined, 'Bearer wrong-metrics-token-000000000', `Basic ${METRICS_TOKEN}`, `Bearer ${BEARER}`]) {
      const req = x.http.get('/metrics')
      const res = header === undefined ? await req : await req.set('Authorization', header)
      expect(res.status).toBe(401)
      expect(res.headers['www-authenticate']).toBe('Bearer realm="scimforce-metrics"')
      expect(res.text).not.toContain('scimforce_')
    }
  })

  it('serves the Prometheus text format to the scraper, whatever case it gives the scheme', async () => {
    const x = await harness()
    const res = await x.http.get('/metrics').set('Authorization', `bearer ${METRICS_TOKEN}`)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(res.text).toMatch(/^# HELP scimforce_scim_requests_total /m)
  })

  it('throttles wrong tokens like SCIM credentials: 429 + Retry-After, even for the right token, and per address', async () => {
    const server = Fastify()
    const metrics = createMetrics({ tokenRequests: 0, limitInfo: () => undefined })
    await server.register(metricsPlugin, { metrics, token: METRICS_TOKEN, scimPrefix: SCIM })
    try {
      const get = async (remoteAddress: string, authorization?: string): Promise<{ statusCode: number, headers: Record<string, unknown>, body: string }> =>
        await server.inject({ method: 'GET', url: '/metrics', remoteAddress, headers: authorization === undefined ? {} : { authorization } })
      for (let i = 0; i < DEFAULT_THROTTLE.maxFailures; i++) expect((await get('203.0.113.7', `Bearer guess-${i}`)).statusCode).toBe(401)
      const refused = await get('203.0.113.7', 'Bearer one-more')
      expect(refused.statusCode).toBe(429)
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      expect(refused.body).not.toContain('scimforce_')
      // The right token is not even compared while the address waits: a guesser learns nothing.
      expect((await get('203.0.113.7', `Bearer ${METRICS_TOKEN}`)).statusCode).toBe(429)
      // Another address scrapes on; a scrape without any token is not a guess.
      expect((await get('203.0.113.8', `Bearer ${METRICS_TOKEN}`)).statusCode).toBe(200)
      for (let i = 0; i < DEFAULT_THROTTLE.maxFailures * 2; i++) expect((await get('203.0.113.9')).statusCode).toBe(401)
      expect((await get('203.0.113.9', `Bearer ${METRICS_TOKEN}`)).statusCode).toBe(200)
    } finally {
      await server.close()
    }
  })

  it('is not served at all without a METRICS_TOKEN', async () => {
    const x = await harness(null)
    expect((await x.http.get('/metrics')).status).toBe(404)
    expect((await x.http.get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`)).status).toBe(404)
  })
})

describe('/metrics content', () => {
  it('counts SCIM requests by resource, method, status and client, with their durations', async () => {
    const x = await harness()
    const labels = { resource: 'Users', method: 'POST', status: '201', client: 'entra' }
    const before = await scrape(x)
    expect(sample(before, 'scimforce_scim_requests_total', labels)).toBe(0)

    expect((await x.http.post(`${SCIM}/Users`).set(auth).send(user('ada@pickup.example'))).status).toBe(201)
    expect((await x.http.post(`${SCIM}/Users`).set(auth).send(user('grace@pickup.example'))).status).toBe(201)
    const list = await x.http.get(`${SCIM}/Users`).query({ filter: 'userName eq "ada@pickup.example"' }).set(basicAuth)
    expect(list.status).toBe(200)
    const created = list.body.Resources[0].id as string
    expect((await x.http.get(`${SCIM}/Users`).set(basicAuth)).status).toBe(200)
    expect((await x.http.post(`${SCIM}/Users`).set(auth).send({ name: { familyName: 'No userName' } })).status).toBe(400)
    expect((await x.http.get(`${SCIM}/Users`).set('Authorization', 'Bearer not-a-client-token-00000000')).status).toBe(401)
    expect((await x.http.get(`${SCIM}/NoSuchThing`).set(auth)).status).toBe(404)

    const after = await scrape(x)
    expect(sample(after, 'scimforce_scim_requests_total', labels)).toBe(2)
    expect(sample(after, 'scimforce_scim_requests_total', { resource: 'Users', method: 'GET', status: '200', client: 'wso2' })).toBe(2)
    expect(sample(after, 'scimforce_scim_requests_total', { resource: 'Users', method: 'POST', status: '400', client: 'entra' })).toBe(1)
    expect(sample(after, 'scimforce_scim_requests_total', { resource: 'Users', method: 'GET', status: '401', client: 'unauthenticated' })).toBe(1)
    expect(sample(after, 'scimforce_scim_requests_total', { resource: 'unmatched', method: 'GET', status: '404', client: 'entra' })).toBe(1)
    expect(sample(after, 'scimforce_scim_request_duration_seconds_count', { resource: 'Users', method: 'POST' })).toBe(3)
    expect(sample(after, 'scimforce_scim_request_duration_seconds_bucket', { resource: 'Users', method: 'POST', le: '+Inf' })).toBe(3)
    // Ids never become labels: one series per route, not per user.
    expect(after).not.toContain(created)
    // Health, readiness and the scrapes themselves are not SCIM requests.
    expect(after).not.toMatch(/resource="(healthz|readyz|metrics)"/)
  })

  it('counts every Salesforce call the emulated org answered, its errors by code, tokens and API usage', async () => {
    const x = await harness()
    expect((await x.http.post(`${SCIM}/Users`).set(auth).send(user('ada@pickup.example'))).status).toBe(201)
    expect((await x.http.get(`${SCIM}/Users`).set(auth)).status).toBe(200)
    // One lock timeout, which the gateway retries: one failed attempt, then a good one.
    x.emulator.faults.failNext(1, 'unableToLockRow', { pathIncludes: '/services/data/' })
    expect((await x.http.get(`${SCIM}/Users`).query({ filter: 'userName eq "ada@pickup.example"' }).set(auth)).status).toBe(200)

    const text = await scrape(x)
    const org = x.emulator.counters.snapshot()
    // Every attempt counts, failed ones included, and the emulated org counted the same calls.
    expect(total(text, 'scimforce_salesforce_calls_total')).toBe(org.apiCalls)
    expect(sample(text, 'scimforce_salesforce_calls_total', { call: 'composite', outcome: 'ok' })).toBeGreaterThanOrEqual(1)
    expect(errors(text)).toBe(1)
    expect(sample(text, 'scimforce_salesforce_errors_total', { code: 'UNABLE_TO_LOCK_ROW' })).toBe(1)
    expect(total(text, 'scimforce_salesforce_call_duration_seconds_count')).toBe(org.apiCalls)
    expect(sample(text, 'scimforce_salesforce_token_requests_total')).toBe(org.tokenRequests)
    expect(org.tokenRequests).toBe(1)
    expect(sample(text, 'scimforce_salesforce_api_limit')).toBe(15000)
    expect(sample(text, 'scimforce_salesforce_api_usage')).toBe(org.apiCalls)
    // A spent limit shows up by its code.
    x.emulator.faults.exhaustDailyLimit()
    expect((await x.http.get(`${SCIM}/Users`).set(auth)).status).toBe(429)
    expect(sample(await scrape(x), 'scimforce_salesforce_errors_total', { code: 'REQUEST_LIMIT_EXCEEDED' })).toBe(1)
  })

  it('shows the circuit breaker\'s state: 0 while calls flow, 1 once Salesforce keeps failing and it opens', async () => {
    const x = await harness()
    expect((await x.http.get(`${SCIM}/Users`).set(auth)).status).toBe(200)
    expect(sample(await scrape(x), 'scimforce_salesforce_circuit_open')).toBe(0)
    x.emulator.faults.set({ rates: { serverUnavailable: 1 } })
    // Three attempts per Salesforce call in the test harness: a couple of requests make five failures in a row.
    for (let i = 0; i < 3; i++) expect((await x.http.get(`${SCIM}/Users`).set(auth)).status).toBe(503)
    expect(x.app.scimforce.gateway.breaker.state()).toBe('open')
    expect(sample(await scrape(x), 'scimforce_salesforce_circuit_open')).toBe(1)
  })

  it('includes the process metrics, from a registry of its own rather than the global one', async () => {
    const x = await harness()
    const text = await scrape(x)
    expect(text).toMatch(/^process_cpu_user_seconds_total /m)
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m)
    const { register } = await import('prom-client')
    expect(await register.getMetricsAsJSON()).toEqual([])
  })

  it('shows no credential: client names only, never tokens, passwords, secrets or the Salesforce session', async () => {
    const x = await harness()
    expect((await x.http.post(`${SCIM}/Users`).set(auth).send(user('ada@pickup.example'))).status).toBe(201)
    expect((await x.http.get(`${SCIM}/Users`).set(basicAuth)).status).toBe(200)
    expect((await x.http.get(`${SCIM}/Users`).set('Authorization', 'Bearer guessed-token-0000000000000')).status).toBe(401)
    const text = await scrape(x)
    const accessToken = x.app.scimforce.session.conn.accessToken
    expect(accessToken).toBeTruthy()
    for (const secret of [BEARER, BASIC_PASSWORD, METRICS_TOKEN, x.config.salesforce.clientSecret as string, accessToken as string,
      'guessed-token-0000000000000', 'scim-body-password-1234', Buffer.from(`wso2:${BASIC_PASSWORD}`).toString('base64')]) {
      expect(text).not.toContain(secret)
    }
    expect(text).toContain('client="entra"')
    expect(text).toContain('client="wso2"')
  })

  it('folds label values it cannot vouch for, and an observer never throws into a Salesforce call', () => {
    const m = createMetrics({ tokenRequests: 0, limitInfo: () => undefined })
    expect(() => m.observer.onCall(`retrieve ${'X'.repeat(100)}`, 12, 'code with "quotes" and spaces')).not.toThrow()
    expect(() => m.observer.onCall('query', Number.NaN, undefined)).not.toThrow()
    return m.registry.metrics().then((text) => {
      expect(sample(text, 'scimforce_salesforce_calls_total', { call: 'other', outcome: 'error' })).toBe(1)
      expect(sample(text, 'scimforce_salesforce_errors_total', { code: 'OTHER' })).toBe(1)
    })
  })
})

describe('METRICS_TOKEN configuration', () => {
  const BASE = { SF_LOGIN_URL: 'https://acme.my.salesforce.com', SF_CLIENT_ID: 'id', SF_CLIENT_SECRET: 'sf-client-secret-0123456789', SF_PROFILE_ID: '00e000000000001', SCIM_BEARER_TOKEN: BEARER }

  it('is read from METRICS_TOKEN or METRICS_TOKEN_FILE, and redacted from the startup log', () => {
    expect(loadConfig({ ...BASE, METRICS_TOKEN }).server.metricsToken).toBe(METRICS_TOKEN)
    const fromFile = loadConfig({ ...BASE, METRICS_TOKEN_FILE: '/run/secrets/metrics' }, { readFile: () => `${METRICS_TOKEN}\n` })
    expect(fromFile.server.metricsToken).toBe(METRICS_TOKEN)
    expect(JSON.stringify(redactedConfig(fromFile))).not.toContain(METRICS_TOKEN)
    expect(loadConfig(BASE).server.metricsToken).toBeUndefined()
  })

  it('refuses a short token, naming the variable and the fix', () => {
    expect(() => loadConfig({ ...BASE, METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN \(server\.metricsToken\) must be at least 16 characters long/)
  })
})
