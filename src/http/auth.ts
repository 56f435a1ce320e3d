// SCIM client authentication (Basic and Bearer) as an onRequest hook for the encapsulated SCIM routes only, with
// a throttle on repeated failures (429 + Retry-After): per address (IPv6 per /48) and global, in bounded memory.
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
  /** Addresses remembered at most; the least recently failing one under its limit is forgotten first. Bounds memory. */
  maxTracked: number
  /** Failures all addresses together may accumulate before every address not known to be good is refused. */
  globalMaxFailures: number
  /** One failure of the global budget is forgiven per this many milliseconds. */
  globalForgiveMs: number
  /** Addresses remembered as good (a recent success) at most; they keep their way in while the global budget is spent. */
  maxKnownGood: number
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
 * one every 3 s (20 a minute at most). Ten thousand addresses cost about a megabyte. An attacker with many
 * addresses (a botnet, a cloud account's IPv4 pool) meets the global budget: 1,000 failures, then 10 a second for
 * everyone together (864,000 a day, nothing against a 32-byte token); the IdPs that authenticated in the last
 * day keep their way in meanwhile.
 */
export const DEFAULT_THROTTLE: Readonly<ThrottleOptions> = Object.freeze({
  maxFailures: 20,
  forgiveMs: 3000,
  maxTracked: 10_000,
  globalMaxFailures: 1000,
  globalForgiveMs: 100,
  maxKnownGood: 1000,
})

/** How long an address that authenticated stays known-good (exempt from the global budget, not from its own). */
const KNOWN_GOOD_MS = 24 * 60 * 60 * 1000

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
 * The address a failure is charged to. IPv4-mapped IPv6 is the IPv4 address; other IPv6 addresses count per /48,
 * the smallest block a site is routinely given (RIPE-690, ARIN's end-site assignments): counting per /64 would let
 * one site try from 65,536 "different" subnets, per address from 2^80.
 */
export function throttleKey (ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)
  if (mapped !== null && isIPv4(mapped[1] as string)) return mapped[1] as string
  if (!isIPv6(ip)) return ip
  const bare = ip.split('%')[0] ?? ''
  // An embedded IPv4 tail (::1.2.3.4) is two groups at the end, never in the first three.
  const [head = '', tail = ''] = bare.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = bare.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${groups.slice(0, 3).map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/48`
}

export interface FailureThrottle {
  /** Seconds the address must wait, or 0 when it may try. */
  retryAfter (key: string): number
  /** Charges one failure to the address and to the global budget; returns the address's new wait in seconds. */
  fail (key: string): number
  /** Records a success: the address is known-good, so the global budget does not shut it out. */
  succeed (key: string): void
  /** Addresses currently remembered (tests, metrics). */
  readonly size: number
}

interface Bucket { level: number, since: number }

/**
 * Leaky buckets in whole failures: each failure adds one, one leaks out every `forgiveMs`; at the limit the
 * address waits until the next one has leaked. One bucket per address, one for all addresses together. A success
 * does not empty an address's bucket: an attacker behind the same address as a real IdP (a NAT, a proxy) would
 * otherwise reset it between guesses.
 */
export function createFailureThrottle (opts: Partial<ThrottleOptions> = {}, now: () => number = Date.now): FailureThrottle {
  const o = { ...DEFAULT_THROTTLE, ...opts }
  if (![o.maxFailures, o.forgiveMs, o.maxTracked, o.globalMaxFailures, o.globalForgiveMs, o.maxKnownGood].every((n) => n >= 1)) {
    throw new RangeError('throttle: every limit must be positive')
  }
  // `since`: when the failure now at the bottom of the bucket started leaking. Map iteration order is insertion
  // order, and every failure re-inserts, so the least recently failing address comes first. (A plain Map, not
  // lru-cache: a bucket empties by the leak arithmetic rather than a TTL, a look-up must not refresh recency, which
  // lru-cache's get() would, and eviction must skip full buckets, which no LRU does.)
  const buckets = new Map<string, Bucket>()
  const global: Bucket = { level: 0, since: now() }
  // Address → time of its last success, oldest first.
  const good = new Map<string, number>()

  /** Applies the leak; the level after it. */
  function leak (b: Bucket, t: number, forgiveMs: number): number {
    const leaked = Math.floor((t - b.since) / forgiveMs)
    if (leaked > 0) {
      b.level = Math.max(0, b.level - leaked)
      b.since += leaked * forgiveMs
    }
    if (b.level === 0) b.since = t
    return b.level
  }

  function current (key: string, t: number): Bucket | undefined {
    const b = buckets.get(key)
    if (b === undefined) return undefined
    if (leak(b, t, o.forgiveMs) > 0) return b
    buckets.delete(key)
    return undefined
  }

  /** Whole seconds until the bucket is under its limit again (at least 1), or 0 if it is now. */
  function wait (b: Bucket | undefined, t: number, max: number, forgiveMs: number): number {
    if (b === undefined || b.level < max) return 0
    const ms = b.since + forgiveMs - t + (b.level - max) * forgiveMs
    return Math.max(1, Math.ceil(ms / 1000))
  }

  function knownGood (key: string, t: number): boolean {
    const at = good.get(key)
    return at !== undefined && t - at < KNOWN_GOOD_MS
  }

  function globalWait (key: string, t: number): number {
    leak(global, t, o.globalForgiveMs)
    return knownGood(key, t) ? 0 : wait(global, t, o.globalMaxFailures, o.globalForgiveMs)
  }

  /**
   * Makes room for one more address: forgets the least recently failing address that is under its limit. An
   * address at its limit is never forgotten to make room, or an attacker could flush its own bucket by failing
   * from enough other addresses; when every remembered address is at its limit, nobody new is remembered (the
   * global budget still counts them). The scan runs once per failure, and failures are what the budgets bound.
   */
  function makeRoom (t: number): boolean {
    if (buckets.size < o.maxTracked) return true
    for (const key of buckets.keys()) {
      const b = current(key, t)
      if (b === undefined) return true
      if (b.level < o.maxFailures) {
        buckets.delete(key)
        return true
      }
    }
    return false
  }

  return {
    retryAfter (key) {
      const t = now()
      return Math.max(wait(current(key, t), t, o.maxFailures, o.forgiveMs), globalWait(key, t))
    },
    fail (key) {
      const t = now()
      leak(global, t, o.globalForgiveMs)
      global.level++
      const b = current(key, t)
      buckets.delete(key)
      if (b === undefined && !makeRoom(t)) return globalWait(key, t)
      const bucket = b ?? { level: 0, since: t }
      bucket.level++
      buckets.set(key, bucket)
      return Math.max(wait(bucket, t, o.maxFailures, o.forgiveMs), globalWait(key, t))
    },
    succeed (key) {
      good.delete(key)
      if (good.size >= o.maxKnownGood) good.delete(good.keys().next().value as string)
      good.set(key, now())
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
      .send(JSON.stringify(scimErrorBody(429, undefined, `Too many failed authentication attempts; retry after ${seconds} s`)))
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
      throttle?.succeed(key)
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
