// OAuth 2.0 endpoints on the My Domain URL and on the emulated login.salesforce.com (`/login`): token, revoke,
// authorize (web-server flow, auto-approved) and the identity URL.

import { createHmac, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { decodeProtectedHeader, jwtVerify, errors as joseErrors } from 'jose'
import type { EmulatorContext } from './context.js'
import { bearerToken, injectLatency, rawBody, sendJson } from './http.js'
import type { SRecord } from './schema.js'
import type { Flow, Session } from './sessions.js'

type Host = 'mydomain' | 'login'

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
/** docs/salesforce-behaviour.md#jwt-bearer: `exp` at most 3 minutes ahead; a few seconds of clock skew tolerated. */
const JWT_MAX_AHEAD_S = 180 + 5

class OAuthError extends Error {
  constructor (readonly code: string, readonly description: string, readonly status = 400) {
    super(description)
  }
}

const authFailure = (): OAuthError => new OAuthError('invalid_grant', 'authentication failure')

function same (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function params (request: FastifyRequest): URLSearchParams {
  // Salesforce reads the form body; parameters in the query string are accepted too (body wins).
  const out = new URLSearchParams(new URL(request.url, 'http://emulator.invalid').search)
  for (const [k, v] of new URLSearchParams(rawBody(request))) out.set(k, v)
  const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '')
  if (basic !== null) {
    // docs/salesforce-behaviour.md#client-credentials: HTTP Basic with client_id:client_secret is accepted too.
    const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon > 0) {
      if (!out.has('client_id')) out.set('client_id', decodeURIComponent(decoded.slice(0, colon)))
      if (!out.has('client_secret')) out.set('client_secret', decodeURIComponent(decoded.slice(colon + 1)))
    }
  }
  return out
}

function checkClient (ctx: EmulatorContext, p: URLSearchParams, secretRequired: boolean): void {
  const clientId = p.get('client_id')
  // docs/salesforce-behaviour.md#token-errors: unknown consumer key, then wrong secret.
  if (clientId === null || !same(clientId, ctx.options.clientId)) throw new OAuthError('invalid_client_id', 'client identifier invalid')
  const secret = p.get('client_secret')
  if (secret === null ? secretRequired : !same(secret, ctx.options.clientSecret)) throw new OAuthError('invalid_client', 'invalid client credentials')
}

function userByUsername (ctx: EmulatorContext, username: string | null): SRecord | undefined {
  if (username === null) return undefined
  const [id] = ctx.org.lookup('User.username', username.toLowerCase())
  return id === undefined ? undefined : ctx.org.get('User', id)
}

function isFrozen (ctx: EmulatorContext, userId: unknown): boolean {
  const [loginId] = ctx.org.lookup('UserLogin.user', String(userId))
  return loginId !== undefined && ctx.org.get('UserLogin', loginId)?.IsFrozen === true
}

/** Checks that a user may receive a token in a flow other than password (which answers a plain failure). */
function mayLogIn (ctx: EmulatorContext, user: SRecord): void {
  // Assumption (docs/salesforce-behaviour.md#token-errors, UNVERIFIED): inactive_user for inactive users, a plain failure when frozen.
  if (user.IsActive !== true) throw new OAuthError('inactive_user', 'user is inactive')
  if (isFrozen(ctx, user.Id)) throw authFailure()
}

function tokenBody (ctx: EmulatorContext, session: Session, host: string | undefined, refreshToken?: string): Record<string, string> {
  const base = ctx.baseUrl(host)
  // jsforce parses `id` on every token response (docs/salesforce-behaviour.md#oauth); it must always be present.
  const id = `${base}/id/${ctx.org.orgId}/${session.userId}`
  const issuedAt = String(session.issuedAt)
  // Salesforce signs id + issued_at with the consumer secret (HMAC-SHA256, base64).
  const signature = createHmac('sha256', ctx.options.clientSecret).update(id + issuedAt).digest('base64')
  return {
    access_token: session.accessToken,
    ...(refreshToken !== undefined ? { refresh_token: refreshToken } : {}),
    signature,
    scope: session.scope,
    instance_url: base,
    id,
    token_type: 'Bearer',
    issued_at: issuedAt,
  }
}

