// Logs: JSON lines through the process's own logger options, one request id per request (the IdP's, when it sends
// a usable one) echoed back and carried into the request's Salesforce log lines, and no secret anywhere: planted
// credentials of every kind are searched for in everything that was logged, at the most talkative level.
import type { FastifyInstance } from 'fastify'
import supertest from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import type { Config } from '../../src/config/types.js'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { loggerOptions } from '../../src/server.js'
import { openStore } from '../../src/store/store.js'
import { SCIM, testConfig } from '../helper.js'
import { LogCapture, type LogLine } from './support.js'

// Planted secrets: each is unique, so finding it anywhere in the log means it leaked.
const BEARER = 'planted-bearer-token-4f1c9a7e2b'
const BASIC_USER = 'wso2'
const BASIC_PASSWORD = 'planted-basic-password-8d3e6b0a'
const SF_CLIENT_SECRET = 'planted-sf-client-secret-2a7c5e9f'
const WRONG_SF_SECRET = 'planted-wrong-sf-secret-6b1d8f3c'
const METRICS_TOKEN = 'planted-metrics-token-9e4a2c6d'
const BODY_PASSWORD = 'planted-scim-body-password-3f8b1e5a'
const GUESSED_TOKEN = 'planted-guessed-token-7c2e9a4b'

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function emulator (): Promise<Emulator> {
  const e = await createEmulator({ clientSecret: SF_CLIENT_SECRET })
  await e.listen()
  cleanups.push(async () => { await e.close() })
  return e
}

function plantedConfig (e: Emulator, clientSecret = SF_CLIENT_SECRET): Config {
  const c = testConfig(e)
  return {
    ...c,
    server: { ...c.server, logLevel: 'trace', metricsToken: METRICS_TOKEN },
    clients: [
      { name: 'entra', auth: { type: 'bearer', token: BEARER }, putMode: 'replace' },
      { name: BASIC_USER, auth: { type: 'basic', username: BASIC_USER, password: BASIC_PASSWORD }, putMode: 'merge' },
    ],
    salesforce: { ...c.salesforce, clientSecret },
  }
}

/** The app as the process builds it: the same logger options as server.ts, into memory instead of stdout. */
async function app (config: Config, log: LogCapture): Promise<{ app: FastifyInstance, http: ReturnType<typeof supertest> }> {
  const store = openStore(':memory:')
  const a = await buildApp(config, { store, logger: loggerOptions(config, log), retry: { attempts: 3, baseDelayMs: 5, budgetMs: 2000 } })
  await a.listen({ port: 0, host: '127.0.0.1' })
  cleanups.push(async () => { await a.close(); store.close() })
  return { app: a, http: supertest(a.server) }
}

function linesOf (log: LogCapture, reqId: string): LogLine[] {
  return log.lines.filter((l) => l.reqId === reqId)
}

describe('request ids', () => {
  it("keeps the IdP's x-request-id, echoes it, and puts it on every line of the request", async () => {
    const log = new LogCapture()
    const { http } = await app(plantedConfig(await emulator()), log)
    const res = await http.get(`${SCIM}/Users`).set('Authorization', `Bearer ${BEARER}`).set('x-request-id', 'wso2-corr-0042')
    expect(res.status).toBe(200)
    expect(res.headers['x-request-id']).toBe('wso2-corr-0042')
    const done = linesOf(log, 'wso2-corr-0042').find((l) => l.msg === 'request completed')
    expect(done).toMatchObject({ req: { method: 'GET', url: `${SCIM}/Users` }, res: { statusCode: 200 }, client: 'entra' })
    expect(typeof done?.responseTime).toBe('number')
  })

  it('makes one up when the IdP sends none or an unusable one, and a different one per request', async () => {
    const log = new LogCapture()
    const { http } = await app(plantedConfig(await emulator()), log)
    const a = await http.get('/healthz')
    const b = await http.get('/healthz')
    const long = await http.get('/healthz').set('x-request-id', 'x'.repeat(200))
    const odd = await http.get('/healthz').set('x-request-id', 'has spaces and "quotes"')
    const ids = [a, b, long, odd].map((r) => r.headers['x-request-id'] as string)
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(new Set(ids).size).toBe(4)
  })

  it("carries the request id into the request's Salesforce log lines", async () => {
    const log = new LogCapture()
    const e = await emulator()
    const { http } = await app(plantedConfig(e), log)
    // A lock timeout the gateway retries: the retry is logged through the request's logger.
    e.faults.failNext(1, 'unableToLockRow', { pathIncludes: '/services/data/' })
    const res = await http.get(`${SCIM}/Users`).set('Authorization', `Bearer ${BEARER}`).set('x-request-id', 'entra-7f3a')
    expect(res.status).toBe(200)
    expect(linesOf(log, 'entra-7f3a').find((l) => l.msg === 'retrying Salesforce call')).toMatchObject({ code: 'UNABLE_TO_LOCK_ROW' })
  })

  it('writes one line per request, and probes only at debug', async () => {
    const log = new LogCapture()
    const { http } = await app(plantedConfig(await emulator()), log)
    const res = await http.get(`${SCIM}/Users`).set('Authorization', `Bearer ${BEARER}`)
    const reqId = res.headers['x-request-id'] as string
    expect(linesOf(log, reqId).filter((l) => (l.level as number) >= 30).map((l) => l.msg)).toEqual(['request completed'])
    const probe = await http.get('/healthz')
    expect(linesOf(log, probe.headers['x-request-id'] as string).map((l) => l.level)).toEqual([20])
  })
})

