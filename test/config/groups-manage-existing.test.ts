// groups.manageExisting: the admin-made public groups SCIM may write to (issue 11), read from YAML, refused when blank.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config/loader.js'

const BASE: NodeJS.ProcessEnv = {
  SF_LOGIN_URL: 'https://acme.my.salesforce.com',
  SF_CLIENT_ID: '3MVG9-client-id',
  SF_CLIENT_SECRET: 'sf-client-secret',
  SF_PROFILE_ID: '00e5j000001AbCdAAK',
  SCIM_BEARER_TOKEN: 'bearer-token-0123456789',
}

const dir = mkdtempSync(join(tmpdir(), 'scimforce-manage-existing-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function load (yaml: string): ReturnType<typeof loadConfig> {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(path, yaml)
  return loadConfig(BASE, { configPath: path })
}

describe('groups.manageExisting', () => {
  it('is absent by default: no admin-made group is writable', () => {
    expect(loadConfig(BASE).groups?.manageExisting).toBeUndefined()
  })

  it('takes names and Ids', () => {
    expect(load('groups:\n  manageExisting: [Sales Team, 00GHu00000000GAIAY]\n').groups?.manageExisting).toEqual(['Sales Team', '00GHu00000000GAIAY'])
  })

  it('refuses a blank entry or a non-list, naming the key', () => {
    for (const yaml of ['groups:\n  manageExisting: [""]\n', 'groups:\n  manageExisting: Sales Team\n']) {
      let thrown: unknown
      try { load(yaml) } catch (err) { thrown = err }
      expect(thrown).toBeInstanceOf(ConfigError)
      expect((thrown as ConfigError).problems.join('\n')).toMatch(/groups\.manageExisting/)
    }
  })
})
