// Behind a TLS-terminating proxy every IdP arrives from the proxy's address: with server.trustProxy the auth
// throttle charges failures to the client X-Forwarded-For names, so a guesser cannot lock the real IdP out; without
// it, it charges the proxy (and X-Forwarded-For is ignored, so no client can pick its own address). Plus the
// server.authThrottle knobs.
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/loader.js'
import type { Config } from '../../src/config/types.js'
import { auth, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness | undefined
afterEach(async () => { await h?.close(); h = undefined })

const A = '203.0.113.7' // the guesser
const B = '198.51.100.9' // the real IdP
const BAD = { Authorization: 'Bearer not-the-token-at-all-0000' }

async function harness (server: Partial<Config['server']>): Promise<Harness> {
  h = await startHarness({ config: (c) => ({ ...c, server: { ...c.server, ...server } }) })
  return h
}

async function guess (hh: Harness, times: number, from: string): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < times; i++) statuses.push((await hh.http.get(`${SCIM}/Users?count=1`).set(BAD).set('X-Forwarded-For', from)).status)
  return statuses
}

describe('server.trustProxy', () => {
  it('on: 20 bad tokens from one forwarded client do not throttle the good token of another', async () => {
    const hh = await harness({ trustProxy: ['loopback'] })
    expect(await guess(hh, 20, A)).toEqual(Array(20).fill(401))
    expect((await hh.http.get(`${SCIM}/Users?count=1`).set(BAD).set('X-Forwarded-For', A)).status).toBe(429)
    const good = await hh.http.get(`${SCIM}/Users?count=1`).set(auth).set('X-Forwarded-For', B)
    expect(good.status).toBe(200)
  })

  it('off (the default): every request is the proxy\'s, so the guesser\'s failures throttle everyone behind it', async () => {
    const hh = await harness({})
    await guess(hh, 20, A)
    expect((await hh.http.get(`${SCIM}/Users?count=1`).set(auth).set('X-Forwarded-For', B)).status).toBe(429)
  })

  it('trusts only the proxies listed: a peer not in the list cannot pick its address with X-Forwarded-For', async () => {
    const hh = await harness({ trustProxy: ['10.0.0.0/8'] })
    await guess(hh, 20, A)
    expect((await hh.http.get(`${SCIM}/Users?count=1`).set(auth).set('X-Forwarded-For', B)).status).toBe(429)
  })
})

describe('server.authThrottle', () => {
  it('sets the failures an address may make', async () => {
    const hh = await harness({ authThrottle: { maxFailures: 3 } })
    expect(await guess(hh, 4, A)).toEqual([401, 401, 401, 429])
  })

  it('false turns the throttle off', async () => {
    const hh = await harness({ authThrottle: false })
    expect(new Set(await guess(hh, 25, A))).toEqual(new Set([401]))
  })
})

describe('TRUST_PROXY and the config file', () => {
  const BASE = {
    SF_LOGIN_URL: 'https://acme.my.salesforce.com',
    SF_CLIENT_ID: '3MVG9-client-id',
    SF_CLIENT_SECRET: 'sf-client-secret',
    SF_PROFILE_ID: '00e5j000001AbCdAAK',
    SCIM_BEARER_TOKEN: 'bearer-token-0123456789',
  }
  const problems = (env: NodeJS.ProcessEnv): string => {
    try { loadConfig(env) } catch (err) { return (err as Error).message }
    return ''
  }

  it('reads true, false and comma-separated addresses or CIDR blocks', () => {
    expect(loadConfig(BASE).server.trustProxy).toBe(false)
    expect(loadConfig({ ...BASE, TRUST_PROXY: 'true' }).server.trustProxy).toBe(true)
    expect(loadConfig({ ...BASE, TRUST_PROXY: 'FALSE' }).server.trustProxy).toBe(false)
    expect(loadConfig({ ...BASE, TRUST_PROXY: '10.0.0.0/8, 192.168.1.5,loopback,fd00::/8' }).server.trustProxy).toEqual(['10.0.0.0/8', '192.168.1.5', 'loopback', 'fd00::/8'])
  })

  it('refuses hop counts and what is not an address, naming the variable', () => {
    expect(problems({ ...BASE, TRUST_PROXY: '2' })).toMatch(/^TRUST_PROXY \(server\.trustProxy\) must be true, false, or the proxies' addresses/)
    expect(problems({ ...BASE, TRUST_PROXY: 'proxy.corp' })).toContain('not "proxy.corp"')
    expect(problems({ ...BASE, TRUST_PROXY: '10.0.0.0/33' })).toContain('not "10.0.0.0/33"')
  })

  it('reads authThrottle from the config file only, refusing unknown knobs', () => {
    const readFile = (yaml: string) => () => yaml
    expect(loadConfig(BASE, { configPath: '/x.yaml', readFile: readFile('server:\n  authThrottle:\n    maxFailures: 5\n') }).server.authThrottle).toEqual({ maxFailures: 5 })
    expect(loadConfig(BASE, { configPath: '/x.yaml', readFile: readFile('server:\n  authThrottle: false\n') }).server.authThrottle).toBe(false)
    let message = ''
    try { loadConfig(BASE, { configPath: '/x.yaml', readFile: readFile('server:\n  authThrottle:\n    maxFailure: 5\n') }) } catch (err) { message = (err as Error).message }
    expect(message).toContain('server.authThrottle.maxFailure in the config file is not a known setting')
  })
})
