// SCIM client authentication (Basic and Bearer) as an onRequest hook for the encapsulated SCIM routes only, with
// a per-address throttle on repeated failures (429 + Retry-After) whose memory is bounded.
import { createHash, timingSafeEqual } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
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

export interface ThrottleOptions {
  /** Failures an address may accumulate before it is refused; each one is forgiven after `forgiveMs`. */
  maxFailures: number
  /** One failure is forgotten per this many milliseconds, so a throttled address recovers by itself. */
  forgiveMs: number
  /** Addresses remembered at most; the least recently seen is forgotten first. Bounds memory. */
  maxTracked: number
}

export interface AuthPluginOptions {
  clients: ScimClientConfig[]
  /** Failure throttling; `false` turns it off (a test, or a deployment that throttles in its proxy). */
  throttle?: Partial<ThrottleOptions> | false
  /** Test seams: the secret comparison (constant-time by default) and the clock of the throttle. */
  compare?: (presented: Buffer, configured: Buffer) => boolean
  now?: () => number
}

/**
 * A legitimate IdP never fails authentication, so it never spends this budget; a guesser gets 20 tries, then
 * one every 3 s (20 a minute at most). Ten thousand addresses cost about a megabyte.
 */
export const DEFAULT_THROTTLE: Readonly<ThrottleOptions> = Object.freeze({ maxFailures: 20, forgiveMs: 3000, maxTracked: 10_000 })

const REALM = 'scimforce'

// Far above any real credential; a longer header is refused before it is decoded.
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

// ---------------------------------------------------------------------------------------------------------
// Failure throttle

/**
 * The address a failure is charged to. IPv4-mapped IPv6 is the IPv4 address; other IPv6 addresses count per /64,
 * the block one subscriber gets, or a single host could try from 2^64 "different" addresses.
 */
