// buildApp(config, deps): the whole scimforce Fastify app, without listening. Tests build one per test against
// the emulated org; server.ts builds one for the process.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import type { Config } from './config/types.js'
import { clipLogged } from './http/clip.js'
import { frameworkErrors, installErrorHandlers } from './http/errors.js'
import { watchApiUsage } from './http/api-usage.js'
import { captureSalesforceIds, salesforceIdOf } from './http/salesforce-id.js'
import metricsPlugin, { combineObservers, createMetrics, type Metrics } from './http/metrics.js'
import { createReadiness, type ReadinessOptions } from './http/readiness.js'
import { createUserMapping } from './mapping/user.js'
import { createSalesforceSession, type SalesforceSession } from './salesforce/connection.js'
import { createGateway, DEFAULT_RETRY, type Gateway, type GatewayObserver, type RetryPolicy } from './salesforce/gateway.js'
import { ScimError, SCIM_CONTENT_TYPE } from './scim/errors.js'
import scimRoutes, { SCIM_PREFIX } from './scim/routes.js'
import { watchLicences } from './salesforce/licence-metrics.js'
import { orderingOptions } from './scim/ordering.js'
import { createUserService } from './scim/user-service.js'
import { auditObserver } from './scim/audit.js'
import { createApiVersionCheck } from './salesforce/api-version.js'
import { openStoreFromConfig, type Store } from './store/store.js'

export interface AppDeps {
  /** Fastify's logger option: false in tests, pino options from server.ts. */
  logger?: FastifyServerOptions['logger']
  store?: Store
  session?: SalesforceSession
  retry?: RetryPolicy
  /** Also receives every Salesforce call, besides the app's own metrics (benchmarks, tests). */
  observer?: GatewayObserver
  /** /readyz's cache period and wait (tests shorten them); omitted: DEFAULT_READINESS. */
  readiness?: Partial<ReadinessOptions>
}

declare module 'fastify' {
  interface FastifyInstance {
    scimforce: { store: Store, session: SalesforceSession, gateway: Gateway, metrics: Metrics }
  }
}

/**
 * Log paths that could carry a secret; pino replaces them before anything is written. What is logged today
 * carries none of them: bodies are never logged, the config is logged through redactedConfig(), and Fastify's
 * `req` serializer writes method, url, host and remote address only. Serializers run before redaction, so
 * `req.headers.*` cannot match under Fastify's serializer; those paths stand guard for a serializer that would
 * add headers. The rest are the shapes a secret takes when an object carrying one is logged: Node lowercases
 * incoming header names, jsforce writes `Authorization`, OAuth uses snake_case, our config camelCase.
 * test/app/logging.test.ts plants every kind of secret, drives every path, and searches the captured log.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'password',
  '*.password',
  '*.*.password',
  'accessToken',
  '*.accessToken',
  'access_token',
  '*.access_token',
  'refreshToken',
  '*.refreshToken',
  'refresh_token',
  '*.refresh_token',
  'clientSecret',
  '*.clientSecret',
  'client_secret',
  '*.client_secret',
  'token',
  '*.token',
  'metricsToken',
  '*.metricsToken',
]

/** An IdP's correlation id is kept when it is a plain token of sane length; anything else gets our own id. */
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/

function requestId (req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}

/** Probes and scrapes come every few seconds: their lines go to debug unless something failed. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics'])

/** One line per request, written when it is answered (Fastify writes two: received, and completed). */
class RequestLog extends LogController {
  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    const line = {
      req,
      res: reply,
      responseTime: Math.round(reply.elapsedTime * 10) / 10,
      client: req.scimClient?.name,
      // The Salesforce record a successful write created or changed (http/salesforce-id.ts).
      salesforceId: salesforceIdOf(req),
      userAgent: clipLogged(req.headers['user-agent']),
    }
    if (error !== null && error !== undefined) {
      reply.log.error({ ...line, err: error }, 'request errored')
      return
    }
    const quiet = QUIET_ROUTES.has(req.routeOptions.url ?? '') && reply.statusCode < 400
    reply.log[quiet ? 'debug' : 'info'](line, 'request completed')
  }
}

