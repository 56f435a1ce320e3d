import { describe, it, expect, beforeEach } from 'vitest'
import { SalesforceError } from '../../src/emulator/errors.js'
import { Org } from '../../src/emulator/org.js'
import { seedOrg, type SeedIds } from '../../src/emulator/seed.js'

let org: Org
let seed: SeedIds

function user (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Username: 'new.hire@scimforce.test',
    LastName: 'Hire',
    Email: 'new.hire@scimforce.test',
    Alias: 'nhire',
    TimeZoneSidKey: 'Europe/London',
    LocaleSidKey: 'en_GB',
    EmailEncodingKey: 'UTF-8',
    LanguageLocaleKey: 'en_US',
    ProfileId: seed.profiles['Standard User'],
    ...overrides,
  }
}

function failure (fn: () => unknown): SalesforceError {
  try {
    fn()
  } catch (err) {
    if (err instanceof SalesforceError) return err
    throw err
  }
  throw new Error('expected a SalesforceError')
}

beforeEach(() => {
  org = new Org({ foreignUsernames: ['taken@otherorg.example'] })
  seed = seedOrg(org, { integrationUsername: 'integration@scimforce.demo', licenseTotals: { Salesforce: 7 } })
})

describe('User validation', () => {
  it('lists every missing required field in Salesforce order', () => {
    const err = failure(() => org.insert('User', { FirstName: 'Only' }))
    expect(err.errorCode).toBe('REQUIRED_FIELD_MISSING')
    expect(err.message).toBe('Required fields are missing: [Username, LastName, Email, Alias, TimeZoneSidKey, LocaleSidKey, EmailEncodingKey, ProfileId, LanguageLocaleKey]')
    expect(err.fields).toEqual(['Username', 'LastName', 'Email', 'Alias', 'TimeZoneSidKey', 'LocaleSidKey', 'EmailEncodingKey', 'ProfileId', 'LanguageLocaleKey'])
  })

  it('enforces field lengths with the label in the message', () => {
    const err = failure(() => org.insert('User', user({ Alias: 'waytoolong' })))
    expect(err.errorCode).toBe('STRING_TOO_LONG')
    expect(err.message).toBe('Alias: data value too large: waytoolong (max length=8)')
    expect(err.fields).toEqual(['Alias'])
    expect(failure(() => org.insert('User', user({ EmployeeNumber: 'x'.repeat(21) }))).message).toMatch(/^Employee Number: .*max length=20/)
    expect(failure(() => org.insert('User', user({ CommunityNickname: 'n'.repeat(41) }))).message).toMatch(/^Nickname: /)
  })

  it('checks email, username shape and restricted picklists', () => {
    const email = failure(() => org.insert('User', user({ Email: 'not an email' })))
    expect([email.errorCode, email.message, email.fields]).toEqual(['INVALID_EMAIL_ADDRESS', 'Email: invalid email address: not an email', ['Email']])
    expect(failure(() => org.insert('User', user({ Username: 'no-at-sign' }))).fields).toEqual(['Username'])
    const tz = failure(() => org.insert('User', user({ TimeZoneSidKey: 'Mars/Olympus' })))
    expect([tz.errorCode, tz.message]).toEqual(['INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', 'Time Zone: bad value for restricted picklist field: Mars/Olympus'])
    expect(failure(() => org.insert('User', user({ LanguageLocaleKey: 'fr_FR' }))).message).toBe('Language: bad value for restricted picklist field: fr_FR')
    for (const ok of ['Asia/Colombo', 'Asia/Kolkata', 'Australia/Sydney', 'GMT', 'America/New_York']) {
      expect(() => org.insert('User', user({ TimeZoneSidKey: ok, IsActive: false, Username: `${ok.replace('/', '.').toLowerCase()}@tz.test`, CommunityNickname: ok }))).not.toThrow()
    }
  })

  it('rejects unknown, read-only and mistyped fields', () => {
    expect(failure(() => org.insert('User', user({ Foo__c: 1 }))).message).toBe("No such column 'Foo__c' on sobject of type User")
    const ro = failure(() => org.insert('User', user({ Name: 'X Y', UserType: 'Standard' })))
    expect(ro.errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE')
    expect(ro.fields).toEqual(['Name', 'UserType'])
    const wrongType = failure(() => org.insert('User', user({ ProfileId: seed.roles.CEO })))
    expect([wrongType.errorCode, wrongType.message]).toEqual(['MALFORMED_ID', `Profile ID: id value of incorrect type: ${seed.roles.CEO as string}`])
    const missing = failure(() => org.insert('User', user({ ManagerId: '005Hu0000000ZZZ' })))
    expect([missing.errorCode, missing.message]).toEqual(['INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id'])
    expect(failure(() => org.insert('User', user({ IsActive: 'maybe' }))).errorCode).toBe('JSON_PARSER_ERROR')
  })

  it('keeps usernames globally unique, case-insensitively', () => {
    const dup = failure(() => org.insert('User', user({ Username: 'ADA.LOVELACE@scimforce.demo' })))
    expect(dup.errorCode).toBe('DUPLICATE_USERNAME')
    expect(dup.message).toMatch(/^Duplicate Username\.<br>The username already exists in this or another Salesforce organization/)
    expect(failure(() => org.insert('User', user({ Username: 'Taken@OtherOrg.example' }))).errorCode).toBe('DUPLICATE_USERNAME')
  })

  it('derives a unique CommunityNickname and refuses duplicates', () => {
    const a = org.insert('User', user())
    const b = org.insert('User', user({ Username: 'other@scimforce.test', Email: 'new.hire@scimforce.test' }))
    expect(org.get('User', a)?.CommunityNickname).toBe('new.hire')
    expect(org.get('User', b)?.CommunityNickname).toBe('new.hire1')
    const dup = failure(() => org.insert('User', user({ Username: 'third@scimforce.test', CommunityNickname: 'NEW.HIRE' })))
    expect(dup.errorCode).toBe('DUPLICATE_COMM_NICKNAME')
  })

  it('keeps FederationIdentifier unique in the org', () => {
    const err = failure(() => org.insert('User', user({ FederationIdentifier: 'ada.lovelace' })))
    expect([err.errorCode, err.fields]).toEqual(['FIELD_INTEGRITY_EXCEPTION', ['FederationIdentifier']])
    expect(err.message).toMatch(/^This Federation ID is already in use/)
    // Case-sensitive, as SSO matches it.
    expect(org.insert('User', user({ FederationIdentifier: 'Ada.Lovelace' }))).toMatch(/^005/)
  })

  it('maintains Name, UserType, system fields, the UserLogin row and the profile-owned assignment', () => {
    const id = org.insert('User', user({ FirstName: 'New' }))
    const rec = org.get('User', id)
    expect(rec).toMatchObject({ Name: 'New Hire', UserType: 'Standard', IsActive: true, CreatedById: seed.users['integration@scimforce.demo'] })
    expect(rec?.CreatedDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/)
    expect(org.query(`SELECT IsFrozen FROM UserLogin WHERE UserId = '${id}'`)).toEqual([expect.objectContaining({ IsFrozen: false })])
    const psa = org.query(`SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = '${id}'`)
    expect(psa.map(r => r.PermissionSetId)).toEqual([seed.profilePermissionSets['Standard User']])
    org.update('User', id, { ProfileId: seed.profiles['Marketing User'], LastName: 'Renamed' })
    expect(org.get('User', id)?.Name).toBe('New Renamed')
    expect(org.query(`SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = '${id}'`).map(r => r.PermissionSetId))
      .toEqual([seed.profilePermissionSets['Marketing User']])
  })

  it('counts licences on create and re-activation', () => {
    // 7 Salesforce licences; 5 active users seeded.
    org.insert('User', user())
    org.insert('User', user({ Username: 'b@scimforce.test' }))
    const err = failure(() => org.insert('User', user({ Username: 'c@scimforce.test' })))
    expect([err.errorCode, err.message]).toEqual(['LICENSE_LIMIT_EXCEEDED', 'License Limit Exceeded - Salesforce'])
    // An inactive user needs no seat, but re-activating one does.
    const inactive = org.insert('User', user({ Username: 'd@scimforce.test', IsActive: false }))
    expect(failure(() => org.update('User', inactive, { IsActive: true })).errorCode).toBe('LICENSE_LIMIT_EXCEEDED')
    expect(org.query('SELECT UsedLicenses, TotalLicenses FROM UserLicense WHERE Name = \'Salesforce\'')[0]).toMatchObject({ UsedLicenses: 7, TotalLicenses: 7 })
    org.update('User', seed.users['ada.lovelace@scimforce.demo'] as string, { IsActive: false })
    org.update('User', inactive, { IsActive: true })
    expect(org.get('User', inactive)?.IsActive).toBe(true)
  })

  it('never deletes users, user licences or logins', () => {
    expect(failure(() => org.delete('User', seed.users['ada.lovelace@scimforce.demo'] as string)).errorCode).toBe('INVALID_TYPE_FOR_OPERATION')
    expect(failure(() => org.insert('UserLicense', { Name: 'x' })).errorCode).toBe('INVALID_TYPE_FOR_OPERATION')
  })
})

describe('groups, permission sets and roles', () => {
  it('derives a unique DeveloperName per group type and validates given ones', () => {
    const a = org.insert('Group', { Name: 'Field Sales 2026!' })
    expect(org.get('Group', a)).toMatchObject({ DeveloperName: 'Field_Sales_2026', Type: 'Regular' })
    const b = org.insert('Group', { Name: 'Field Sales 2026' })
    expect(org.get('Group', b)?.DeveloperName).toBe('Field_Sales_2026_1')
    expect(failure(() => org.insert('Group', { Name: 'x', DeveloperName: 'Sales_Team' })).errorCode).toBe('DUPLICATE_DEVELOPER_NAME')
    expect(failure(() => org.insert('Group', { Name: 'x', DeveloperName: 'bad__name' })).errorCode).toBe('FIELD_INTEGRITY_EXCEPTION')
    expect(failure(() => org.insert('Group', { DeveloperName: 'NoName' })).message).toBe('Required fields are missing: [Name]')
  })

  it('answers a duplicate GroupMember with the existing record and cascades group deletes', () => {
    const group = seed.groups['Support Team'] as string
    const alan = seed.users['alan.turing@scimforce.demo'] as string
    const first = org.insert('GroupMember', { GroupId: group, UserOrGroupId: alan })
    expect(org.insert('GroupMember', { GroupId: group, UserOrGroupId: alan })).toBe(first)
    expect(org.query(`SELECT COUNT(Id) n FROM GroupMember WHERE GroupId = '${group}'`)[0]?.n).toBe(1)
    expect(failure(() => org.update('GroupMember', first, { GroupId: group })).errorCode).toBe('INVALID_TYPE_FOR_OPERATION')
    org.delete('Group', group)
    expect(org.get('GroupMember', first)).toBeUndefined()
  })

  it('refuses duplicate and profile-owned permission set assignments', () => {
    const ada = seed.users['ada.lovelace@scimforce.demo'] as string
    const dup = failure(() => org.insert('PermissionSetAssignment', { AssigneeId: ada, PermissionSetId: seed.permissionSets.Sales_Ops }))
    expect([dup.errorCode, dup.message]).toEqual(['DUPLICATE_VALUE', `Duplicate PermissionSetAssignment. Assignee: ${ada}; Permission Set: ${seed.permissionSets.Sales_Ops as string}`])
    const owned = org.query(`SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '${ada}' AND PermissionSet.IsOwnedByProfile = true`)[0]?.Id as string
    expect(failure(() => org.delete('PermissionSetAssignment', owned)).errorCode).toBe('DELETE_FAILED')
    expect(failure(() => org.insert('PermissionSetAssignment', { AssigneeId: ada, PermissionSetId: seed.profilePermissionSets['Read Only'] })).errorCode).toBe('FIELD_INTEGRITY_EXCEPTION')
    // Platform_Apps needs the Salesforce Platform licence.
    expect(failure(() => org.insert('PermissionSetAssignment', { AssigneeId: ada, PermissionSetId: seed.permissionSets.Platform_Apps })).message).toMatch(/license/)
  })

  it('assigns permission set groups through their aggregate permission set', () => {
    const ada = seed.users['ada.lovelace@scimforce.demo'] as string
    const id = org.insert('PermissionSetAssignment', { AssigneeId: ada, PermissionSetGroupId: seed.permissionSetGroups.Support_Bundle })
    const psa = org.get('PermissionSetAssignment', id)
    expect(psa?.PermissionSetGroupId).toBe(seed.permissionSetGroups.Support_Bundle)
    expect(org.get('PermissionSet', psa?.PermissionSetId as string)).toMatchObject({ Type: 'Group', PermissionSetGroupId: seed.permissionSetGroups.Support_Bundle })
    expect(failure(() => org.delete('PermissionSetGroup', seed.permissionSetGroups.Support_Bundle as string)).errorCode).toBe('DELETE_FAILED')
    org.delete('PermissionSetAssignment', id)
    org.delete('PermissionSetGroup', seed.permissionSetGroups.Support_Bundle as string)
    expect(org.count('PermissionSetGroup')).toBe(1)
  })

  it('keeps role groups in step with roles and protects the hierarchy', () => {
    const role = org.insert('UserRole', { Name: 'Sales Manager EMEA', ParentRoleId: seed.roles['VP Sales'] })
    expect(org.get('UserRole', role)?.DeveloperName).toBe('Sales_Manager_EMEA')
    expect(org.query(`SELECT Type FROM Group WHERE RelatedId = '${role}' ORDER BY Type`).map(g => g.Type)).toEqual(['Role', 'RoleAndSubordinates'])
    expect(failure(() => org.update('UserRole', seed.roles.CEO as string, { ParentRoleId: role })).errorCode).toBe('FIELD_INTEGRITY_EXCEPTION')
    expect(failure(() => org.delete('UserRole', seed.roles['Sales Rep'] as string)).errorCode).toBe('DELETE_FAILED')
    org.delete('UserRole', role)
    expect(org.query(`SELECT Id FROM Group WHERE RelatedId = '${role}'`)).toEqual([])
  })
})

describe('transactions', () => {
  it('undo every change of a failed transaction, nested ones included', () => {
    const before = org.count('User')
    expect(() => org.transaction(() => {
      org.insert('User', user())
      org.update('User', seed.users['ada.lovelace@scimforce.demo'] as string, { Title: 'Changed' })
      org.delete('Group', seed.groups['Sales Team'] as string)
      throw new Error('boom')
    })).toThrow('boom')
    expect(org.count('User')).toBe(before)
    expect(org.count('UserLogin')).toBe(before)
    expect(org.get('User', seed.users['ada.lovelace@scimforce.demo'] as string)?.Title).toBe('Account Executive')
    expect(org.query(`SELECT COUNT(Id) n FROM GroupMember WHERE GroupId = '${seed.groups['Sales Team'] as string}'`)[0]?.n).toBe(2)
    // A failed single write leaves nothing behind either (e.g. no orphan UserLogin).
    expect(() => org.insert('User', user({ Username: 'ada.lovelace@scimforce.demo' }))).toThrow(SalesforceError)
    expect(org.count('UserLogin')).toBe(before)
  })

  it('produce the same seeded Ids on every start', () => {
    const again = seedOrg(new Org(), { integrationUsername: 'integration@scimforce.demo' })
    expect(again).toEqual(seed)
  })
})
