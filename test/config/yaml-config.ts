// Loading a YAML config file in a config test: a temporary folder per test file (removed after it), the minimal
// environment every config needs, and the problems a refused file reports.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config/loader.js'

/** The least environment a config loads with: a My Domain login, a client, the profile, one SCIM client. */
export const BASE_ENV: NodeJS.ProcessEnv = {
  SF_LOGIN_URL: 'https://acme.my.salesforce.com',
  SF_CLIENT_ID: '3MVG9-client-id',
  SF_CLIENT_SECRET: 'sf-client-secret',
  SF_PROFILE_ID: '00e5j000001AbCdAAK',
  SCIM_BEARER_TOKEN: 'bearer-token-0123456789',
}

export function yamlConfigs (name: string): { load: (yaml: string) => ReturnType<typeof loadConfig>, problems: (yaml: string) => readonly string[] } {
  const dir = mkdtempSync(join(tmpdir(), `scimforce-${name}-`))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  let n = 0
  const load = (yaml: string): ReturnType<typeof loadConfig> => {
    const path = join(dir, `c${++n}.yaml`)
    writeFileSync(path, yaml)
    return loadConfig(BASE_ENV, { configPath: path })
  }
  const problems = (yaml: string): readonly string[] => {
    try {
      load(yaml)
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      return (err as ConfigError).problems
    }
    throw new Error('expected a ConfigError')
  }
  return { load, problems }
}
