// The auth plugin in isolation: a bare Fastify app with one encapsulated "SCIM" context and one open route.
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import type { ScimClientConfig } from '../../src/config/types.js'
import authPlugin from '../../src/http/auth.js'

const TOKEN = 'entra-token-0123456789abcdef'
const USER = 'wso2'
const PASSWORD = 'wso2-password-0123456789:with:colons'

const CLIENTS: ScimClientConfig[] = [
  { name: 'entra', auth: { type: 'bearer', token: TOKEN }, putMode: 'replace' },
  { name: 'wso2', auth: { type: 'basic', username: USER, password: PASSWORD }, putMode: 'merge' }
]

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`

let app: FastifyInstance | undefined

afterEach(async () => {
  await app?.close()
  app = undefined
})

async function build (clients = CLIENTS, logger: FastifyServerOptions['logger'] = false): Promise<FastifyInstance> {
  const server = Fastify({ logger })
  app = server
  server.get('/health', async () => ({ status: 'ok' }))
  await server.register(async (scim) => {
    await scim.register(authPlugin, { clients })
    scim.get('/Users', async (request) => ({ client: request.scimClient?.name ?? null }))
  }, { prefix: '/scim/v2' })
  await server.ready()
  return server
}

async function expectRejected (authorization: string | undefined, challenge = 'Basic realm="scimforce", Bearer realm="scimforce"'): Promise<void> {
  const server = app ?? await build()
  const res = await server.inject({ method: 'GET', url: '/scim/v2/Users', headers: authorization === undefined ? {} : { authorization } })
  expect(res.statusCode).toBe(401)
  expect(res.headers['content-type']).toBe('application/scim+json; charset=utf-8')
  expect(res.headers['www-authenticate']).toBe(challenge)
  expect(res.json()).toEqual({
    schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    status: '401',
    detail: 'Authentication required'
  })
}

describe('scimforce-auth', () => {
  it('accepts the Bearer token and names the client', async () => {
    await build()
    const res = await app!.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ client: 'entra' })
  })

  it('accepts Basic credentials (password with colons) and names the client', async () => {
    await build()
    const res = await app!.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: basic(USER, PASSWORD) } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ client: 'wso2' })
  })

  it('takes the scheme case-insensitively', async () => {
    await build()
    for (const authorization of [`bearer ${TOKEN}`, `BEARER ${TOKEN}`, basic(USER, PASSWORD).replace('Basic', 'bAsIc')]) {
      const res = await app!.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization } })
      expect(res.statusCode, authorization).toBe(200)
    }
  })

  it('tells several clients of the same kind apart', async () => {
    const other = 'okta-token-0123456789abcdefgh'
    await build([...CLIENTS, { name: 'okta', auth: { type: 'bearer', token: other }, putMode: 'replace' }])
    const res = await app!.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${other}` } })
    expect(res.json()).toEqual({ client: 'okta' })
  })

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['a wrong token', `Bearer ${TOKEN}x`],
    ['a token prefix', `Bearer ${TOKEN.slice(0, -1)}`],
    ['the token without a scheme (WSO2 "API key" mode)', TOKEN],
    ['the token under the wrong scheme', `Basic ${TOKEN}`],
    ['an unsupported scheme', `Digest username="${USER}"`],
    ['a scheme alone', 'Bearer'],
    ['a scheme and spaces', 'Bearer   '],
    ['a token with inner spaces', `Bearer ${TOKEN} extra`],
    ['a wrong password', basic(USER, `${PASSWORD}x`)],
    ['a wrong username', basic('wso3', PASSWORD)],
    ['the Bearer token as a Basic password', basic(USER, TOKEN)],
    ['Basic credentials without a colon', `Basic ${Buffer.from(`${USER}${PASSWORD}`).toString('base64')}`],
    ['malformed base64', 'Basic !!!not-base64!!!'],
    ['base64 with padding inside', 'Basic d3N=vMjpw'],
    ['an empty username and password', basic('', '')],
    ['a header over 8 KiB', `Bearer ${'a'.repeat(8 * 1024)}`]
  ])('refuses %s with the same 401', async (_case, authorization) => {
    await build()
    await expectRejected(authorization)
  })

  it('names only the configured schemes in WWW-Authenticate', async () => {
    await build([CLIENTS[0]!])
    await expectRejected(basic(USER, PASSWORD), 'Bearer realm="scimforce"')
    await app!.close()
    app = undefined
    await build([CLIENTS[1]!])
    await expectRejected(`Bearer ${TOKEN}`, 'Basic realm="scimforce"')
  })

  it('leaves routes outside the SCIM context open', async () => {
    await build()
    const res = await app!.inject({ method: 'GET', url: '/health' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok' })
  })

  it('refuses to start without any client', async () => {
    await expect(build([])).rejects.toThrow(/no SCIM client configured/)
  })

  it('never writes the credentials to the log', async () => {
    const lines: string[] = []
    const stream = new Writable({
      write (chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString())
        done()
      }
    })
    await build(CLIENTS, { level: 'trace', stream })
    const tries = [basic(USER, `${PASSWORD}-wrong`), `Bearer ${TOKEN}-wrong`, basic(USER, PASSWORD), `Bearer ${TOKEN}`]
    for (const authorization of tries) await app!.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization } })
    const log = lines.join('')
    expect(log).toContain('SCIM authentication failed')
    for (const secret of [PASSWORD, TOKEN, ...tries.map((t) => t.split(' ')[1]!)]) {
      expect(log).not.toContain(secret)
    }
  })
})
