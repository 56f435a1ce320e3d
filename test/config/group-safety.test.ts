// Issue 11 in the configuration: group-mapping patterns reach only a Salesforce-side prefix, profiles take no
// pattern, allowPrivileged is read, and extra mappings and users.defaults cannot write sensitive User fields. Each
// refusal names its key.
import { describe, expect, it } from 'vitest'
import { isSensitiveUserField } from '../../src/config/schema.js'
import { yamlConfigs } from './yaml-config.js'

const { load, problems } = yamlConfigs('group-safety')

const mapping = (line: string): string => `groups:\n  mappings:\n    - ${line}\n`

describe('group mapping patterns', () => {
  it('refuses a pattern that may reach any record of its kind', () => {
    for (const [kind, target] of [['permissionSet', '*'], ['permissionSetGroup', '*'], ['role', '*'], ['permissionSet', '*_Admin']]) {
      const found = problems(mapping(`{ displayName: "SF *", ${kind}: "${target}" }`))
      expect(found).toHaveLength(1)
      expect(found[0]).toMatch(new RegExp(`^groups\\.mappings\\[0\\]\\.${kind} must start with a naming prefix before the \\* \\(e\\.g\\. "SCIM_\\*"\\)`))
    }
  })

  it('accepts a pattern within a prefix the Salesforce admin chose', () => {
    const c = load(`groups:
  mappings:
    - { displayName: "SF PS *", permissionSet: "SCIM_*" }
    - { displayName: "SF PSG *", permissionSetGroup: "SCIM_*" }
    - { displayName: "Role *", role: "Sales_*" }
`)
    expect(c.groups?.mappings.map((m) => m.target)).toEqual(['SCIM_*', 'SCIM_*', 'Sales_*'])
  })

  it('refuses any pattern on a profile, even with a prefix', () => {
    for (const target of ['*', 'SCIM_*']) {
      const found = problems(mapping(`{ displayName: "Profile *", profile: "${target}" }`))
      expect(found).toEqual([expect.stringMatching(/^groups\.mappings\[0\]\.profile must name one profile, not a pattern/)])
    }
  })

  it('reads allowPrivileged (absent unless true) and refuses a value that is not true/false', () => {
    const c = load(`groups:
  mappings:
    - { displayName: Admins, profile: System Administrator, allowPrivileged: true }
    - { displayName: Sales, profile: Standard User, allowPrivileged: false }
`)
    expect(c.groups?.mappings[0]).toMatchObject({ kind: 'profile', target: 'System Administrator', allowPrivileged: true })
    expect(c.groups?.mappings[1]).not.toHaveProperty('allowPrivileged')
    expect(problems(mapping('{ displayName: A, permissionSet: B, allowPrivileged: yes please }'))).toEqual([
      expect.stringMatching(/^groups\.mappings\[0\]\.allowPrivileged must be true or false/),
    ])
  })
})

describe('users.extraMappings targets', () => {
  const extra = (field: string): string => `users:\n  extraMappings:\n    - { scim: "title", salesforce: ${field} }\n`

  it('refuses profile, role, login, activation, identity, manager and permission fields, naming the key', () => {
    const refused = ['ProfileId', 'UserRoleId', 'Username', 'IsActive', 'FederationIdentifier', 'ManagerId', 'profileid', 'PermissionsModifyAllData', 'UserPermissionsMarketingUser', 'userpermissionsofflineuser']
    for (const field of refused) {
      const found = problems(extra(field))
      expect(found, field).toHaveLength(1)
      expect(found[0]).toMatch(new RegExp(`^users\\.extraMappings\\[0\\]\\.salesforce must not be ${field}: .*groups\\.mappings`))
    }
  })

  it('accepts ordinary fields', () => {
    for (const field of ['CostCenter__c', 'Department', 'Division', 'EmployeeNumber', 'Permission_Level__c']) {
      expect(load(extra(field)).users.extraMappings[0]?.salesforce).toBe(field)
      expect(isSensitiveUserField(field)).toBe(false)
    }
  })
})

describe('users.defaults', () => {
  const defaults = (field: string, value: string): string => `users:\n  defaults:\n    ${field}: ${value}\n`

  it('refuses role, login, activation, identity, manager and admin permission fields, naming the key', () => {
    const refused: Array<[string, string]> = [
      ['UserRoleId', '00E000000000001'], ['Username', 'x@y.example'], ['IsActive', 'false'], ['isactive', 'true'],
      ['FederationIdentifier', 'sso'], ['ManagerId', '005000000000001'], ['PermissionsModifyAllData', 'true'], ['UserType', 'Standard'],
    ]
    for (const [field, value] of refused) {
      const found = problems(defaults(field, value))
      expect(found, field).toHaveLength(1)
      expect(found[0]).toMatch(new RegExp(`^users\\.defaults\\.${field} cannot be a default: .*groups\\.mappings`))
    }
  })

  it('keeps ProfileId (the profile default), the UserPermissions* feature flags and ordinary fields', () => {
    const cfg = load('users:\n  defaults:\n    ProfileId: 00e000000000001\n    UserPermissionsMarketingUser: true\n    UserPermissionsKnowledgeUser: true\n    Department: Drivers\n')
    expect(cfg.users.defaults).toMatchObject({ UserPermissionsMarketingUser: true, UserPermissionsKnowledgeUser: true, Department: 'Drivers' })
  })
})
