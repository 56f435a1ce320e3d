import { generateKeyPairSync } from 'node:crypto'
import { Connection } from '@jsforce/jsforce-node'
import { SignJWT, importPKCS8 } from 'jose'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { CLIENT_ID, CLIENT_SECRET, DATA, VERSION, caught, start, type Started } from './helpers.js'

const INTEGRATION = 'integration@scimforce.demo'
const PASSWORD = 'scimforce-demo-password' + 'DEMOTOKEN123'

const keys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
const otherKeys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })

async function assertion (claims: { iss?: string, sub?: string, aud?: string, expIn?: number }, privateKey = keys.privateKey, alg = 'RS256'): Promise<string> {
  const key = await importPKCS8(privateKey, alg)
  return await new SignJWT({})
    .setProtectedHeader({ alg })
    .setIssuer(claims.iss ?? CLIENT_ID)
    .setSubject(claims.sub ?? INTEGRATION)
    .setAudience(claims.aud ?? 'https://login.salesforce.com')
    .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.expIn ?? 120))
    .sign(key)
}

async function tokenCall (base: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number, body: Record<string, string> }> {
  const res = await fetch(`${base}/services/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) })
  return { status: res.status, body: await res.json() as Record<string, string> }
}

let s: Started
let em: Emulator

beforeAll(async () => {
  s = await start({ jwtPublicKeyPem: keys.publicKey })
  em = s.em
})
afterAll(async () => { await s.em.close() })

describe('client_credentials', () => {
  it('authorizes jsforce against the My Domain URL with every token response field', async () => {
    const raw = await tokenCall(s.url, { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET })
    expect(raw.status).toBe(200)
    expect(Object.keys(raw.body).sort()).toEqual(['access_token', 'id', 'instance_url', 'issued_at', 'scope', 'signature', 'token_type'])
    expect(raw.body).toMatchObject({ instance_url: s.url, token_type: 'Bearer', id: `${s.url}/id/${em.seed.orgId}/${em.seed.users[INTEGRATION] as string}` })
    expect(raw.body.issued_at).toMatch(/^\d{13}$/)
    expect(raw.body.access_token.startsWith(em.seed.orgId.slice(0, 15) + '!')).toBe(true)

    const conn = new Connection({ oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: s.url }, version: VERSION })
    await conn.authorize({ grant_type: 'client_credentials' })
    expect(conn.instanceUrl).toBe(s.url)
    expect(conn.userInfo?.id).toBe(em.seed.users[INTEGRATION])
    expect(conn.refreshToken).toBeUndefined()
    const res = await conn.query<{ Username: string }>('SELECT Username FROM User WHERE Id = \'' + (em.seed.users[INTEGRATION] as string) + '\'')
    expect(res.records[0]?.Username).toBe(INTEGRATION)
  })

  it('accepts HTTP Basic client authentication', async () => {
    const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')
    const raw = await tokenCall(s.url, { grant_type: 'client_credentials' }, { authorization: `Basic ${basic}` })
    expect(raw.status).toBe(200)
    expect(raw.body.access_token).toMatch(/!/)
  })

  it('is refused on the login host', async () => {
    const raw = await tokenCall(em.loginUrl, { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET })
    expect(raw).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'request not supported on this domain' } })
    const conn = new Connection({ oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: em.loginUrl }, version: VERSION })
    const err = await caught(() => conn.authorize({ grant_type: 'client_credentials' }))
    expect([err.name, err.message]).toEqual(['invalid_grant', 'request not supported on this domain'])
  })

  it('answers the documented token errors', async () => {
    expect((await tokenCall(s.url, { grant_type: 'client_credentials', client_id: 'nope', client_secret: CLIENT_SECRET })).body)
      .toEqual({ error: 'invalid_client_id', error_description: 'client identifier invalid' })
    expect((await tokenCall(s.url, { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: 'wrong' })).body)
      .toEqual({ error: 'invalid_client', error_description: 'invalid client credentials' })
    expect((await tokenCall(s.url, { grant_type: 'magic', client_id: CLIENT_ID })).body)
      .toEqual({ error: 'unsupported_grant_type', error_description: 'grant type not supported' })
    expect((await tokenCall(s.url, { client_id: CLIENT_ID })).body)
      .toEqual({ error: 'invalid_request', error_description: 'grant type is missing' })
  })
})

describe('password', () => {
  it('logs in with password + security token on both hosts, without a refresh token', async () => {
    for (const loginUrl of [em.loginUrl, s.url]) {
      const conn = new Connection({ oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl }, version: VERSION })
      const info = await conn.login(INTEGRATION, PASSWORD)
      expect(info.id).toBe(em.seed.users[INTEGRATION])
      expect(info.organizationId).toBe(em.seed.orgId)
      expect(conn.refreshToken).toBeUndefined()
      expect((await conn.limits()).DailyApiRequests.Max).toBe(15000)
    }
  })

  it('fails without the security token, for other users and with a bad secret', async () => {
    const conn = new Connection({ oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: em.loginUrl }, version: VERSION })
    const err = await caught(() => conn.login(INTEGRATION, 'scimforce-demo-password'))
    expect([err.name, err.message]).toEqual(['invalid_grant', 'authentication failure'])
    expect((await caught(() => conn.login('ada.lovelace@scimforce.demo', PASSWORD))).message).toBe('authentication failure')
    const bad = new Connection({ oauth2: { clientId: CLIENT_ID, clientSecret: 'x', loginUrl: em.loginUrl }, version: VERSION })
    expect((await caught(() => bad.login(INTEGRATION, PASSWORD))).name).toBe('invalid_client')
  })
})

describe('JWT bearer', () => {
  const jwtConn = (loginUrl: string): Connection => new Connection({ oauth2: { clientId: CLIENT_ID, loginUrl }, version: VERSION })
  const grant = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

  it('verifies an RS256 assertion on either host for every accepted audience', async () => {
    for (const aud of ['https://login.salesforce.com', 'https://test.salesforce.com', em.loginUrl, s.url]) {
      const conn = jwtConn(aud.startsWith('https') ? s.url : aud)
      await conn.authorize({ grant_type: grant, assertion: await assertion({ aud }) })
      expect(conn.userInfo?.id).toBe(em.seed.users[INTEGRATION])
      expect(conn.refreshToken).toBeUndefined()
    }
    const conn = jwtConn(em.loginUrl)
    await conn.authorize({ grant_type: grant, assertion: await assertion({ sub: 'ADA.LOVELACE@scimforce.demo' }) })
    expect(conn.userInfo?.id).toBe(em.seed.users['ada.lovelace@scimforce.demo'])
  })

  it('rejects bad signatures, issuers, audiences, subjects and expiry', async () => {
    const reason = async (jwt: string): Promise<Record<string, string>> => (await tokenCall(em.loginUrl, { grant_type: grant, assertion: jwt })).body
    expect(await reason(await assertion({}, otherKeys.privateKey))).toEqual({ error: 'invalid_grant', error_description: 'invalid assertion' })
    expect(await reason(await assertion({ iss: 'someone-else' }))).toEqual({ error: 'invalid_client_id', error_description: 'client identifier invalid' })
    expect(await reason(await assertion({ aud: 'https://evil.example' }))).toEqual({ error: 'invalid_grant', error_description: 'audience is invalid' })
    expect(await reason(await assertion({ sub: 'nobody@nowhere.example' }))).toEqual({ error: 'invalid_grant', error_description: 'user hasn\'t approved this consumer' })
    expect(await reason(await assertion({ sub: 'alan.turing@scimforce.demo' }))).toEqual({ error: 'inactive_user', error_description: 'user is inactive' })
    expect((await reason(await assertion({ expIn: -10 }))).error).toBe('invalid_grant')
    expect(await reason(await assertion({ expIn: 600 }))).toEqual({ error: 'invalid_grant', error_description: 'invalid assertion' })
    expect(await reason('not.a.jwt')).toEqual({ error: 'invalid_grant', error_description: 'invalid assertion' })
  })

  it('answers invalid_grant when no key is configured', async () => {
    const bare = await createEmulator()
    const url = await bare.listen()
    try {
      const res = await tokenCall(url, { grant_type: grant, assertion: await assertion({}) })
      expect(res.body.error).toBe('invalid_grant')
    } finally {
      await bare.close()
    }
  })
})

describe('sessions, refresh tokens, revoke and identity', () => {
  async function webServerFlow (): Promise<Record<string, string>> {
    const redirect = 'http://127.0.0.1/callback'
    const res = await fetch(`${em.loginUrl}/services/oauth2/authorize?response_type=code&client_id=${CLIENT_ID}&redirect_uri=${encodeURIComponent(redirect)}&state=xyz`, { redirect: 'manual' })
    expect(res.status).toBe(302)
    const location = new URL(res.headers.get('location') ?? '')
    expect(location.searchParams.get('state')).toBe('xyz')
    const code = location.searchParams.get('code') ?? ''
    const token = await tokenCall(em.loginUrl, { grant_type: 'authorization_code', code, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uri: redirect })
    expect(token.status).toBe(200)
    // Codes are single use.
    expect((await tokenCall(em.loginUrl, { grant_type: 'authorization_code', code, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uri: redirect })).body.error).toBe('invalid_grant')
    return token.body
  }

  it('issues a refresh token in the web-server flow and jsforce refreshes on 401', async () => {
    const token = await webServerFlow()
    expect(token.refresh_token).toMatch(/^5Aep861/)
    const conn = new Connection({ oauth2: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, loginUrl: em.loginUrl }, instanceUrl: token.instance_url, accessToken: token.access_token, refreshToken: token.refresh_token, version: VERSION })
    const refreshed: string[] = []
    conn.on('refresh', (accessToken: string) => { refreshed.push(accessToken) })
    em.faults.expireSessions()
    const res = await conn.query('SELECT COUNT() FROM User')
    expect(res.totalSize).toBe(6)
    expect(refreshed).toHaveLength(1)
    expect(refreshed[0]).not.toBe(token.access_token)
    const bad = await tokenCall(em.loginUrl, { grant_type: 'refresh_token', refresh_token: 'nope', client_id: CLIENT_ID })
    expect(bad.body).toEqual({ error: 'invalid_grant', error_description: 'expired access/refresh token' })
  })

  it('answers 401 INVALID_SESSION_ID after expiry and jsforce without a refresh token gives up', async () => {
    const conn = await s.connect()
    em.faults.expireSessions()
    const raw = await s.call('GET', `${DATA}/limits`, { auth: conn.accessToken ?? '' })
    expect(raw.status).toBe(401)
    expect(raw.json).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }])
    expect((await caught(() => conn.query('SELECT Id FROM User'))).message).toMatch(/No refresh token/)
  })

  it('times sessions out after the idle timeout, sliding with use', async () => {
    const short = await start({ sessionIdleTimeoutMs: 600 })
    try {
      const token = await short.token()
      for (let i = 0; i < 3; i++) {
        await new Promise(resolve => setTimeout(resolve, 200))
        expect((await short.call('GET', `${DATA}/limits`, { auth: token })).status).toBe(200)
      }
      await new Promise(resolve => setTimeout(resolve, 900))
      expect((await short.call('GET', `${DATA}/limits`, { auth: token })).status).toBe(401)
    } finally {
      await short.em.close()
    }
  })

  it('revokes tokens and serves the identity URL', async () => {
    const token = await s.token()
    const idUrl = `${s.url}/id/${em.seed.orgId}/${em.seed.users[INTEGRATION] as string}`
    const identity = await fetch(idUrl, { headers: { authorization: `Bearer ${token}` } })
    expect(identity.status).toBe(200)
    expect(await identity.json()).toMatchObject({ user_id: em.seed.users[INTEGRATION], organization_id: em.seed.orgId, username: INTEGRATION, active: true })
    const conn = new Connection({ instanceUrl: s.url, accessToken: token, version: VERSION })
    expect((await conn.identity()).username).toBe(INTEGRATION)
    const revoke = await fetch(`${s.url}/services/oauth2/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` })
    expect(revoke.status).toBe(200)
    expect((await s.call('GET', `${DATA}/limits`, { auth: token })).status).toBe(401)
    expect((await fetch(idUrl, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403)
  })

  it('ends the sessions of a user who is deactivated or frozen', async () => {
    const conn = new Connection({ oauth2: { clientId: CLIENT_ID, loginUrl: em.loginUrl }, version: VERSION })
    await conn.authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await assertion({ sub: 'grace.hopper@scimforce.demo' }) })
    const login = em.org.query(`SELECT Id FROM UserLogin WHERE UserId = '${em.seed.users['grace.hopper@scimforce.demo'] as string}'`)[0]?.Id as string
    em.org.update('UserLogin', login, { IsFrozen: true })
    expect((await s.call('GET', `${DATA}/limits`, { auth: conn.accessToken ?? '' })).status).toBe(401)
    expect((await tokenCall(em.loginUrl, { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await assertion({ sub: 'grace.hopper@scimforce.demo' }) })).body.error).toBe('invalid_grant')
    em.org.update('UserLogin', login, { IsFrozen: false })
  })

  it('counts token requests apart from API calls', async () => {
    em.counters.reset()
    await s.token()
    await s.token()
    const snap = em.counters.snapshot()
    expect(snap.tokenRequests).toBe(2)
    expect(snap.byEndpoint.token).toBe(2)
    expect(snap.apiCalls).toBe(0)
  })
})
