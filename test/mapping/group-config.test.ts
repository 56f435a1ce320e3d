// The `groups` configuration section: its YAML shape, defaults, and one message per mistake naming key and fix.
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/loader.js'
import { BASE_ENV as BASE, yamlConfigs } from '../config/yaml-config.js'

const { load, problems } = yamlConfigs('groups-config')

describe('groups configuration', () => {
  it('defaults to public groups and no mappings', () => {
    expect(loadConfig(BASE).groups).toEqual({ defaultTarget: 'publicGroup', mappings: [] })
  })

  it('reads each kind of mapping, patterns and priorities, and the per-client prefix setting', () => {
    const c = load(`
clients:
  - name: wso2
    auth: { type: basic, username: wso2, password: wso2-password-0123456789 }
    putMode: merge
    stripUserStorePrefix: false
groups:
  defaultTarget: none
  mappings:
    - { displayName: Sales Ops, permissionSet: Sales_Ops }
    - { displayName: "SF PS *", permissionSet: "SCIM_*" }
    - { displayName: Sales Bundle, permissionSetGroup: Sales_Bundle }
    - { displayName: Admins, profile: 00e5j000001AbCdAAK, priority: 20 }
    - { displayName: "Role *", role: "SCIM_*", priority: 5, allowPrivileged: true }
`)
    expect(c.groups).toEqual({
      defaultTarget: 'none',
      mappings: [
        { displayName: 'Sales Ops', kind: 'permissionSet', target: 'Sales_Ops', priority: 0 },
        { displayName: 'SF PS *', kind: 'permissionSet', target: 'SCIM_*', priority: 0 },
        { displayName: 'Sales Bundle', kind: 'permissionSetGroup', target: 'Sales_Bundle', priority: 0 },
        { displayName: 'Admins', kind: 'profile', target: '00e5j000001AbCdAAK', priority: 20 },
        { displayName: 'Role *', kind: 'role', target: 'SCIM_*', priority: 5, allowPrivileged: true },
      ],
    })
    expect(c.clients.find((x) => x.name === 'wso2')?.stripUserStorePrefix).toBe(false)
  })

  it('names every mistake with its key', () => {
    const found = problems(`
groups:
  defaultTarget: sometimes
  mappings:
    - { displayName: A }
    - { displayName: B, permissionSet: X, role: Y }
    - { displayName: "C *", permissionSet: Fixed }
    - { displayName: D, permissionSet: "*" }
    - { displayName: E, profile: 0PS5j000001AbCdAAK }
    - { displayName: F, permissionSet: Sales_Ops, priority: 3 }
    - { displayName: G, permissionSet: Sales_Ops }
    - { displayName: g, role: R }
    - { displayName: "* * *", role: "*" }
`)
    const text = found.join('\n')
    expect(text).toMatch(/groups\.defaultTarget must be one of: publicGroup, none/)
    expect(text).toMatch(/groups\.mappings\[0\] needs exactly one of permissionSet, permissionSetGroup, profile, role/)
    expect(text).toMatch(/groups\.mappings\[1\] needs exactly one of .*not permissionSet and role/)
    expect(text).toMatch(/groups\.mappings\[2\]\.permissionSet must contain one \* when displayName is a pattern/)
    expect(text).toMatch(/groups\.mappings\[3\]\.permissionSet may contain \* only when displayName is a pattern/)
    expect(text).toMatch(/groups\.mappings\[4\]\.profile is an Id of another kind of record: a profile Id starts with 00e/)
    expect(text).toMatch(/groups\.mappings\[5\]\.priority applies to profile and role mappings only/)
    expect(text).toMatch(/groups\.mappings\[8\]\.displayName may contain one \* at most/)
  })

  it('refuses two mappings of one displayName, or of one record', () => {
    const text = problems(`
groups:
  mappings:
    - { displayName: Sales, permissionSet: Sales_Ops }
    - { displayName: sales, permissionSet: Other }
    - { displayName: Ops, permissionSet: sales_ops }
`).join('\n')
    expect(text).toMatch(/groups\.mappings\[1\]\.displayName is the same displayName as groups\.mappings\[0\]'s/)
    expect(text).toMatch(/groups\.mappings\[2\]\.permissionSet names the same record as groups\.mappings\[0\]/)
  })
})