describe('redaction', () => {
  it('logs no credential of any kind, on any path, at trace level', async () => {
    const log = new LogCapture()
    const e = await emulator()
    const { app: a, http } = await app(plantedConfig(e), log)
    const bearer = { Authorization: `Bearer ${BEARER}` }
    const wso2 = { Authorization: basic(BASIC_USER, BASIC_PASSWORD) }
    const body = { userName: 'ada@pickup.example', password: BODY_PASSWORD, name: { givenName: 'Ada', familyName: 'Lovelace' } }

    expect((await http.post(`${SCIM}/Users`).set(bearer).send(body)).status).toBe(201)
    expect((await http.post(`${SCIM}/Users`).set(wso2).send({ ...body, userName: 'kim@pickup.example' })).status).toBe(201)
    // Refused bodies are logged as refusals: the password must not ride along in a detail.
    expect((await http.post(`${SCIM}/Users`).set(bearer).send({ ...body, active: 3 })).status).toBe(400)
    expect((await http.post(`${SCIM}/Users`).set(bearer).set('Content-Type', 'application/scim+json').send(`{"password":"${BODY_PASSWORD}",`)).status).toBe(400)
    expect((await http.get(`${SCIM}/Users`).set(wso2)).status).toBe(200)
    // Wrong credentials are an attacker's guesses or an IdP's typo: neither belongs in a log.
    expect((await http.get(`${SCIM}/Users`).set('Authorization', `Bearer ${GUESSED_TOKEN}`)).status).toBe(401)
    expect((await http.get(`${SCIM}/Users`).set('Authorization', basic(BASIC_USER, GUESSED_TOKEN))).status).toBe(401)
    expect((await http.get('/metrics').set('Authorization', `Bearer ${GUESSED_TOKEN}`)).status).toBe(401)
    expect((await http.get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`)).status).toBe(200)
    // Salesforce trouble: a retried lock timeout, an expired session (a new token is fetched), a spent limit.
    e.faults.failNext(1, 'unableToLockRow', { pathIncludes: '/services/data/' })
    expect((await http.get(`${SCIM}/Users`).set(bearer)).status).toBe(200)
    e.faults.expireSessions()
    expect((await http.get(`${SCIM}/Users`).set(bearer)).status).toBe(200)
    e.faults.exhaustDailyLimit()
    expect((await http.post(`${SCIM}/Users`).set(bearer).send({ ...body, userName: 'sam@pickup.example' })).status).toBe(429)
    expect((await http.get('/readyz')).status).toBe(200)
    // The token scimforce holds is a secret too.
    const accessToken = a.scimforce.session.conn.accessToken
    expect(accessToken).toBeTruthy()

    // A second process whose Salesforce secret is wrong: the failed token request is logged, the secret is not.
    const other = await app(plantedConfig(e, WRONG_SF_SECRET), log)
    expect((await other.http.get('/readyz')).status).toBe(503)
    expect((await other.http.get(`${SCIM}/Users`).set(bearer)).status).toBe(503)

    const text = log.text
    // The log is not vacuous: it saw the requests, their clients and the Salesforce trouble.
    expect(log.lines.filter((l) => l.msg === 'request completed').length).toBeGreaterThanOrEqual(14)
    expect(text).toContain('"client":"wso2"')
    expect(text).toContain('retrying Salesforce call')
    expect(text).toContain('readiness: Salesforce not reachable with a session')
    for (const secret of [BEARER, BASIC_PASSWORD, SF_CLIENT_SECRET, WRONG_SF_SECRET, METRICS_TOKEN, BODY_PASSWORD, GUESSED_TOKEN, accessToken as string,
      basic(BASIC_USER, BASIC_PASSWORD).slice(6), basic(BASIC_USER, GUESSED_TOKEN).slice(6)]) {
      expect(text, `the log contains ${secret}`).not.toContain(secret)
    }
  })

  it('redacts the shapes a secret takes when an object carrying one is logged', async () => {
    const log = new LogCapture()
    const { app: a } = await app(plantedConfig(await emulator()), log)
    const shapes: Array<Record<string, unknown>> = [
      { headers: { authorization: `Bearer ${BEARER}`, cookie: 'sid=1' } },
      // jsforce's request objects spell the header with a capital A.
      { request: { headers: { Authorization: `Bearer ${BEARER}` } } },
      { body: { userName: 'ada', password: BODY_PASSWORD } },
      { user: { name: { password: BODY_PASSWORD } } },
      { password: BASIC_PASSWORD },
      // An OAuth token response, and the form that asks for one.
      { oauth: { access_token: BEARER, refresh_token: BEARER } },
      { form: { client_id: 'x', client_secret: SF_CLIENT_SECRET } },
      { salesforce: { clientSecret: SF_CLIENT_SECRET, accessToken: BEARER } },
      { auth: { type: 'bearer', token: BEARER } },
      { server: { metricsToken: METRICS_TOKEN } },
    ]
    // Under Fastify's req serializer a request's headers are not written at all (it runs before redaction).
    a.log.info({ req: { headers: { authorization: `Bearer ${BEARER}` } } }, 'req shape')
    expect(JSON.stringify(log.lines.find((l) => l.msg === 'req shape'))).not.toContain(BEARER)
    for (const shape of shapes) a.log.info(shape, 'shape')
    const written = log.lines.filter((l) => l.msg === 'shape')
    expect(written).toHaveLength(shapes.length)
    for (const [i, line] of written.entries()) {
      const text = JSON.stringify(line)
      expect(text, JSON.stringify(shapes[i])).toContain('[redacted]')
      for (const secret of [BEARER, BASIC_PASSWORD, SF_CLIENT_SECRET, METRICS_TOKEN, BODY_PASSWORD]) expect(text).not.toContain(secret)
    }
  })
})
