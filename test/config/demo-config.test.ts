// The demo's configuration (src/demo-config.ts, config/demo.yaml): what `npm run demo` serves and the conformance
// run measures.
import { describe, expect, it } from 'vitest'
import { demoConfig } from '../../src/demo-config.js'
import { loadConfig } from '../../src/config/loader.js'

describe('demo configuration', () => {
  it('answers the Bearer (Entra-style) client PATCH with 204, the Basic (WSO2) client with the resource, and qualifies plain userNames', () => {
    const config = demoConfig({}, { url: 'http://127.0.0.1:1', profileId: '00e000000000001AAA' })
    expect(config.clients.find((c) => c.auth.type === 'bearer')?.patchResponse).toBe('noContent')
    expect(config.clients.find((c) => c.auth.type === 'basic')?.patchResponse).toBeUndefined()
    expect(config.users.usernameDomain).toBe('scimforce.demo')
    expect(demoConfig({ SCIM_BEARER_PATCH_RESPONSE: 'resource' }, { url: 'http://127.0.0.1:1', profileId: '00e000000000001AAA' }).clients[0]?.patchResponse).toBe('resource')
  })

  it('reads SCIM_BEARER_PATCH_RESPONSE and SF_USERNAME_DOMAIN, and names the variable when a value is wrong', () => {
    const base = { SF_LOGIN_URL: 'https://example.my.salesforce.com', SF_CLIENT_ID: 'id', SF_CLIENT_SECRET: 'secret', SF_PROFILE_ID: '00e000000000001AAA', SCIM_BEARER_TOKEN: 'token-0123456789abcdef' }
    const config = loadConfig({ ...base, SCIM_BEARER_PATCH_RESPONSE: 'noContent', SF_USERNAME_DOMAIN: 'corp.example' }, { configPath: undefined })
    expect(config.clients[0]?.patchResponse).toBe('noContent')
    expect(config.users.usernameDomain).toBe('corp.example')
    expect(() => loadConfig({ ...base, SCIM_BEARER_PATCH_RESPONSE: 'empty' }, { configPath: undefined })).toThrow(/SCIM_BEARER_PATCH_RESPONSE/)
    expect(() => loadConfig({ ...base, SF_USERNAME_DOMAIN: '@corp.example' }, { configPath: undefined })).toThrow(/SF_USERNAME_DOMAIN/)
  })
})
