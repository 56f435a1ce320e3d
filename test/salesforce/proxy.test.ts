// Outbound proxies: which requests go through HTTPS_PROXY / HTTP_PROXY and which NO_PROXY exempts, proved with a
// CONNECT proxy on 127.0.0.1 that counts its tunnels in front of the emulated org; doctor names the proxy when the
// proxy is what fails; and TLS to Salesforce trusts NODE_EXTRA_CA_CERTS (a child process: Node reads it at start).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import { connect, type Server as NetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { createServer as createTlsServer } from 'node:tls'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runChecks } from '../../src/doctor.js'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { createSalesforceSession } from '../../src/salesforce/connection.js'
import { createGateway } from '../../src/salesforce/gateway.js'
import { bypassesProxy, describeProxy, proxyFor } from '../../src/salesforce/proxy.js'
import { select } from '../../src/salesforce/soql.js'
import { cleanEnv, startChild } from '../app/support.js'
import { salesforceConfig } from '../fixtures/config.js'
import { quietLog } from '../reliability/fakes.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const Q = select({ fields: ['Id'], from: 'User', limit: 1 })

describe('proxyFor', () => {
  const env = { HTTPS_PROXY: 'http://proxy.corp:3128', HTTP_PROXY: 'http://plain.corp:8080' }
  it('takes HTTPS_PROXY for https URLs and HTTP_PROXY for http URLs, never HTTP_PROXY for https', () => {
    expect(proxyFor('https://login.salesforce.com/services/oauth2/token', env)).toBe('http://proxy.corp:3128')
    expect(proxyFor('http://127.0.0.1:8081/services/data', env)).toBe('http://plain.corp:8080')
    expect(proxyFor('https://login.salesforce.com/', { HTTP_PROXY: 'http://plain.corp:8080' })).toBeUndefined()
    expect(proxyFor('https://login.salesforce.com/', {})).toBeUndefined()
  })
  it('prefers the lower-case variable, ignores empty ones, and reads a bare host:port as an HTTP proxy', () => {
    expect(proxyFor('https://x.my.salesforce.com/', { https_proxy: 'http://low:1', HTTPS_PROXY: 'http://up:2' })).toBe('http://low:1')
    expect(proxyFor('https://x.my.salesforce.com/', { https_proxy: ' ', HTTPS_PROXY: 'http://up:2' })).toBe('http://up:2')
    expect(proxyFor('https://x.my.salesforce.com/', { HTTPS_PROXY: 'proxy.corp:3128' })).toBe('http://proxy.corp:3128')
  })
  it('honours NO_PROXY: exact hosts, domain suffixes with or without a dot or *., ports, and *', () => {
    const url = 'https://acme.my.salesforce.com/services/data'
    expect(proxyFor(url, { ...env, NO_PROXY: 'acme.my.salesforce.com' })).toBeUndefined()
    expect(proxyFor(url, { ...env, NO_PROXY: 'localhost, .salesforce.com' })).toBeUndefined()
    expect(proxyFor(url, { ...env, no_proxy: '*.salesforce.com' })).toBeUndefined()
    expect(proxyFor(url, { ...env, NO_PROXY: 'salesforce.com' })).toBeUndefined()
    expect(proxyFor(url, { ...env, NO_PROXY: '*' })).toBeUndefined()
    expect(proxyFor(url, { ...env, NO_PROXY: 'salesforce.com:443' })).toBeUndefined()
    expect(proxyFor(url, { ...env, NO_PROXY: 'salesforce.com:8443' })).toBe('http://proxy.corp:3128')
    expect(proxyFor(url, { ...env, NO_PROXY: 'force.com,notsalesforce.com' })).toBe('http://proxy.corp:3128')
    expect(bypassesProxy('::1', '80', '[::1]')).toBe(true)
    expect(bypassesProxy('127.0.0.1', '8080', '127.0.0.1')).toBe(true)
    expect(bypassesProxy('127.0.0.10', '8080', '127.0.0.1')).toBe(false)
  })
  it('never shows the proxy\'s credentials', () => {
    expect(describeProxy('http://user:s3cret@proxy.corp:3128')).toBe('http://proxy.corp:3128')
  })
})

