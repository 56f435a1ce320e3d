// Authentication as an attacker sees it: every SCIM route needs credentials, every bad Authorization header gets the
// same 401, repeated failures from one address are throttled (429 + Retry-After) within bounded memory, every
// configured client is compared on every request, and no secret shows up in logs, answers, metrics or health.
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { REASONS } from '../../src/http/readiness.js'
import type { Config, ScimClientConfig } from '../../src/config/types.js'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import authPlugin, { createFailureThrottle, DEFAULT_THROTTLE, throttleKey } from '../../src/http/auth.js'
import { loggerOptions } from '../../src/server.js'
import { openStore, type Store } from '../../src/store/store.js'
import { BASIC_PASSWORD, BASIC_USER, BEARER, SCIM, testConfig } from '../helper.js'

const METRICS_TOKEN = 'planted-metrics-token-0123456789'
const basicOf = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const GOOD_BEARER = `Bearer ${BEARER}`
const GOOD_BASIC = basicOf(BASIC_USER, BASIC_PASSWORD)

/** Every header a client could get wrong; each must earn the same 401. */
const BAD_HEADERS: Array<[string, string | undefined]> = [
  ['none', undefined],
  ['empty', ''],
  ['a wrong token', `Bearer ${BEARER}x`],
  ['a token prefix', `Bearer ${BEARER.slice(0, 10)}`],
  ['the token without a scheme', BEARER],
  ['the token as Basic', `Basic ${BEARER}`],
  ['the password as a Bearer token', `Bearer ${BASIC_PASSWORD}`],
  ['a wrong password', basicOf(BASIC_USER, `${BASIC_PASSWORD}x`)],
  ['Basic without a colon', `Basic ${Buffer.from(BASIC_USER + BASIC_PASSWORD).toString('base64')}`],
  ['broken base64', 'Basic %%%'],
  ['an unknown scheme', 'Digest username="wso2"'],
  ['a scheme alone', 'Bearer'],
  ['control characters', 'Bearer \u0001\u0002'],
  ['just over 8 KiB', `Bearer ${'a'.repeat(8 * 1024)}`],
  ['15 KiB', `Bearer ${'b'.repeat(15 * 1024)}`],
]

// ---------------------------------------------------------------------------------------------------------
// The whole app, with its logger captured

let emulator: Emulator
let store: Store
let app: FastifyInstance
let config: Config
const logLines: string[] = []
const answers: string[] = []
let address = 0
/** A fresh client address per request, so the throttle stays out of tests that are not about it. */
const nextAddress = (): string => `10.1.${Math.floor(++address / 250)}.${address % 250}`

async function call (opts: InjectOptions & { remoteAddress?: string }): Promise<{ status: number, body: string, headers: Record<string, unknown> }> {
  const res = await app.inject({ remoteAddress: nextAddress(), ...opts })
  answers.push(JSON.stringify(res.headers), res.body)
  return { status: res.statusCode, body: res.body, headers: res.headers }
}

beforeAll(async () => {
  emulator = await createEmulator()
  await emulator.listen()
  store = openStore(':memory:')
  config = testConfig(emulator)
  config.server.metricsToken = METRICS_TOKEN
  config.server.logLevel = 'trace'
  const stream = new Writable({ write (chunk: Buffer, _enc, done) { logLines.push(chunk.toString()); done() } })
  app = await buildApp(config, { store, logger: loggerOptions(config, stream), retry: { attempts: 2, baseDelayMs: 5, budgetMs: 500 }, readiness: { cacheMs: 0 } })
  await app.ready()
})
afterAll(async () => {
  await app.close()
  store.close()
  await emulator.close()
})

/** Method + concrete path for every registered SCIM route, read from Fastify's own route tree. */
function scimRoutes (): Array<{ method: string, url: string }> {
  const out: Array<{ method: string, url: string }> = []
  const stack: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([^)]*)\))?/.exec(line)
    if (m === null) continue
    const depth = (m[1] ?? '').length / 4
    stack.length = depth
    const path = (stack[depth - 1] ?? '') + (m[2] ?? '')
    stack.push(path)
    if (!path.startsWith(SCIM)) continue
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== '-')) {
      out.push({ method, url: path.replace(/:[A-Za-z]+/g, '005000000000001AAA') })
    }
  }
  return out
}

