// Schemas of the server.* keys about the network in front of scimforce: which proxies to trust for the client's
// address (trustProxy) and the failed-authentication throttle (authThrottle). Imported by schema.ts.
import { isIP } from 'node:net'
import { z } from 'zod'

// Names Fastify's trustProxy (proxy-addr) accepts for the private ranges, besides addresses and CIDR blocks.
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

function isAddressOrRange (s: string): boolean {
  if (NAMED_RANGES.has(s)) return true
  const [address = '', bits, extra] = s.split('/')
  if (extra !== undefined) return false
  const family = isIP(address)
  if (family === 0) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}

/**
 * Which peers may name the client in X-Forwarded-For (and the scheme and host in X-Forwarded-Proto/-Host): Fastify's
 * trustProxy. false (default): nobody, the TCP peer is the client. true: any peer, only right when nothing but the
 * proxy can reach scimforce. A list (or a comma-separated string, as TRUST_PROXY gives it): the proxies' addresses
 * or CIDR blocks, or loopback / linklocal / uniquelocal. No hop counts: Fastify 5 trusts no peer for a number
 * (lib/request.js: a count cannot tell the proxy from a client that sends enough X-Forwarded-For entries).
 * Without it, behind a TLS-terminating proxy every IdP shares the proxy's address and its failed-auth budget.
 */
const TRUST_PROXY_FORMS = 'true, false, or the proxies\' addresses / CIDR blocks such as 10.0.0.0/8 (also loopback, linklocal, uniquelocal)'

export const trustProxySchema = z.union([z.boolean(), z.number(), z.string(), z.array(z.string())]).transform((v, ctx): boolean | string[] => {
  if (typeof v === 'boolean') return v
  if (typeof v === 'number') {
    ctx.addIssue({ code: 'custom', message: `must be ${TRUST_PROXY_FORMS}, not a number: hop counts cannot tell a proxy from a client` })
    return z.NEVER
  }
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase()
    if (s === 'true') return true
    if (s === 'false') return false
  }
  const list = (typeof v === 'string' ? v.split(',') : v).map((s) => s.trim()).filter((s) => s !== '')
  const bad = list.filter((s) => !isAddressOrRange(s))
  if (list.length === 0 || bad.length > 0) {
    ctx.addIssue({ code: 'custom', message: `must be ${TRUST_PROXY_FORMS}; not ${bad.length > 0 ? bad.map((b) => `"${b}"`).join(', ') : 'empty'}` })
    return z.NEVER
  }
  return list
})

const positive = z.number().int().min(1)

/**
 * The failed-authentication throttle (src/http/auth.ts, DEFAULT_THROTTLE there): per client address and for all
 * addresses together. false turns it off, for a deployment whose proxy throttles instead.
 */
export const authThrottleSchema = z.union([
  z.literal(false),
  z.strictObject({
    /** Failures one address may make before it waits (default 20). */
    maxFailures: positive.optional(),
    /** One failure is forgiven per this many ms (default 3000). */
    forgiveMs: positive.optional(),
    /** Failures all addresses together may make before unknown addresses wait (default 1000). */
    globalMaxFailures: positive.optional(),
    /** One failure of the global budget is forgiven per this many ms (default 100). */
    globalForgiveMs: positive.optional()
  })
])