export function throttleKey (ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)
  if (mapped !== null && isIPv4(mapped[1] as string)) return mapped[1] as string
  if (!isIPv6(ip)) return ip
  const [head = '', tail = ''] = ip.split('%')[0]?.split('::') ?? []
  const left = head === '' ? [] : head.split(':')
  const right = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/64`
}

export interface FailureThrottle {
  /** Seconds the address must wait, or 0 when it may try. */
  retryAfter (key: string): number
  /** Charges one failure; returns the new wait in seconds (0 while under the limit). */
  fail (key: string): number
  /** Addresses currently remembered (tests, metrics). */
  readonly size: number
}

/**
 * A leaky bucket per address, in whole failures: each failure adds one, one leaks out every `forgiveMs`; at
 * `maxFailures` the address waits until the next one has leaked. A success does not empty the bucket: an
 * attacker behind the same address as a real IdP (a NAT, a proxy) would otherwise reset it between guesses.
 */
export function createFailureThrottle (opts: Partial<ThrottleOptions> = {}, now: () => number = Date.now): FailureThrottle {
  const o = { ...DEFAULT_THROTTLE, ...opts }
  if (!(o.maxFailures >= 1 && o.forgiveMs >= 1 && o.maxTracked >= 1)) throw new RangeError('throttle: maxFailures, forgiveMs and maxTracked must be positive')
  // `since`: when the failure now at the bottom of the bucket started leaking. Map iteration order is insertion
  // order, and every failure re-inserts, so the least recently failing address comes first. (A plain Map, not
  // lru-cache: the bound is two lines in fail(), a bucket empties by the leak arithmetic rather than a TTL, and a
  // look-up must not refresh recency, which lru-cache's get() would.)
  const buckets = new Map<string, { level: number, since: number }>()

  function current (key: string, t: number): { level: number, since: number } | undefined {
    const b = buckets.get(key)
    if (b === undefined) return undefined
    const leaked = Math.floor((t - b.since) / o.forgiveMs)
    if (leaked > 0) {
      b.level -= leaked
      b.since += leaked * o.forgiveMs
    }
    if (b.level > 0) return b
    buckets.delete(key)
    return undefined
  }

  /** Whole seconds until the address is under the limit again (at least 1), or 0 if it is now. */
  function wait (b: { level: number, since: number } | undefined, t: number): number {
    if (b === undefined || b.level < o.maxFailures) return 0
    const ms = b.since + o.forgiveMs - t + (b.level - o.maxFailures) * o.forgiveMs
    return Math.max(1, Math.ceil(ms / 1000))
  }

  return {
    retryAfter (key) {
      const t = now()
      return wait(current(key, t), t)
    },
    fail (key) {
      const t = now()
      const b = current(key, t) ?? { level: 0, since: t }
      b.level++
      buckets.delete(key)
      if (buckets.size >= o.maxTracked) buckets.delete(buckets.keys().next().value as string)
      buckets.set(key, b)
      return wait(b, t)
    },
    get size () { return buckets.size },
  }
}

// ---------------------------------------------------------------------------------------------------------
// Plugin

async function scimAuth (app: FastifyInstance, opts: AuthPluginOptions): Promise<void> {
  if (opts.clients.length === 0) throw new Error('scimforce-auth: no SCIM client configured')
  const equal = opts.compare ?? timingSafeEqual
  const throttle = opts.throttle === false ? undefined : createFailureThrottle(opts.throttle, opts.now)

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
  // Stands in for whatever the request did not present, so every request runs the same comparisons.
  const NOTHING = digest('')

  interface Presented { failure?: Failure, scheme?: 'basic' | 'bearer', user?: string, password?: string, token?: string }

  function parse (header: string | undefined): Presented {
    if (header === undefined || header === '') return { failure: 'missing' }
    if (header.length > MAX_AUTHORIZATION_LENGTH) return { failure: 'too long' }
    const space = header.indexOf(' ')
    if (space <= 0) return { failure: 'malformed' }
    const scheme = header.slice(0, space).toLowerCase()
    const credentials = header.slice(space + 1).trim()
    if (credentials === '' || /\s/.test(credentials)) return { failure: 'malformed' }
    if (scheme === 'bearer') return { scheme, token: credentials }
    if (scheme !== 'basic') return { failure: 'unsupported scheme' }
    if (!BASE64.test(credentials)) return { failure: 'malformed' }
    const decoded = Buffer.from(credentials, 'base64').toString('utf8')
    // RFC 7617: the username ends at the first colon; the password may contain more.
    const colon = decoded.indexOf(':')
    if (colon < 0) return { failure: 'malformed' }
    return { scheme, user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
  }

  /**
   * Every configured client is compared, whatever the request presented (no header, a malformed one, the other
   * scheme), and both halves of a Basic pair always run: the time taken says nothing about which usernames
   * exist, which scheme is configured or how close a guess came. Only the outcome differs.
   */
  function authenticate (header: string | undefined): ScimClientConfig | Failure {
    const p = parse(header)
    const u = p.user !== undefined ? digest(p.user) : NOTHING
    const pw = p.password !== undefined ? digest(p.password) : NOTHING
    const t = p.token !== undefined ? digest(p.token) : NOTHING
    let found: ScimClientConfig | undefined
    for (const entry of basic) {
      const userOk = equal(u, entry.user)
      const passwordOk = equal(pw, entry.password)
      if (p.scheme === 'basic' && userOk && passwordOk) found ??= entry.client
    }
    for (const entry of bearer) {
      if (equal(t, entry.token) && p.scheme === 'bearer') found ??= entry.client
    }
    return found ?? p.failure ?? 'unknown credentials'
  }

  function tooMany (reply: FastifyReply, seconds: number): FastifyReply {
    return reply
      .code(429)
      .header('content-type', SCIM_CONTENT_TYPE)
      .header('retry-after', String(seconds))
      .send(JSON.stringify(scimErrorBody(429, undefined, `Too many failed authentication attempts from this address; retry after ${seconds} s`)))
  }

  if (!app.hasRequestDecorator('scimClient')) app.decorateRequest('scimClient', undefined)

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // request.ip is the peer, or the client named by X-Forwarded-For when Fastify's trustProxy is set (behind a
    // TLS terminator it must be, or every client shares the proxy's budget).
    const key = throttleKey(request.ip)
    const waiting = throttle?.retryAfter(key) ?? 0
    if (waiting > 0) {
      // Refused before the credentials are looked at: a throttled guesser learns nothing, not even a success.
      request.log.debug({ address: key, retryAfter: waiting }, 'SCIM authentication throttled')
      return tooMany(reply, waiting)
    }
    const result = authenticate(request.headers.authorization)
    if (typeof result !== 'string') {
      request.scimClient = result
      return
    }
    // The reason helps an admin whose IdP is misconfigured; the header and anything decoded from it never go to the log.
    request.log.info({ reason: result }, 'SCIM authentication failed')
    // Only a presented credential can be a guess: a request without any (a misdirected probe, a browser) costs
    // nothing, so a load balancer checking a SCIM path cannot get its own address throttled.
    const now = result === 'missing' ? 0 : throttle?.fail(key) ?? 0
    if (now > 0) request.log.warn({ address: key, retryAfter: now }, 'too many failed SCIM authentications: address throttled')
    return reply
      .code(401)
      .header('content-type', SCIM_CONTENT_TYPE)
      .header('www-authenticate', challenge)
      .send(FAILURE_BODY)
  })
}

export default fp(scimAuth, { name: 'scimforce-auth', fastify: '5.x' })
