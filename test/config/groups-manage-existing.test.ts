// groups.manageExisting: the admin-made public groups SCIM may write to (issue 11), read from YAML, refused when blank.
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config/loader.js'
import { BASE_ENV as BASE, yamlConfigs } from './yaml-config.js'

const { load } = yamlConfigs('manage-existing')

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
