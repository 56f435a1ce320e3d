// buildApp(config, deps): the whole scimforce Fastify app, without listening. Tests build one per test against
// the emulated org; server.ts builds one for the process.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Config } from './config/types.js'
import { installErrorHandlers } from './http/errors.js'
import { createUserMapping } from './mapping/user.js'
import { createSalesforceSession, type SalesforceSession } from './salesforce/connection.js'
import { createGateway, type Gateway, type GatewayObserver, type RetryPolicy } from './salesforce/gateway.js'
import { ScimError, SCIM_CONTENT_TYPE } from './scim/errors.js'
import scimRoutes, { SCIM_PREFIX } from './scim/routes.js'
import { createUserService } from './scim/user-service.js'
import { openStore, type Store } from './store/store.js'

export interface AppDeps {
  /** Fastify's logger option: false in tests, pino options from server.ts. */
  logger?: FastifyServerOptions['logger']
  store?: Store
  session?: SalesforceSession
  retry?: RetryPolicy
  /** Receives every Salesforce call (metrics). */
  observer?: GatewayObserver
}

declare module 'fastify' {
  interface FastifyInstance {
    scimforce: { store: Store, session: SalesforceSession, gateway: Gateway }
  }
}

/** Log paths that could carry a secret; pino replaces them before anything is written. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'password',
  '*.password',
  'body.password',
  'accessToken',
  'refreshToken',
  '*.accessToken',
  '*.clientSecret',
  'clientSecret',
  'token',
  '*.token',
]

export async function buildApp (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: config.server.bodyLimit,
    // The IdP's correlation id, when it sends one, ties our logs to theirs.
    requestIdHeader: 'x-request-id',
    // Routes are matched case-sensitively per RFC 3986, except that IdPs disagree on a trailing slash.
    routerOptions: { ignoreTrailingSlash: true },
  })

  const store = deps.store ?? openStore(config.store.path)
  const ownsStore = deps.store === undefined
  const session = deps.session ?? createSalesforceSession(config.salesforce, app.log)
  const gateway = createGateway(session, deps.retry, deps.observer)
  const mapping = createUserMapping(config.users)
  const users = createUserService({ gateway, mapping, config: config.users, store })
  app.decorate('scimforce', { store, session, gateway })
  app.addHook('onClose', async () => { if (ownsStore) store.close() })

  installErrorHandlers(app)

  // SCIM bodies are JSON under either media type. An empty body is fine (WSO2 sends Content-Type:
  // application/json on GET and DELETE without one); a body that is not JSON is a SCIM invalidSyntax error.
  app.removeContentTypeParser(['application/json'])
  app.addContentTypeParser(['application/json', 'application/scim+json'], { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') {
      done(null, undefined)
      return
    }
    try {
      done(null, JSON.parse(text))
    } catch {
      done(new ScimError(400, 'invalidSyntax', 'Request body is not valid JSON'), undefined)
    }
  })

  app.addHook('onSend', async (req, reply, payload) => {
    if (req.url.startsWith(SCIM_PREFIX) && reply.statusCode !== 204) reply.header('content-type', SCIM_CONTENT_TYPE)
    return payload
  })

  // Liveness: the process answers. Nothing about Salesforce or secrets.
  app.get('/healthz', async (_req, reply) => await reply.type('application/json').send({ status: 'ok' }))
  // Readiness: a Salesforce token can be had and the store can be written.
  app.get('/readyz', async (req, reply) => {
    const checks: Record<string, 'ok' | 'failed'> = { salesforce: 'ok', store: 'ok' }
    try { await session.ensureAuthorized() } catch (err) {
      checks.salesforce = 'failed'
      req.log.warn({ err }, 'readiness: no Salesforce session')
    }
    try { store.probe() } catch (err) {
      checks.store = 'failed'
      req.log.warn({ err }, 'readiness: store not writable')
    }
    const ok = Object.values(checks).every((v) => v === 'ok')
    return await reply.code(ok ? 200 : 503).type('application/json').send({ status: ok ? 'ready' : 'not ready', checks })
  })

  await app.register(scimRoutes, { prefix: SCIM_PREFIX, config, users })
  return app
}