async function grant (ctx: EmulatorContext, p: URLSearchParams, host: Host, hostHeader: string | undefined): Promise<Record<string, string>> {
  const grantType = p.get('grant_type')
  const issue = (userId: string, flow: Flow, scope: string, reuse = false): Session =>
    ctx.sessions.issue(userId, ctx.options.clientId, flow, scope, reuse)
  switch (grantType) {
    case null:
    case '':
      throw new OAuthError('invalid_request', 'grant type is missing')
    case 'password': {
      checkClient(ctx, p, true)
      const user = userByUsername(ctx, p.get('username'))
      // docs/salesforce-behaviour.md#password-flow: password = the user's password immediately followed by the security token.
      // Only the integration user has a password here.
      const expected = ctx.options.integrationPassword + ctx.options.securityToken
      const isIntegration = user !== undefined && String(user.Username).toLowerCase() === ctx.options.integrationUsername.toLowerCase()
      if (user === undefined || !isIntegration || !same(p.get('password') ?? '', expected)) throw authFailure()
      if (user.IsActive !== true || isFrozen(ctx, user.Id)) throw authFailure()
      // docs/salesforce-behaviour.md#password-flow: no refresh token in this flow.
      return tokenBody(ctx, issue(user.Id as string, 'password', 'api web full'), hostHeader)
    }
    case 'client_credentials': {
      // docs/salesforce-behaviour.md#client-credentials: only on the My Domain URL.
      if (host === 'login') throw new OAuthError('invalid_grant', 'request not supported on this domain')
      checkClient(ctx, p, true)
      const runAs = userByUsername(ctx, ctx.options.integrationUsername)
      if (runAs === undefined) throw authFailure()
      mayLogIn(ctx, runAs)
      // No refresh token; a live token of the run-as user is handed out again (docs/salesforce-behaviour.md#client-credentials).
      return tokenBody(ctx, issue(runAs.Id as string, 'client_credentials', 'api', true), hostHeader)
    }
    case JWT_BEARER:
      return tokenBody(ctx, issue((await jwtUser(ctx, p, hostHeader)).Id as string, 'jwt', 'api'), hostHeader)
    case 'refresh_token': {
      checkClient(ctx, p, false)
      const g = ctx.sessions.refreshGrant(p.get('refresh_token') ?? '')
      if (g === undefined || g.clientId !== p.get('client_id')) throw new OAuthError('invalid_grant', 'expired access/refresh token')
      const user = ctx.org.get('User', g.userId)
      if (user === undefined) throw new OAuthError('invalid_grant', 'expired access/refresh token')
      mayLogIn(ctx, user)
      // docs/salesforce-behaviour.md#refresh-token: no new refresh token unless rotation is configured.
      return tokenBody(ctx, issue(g.userId, 'refresh_token', g.scope), hostHeader)
    }
    case 'authorization_code': {
      checkClient(ctx, p, true)
      const code = ctx.sessions.takeCode(p.get('code') ?? '')
      if (code === undefined || code.clientId !== p.get('client_id')) throw new OAuthError('invalid_grant', 'invalid authorization code')
      if (code.redirectUri !== (p.get('redirect_uri') ?? '')) throw new OAuthError('redirect_uri_mismatch', 'redirect_uri must match configuration')
      const user = ctx.org.get('User', code.userId)
      if (user === undefined) throw authFailure()
      mayLogIn(ctx, user)
      // The web-server flow is where Salesforce issues refresh tokens (scope refresh_token).
      const scope = 'api refresh_token'
      const refresh = ctx.sessions.issueRefreshToken(code.userId, code.clientId, scope)
      return tokenBody(ctx, issue(code.userId, 'authorization_code', scope), hostHeader, refresh)
    }
    default:
      throw new OAuthError('unsupported_grant_type', 'grant type not supported')
  }
}