describe('every SCIM route requires credentials', () => {
  it('answers 401 with a SCIM body and a challenge on every registered route and method', async () => {
    const routes = scimRoutes()
    // Users, discovery, /Me and /Bulk at least; Groups join this list by themselves when they are registered.
    // Paths match case-insensitively (app.ts routerOptions), so the router lists them in lower case.
    expect(routes.map((r) => `${r.method} ${r.url}`.toLowerCase())).toEqual(expect.arrayContaining([
      `GET ${SCIM}/Users`, `POST ${SCIM}/Users`, `POST ${SCIM}/Users/.search`, `DELETE ${SCIM}/Users/005000000000001AAA`,
      `PATCH ${SCIM}/Users/005000000000001AAA`, `GET ${SCIM}/ServiceProviderConfig`, `GET ${SCIM}/Schemas`, `GET ${SCIM}/Me`,
    ].map((r) => r.toLowerCase())))
    for (const { method, url } of routes) {
      const res = await call({ method: method as InjectOptions['method'], url, headers: { 'content-type': 'application/scim+json' }, payload: method === 'GET' || method === 'HEAD' ? undefined : '{}' })
      expect(res.status, `${method} ${url}`).toBe(401)
      if (method === 'HEAD') continue
      expect(JSON.parse(res.body), `${method} ${url}`).toEqual({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401', detail: 'Authentication required' })
      expect(res.headers['www-authenticate']).toBe('Basic realm="scimforce", Bearer realm="scimforce"')
    }
  })

  it.each(BAD_HEADERS)('refuses %s with the same 401', async (_name, authorization) => {
    const res = await call({ method: 'GET', url: `${SCIM}/Users`, headers: authorization === undefined ? {} : { authorization } })
    expect(res.status).toBe(401)
    expect(res.headers['content-type']).toBe('application/scim+json; charset=utf-8')
    expect(res.body).toBe('{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"Authentication required"}')
  })

  it('lets the configured Basic and Bearer clients in', async () => {
    for (const authorization of [GOOD_BEARER, GOOD_BASIC]) {
      expect((await call({ method: 'GET', url: `${SCIM}/Users?count=1`, headers: { authorization } })).status).toBe(200)
    }
  })
})

describe('throttling of repeated failures', () => {
  it('answers 429 with Retry-After and a SCIM body after too many failures from one address, and only there', async () => {
    const attacker = '203.0.113.7'
    for (let i = 0; i < DEFAULT_THROTTLE.maxFailures; i++) {
      expect((await call({ method: 'GET', url: `${SCIM}/Users`, remoteAddress: attacker, headers: { authorization: `Bearer guess-${i}` } })).status).toBe(401)
    }
    const res = await call({ method: 'GET', url: `${SCIM}/Users`, remoteAddress: attacker, headers: { authorization: 'Bearer one-more-guess' } })
    expect(res.status).toBe(429)
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(res.headers['content-type']).toBe('application/scim+json; charset=utf-8')
    expect(JSON.parse(res.body)).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429' })
    // While throttled, even the right secret is not looked at: a guesser cannot learn that a guess was right.
    expect((await call({ method: 'GET', url: `${SCIM}/Users`, remoteAddress: attacker, headers: { authorization: GOOD_BEARER } })).status).toBe(429)
    // Other addresses, and routes outside SCIM, are not affected.
    expect((await call({ method: 'GET', url: `${SCIM}/Users?count=1`, remoteAddress: '203.0.113.8', headers: { authorization: GOOD_BEARER } })).status).toBe(200)
    expect((await call({ method: 'GET', url: '/healthz', remoteAddress: attacker })).status).toBe(200)
  })

  it('does not count requests that present no credentials at all (probes are not guesses)', async () => {
    for (let i = 0; i < DEFAULT_THROTTLE.maxFailures * 3; i++) {
      expect((await call({ method: 'GET', url: `${SCIM}/ServiceProviderConfig`, remoteAddress: '203.0.113.9' })).status).toBe(401)
    }
    expect((await call({ method: 'GET', url: `${SCIM}/Users?count=1`, remoteAddress: '203.0.113.9', headers: { authorization: GOOD_BEARER } })).status).toBe(200)
  })

  it('counts an IPv6 /48 as one address, and IPv4-mapped IPv6 as the IPv4 address', () => {
    expect(throttleKey('2001:db8:1:2:aaaa::1')).toBe(throttleKey('2001:db8:1:2:ffff:ffff:ffff:ffff'))
    // One site's /48 holds 65,536 /64s: all of them are one budget.
    expect(throttleKey('2001:db8:1:2::1')).toBe(throttleKey('2001:db8:1:ffff::1'))
    expect(throttleKey('2001:db8:1::')).toBe('2001:db8:1::/48')
    expect(throttleKey('2001:db8:1:2::1')).not.toBe(throttleKey('2001:db8:2:2::1'))
    expect(throttleKey('2001:DB8:0001::1%eth0')).toBe('2001:db8:1::/48')
    expect(throttleKey('::ffff:192.0.2.1')).toBe('192.0.2.1')
    expect(throttleKey('::1')).toBe('0:0:0::/48')
    expect(throttleKey('192.0.2.1')).toBe('192.0.2.1')
    // Each IPv4 address is its own budget.
    expect(throttleKey('192.0.2.2')).not.toBe(throttleKey('192.0.2.1'))
  })

  it('decays: one failure is forgiven per interval, so a throttled address recovers by itself', () => {
    let t = 0
    const throttle = createFailureThrottle({ maxFailures: 3, forgiveMs: 1000 }, () => t)
    expect([throttle.fail('a'), throttle.fail('a'), throttle.fail('a')]).toEqual([0, 0, 1])
    expect(throttle.retryAfter('a')).toBe(1)
    t = 999
    expect(throttle.retryAfter('a')).toBe(1)
    t = 1000
    expect(throttle.retryAfter('a')).toBe(0)
    expect(throttle.fail('a')).toBe(1)
    t = 10_000
    expect(throttle.retryAfter('a')).toBe(0)
    expect(throttle.size).toBe(0)
  })

  it('keeps its memory bounded whatever the number of addresses', () => {
    // (The global budget is not what this test is about.)
    const throttle = createFailureThrottle({ maxTracked: 100, globalMaxFailures: 1_000_000 })
    for (let i = 0; i < 10_000; i++) throttle.fail(`198.51.${i >> 8}.${i & 255}`)
    expect(throttle.size).toBe(100)
    // The most recent addresses are the ones remembered.
    expect(throttle.retryAfter('198.51.39.15')).toBe(0)
    for (let i = 0; i < DEFAULT_THROTTLE.maxFailures; i++) throttle.fail('198.51.39.15')
    expect(throttle.retryAfter('198.51.39.15')).toBeGreaterThan(0)
  })
})

describe('throttling against many addresses', () => {
  it('never forgets an address at its limit to make room: spraying other addresses does not flush it', () => {
    let t = 0
    const throttle = createFailureThrottle({ maxFailures: 5, forgiveMs: 60_000, maxTracked: 10, globalMaxFailures: 1_000_000 }, () => t)
    for (let i = 0; i < 5; i++) throttle.fail('203.0.113.66')
    expect(throttle.retryAfter('203.0.113.66')).toBeGreaterThan(0)
    // The same attacker from 10,000 other addresses, one failure each, then everything at the limit too.
    for (let i = 0; i < 10_000; i++) throttle.fail(`198.18.${i >> 8}.${i & 255}`)
    for (let i = 0; i < 50; i++) for (let j = 0; j < 5; j++) throttle.fail(`198.19.0.${i}`)
    t = 1000
    expect(throttle.size).toBeLessThanOrEqual(10)
    expect(throttle.retryAfter('203.0.113.66')).toBeGreaterThan(0)
  })

  it('has a global budget: spread over many addresses, failures still run out, except for addresses known to be good', () => {
    let t = 0
    const throttle = createFailureThrottle({ maxFailures: 20, globalMaxFailures: 100, globalForgiveMs: 1000 }, () => t)
    throttle.succeed('192.0.2.10') // the IdP
    for (let i = 0; i < 100; i++) throttle.fail(`198.18.0.${i}`)
    // A fresh address, never seen: refused before its credentials are looked at.
    expect(throttle.retryAfter('198.18.1.1')).toBeGreaterThanOrEqual(1)
    // The IdP that authenticated before keeps its way in.
    expect(throttle.retryAfter('192.0.2.10')).toBe(0)
    // The budget leaks like the others: one failure forgiven per globalForgiveMs.
    t = 1000
    expect(throttle.retryAfter('198.18.1.1')).toBe(0)
  })

  it('through the plugin: a spray from many addresses meets 429, the IdP that authenticated earlier does not', async () => {
    const clients: ScimClientConfig[] = [{ name: 'entra', auth: { type: 'bearer', token: 'entra-token-0123456789abcdef' }, putMode: 'replace' }]
    const server = Fastify()
    await server.register(async (scim) => {
      await scim.register(authPlugin, { clients, throttle: { globalMaxFailures: 30, globalForgiveMs: 60_000 } })
      scim.get('/Users', async () => ({ ok: true }))
    }, { prefix: SCIM })
    try {
      const idp = { remoteAddress: '192.0.2.10', headers: { authorization: 'Bearer entra-token-0123456789abcdef' } }
      expect((await server.inject({ method: 'GET', url: `${SCIM}/Users`, ...idp })).statusCode).toBe(200)
      for (let i = 0; i < 30; i++) {
        expect((await server.inject({ method: 'GET', url: `${SCIM}/Users`, remoteAddress: `198.18.0.${i}`, headers: { authorization: `Bearer guess-${i}` } })).statusCode).toBe(401)
      }
      const refused = await server.inject({ method: 'GET', url: `${SCIM}/Users`, remoteAddress: '198.18.9.9', headers: { authorization: 'Bearer guess' } })
      expect(refused.statusCode).toBe(429)
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      expect((await server.inject({ method: 'GET', url: `${SCIM}/Users`, ...idp })).statusCode).toBe(200)
    } finally {
      await server.close()
    }
  })
})

describe('constant-time comparison, by construction', () => {
  const clients: ScimClientConfig[] = [
    { name: 'entra', auth: { type: 'bearer', token: 'entra-token-0123456789abcdef' }, putMode: 'replace' },
    { name: 'okta', auth: { type: 'bearer', token: 'okta-token-0123456789abcdefgh' }, putMode: 'replace' },
    { name: 'wso2', auth: { type: 'basic', username: 'wso2', password: 'wso2-password-0123456789' }, putMode: 'merge' },
    { name: 'onelogin', auth: { type: 'basic', username: 'ol', password: 'onelogin-password-0123456789' }, putMode: 'replace' },
  ]

  it('compares against every configured client (both halves of each Basic pair) on every request, whatever it presented', async () => {
    let compared = 0
    const server = Fastify()
    await server.register(async (scim) => {
      await scim.register(authPlugin, { clients, throttle: false, compare: (a, b) => { compared++; expect(a.length).toBe(b.length); return a.equals(b) } })
      scim.get('/Users', async (req) => ({ client: req.scimClient?.name }))
    }, { prefix: SCIM })
    const each = 2 * 2 + 2 // two Basic clients (user + password) and two Bearer clients
    try {
      for (const authorization of [undefined, '', 'Bearer', 'Bearer wrong', 'Basic !!', basicOf('wso2', 'wrong'), basicOf('nobody', 'x'), 'Negotiate abc',
        `Bearer ${'x'.repeat(9000)}`, 'Bearer okta-token-0123456789abcdefgh', basicOf('ol', 'onelogin-password-0123456789')]) {
        compared = 0
        const res = await server.inject({ method: 'GET', url: `${SCIM}/Users`, headers: authorization === undefined ? {} : { authorization } })
        expect(compared, String(authorization).slice(0, 40)).toBe(each)
        expect(res.statusCode).toBe(authorization?.includes('okta-token') === true || authorization?.startsWith('Basic b2w6') === true ? 200 : 401)
      }
    } finally {
      await server.close()
    }
  })
})

describe('secrets stay secret', () => {
  it('appear in no log line, answer, header, metric or health document', async () => {
    // A Salesforce outage, a client error and successes, so that error paths write their lines too.
    const user = await call({ method: 'POST', url: `${SCIM}/Users`, headers: { authorization: GOOD_BASIC, 'content-type': 'application/json' }, payload: JSON.stringify({ userName: 'secret@auth.example', password: 'planted-user-password-42', name: { familyName: 'S' } }) })
    expect(user.status).toBe(201)
    emulator.faults.failNext(20, 'serverUnavailable')
    expect((await call({ method: 'GET', url: `${SCIM}/Users`, headers: { authorization: GOOD_BEARER } })).status).toBe(503)
    emulator.faults.reset()
    await call({ method: 'PATCH', url: `${SCIM}/Users/${String(JSON.parse(user.body).id)}`, headers: { authorization: GOOD_BEARER, 'content-type': 'application/scim+json' }, payload: '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"password","value":"planted-patch-password-42"}]}' })
    for (const [, authorization] of BAD_HEADERS) await call({ method: 'GET', url: `${SCIM}/Users`, headers: authorization === undefined ? {} : { authorization } })
    await call({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}x` } })
    const metrics = await call({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    expect(metrics.status).toBe(200)
    expect(metrics.body).toMatch(/scimforce_/)
    const health = await call({ method: 'GET', url: '/healthz' })
    const ready = await call({ method: 'GET', url: '/readyz' })

    const accessToken = app.scimforce.session.conn.accessToken
    expect(accessToken).toBeTruthy()
    const secrets = [
      BEARER, BASIC_PASSWORD, Buffer.from(`${BASIC_USER}:${BASIC_PASSWORD}`).toString('base64'), METRICS_TOKEN,
      String(config.salesforce.clientSecret), String(accessToken), 'planted-user-password-42', 'planted-patch-password-42',
      // What the wrong headers carried: a near-miss of a secret is as telling as the secret.
      `${BEARER}x`, `${BASIC_PASSWORD}x`, `${METRICS_TOKEN}x`,
    ]

    // Health says whether, never why or where.
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' })
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', checks: { salesforce: 'ok', circuit: 'closed', store: 'ok', dailyLimit: 'ok' } })
    // Salesforce refuses the token (the run-as user was deactivated): the probe says so, and nothing more.
    const integration = String(emulator.seed.users['integration@scimforce.demo'])
    emulator.org.systemUpdate('User', integration, { IsActive: false })
    app.scimforce.session.reset()
    const down = await call({ method: 'GET', url: '/readyz' })
    emulator.org.systemUpdate('User', integration, { IsActive: true })
    expect(down.status).toBe(503)
    expect(JSON.parse(down.body)).toEqual({ status: 'not ready', checks: { salesforce: 'failed', circuit: 'closed', store: 'ok', dailyLimit: 'ok' }, reasons: [REASONS.api] })
    for (const doc of [health, ready, down]) {
      expect(doc.body).not.toContain(emulator.url)
      expect(doc.body).not.toMatch(/version|node|error|salesforce\.com|stack/i)
    }

    const log = logLines.join('')
    expect(log).toMatch(/SCIM authentication failed/)
    expect(log).toMatch(/readiness/)
    const seen = [log, ...answers, metrics.body].join('\n')
    for (const secret of secrets) expect(seen.includes(secret), `a secret of ${secret.length} characters leaked`).toBe(false)
  })
})
