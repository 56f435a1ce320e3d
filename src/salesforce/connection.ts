// Owns the one jsforce Connection: obtains a token with the configured OAuth flow, caches it, and refreshes it
// (once, guarded) when Salesforce answers 401. Tokens never leave this module and are never logged.
import { createPrivateKey, randomUUID } from 'node:crypto'
import { Connection } from '@jsforce/jsforce-node'
import { setDefaults } from '@jsforce/jsforce-node/lib/request.js'
import { SignJWT } from 'jose'
import type { SalesforceConfig } from '../config/types.js'

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
  /** The most one Salesforce HTTP call may take (config `salesforce.timeoutMs`); the gateway may cut it shorter. */
  readonly timeoutMs: number
}

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

/**
 * jsforce keeps its HTTP options module-wide. Its own retries (GET/DELETE only, up to 5 with backoff from
 * 500 ms) would hide failures from our retry budget and double-count time, so they are switched off and the
 * gateway decides what is safe to retry. Its default timeout is 30 minutes; ours comes from config. The gateway
 * also passes a timeout with every call (cut to what is left of its budget); this default covers the rest: token
 * requests, the readiness probe, the doctor. In 3.10.16 the timeout aborts node-fetch through an AbortController
 * (request-helper `executeWithTimeout`) and surfaces as an `AbortError`, which errors.ts classifies as TIMEOUT;
 * test/salesforce/gateway-http.test.ts proves it fires against the emulator's latency fault.
 *
 * Keep-alive: 3.10.16 hands node-fetch no agent (unless a proxy is configured, and this setDefaults drops the
 * proxy variables), so requests use Node's global agent, which keeps connections alive since Node 19 (engines:
 * >=20.19). The same test counts the emulator's TCP connections to prove that calls reuse them; no agent of our
 * own is needed. Newer jsforce (3.10.17+) moves to undici, which also keeps connections alive.
 */
function configureHttp (timeoutMs: number): void {
  setDefaults({ timeout: timeoutMs, retry: { maxRetries: 0 } })
}

/**
 * After a successful refresh Salesforce may keep answering 401 (a revoked app, a session policy); jsforce would
 * then refresh and replay forever (salesforce.md §7.1). Allow a few refreshes per window, then fail.
 */
const MAX_REFRESHES_PER_WINDOW = 3
const REFRESH_WINDOW_MS = 10_000

export function createSalesforceSession (cfg: SalesforceConfig, log: Logger): SalesforceSession {
  configureHttp(cfg.timeoutMs)
  let tokenRequests = 0
  let authorizing: Promise<void> | undefined
  let authorized = false
  const refreshTimes: number[] = []

  const conn: Connection = new Connection({
    oauth2: { clientId: cfg.clientId, ...(cfg.clientSecret !== undefined ? { clientSecret: cfg.clientSecret } : {}), loginUrl: cfg.loginUrl },
    loginUrl: cfg.loginUrl,
    version: cfg.apiVersion,
    refreshFn: (c, callback) => {
      const now = Date.now()
      while (refreshTimes.length > 0 && now - (refreshTimes[0] as number) > REFRESH_WINDOW_MS) refreshTimes.shift()
      if (refreshTimes.length >= MAX_REFRESHES_PER_WINDOW) {
        callback(new Error('Salesforce keeps rejecting fresh tokens (INVALID_SESSION_ID after refresh)'))
        return
      }
      refreshTimes.push(now)
      log.info({ flow: cfg.authFlow }, 'Salesforce session expired; obtaining a new token')
      requestToken(c).then(() => callback(null, c.accessToken ?? undefined), (err: unknown) => callback(err as Error))
    },
  })

  async function requestToken (c: Connection): Promise<void> {
    tokenRequests++
    switch (cfg.authFlow) {
      case 'client_credentials':
        await c.authorize({ grant_type: 'client_credentials' })
        break
      case 'password':
        // conn.login() would install its own refresh delegate without our loop guard; authorize() keeps ours.
        await c.authorize({ grant_type: 'password', username: cfg.username ?? '', password: cfg.password ?? '' })
        break
      case 'jwt':
        await c.authorize({ grant_type: JWT_BEARER, assertion: await signAssertion(cfg) })
        break
    }
    authorized = true
  }

  return {
    conn,
    timeoutMs: cfg.timeoutMs,
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

/** RS256 assertion for the JWT bearer flow; Salesforce wants `exp` within 3 minutes (salesforce.md §1.4). */
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