function audiences (ctx: EmulatorContext, hostHeader: string | undefined): Set<string> {
  const base = ctx.baseUrl(hostHeader)
  return new Set([`${base}/login`, base, 'https://login.salesforce.com', 'https://test.salesforce.com'])
}

async function jwtUser (ctx: EmulatorContext, p: URLSearchParams, hostHeader: string | undefined): Promise<SRecord> {
  const assertion = p.get('assertion') ?? ''
  const invalid = (): OAuthError => new OAuthError('invalid_grant', 'invalid assertion')
  // Without an uploaded certificate nothing can be verified.
  if (ctx.jwtKey === undefined || assertion === '') throw invalid()
  let header
  try {
    header = decodeProtectedHeader(assertion)
  } catch {
    throw invalid()
  }
  // docs/salesforce-behaviour.md#jwt-bearer: RS256 only.
  if (header.alg !== 'RS256') throw invalid()
  let payload
  try {
    ({ payload } = await jwtVerify(assertion, ctx.jwtKey, { algorithms: ['RS256'] }))
  } catch (err) {
    // Assumption (docs/salesforce-behaviour.md#jwt-bearer, UNVERIFIED): the text for an expired assertion.
    if (err instanceof joseErrors.JWTExpired) throw new OAuthError('invalid_grant', 'expired authorization code')
    throw invalid()
  }
  if (typeof payload.iss !== 'string' || !same(payload.iss, ctx.options.clientId)) throw new OAuthError('invalid_client_id', 'client identifier invalid')
  const allowed = audiences(ctx, hostHeader)
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud]
  if (!aud.some(a => typeof a === 'string' && allowed.has(a.replace(/\/+$/, '')))) throw new OAuthError('invalid_grant', 'audience is invalid')
  const now = Math.floor(ctx.org.now() / 1000)
  // Assumption (UNVERIFIED text): no exp, or one more than ~3 minutes ahead, is an invalid assertion.
  if (typeof payload.exp !== 'number' || payload.exp > now + JWT_MAX_AHEAD_S) throw invalid()
  if (payload.exp <= now) throw new OAuthError('invalid_grant', 'expired authorization code')
  // docs/salesforce-behaviour.md#jwt-bearer: `prn` is accepted too and wins over `sub`.
  const subject = typeof payload.prn === 'string' ? payload.prn : payload.sub
  const user = userByUsername(ctx, subject ?? null)
  // Assumption (docs/salesforce-behaviour.md#jwt-bearer, SECONDARY): an unknown user reads as a consumer the user never approved.
  if (user === undefined) throw new OAuthError('invalid_grant', 'user hasn\'t approved this consumer')
  mayLogIn(ctx, user)
  return user
}

function identity (ctx: EmulatorContext, user: SRecord, base: string): Record<string, unknown> {
  const urls = (path: string): string => `${base}${path}`
  return {
    id: `${base}/id/${ctx.org.orgId}/${String(user.Id)}`,
    asserted_user: true,
    user_id: user.Id,
    organization_id: ctx.org.orgId,
    username: user.Username,
    nick_name: user.CommunityNickname,
    display_name: user.Name,
    email: user.Email,
    email_verified: true,
    first_name: user.FirstName,
    last_name: user.LastName,
    timezone: user.TimeZoneSidKey,
    active: user.IsActive,
    user_type: user.UserType === 'Standard' ? 'STANDARD' : String(user.UserType).toUpperCase(),
    language: user.LanguageLocaleKey,
    locale: user.LocaleSidKey,
    utcOffset: 0,
    last_modified_date: user.LastModifiedDate,
    is_app_installed: true,
    urls: {
      enterprise: urls(`/services/Soap/c/{version}/${ctx.org.orgId.slice(0, 15)}`),
      partner: urls(`/services/Soap/u/{version}/${ctx.org.orgId.slice(0, 15)}`),
      rest: urls('/services/data/v{version}/'),
      sobjects: urls('/services/data/v{version}/sobjects/'),
      query: urls('/services/data/v{version}/query/'),
      profile: urls(`/${String(user.Id)}`),
    },
  }
}

