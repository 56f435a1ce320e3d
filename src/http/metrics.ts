// Prometheus metrics (prom-client): SCIM requests, Salesforce calls and API usage in a registry of the app's own,
// served at GET /metrics only to a scraper that presents the configured METRICS_TOKEN.
//
// Why a token rather than a separate port: one port is all a container, a proxy and a Kubernetes Service need
// to know, and a scrape that goes through an ingress by mistake still meets a lock. Without a token configured,
// /metrics is not served at all (a 404), so nothing is exposed by default.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Breaker } from '../salesforce/breaker.js'
import { createFailureThrottle, throttleKey, type ThrottleOptions } from './auth.js'
import type { SalesforceSession } from '../salesforce/connection.js'
import type { GatewayObserver } from '../salesforce/gateway.js'

export interface ScimRequestLabels {
  /** The SCIM resource path segment of the matched route (Users, Schemas, …), or `unmatched`. */
  resource: string
  method: string
  status: string
  /** The configured client's name; `unauthenticated` when no credentials matched. Never a credential. */
  client: string
}

export interface Metrics {
  /** This app's own metrics (the process metrics live in a registry shared by the process). */
  readonly registry: Registry
  /** Feeds the Salesforce call metrics; handed to the gateway. */
  readonly observer: GatewayObserver
  observeScimRequest (labels: ScimRequestLabels, seconds: number): void
  /** The gateway's circuit breaker, read at each scrape (the gateway is built after the metrics it reports to). */
  watchBreaker (breaker: Pick<Breaker, 'state'>): void
  /** An email change Salesforce holds for the user's verification: requested, confirmed or dropped (expired). */
  pendingEmail (event: 'requested' | 'confirmed' | 'expired'): void
  /** The exposition text: this app's metrics followed by the process's. */
  render (): Promise<string>
  readonly contentType: string
}

/** What the metrics read from the Salesforce session: counts and the last Sforce-Limit-Info, never the token. */
export type SessionStats = Pick<SalesforceSession, 'tokenRequests' | 'limitInfo'>

// A SCIM request waits on Salesforce; Entra gives up after 60 s, so the top buckets matter too.
const SCIM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const SALESFORCE_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20]

// Label values must stay few: anything that is not a plain code or call name is folded into one value.
const SAFE_CODE = /^[A-Za-z0-9_]{1,64}$/
const SAFE_CALL = /^[A-Za-z0-9_ ]{1,64}$/

let processRegistry: Registry | undefined

/**
 * Process metrics (CPU, memory, event loop, GC) describe the process, not an app; and each call of
 * collectDefaultMetrics starts an event-loop monitor and a GC observer that are never stopped. So they are
 * collected once per process, into a registry of their own (not prom-client's global one), and merged in at
 * scrape time.
 */
function processMetrics (): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

export function createMetrics (session: SessionStats): Metrics {
  const registry = new Registry()
  const registers = [registry]

  const scimRequests = new Counter({
    name: 'scimforce_scim_requests_total',
    help: 'SCIM requests answered, by resource, HTTP method, status and client',
    labelNames: ['resource', 'method', 'status', 'client'] as const,
    registers,
  })
  const scimDuration = new Histogram({
    name: 'scimforce_scim_request_duration_seconds',
    help: 'Time to answer a SCIM request, Salesforce calls included',
    labelNames: ['resource', 'method'] as const,
    buckets: SCIM_BUCKETS,
    registers,
  })
  const sfCalls = new Counter({
    name: 'scimforce_salesforce_calls_total',
    help: 'Salesforce REST call attempts (each retry counts), by call and outcome',
    labelNames: ['call', 'outcome'] as const,
    registers,
  })
  const sfErrors = new Counter({
    name: 'scimforce_salesforce_errors_total',
    help: 'Failed Salesforce call attempts, by Salesforce errorCode (or network condition)',
    labelNames: ['code'] as const,
    registers,
  })
  const sfDuration = new Histogram({
    name: 'scimforce_salesforce_call_duration_seconds',
    help: 'Duration of one Salesforce REST call attempt',
    labelNames: ['call'] as const,
    buckets: SALESFORCE_BUCKETS,
    registers,
  })
  let tokenRequestsSeen = 0
  // eslint-disable-next-line no-new -- registered by construction; read through the registry
  new Counter({
    name: 'scimforce_salesforce_token_requests_total',
    help: 'OAuth token requests made to Salesforce (a cached token costs none)',
    registers,
    // The session keeps the count; the counter catches up with it at each scrape.
    collect () {
      const n = session.tokenRequests
      if (n > tokenRequestsSeen) {
        this.inc(n - tokenRequestsSeen)
        tokenRequestsSeen = n
      }
    },
  })
  // eslint-disable-next-line no-new -- registered by construction; read through the registry
  new Gauge({
    name: 'scimforce_salesforce_api_usage',
    help: 'Daily API requests used, from the last Sforce-Limit-Info header (api-usage=N/M) Salesforce sent',
    registers,
    collect () {
      const info = session.limitInfo()
      if (info !== undefined) this.set(info.used)
    },
  })
  // eslint-disable-next-line no-new -- registered by construction; read through the registry
  new Gauge({
    name: 'scimforce_salesforce_api_limit',
    help: 'The org\'s daily API request allowance, from the last Sforce-Limit-Info header Salesforce sent',
    registers,
    collect () {
      const info = session.limitInfo()
      if (info !== undefined) this.set(info.limit)
    },
  })

  let breaker: Pick<Breaker, 'state'> | undefined
  // eslint-disable-next-line no-new -- registered by construction; read through the registry
  new Gauge({
    name: 'scimforce_salesforce_circuit_open',
    help: '1 while the Salesforce circuit breaker holds calls back (open, or half-open with its one probe out), else 0',
    registers,
    collect () {
      // Half-open counts as open: every call but the probe is still refused with a 503.
      this.set(breaker !== undefined && breaker.state() !== 'closed' ? 1 : 0)
    },
  })

  const observer: GatewayObserver = {
    onCall (what, durationMs, errorCode) {
      // The gateway's contract: an observer never throws into a Salesforce call.
      try {
        const call = SAFE_CALL.test(what) ? what : 'other'
        sfCalls.inc({ call, outcome: errorCode === undefined ? 'ok' : 'error' })
        sfDuration.observe({ call }, durationMs / 1000)
        if (errorCode !== undefined) sfErrors.inc({ code: SAFE_CODE.test(errorCode) ? errorCode : 'OTHER' })
      } catch {}
    },
  }

  const pendingEmails = new Counter({
    name: 'scimforce_pending_email_changes_total',
    help: 'Email changes Salesforce holds until the user verifies the new address (help article 000385115), by event',
    labelNames: ['event'] as const,
    registers,
  })

  return {
    registry,
    observer,
    pendingEmail (event) { pendingEmails.inc({ event }) },
    observeScimRequest (labels, seconds) {
      scimRequests.inc({ ...labels })
      scimDuration.observe({ resource: labels.resource, method: labels.method }, seconds)
    },
    watchBreaker (b) {
      breaker = b
    },
    async render () {
      return await Registry.merge([registry, processMetrics()]).metrics()
    },
    contentType: registry.contentType,
  }
}

