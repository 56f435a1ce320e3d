// Outbound proxy for Salesforce calls: HTTPS_PROXY / HTTP_PROXY / NO_PROXY, decided per request URL.
import type { Connection, HttpRequest, HttpRequestOptions } from '@jsforce/jsforce-node'

export type ProxyEnv = Readonly<Record<string, string | undefined>>

/** The shape of jsforce's transports (Connection#_transport, OAuth2#_transport): one method is all we touch. */
type Transport = Connection['_transport']

function envValue (env: ProxyEnv, name: string): string | undefined {
  // Lower case first, as curl and most tools read them (and as jsforce itself does); a blank one does not count.
  for (const value of [env[name.toLowerCase()], env[name.toUpperCase()]]) {
    if (value !== undefined && value.trim() !== '') return value.trim()
  }
  return undefined
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' }

/**
 * Whether NO_PROXY exempts this host and port. Follows the common (curl, proxy-from-env) reading: a comma- or
 * space-separated list; `*` exempts everything; an entry matches the host itself and its subdomains, with or
 * without a leading `.` or `*.`; an entry may carry `:port`, which must then match too. IP addresses match exactly
 * (no CIDR ranges: curl reads those only since 7.86, most tools not at all).
 */
export function bypassesProxy (hostname: string, port: string, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  for (const raw of noProxy.toLowerCase().split(/[\s,]+/)) {
    if (raw === '') continue
    if (raw === '*') return true
    // host, host:port, [v6 address] or [v6 address]:port; a bare v6 address (two colons or more) has no port.
    const m = raw.startsWith('[') ? /^\[(.*)\](?::(\d+))?$/.exec(raw) : raw.split(':').length > 2 ? [raw, raw] : /^(.*?)(?::(\d+))?$/.exec(raw)
    let entry = m?.[1] ?? raw
    const entryPort = m?.[2]
    if (entryPort !== undefined && entryPort !== port) continue
    entry = entry.replace(/^\*?\./, '')
    if (entry === '') continue
    if (host === entry || host.endsWith(`.${entry}`)) return true
  }
  return false
}

/**
 * The proxy a request to `url` goes through, or undefined for a direct connection: HTTPS_PROXY for https URLs,
 * HTTP_PROXY for http URLs (an https URL does not fall back to HTTP_PROXY, as curl does not), unless NO_PROXY
 * exempts the host. jsforce 3.10.16 reads only the proxy variables, once at import, takes HTTP_PROXY for https
 * URLs too, and ignores NO_PROXY; this function replaces that decision (installProxyRouting).
 */
export function proxyFor (url: string, env: ProxyEnv = process.env): string | undefined {
  let target: URL
  try { target = new URL(url) } catch { return undefined }
  const proxy = target.protocol === 'https:' ? envValue(env, 'https_proxy') : target.protocol === 'http:' ? envValue(env, 'http_proxy') : undefined
  if (proxy === undefined) return undefined
  const port = target.port !== '' ? target.port : (DEFAULT_PORTS[target.protocol] ?? '')
  if (bypassesProxy(target.hostname, port, envValue(env, 'no_proxy'))) return undefined
  // A proxy written without a scheme (host:port, as some tools accept) is an HTTP proxy.
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`
}

/** The proxy URL without its credentials, for logs and doctor's messages. */
export function describeProxy (proxy: string): string {
  try {
    const u = new URL(proxy)
    return `${u.protocol}//${u.host}`
  } catch {
    return 'the configured proxy'
  }
}

/**
 * Makes every request of this jsforce transport take the proxy proxyFor picks for its URL, or none: the per-call
 * `httpProxy` option of jsforce's request layer wins over the defaults jsforce read from the environment at import
 * (`{ ...defaults, ...options }`), so an explicit `undefined` means a direct connection. jsforce then tunnels with
 * CONNECT (https-proxy-agent, for http and https targets alike) and TLS to Salesforce is checked against Node's CA
 * store, NODE_EXTRA_CA_CERTS included. Each proxied request opens its own tunnel (jsforce builds a new agent per
 * request), so connections through a proxy are not kept alive. test/salesforce/proxy.test.ts proves all of it.
 */
function routeTransport (transport: Transport, env: ProxyEnv): void {
  const original = transport.httpRequest.bind(transport)
  transport.httpRequest = (req: HttpRequest, options: HttpRequestOptions = {}) =>
    original(req, { ...options, httpProxy: proxyFor(req.url, env) })
}

/**
 * Routes a Connection's REST calls and its OAuth token requests (two separate transports in jsforce) through
 * routeTransport. `_transport` is a public, typed field in jsforce 3.10.16 (pinned exactly in package.json).
 */
export function installProxyRouting (conn: Connection, env: ProxyEnv = process.env): void {
  routeTransport(conn._transport, env)
  routeTransport(conn.oauth2._transport, env)
}