export function registerOAuth (app: FastifyInstance, ctx: EmulatorContext): void {
  const hosts: Array<[string, Host]> = [['', 'mydomain'], ['/login', 'login']]
  for (const [prefix, host] of hosts) {
    app.post(`${prefix}/services/oauth2/token`, async (request, reply) => {
      await injectLatency(ctx)
      ctx.counters.tokenRequests++
      ctx.counters.bump('endpoint', 'token')
      try {
        return sendJson(reply, 200, await grant(ctx, params(request), host, request.headers.host))
      } catch (err) {
        if (!(err instanceof OAuthError)) throw err
        // docs/salesforce-behaviour.md#token-errors: {error, error_description}. Assumption (UNVERIFIED): always HTTP 400.
        return sendJson(reply, err.status, { error: err.code, error_description: err.description })
      }
    })

    const revoke = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      await injectLatency(ctx)
      ctx.counters.bump('endpoint', 'revoke')
      if (ctx.sessions.revoke(params(request).get('token') ?? '')) return reply.code(200).send()
      // Assumption (UNVERIFIED): an unknown token is a 400 invalid_token.
      return sendJson(reply, 400, { error: 'invalid_token', error_description: 'invalid token' })
    }
    app.post(`${prefix}/services/oauth2/revoke`, revoke)
    app.get(`${prefix}/services/oauth2/revoke`, revoke)

    // The web-server flow, approved at once (no login page): the user is `login_hint`, else the integration
    // user. It is the one flow here that yields a refresh token.
    app.get(`${prefix}/services/oauth2/authorize`, async (request, reply) => {
      await injectLatency(ctx)
      ctx.counters.bump('endpoint', 'authorize')
      const p = params(request)
      if (p.get('response_type') !== 'code') return sendJson(reply, 400, { error: 'unsupported_response_type', error_description: 'response type not supported' })
      if (p.get('client_id') !== ctx.options.clientId) return sendJson(reply, 400, { error: 'invalid_client_id', error_description: 'client identifier invalid' })
      const redirectUri = p.get('redirect_uri')
      if (redirectUri === null || !/^https?:\/\//.test(redirectUri)) return sendJson(reply, 400, { error: 'redirect_uri_mismatch', error_description: 'redirect_uri must match configuration' })
      const user = userByUsername(ctx, p.get('login_hint') ?? ctx.options.integrationUsername)
      const target = new URL(redirectUri)
      if (user === undefined || user.IsActive !== true) {
        target.searchParams.set('error', 'access_denied')
        target.searchParams.set('error_description', 'end-user denied authorization')
      } else {
        target.searchParams.set('code', ctx.sessions.issueCode(user.Id as string, ctx.options.clientId, redirectUri))
      }
      const state = p.get('state')
      if (state !== null) target.searchParams.set('state', state)
      return reply.code(302).header('location', target.toString()).send()
    })

    app.get<{ Params: { orgId: string, userId: string } }>(`${prefix}/id/:orgId/:userId`, async (request, reply) => {
      await injectLatency(ctx)
      ctx.counters.bump('endpoint', 'identity')
      const token = bearerToken(request.headers.authorization, new URL(request.url, 'http://emulator.invalid').searchParams)
      const session = token === undefined ? undefined : ctx.sessions.use(token)
      // Assumption (UNVERIFIED): Salesforce answers a plain-text 403 Bad_OAuth_Token / Bad_Id here.
      if (session === undefined) return reply.code(403).type('text/plain').send('Bad_OAuth_Token')
      const user = ctx.org.get('User', request.params.userId)
      if (user === undefined || user.Id !== session.userId || ctx.org.getById(request.params.orgId)?.record.Id !== ctx.org.orgId) {
        return reply.code(403).type('text/plain').send('Bad_Id')
      }
      return sendJson(reply, 200, identity(ctx, user, ctx.baseUrl(request.headers.host)))
    })
  }
}