/** Several observers as one; each is shielded from the others' failures. */
export function combineObservers (...observers: Array<GatewayObserver | undefined>): GatewayObserver {
  const list = observers.filter((o): o is GatewayObserver => o !== undefined)
  return {
    onCall (what, durationMs, errorCode) {
      for (const o of list) {
        try { o.onCall(what, durationMs, errorCode) } catch {}
      }
    },
  }
}

export interface MetricsPluginOptions {
  metrics: Metrics
  /** Bearer token the scraper must present; undefined: /metrics is not served. */
  token: string | undefined
  /** Requests under this prefix are counted as SCIM requests. */
  scimPrefix: string
  /**
   * Throttling of wrong tokens, as for SCIM credentials (its own budgets: the token is a different secret);
   * `false` turns it off. The clock is a test seam.
   */
  throttle?: Partial<ThrottleOptions> | false
  now?: () => number
}

// Fixed-length digests: the comparison takes the same time whatever the presented token's length.
function digest (s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

function resourceOf (req: FastifyRequest, prefix: string): string {
  // The route's pattern, not the URL: ids and query strings would make a label per user.
  const pattern = req.routeOptions.url
  if (pattern === undefined || !pattern.startsWith(`${prefix}/`)) return 'unmatched'
  return pattern.slice(prefix.length + 1).split('/')[0] || 'unmatched'
}

async function metricsPlugin (app: FastifyInstance, opts: MetricsPluginOptions): Promise<void> {
  const { metrics, scimPrefix } = opts

  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? ''
    if (path !== scimPrefix && !path.startsWith(`${scimPrefix}/`)) return
    metrics.observeScimRequest({
      resource: resourceOf(req, scimPrefix),
      method: req.method,
      status: String(reply.statusCode),
      client: req.scimClient?.name ?? 'unauthenticated',
    }, reply.elapsedTime / 1000)
  })

  if (opts.token === undefined) return
  const expected = digest(`Bearer ${opts.token}`)

  // A guesser of the token meets the same throttle as a guesser of SCIM credentials: without it, /metrics would be
  // the one door where guesses are free.
  const throttle = opts.throttle === false ? undefined : createFailureThrottle(opts.throttle, opts.now)

  app.get('/metrics', async (req, reply) => {
    const key = throttleKey(req.ip)
    const waiting = throttle?.retryAfter(key) ?? 0
    if (waiting > 0) {
      // Refused before the token is compared: a throttled guesser cannot learn that a guess was right.
      return await reply.code(429)
        .header('retry-after', String(waiting))
        .type('application/json')
        .send({ status: 429, detail: `Too many failed attempts; retry after ${waiting} s` })
    }
    const presented = req.headers.authorization ?? ''
    // Scheme names are case-insensitive (RFC 7235); the token is not.
    const normalised = presented.replace(/^bearer\s+/i, 'Bearer ')
    if (!timingSafeEqual(digest(normalised), expected)) {
      // As for SCIM: only a presented token can be a guess.
      const now = presented === '' ? 0 : throttle?.fail(key) ?? 0
      req.log.warn({ address: key, ...(now > 0 ? { retryAfter: now } : {}) }, 'metrics scrape refused: missing or wrong METRICS_TOKEN')
      return await reply.code(401)
        .header('www-authenticate', 'Bearer realm="scimforce-metrics"')
        .type('application/json')
        .send({ status: 401, detail: 'A Bearer token (METRICS_TOKEN) is required' })
    }
    throttle?.succeed(key)
    return await reply.type(metrics.contentType).send(await metrics.render())
  })
}

export default fp(metricsPlugin, { name: 'scimforce-metrics', fastify: '5.x' })
