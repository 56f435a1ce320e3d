// SCIM client authentication (Basic and Bearer) as an onRequest hook, for the encapsulated SCIM routes only.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { ScimClientConfig } from '../config/types.js'
import { scimErrorBody, SCIM_CONTENT_TYPE } from '../scim/errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The configured client whose credentials this request presented; set on every authenticated SCIM request. */
    scimClient?: ScimClientConfig
  }
}

export interface AuthPluginOptions {
  clients: ScimClientConfig[]
}

const REALM = 'scimforce'

// Far above any real credential; a longer header is refused before it is decoded or hashed.
const MAX_AUTHORIZATION_LENGTH = 8 * 1024

// One answer for every failure (missing, malformed, wrong scheme, wrong secret): nothing to learn from it.
const FAILURE_BODY = JSON.stringify(scimErrorBody(401, undefined, 'Authentication required'))

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

type Failure = 'missing' | 'too long' | 'malformed' | 'unsupported scheme' | 'unknown credentials'

interface BasicEntry { client: ScimClientConfig, user: Buffer, password: Buffer }
interface BearerEntry { client: ScimClientConfig, token: Buffer }

// Comparing fixed-length digests means neither the length of a secret nor where it differs leaks through timing.
function digest (s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

async function scimAuth (app: FastifyInstance, opts: AuthPluginOptions): Promise<void> {
  if (opts.clients.length === 0) throw new Error('scimforce-auth: no SCIM client configured')

  const basic: BasicEntry[] = []
  const bearer: BearerEntry[] = []
  for (const client of opts.clients) {
    if (client.auth.type === 'basic') basic.push({ client, user: digest(client.auth.username), password: digest(client.auth.password) })
    else bearer.push({ client, token: digest(client.auth.token) })
  }
  const challenge = [
    ...(basic.length > 0 ? [`Basic realm="${REALM}"`] : []),
    ...(bearer.length > 0 ? [`Bearer realm="${REALM}"`] : [])
  ].join(', ')

  /** Visits every entry whatever matches, so the time taken says nothing about which usernames exist. */
  function matchBasic (user: string, password: string): ScimClientConfig | Failure {
    const u = digest(user)
    const p = digest(password)
    let found: ScimClientConfig | undefined
    for (const entry of basic) {
      // Both comparisons always run (no short-circuit) so a right username with a wrong password costs the same.
      const userOk = timingSafeEqual(u, entry.user)
      const passwordOk = timingSafeEqual(p, entry.password)
      if (userOk && passwordOk) found ??= entry.client
    }
    return found ?? 'unknown credentials'
  }

  function matchBearer (token: string): ScimClientConfig | Failure {
    const t = digest(token)
    let found: ScimClientConfig | undefined
    for (const entry of bearer) {
      if (timingSafeEqual(t, entry.token)) found ??= entry.client
    }
    return found ?? 'unknown credentials'
  }

  function authenticate (header: string | undefined): ScimClientConfig | Failure {
    if (header === undefined || header === '') return 'missing'
    if (header.length > MAX_AUTHORIZATION_LENGTH) return 'too long'
    const space = header.indexOf(' ')
    if (space <= 0) return 'malformed'
    const scheme = header.slice(0, space).toLowerCase()
    const credentials = header.slice(space + 1).trim()
    if (credentials === '' || /\s/.test(credentials)) return 'malformed'
    if (scheme === 'bearer') return matchBearer(credentials)
    if (scheme !== 'basic') return 'unsupported scheme'
    if (!BASE64.test(credentials)) return 'malformed'
    const decoded = Buffer.from(credentials, 'base64').toString('utf8')
    // RFC 7617: the username ends at the first colon; the password may contain more.
    const colon = decoded.indexOf(':')
    if (colon < 0) return 'malformed'
    return matchBasic(decoded.slice(0, colon), decoded.slice(colon + 1))
  }

  if (!app.hasRequestDecorator('scimClient')) app.decorateRequest('scimClient', undefined)

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const result = authenticate(request.headers.authorization)
    if (typeof result !== 'string') {
      request.scimClient = result
      return
    }
    // The reason helps an admin whose IdP is misconfigured; the header and anything decoded from it never go to the log.
    request.log.info({ reason: result }, 'SCIM authentication failed')
    return reply
      .code(401)
      .header('content-type', SCIM_CONTENT_TYPE)
      .header('www-authenticate', challenge)
      .send(FAILURE_BODY)
  })
}

export default fp(scimAuth, { name: 'scimforce-auth', fastify: '5.x' })
