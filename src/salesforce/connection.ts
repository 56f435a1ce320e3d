// Owns the one jsforce Connection: obtains a token with the configured OAuth flow, caches it, and refreshes it
// (once, guarded) when Salesforce answers 401. Tokens never leave this module and are never logged.
import { createPrivateKey, randomUUID } from 'node:crypto'
import { Connection, type ConnectionConfig, type HttpRequest, type HttpRequestOptions, type StreamPromise } from '@jsforce/jsforce-node'
import { SignJWT } from 'jose'
import type { SalesforceConfig } from '../config/types.js'
import { normalizeSalesforceId } from './ids.js'
import { installProxyRouting, type ProxyEnv } from './proxy.js'

export interface Logger {
  debug (obj: object, msg?: string): void
  info (obj: object, msg?: string): void
  warn (obj: object, msg?: string): void
  error (obj: object, msg?: string): void
}

export interface SalesforceSession {
  readonly conn: Connection
  /** Resolves once a token is held; concurrent callers share one token request. */
  ensureAuthorized (): Promise<void>
  /** Drops the cached token so the next call obtains a new one (readiness checks, tests). */
  reset (): void
  /** Number of token requests made by this process (for metrics and the benchmark). */
  readonly tokenRequests: number
  /** Last `Sforce-Limit-Info` seen. */
  limitInfo (): { used: number, limit: number } | undefined
  /**
   * The most one Salesforce HTTP request may take: half of config `salesforce.timeoutMs` (SF_TIMEOUT_MS), which
   * bounds a whole gateway call, so that a read that hangs can be asked once more within it (gateway.ts). The
   * gateway cuts it shorter when less of its budget is left.
   */
  readonly timeoutMs: number
}

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

/**
 * jsforce's HTTP options for every REST call scimforce makes, set per call through `Connection#request`'s public
 * options (no module-wide defaults, so no deep import: the 3.10.16 pin is only about Node 20, docs/salesforce-behaviour.md#jsforce-node).
 * Its own retries (GET/DELETE only, up to 5 with backoff from 500 ms) would hide failures from our retry budget
 * and double-count time, so they are off and the gateway decides what is safe to retry. Its default timeout is
 * 30 minutes; ours comes from config, and the gateway passes a shorter one when less of its budget is left. In
 * 3.10.16 the timeout aborts node-fetch through an AbortController (request-helper `executeWithTimeout`) and
 * surfaces as an `AbortError`, which errors.ts classifies as TIMEOUT; test/salesforce/gateway-http.test.ts proves
 * it fires against the emulator's latency fault. Redirects are not followed: the REST API does not redirect, and
 * a redirect would be a misconfigured URL better reported than chased.
 *
 * Keep-alive: 3.10.16 hands node-fetch no agent unless the request goes through a proxy (proxy.ts decides), so
 * direct requests use Node's global agent, which keeps connections alive since Node 19 (engines:
 * >=24.11). The same test counts the emulator's TCP connections to prove that calls reuse them. Newer jsforce
 * (3.10.17+) moves to undici, which also keeps connections alive.
 */
function httpOptions (timeoutMs: number): HttpRequestOptions {
  return { timeout: timeoutMs, retry: { maxRetries: 0 }, followRedirect: false }
}

/** A Connection whose every REST call (ours, and jsforce's own helpers built on `request`) carries httpOptions. */
class ScimforceConnection extends Connection {
  readonly #http: HttpRequestOptions
  readonly #onAnswered: () => void

  constructor (config: ConnectionConfig, http: HttpRequestOptions, onAnswered: () => void) {
    super(config)
    this.#http = http
    this.#onAnswered = onAnswered
  }

