// The commented examples in config/ must stay loadable: each is loaded with its secrets filled in.
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/loader.js'

const configDir = fileURLToPath(new URL('../../config/', import.meta.url))
const PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()

/** Serves the example from disk and a stand-in for every /run/secrets file it names. */
function readFile (path: string): string {
  if (path.startsWith('/run/secrets/')) return path.endsWith('.pem') ? PEM : `secret-for-${path.slice('/run/secrets/'.length)}\n`
  return readFileSync(path, 'utf8')
}

describe('config examples', () => {
  it('wso2.example.yaml: a Basic client with partial PUTs, client credentials', () => {
    const config = loadConfig({ SCIMFORCE_CONFIG: `${configDir}wso2.example.yaml`, SF_CLIENT_SECRET_FILE: '/run/secrets/sf-client-secret' }, { readFile })
    expect(config.clients).toEqual([
      { name: 'wso2', auth: { type: 'basic', username: 'wso2-outbound', password: 'secret-for-scim-wso2-password' }, putMode: 'merge' }
    ])
    expect(config.salesforce).toMatchObject({ authFlow: 'client_credentials', clientSecret: 'secret-for-sf-client-secret', apiVersion: '62.0' })
    expect(config.users.defaults).toMatchObject({ TimeZoneSidKey: 'Europe/London', LocaleSidKey: 'en_GB' })
  })

  it('entra.example.yaml: a Bearer client, JWT bearer flow', () => {
    const config = loadConfig({ SCIMFORCE_CONFIG: `${configDir}entra.example.yaml` }, { readFile })
    expect(config.clients).toEqual([
      { name: 'entra', auth: { type: 'bearer', token: 'secret-for-scim-entra-token' }, putMode: 'replace', patchResponse: 'noContent' }
    ])
    expect(config.salesforce).toMatchObject({ authFlow: 'jwt', username: 'scim-integration@contoso.example', jwtPrivateKey: PEM.replace(/\n$/, '') })
    expect(config.users.extraMappings).toHaveLength(1)
  })

  it('okta.example.yaml: a Bearer client, client credentials', () => {
    const config = loadConfig({ SCIMFORCE_CONFIG: `${configDir}okta.example.yaml` }, { readFile })
    expect(config.clients).toEqual([
      { name: 'okta', auth: { type: 'bearer', token: 'secret-for-scim-okta-token' }, putMode: 'replace' }
    ])
    expect(config.salesforce).toMatchObject({ authFlow: 'client_credentials', clientSecret: 'secret-for-sf-client-secret' })
  })

  it('lets the environment override an example', () => {
    const config = loadConfig({ SCIMFORCE_CONFIG: `${configDir}okta.example.yaml`, PORT: '9000', SF_PROFILE_ID: '00e000000000002AAA' }, { readFile })
    expect(config.server.port).toBe(9000)
    expect(config.users.defaults.ProfileId).toBe('00e000000000002AAA')
  })
})
