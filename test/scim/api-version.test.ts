// An API version the org does not offer (issue 12): every record reads 404 NOT_FOUND there, which must reach the IdP
// as an outage (503), never as "deleted"; readiness says not ready and the server refuses to start.
import { afterEach, describe, expect, it } from 'vitest'
import type { Config } from '../../src/config/types.js'
import { startServer } from '../../src/server.js'
import { auth, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness | undefined
afterEach(async () => { await h?.close(); h = undefined })

const v99 = (c: Config): Config => ({ ...c, salesforce: { ...c.salesforce, apiVersion: '99.0' } })

describe('SF_API_VERSION not offered by the org', () => {
  it('answers 503 (never 404) for a user read, and /readyz is not ready', async () => {
    h = await startHarness({ config: v99 })
    const someone = h.emulator.seed.users['grace.hopper@scimforce.demo']
    const res = await h.http.get(`${SCIM}/Users/${String(someone)}`).set(auth)
    expect(res.status).toBe(503)
    expect(String(res.body.detail)).toMatch(/API version v99\.0/)
    const patch = await h.http.patch(`${SCIM}/Users/${String(someone)}`).set(auth).set('Content-Type', 'application/scim+json')
      .send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'x' }] })
    expect(patch.status).toBe(503)
    const ready = await h.http.get('/readyz')
    expect(ready.status).toBeGreaterThanOrEqual(500)
  })

  it('refuses to start, naming the version', async () => {
    h = await startHarness()
    const config = v99({ ...h.config, server: { ...h.config.server, port: 0, host: '127.0.0.1', logLevel: 'silent' } })
    await expect(startServer(config)).rejects.toThrow(/SF_API_VERSION 99\.0 is not offered/)
  })
})