  override request<R = unknown> (request: string | HttpRequest, options: HttpRequestOptions = {}): StreamPromise<R> {
    const answer = super.request<R>(request, { ...this.#http, ...options })
    // Any answered request proves the current token works (the refresh guard below counts only fruitless refreshes).
    answer.then(() => { this.#onAnswered() }, () => {})
    return answer
  }
}

/**
 * jsforce's token request (OAuth2) takes no per-call options, so its time is bounded here: the caller stops
 * waiting after timeoutMs, and the request itself ends when Salesforce answers or jsforce's own 30 minutes run out.
 * The message is one errors.ts classifies as TIMEOUT, like an aborted REST call.
 */
async function withTimeout<T> (work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(Object.assign(new Error(`Salesforce token request aborted due to timeout of ${timeoutMs} ms`), { name: 'AbortError' }))
    }, timeoutMs)
    timer.unref()
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
    work.catch(() => {})
  }
}

/** Half of SF_TIMEOUT_MS per HTTP request; see SalesforceSession.timeoutMs. */
function requestTimeoutMs (cfg: Pick<SalesforceConfig, 'timeoutMs'>): number {
  return Math.max(1, Math.floor(cfg.timeoutMs / 2))
}

/**
 * After a successful refresh Salesforce may keep answering 401 (a revoked app, a session policy); jsforce would
 * then refresh and replay forever (docs/salesforce-behaviour.md#jsforce-auth). Allow a few fruitless refreshes per
 * window, then fail. A refresh whose token then served a request does not count: sessions that an admin or a
 * policy ends several times in a row (each new token working) must not lock scimforce out.
 */
const MAX_REFRESHES_PER_WINDOW = 3
const REFRESH_WINDOW_MS = 10_000

/** `env` supplies the proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY); doctor passes the environment it checks. */
export function createSalesforceSession (cfg: SalesforceConfig, log: Logger, env: ProxyEnv = process.env): SalesforceSession {
  const timeoutMs = requestTimeoutMs(cfg)
  let tokenRequests = 0
  let authorizing: Promise<void> | undefined
  let authorized = false
  const refreshTimes: number[] = []
  let answeredSinceRefresh = true

  const conn: Connection = new ScimforceConnection({
    oauth2: { clientId: cfg.clientId, ...(cfg.clientSecret !== undefined ? { clientSecret: cfg.clientSecret } : {}), loginUrl: cfg.loginUrl },
    loginUrl: cfg.loginUrl,
    version: cfg.apiVersion,
    refreshFn: (c, callback) => {
      const now = Date.now()
      if (answeredSinceRefresh) refreshTimes.length = 0
      answeredSinceRefresh = false
      while (refreshTimes.length > 0 && now - (refreshTimes[0] as number) > REFRESH_WINDOW_MS) refreshTimes.shift()
      if (refreshTimes.length >= MAX_REFRESHES_PER_WINDOW) {
        callback(new Error('Salesforce keeps rejecting fresh tokens (INVALID_SESSION_ID after refresh)'))
        return
      }
      refreshTimes.push(now)
      log.info({ flow: cfg.authFlow }, 'Salesforce session expired; obtaining a new token')
      requestToken(c).then(() => callback(null, c.accessToken ?? undefined), (err: unknown) => callback(err as Error))
    },
  }, httpOptions(timeoutMs), () => { answeredSinceRefresh = true })
  // HTTPS_PROXY / HTTP_PROXY / NO_PROXY, per request URL, for REST calls and token requests alike (proxy.ts).
  installProxyRouting(conn, env)

  async function requestToken (c: Connection): Promise<void> {
    tokenRequests++
    switch (cfg.authFlow) {
      case 'client_credentials':
        await withTimeout(c.authorize({ grant_type: 'client_credentials' }), timeoutMs)
        break
      case 'password':
        // conn.login() would install its own refresh delegate without our loop guard; authorize() keeps ours.
        await withTimeout(c.authorize({ grant_type: 'password', username: cfg.username ?? '', password: cfg.password ?? '' }), timeoutMs)
        break
      case 'jwt':
        await withTimeout(c.authorize({ grant_type: JWT_BEARER, assertion: await signAssertion(cfg) }), timeoutMs)
        break
    }
    authorized = true
  }

  return {
    conn,
    timeoutMs,
    get tokenRequests () { return tokenRequests },
    async ensureAuthorized () {
      if (authorized) return
      authorizing ??= requestToken(conn).finally(() => { authorizing = undefined })
      await authorizing
    },
    reset () {
      authorized = false
    },
    limitInfo () {
      const info = (conn as unknown as { limitInfo?: { apiUsage?: { used: number, limit: number } } }).limitInfo
      return info?.apiUsage
    },
  }
}

/**
 * The Id of the user scimforce acts as, from the OAuth identity: every flow's token response carries the identity
 * URL (`id`, …/id/{orgId}/{userId}, docs/salesforce-behaviour.md#oauth), which jsforce's authorize() keeps as `conn.userInfo`. It is
 * known once a token is held and stays right across refreshes (the same flow logs in as the same user).
 * Undefined before the first token: gateway.ts `integrationUserId` obtains one under the retry budget and the
 * circuit breaker, like every other Salesforce call, and fails closed when the identity is missing.
 */
export function identityOf (conn: Pick<Connection, 'userInfo'>): string | undefined {
  return normalizeSalesforceId(conn.userInfo?.id ?? '')
}

/** RS256 assertion for the JWT bearer flow; Salesforce wants `exp` within 3 minutes (docs/salesforce-behaviour.md#jwt-bearer). */
export async function signAssertion (cfg: SalesforceConfig): Promise<string> {
  if (cfg.jwtPrivateKey === undefined) throw new Error('salesforce.jwtPrivateKey is not set')
  // createPrivateKey takes PKCS#1 (`BEGIN RSA PRIVATE KEY`, what openssl genrsa writes) as well as PKCS#8.
  const key = createPrivateKey(cfg.jwtPrivateKey)
  return await new SignJWT({})
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer(cfg.clientId)
    .setSubject(cfg.username ?? '')
    .setAudience(cfg.jwtAudience ?? cfg.loginUrl)
    .setJti(randomUUID())
    .setExpirationTime(Math.floor(Date.now() / 1000) + 170)
    .sign(key)
}
