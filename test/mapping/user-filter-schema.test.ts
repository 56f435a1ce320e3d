import { describe, expect, it } from 'vitest'
import { createUserMapping } from '../../src/mapping/user.js'
import { userFilterSchema } from '../../src/mapping/user-filter-schema.js'
import { ENTERPRISE_USER_SCHEMA } from '../../src/protocol/constants.js'
import { translateFilter } from '../../src/salesforce/filter-soql.js'
import { userDefaults } from '../fixtures/config.js'

const schema = userFilterSchema(createUserMapping({ defaults: userDefaults(), usernameSuffix: '.sbx', extraMappings: [{ scim: `${ENTERPRISE_USER_SCHEMA}:costCenter`, salesforce: 'CostCenter__c' }], externalIdField: 'FederationIdentifier' }))
const where = (f: string): string => translateFilter(f, schema).text

describe('userFilterSchema', () => {
  it('translates what IdPs ask through the mapping table', () => {
    expect(where('userName eq "ada@x.com"')).toBe("Username = 'ada@x.com.sbx'")
    // Only with users.externalIdField; by default externalId is scimforce's own (test/scim/user-external-id.test.ts).
    expect(where('externalId eq "e-1"')).toBe("FederationIdentifier = 'e-1'")
    expect(where('emails[type eq "work"].value eq "a@b.c"')).toBe("Email = 'a@b.c'")
    expect(where('phoneNumbers[type eq "mobile"].value eq "1"')).toBe("MobilePhone = '1'")
    expect(where('active eq false')).toBe('IsActive = false')
    expect(where(`${ENTERPRISE_USER_SCHEMA}:manager.value eq "005000000000001AAA"`)).toBe("ManagerId = '005000000000001AAA'")
    expect(where('employeeNumber eq "42"')).toBe("EmployeeNumber = '42'")
    expect(where(`${ENTERPRISE_USER_SCHEMA}:costCenter eq "CC1"`)).toBe("CostCenter__c = 'CC1'")
  })

  it('refuses locale filters rather than comparing the wrong form', () => {
    expect(() => where('locale eq "en-US"')).toThrow(/locale/)
  })
})
