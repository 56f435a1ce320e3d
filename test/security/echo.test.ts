// Client input echoed back (error details) or written down (logs) is clipped: a 5,000-character value, URL, header
// or attribute name never comes back whole, whichever door it came through.
import type { FastifyInstance } from 'fastify'
import supertest from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { clipDetail } from '../../src/http/clip.js'
import { loggerOptions } from '../../src/server.js'
import { openStore } from '../../src/store/store.js'
import { LogCapture } from '../app/support.js'
import { auth, SCIM, testConfig } from '../helper.js'

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
/** Long enough to matter, unique enough to find: no 200-character run of it may come back. */
const LONG = `planted${'x'.repeat(3000)}end`
const RUN = 'x'.repeat(200)
/** The longest detail any of these may earn: our own words plus a clipped quote or two. */
const MAX_DETAIL = 600

let emulator: Emulator
let app: FastifyInstance
let http: ReturnType<typeof supertest>
const log = new LogCapture()
let userId = ''

beforeAll(async () => {
  emulator = await createEmulator()
  await emulator.listen()
  const config = testConfig(emulator)
  app = await buildApp({ ...config, server: { ...config.server, logLevel: 'trace' } }, { store: openStore(':memory:'), logger: loggerOptions({ ...config, server: { ...config.server, logLevel: 'trace' } }, log), retry: { attempts: 2, baseDelayMs: 5, budgetMs: 500 } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  http = supertest(app.server)
  const res = await http.post(`${SCIM}/Users`).set(auth).send({ userName: 'echo@echo.example', name: { familyName: 'Echo' } })
  expect(res.status).toBe(201)
  userId = String(res.body.id)
})
afterAll(async () => { await app.close(); await emulator.close() })

type Res = Awaited<ReturnType<typeof http.get>>

const CASES: Array<[string, () => Promise<Res>]> = [
  ['an unknown endpoint', async () => await http.get(`/nowhere/${LONG}`)],
  ['an unknown SCIM endpoint', async () => await http.get(`${SCIM}/${LONG}`).set(auth)],
  ['an id', async () => await http.get(`${SCIM}/Users/${LONG}`).set(auth)],
  ['a filter attribute', async () => await http.get(`${SCIM}/Users`).query({ filter: `${LONG} eq "a"` }).set(auth)],
  ['a filter value', async () => await http.get(`${SCIM}/Users`).query({ filter: `userName eq "${LONG}` }).set(auth)],
  ['a filter with U+2028', async () => await http.get(`${SCIM}/Users`).query({ filter: `userName eq "a\u2028${LONG}"x` }).set(auth)],
  ['sortBy', async () => await http.get(`${SCIM}/Users`).query({ sortBy: LONG }).set(auth)],
  ['a schema URN', async () => await http.post(`${SCIM}/Users`).set(auth).send({ schemas: [LONG], userName: 'a@echo.example' })],
  ['an attribute name', async () => await http.post(`${SCIM}/Users`).set(auth).send({ userName: 'b@echo.example', [LONG]: 'v' })],
  ['an attribute value of the wrong type', async () => await http.post(`${SCIM}/Users`).set(auth).send({ userName: 'c@echo.example', active: LONG })],
  ['a PATCH path', async () => await http.patch(`${SCIM}/Users/${userId}`).set(auth).send({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: LONG, value: 'v' }] })],
  ['a PATCH op', async () => await http.patch(`${SCIM}/Users/${userId}`).set(auth).send({ schemas: [PATCH_OP], Operations: [{ op: LONG, path: 'title', value: 'v' }] })],
  ['a group member', async () => await http.post(`${SCIM}/Groups`).set(auth).send({ displayName: 'echo group', members: [{ value: LONG, display: LONG }] })],
  ['bad JSON', async () => await http.post(`${SCIM}/Users`).set(auth).set('content-type', 'application/scim+json').send(`{"userName": "${LONG}`)],
  ['a content type', async () => await http.post(`${SCIM}/Users`).set(auth).set('content-type', `text/${LONG}`).send('x')],
  ['an undecodable URL', async () => await http.get(`${SCIM}/Users/%E0%A4%A${LONG}`).set(auth)],
  ['a wrong credential', async () => await http.get(`${SCIM}/Users`).set('authorization', `Bearer ${LONG}`)],
]

describe('echoed input is clipped', () => {
  it.each(CASES)('%s: the detail is short and quotes no long run of the input', async (_name, send) => {
    const res = await send()
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
    expect(res.headers['content-type']).toMatch(/^application\/(scim\+)?json/)
    const detail = String((res.body as { detail?: unknown }).detail ?? res.text)
    expect(detail.length).toBeLessThanOrEqual(MAX_DETAIL)
    expect(res.text).not.toContain(RUN)
  })

  it('an unknown attribute in `attributes` is ignored (RFC 7644 §3.4.2.5), and not echoed', async () => {
    const res = await http.get(`${SCIM}/Users`).query({ attributes: LONG }).set(auth)
    expect(res.status).toBe(200)
    expect(res.text).not.toContain(RUN)
  })

  it('and nothing in the log quotes a long run of it either (URL, user agent, details)', async () => {
    await http.get(`/nowhere/${LONG}`).set('user-agent', `agent-${LONG}`)
    await http.get(`${SCIM}/Users`).query({ filter: `userName eq "${LONG}` }).set(auth).set('user-agent', `agent-${LONG}`)
    const offending = log.lines.filter((l) => JSON.stringify(l).includes(RUN)).map((l) => JSON.stringify(l).slice(0, 300))
    expect(offending).toEqual([])
  })
})

describe('clipDetail', () => {
  it('keeps our own words, clips each long run to 100 characters and the whole to 500, and never splits a surrogate pair', () => {
    const urn = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
    expect(clipDetail(`Unsupported schema '${urn}'`)).toBe(`Unsupported schema '${urn}'`)
    expect(clipDetail(`Resource ${'a'.repeat(300)} not found`)).toBe(`Resource ${'a'.repeat(100)}… not found`)
    expect(clipDetail('word '.repeat(200)).length).toBe(501)
    const emoji = `${'a'.repeat(99)}😀${'b'.repeat(50)}`
    expect(clipDetail(emoji)).toBe(`${'a'.repeat(99)}…`)
    expect(clipDetail(clipDetail(`x ${'y'.repeat(400)}`))).toBe(clipDetail(`x ${'y'.repeat(400)}`))
  })
})