/** A CONNECT-only proxy that counts its tunnels; `refuse` answers every CONNECT with that status instead. */
async function connectProxy (refuse?: number): Promise<{ server: Server, url: string, tunnels: () => number }> {
  let tunnels = 0
  const server = createHttpServer((_req, res) => { res.writeHead(405).end() })
  server.on('connect', (req, socket, head) => {
    if (refuse !== undefined) {
      socket.end(`HTTP/1.1 ${refuse} Refused\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\nno entry!`)
      return
    }
    tunnels++
    const [host, port] = (req.url ?? '').split(':')
    const upstream = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    upstream.on('error', () => socket.destroy())
    socket.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, tunnels: () => tunnels }
}

describe('Salesforce calls through a CONNECT proxy', () => {
  let emulator: Emulator
  let proxy: Awaited<ReturnType<typeof connectProxy>>
  beforeAll(async () => {
    emulator = await createEmulator()
    await emulator.listen()
    proxy = await connectProxy()
  })
  afterAll(async () => {
    await emulator.close()
    proxy.server.close()
  })

  it('sends the token request and every REST call through the proxy', async () => {
    const before = proxy.tunnels()
    const session = createSalesforceSession(salesforceConfig(emulator.url), quietLog, { HTTP_PROXY: proxy.url })
    const gateway = createGateway(session)
    await gateway.query(Q, quietLog)
    await gateway.query(Q, quietLog)
    // One tunnel per request (jsforce builds an agent per request): the token, then two queries.
    expect(proxy.tunnels() - before).toBe(3)
  })

  it('goes direct for a host NO_PROXY names, although a proxy is set', async () => {
    const before = proxy.tunnels()
    const session = createSalesforceSession(salesforceConfig(emulator.url), quietLog, { HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' })
    await createGateway(session).query(Q, quietLog)
    expect(proxy.tunnels() - before).toBe(0)
  })

  it('goes direct without proxy variables', async () => {
    const before = proxy.tunnels()
    await createGateway(createSalesforceSession(salesforceConfig(emulator.url), quietLog, {})).query(Q, quietLog)
    expect(proxy.tunnels() - before).toBe(0)
  })
})

describe('doctor behind a proxy', () => {
  let emulator: Emulator
  beforeAll(async () => {
    emulator = await createEmulator()
    await emulator.listen()
  })
  afterAll(async () => { await emulator.close() })

  const env = (extra: Record<string, string>): Record<string, string> => ({
    SF_LOGIN_URL: emulator.url,
    SF_CLIENT_ID: 'scimforce-demo',
    SF_CLIENT_SECRET: 'scimforce-demo-secret',
    SF_PROFILE_ID: emulator.seed.profiles['Standard User'] as string,
    SCIM_BEARER_TOKEN: 'doctor-proxy-bearer-token-5e1a',
    STORE_PATH: ':memory:',
    ...extra,
  })

  it('passes through a working proxy', async () => {
    const proxy = await connectProxy()
    try {
      const rows = await runChecks(env({ HTTP_PROXY: proxy.url }))
      expect(rows.filter((r) => r.status === 'fail')).toEqual([])
      expect(proxy.tunnels()).toBeGreaterThan(0)
    } finally { proxy.server.close() }
  })

  it('blames the proxy, not the login URL, when nothing listens at the proxy address', async () => {
    const dead = await connectProxy()
    dead.server.close()
    const token = (await runChecks(env({ HTTP_PROXY: dead.url }))).find((r) => r.name === 'salesforce token')
    expect(token?.status).toBe('fail')
    expect(token?.detail).toContain(`through the proxy ${dead.url} (ECONNREFUSED)`)
    expect(token?.detail).toContain('HTTP_PROXY')
    expect(token?.detail).not.toContain('check SF_LOGIN_URL')
  })

  it('says what the proxy answered when it refuses the tunnel (407: credentials)', async () => {
    const proxy = await connectProxy(407)
    try {
      const token = (await runChecks(env({ HTTP_PROXY: proxy.url }))).find((r) => r.name === 'salesforce token')
      expect(token?.status).toBe('fail')
      expect(token?.detail).toContain('the proxy answered 407, it wants credentials')
    } finally { proxy.server.close() }
  })
})

describe('TLS to Salesforce with a private CA (NODE_EXTRA_CA_CERTS)', () => {
  let dir: string
  let emulator: Emulator
  let tls: NetServer
  let tlsUrl: string
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scimforce-ca-'))
    // A self-signed certificate for 127.0.0.1 plays a corporate TLS-inspecting CA: trusted only if added.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'ca.pem')], { stdio: 'ignore' })
    emulator = await createEmulator()
    await emulator.listen()
    // TLS in front of the emulated org: each decrypted connection is piped to it, as a TLS-inspecting proxy would.
    const port = Number(new URL(emulator.url).port)
    tls = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'ca.pem')) }, (socket) => {
      const upstream = connect(port, '127.0.0.1')
      socket.pipe(upstream).pipe(socket)
      upstream.on('error', () => socket.destroy())
      socket.on('error', () => upstream.destroy())
    })
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve))
    tlsUrl = `https://127.0.0.1:${(tls.address() as { port: number }).port}`
  })
  afterAll(async () => {
    tls.close()
    await emulator.close()
    rmSync(dir, { recursive: true, force: true })
  })

  async function doctorWith (extra: Record<string, string>): Promise<string> {
    const child = startChild(join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/cli.ts', 'doctor'], {
      cwd: ROOT,
      env: cleanEnv({
        SF_LOGIN_URL: tlsUrl,
        SF_CLIENT_ID: 'scimforce-demo',
        SF_CLIENT_SECRET: 'scimforce-demo-secret',
        SF_PROFILE_ID: emulator.seed.profiles['Standard User'] as string,
        SCIM_BEARER_TOKEN: 'doctor-ca-bearer-token-7c2d',
        STORE_PATH: ':memory:',
        ...extra,
      }),
    })
    await child.exited
    return child.stdout()
  }

  it('fails without the CA and passes with NODE_EXTRA_CA_CERTS naming it', async () => {
    const without = await doctorWith({})
    expect(without).toMatch(/salesforce token\s+FAIL\s+the TLS certificate of https:\/\/127\.0\.0\.1:\d+ is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/)
    expect(without).toContain('NODE_EXTRA_CA_CERTS')
    const withCa = await doctorWith({ NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') })
    expect(withCa).toContain('all ')
    expect(withCa).toMatch(/salesforce token\s+PASS/)
  }, 60_000)
})