export async function buildApp (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: config.server.bodyLimit,
    // Behind a TLS-terminating proxy: request.ip (auth throttle, logs) is the client X-Forwarded-For names.
    trustProxy: config.server.trustProxy,
    // The IdP's correlation id (x-request-id), when it sends a usable one, ties our logs to theirs; every log
    // line of the request, its Salesforce calls' included (they log through req.log), carries it as reqId.
    requestIdHeader: false,
    genReqId: requestId,
    logController: new RequestLog(),
    // IdPs disagree on a trailing slash and on the case of resource paths (Microsoft's SCIM suite sends /users):
    // neither can name another endpoint, so both are accepted. Path parameters keep their case.
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: false },
    // The router's own refusals (an over-long path parameter, an undecodable URL) in SCIM's shape, quoting nothing.
    frameworkErrors,
  })

  const store = deps.store ?? await openStoreFromConfig(config)
  const ownsStore = deps.store === undefined
  const session = deps.session ?? createSalesforceSession(config.salesforce, app.log)
  const metrics = createMetrics(session)
  // A configured settle cap (SF_SETTLE_CAP_MS) applies unless the caller's retry policy names its own.
  const retry = { ...(deps.retry ?? DEFAULT_RETRY), ...(config.salesforce.settleCapMs !== undefined && deps.retry?.settleCapMs === undefined ? { settleCapMs: config.salesforce.settleCapMs } : {}) }
  const gateway = createGateway(session, retry, combineObservers(metrics.observer, watchApiUsage(session, app.log), auditObserver, deps.observer))
  metrics.watchBreaker(gateway.breaker)
  watchLicences(gateway, metrics.registry)
  const mapping = createUserMapping(config.users)
  const apiVersion = createApiVersionCheck(session, config.salesforce.apiVersion)
  const users = createUserService({ gateway, mapping, config: config.users, store, integrationUserId: async () => await gateway.integrationUserId(app.log), apiVersion, onPendingEmail: (e) => { metrics.pendingEmail(e) }, ordering: orderingOptions(config.salesforce) })
  app.decorate('scimforce', { store, session, gateway, metrics })
  // Runs after the server has stopped accepting and every in-flight request has been answered.
  app.addHook('onClose', async () => { if (ownsStore) await store.close() })
  keepAuditFor(app, store, config.store.auditRetentionDays)

  installErrorHandlers(app)
  captureSalesforceIds(app)

  app.addHook('onRequest', async (req, reply) => {
    // Echoed on every answer, so an IdP admin can quote it and we can find the request's log lines.
    reply.header('x-request-id', req.id)
  })
  // A request still in flight when close() begins is answered, but its keep-alive connection would then hold
  // close() open until the client or keepAliveTimeout (72 s) drops it: tell the client to drop it now.
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    return payload
  })
  await app.register(metricsPlugin, { metrics, token: config.server.metricsToken, scimPrefix: SCIM_PREFIX })

  // SCIM bodies are JSON under either media type. An empty body is fine (WSO2 sends Content-Type:
  // application/json on GET and DELETE without one). The rest goes through Fastify's own JSON parser
  // (secure-json-parse), which refuses `__proto__` and `constructor.prototype` keys: no SCIM attribute can be
  // named so (RFC 7643 §2.1 ATTRNAME starts with a letter), and refusing them at the door means no later spread
  // or merge can be tricked into prototype pollution. Bad JSON or a poisoned key is a SCIM invalidSyntax error.
  const secureJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser(['application/json'])
  app.addContentTypeParser(['application/json', 'application/scim+json'], { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') {
      done(null, undefined)
      return
    }
    secureJson(req, text, (err, value) => {
      if (err === null) done(null, value)
      else done(new ScimError(400, 'invalidSyntax', 'Request body is not valid JSON, or carries a __proto__ or constructor.prototype key'), undefined)
    })
  })

  app.addHook('onSend', async (req, reply, payload) => {
    if (req.url.startsWith(SCIM_PREFIX) && reply.statusCode !== 204) reply.header('content-type', SCIM_CONTENT_TYPE)
    return payload
  })

  // Liveness: the process answers. Nothing about Salesforce or secrets.
  app.get('/healthz', async (_req, reply) => await reply.type('application/json').send({ status: 'ok' }))
  // Readiness (src/http/readiness.ts): the integration user really calls the API (one call per cache period at
  // most, whatever the probe rate), the circuit breaker is not holding calls back, and the store can be written.
  const readiness = createReadiness({ session, dataPath: gateway.dataPath, breaker: gateway.breaker, store }, deps.readiness)
  app.get('/readyz', async (req, reply) => {
    const report = await readiness.check(req.log)
    return await reply.code(report.ready ? 200 : 503).type('application/json').header('cache-control', 'no-store').send(report.body)
  })

  await app.register(scimRoutes, { prefix: SCIM_PREFIX, config, users })
  return app
}

/** The audit journal keeps `days` days: purged once at start-up, then daily (every replica may; it is idempotent). */
function keepAuditFor (app: FastifyInstance, store: Store, days: number): void {
  const purge = async (): Promise<void> => {
    try {
      const removed = await store.purgeAudit(new Date(Date.now() - days * 86_400_000).toISOString())
      if (removed > 0) app.log.info({ removed, days }, 'audit journal: purged entries past retention')
    } catch (err) {
      app.log.warn({ err }, 'audit journal: purge failed; will try again')
    }
  }
  const timer = setInterval(() => { purge().catch(() => {}) }, 86_400_000)
  timer.unref()
  app.addHook('onReady', purge)
  app.addHook('onClose', async () => { clearInterval(timer) })
}
