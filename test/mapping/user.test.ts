import { describe, expect, it } from 'vitest'
import {
  buildCreateRecord, clearableFields, createUserMapping, deriveAlias, deriveNickname,
  scimToFields, toIsoDate, toScimUser, versionOf,
} from '../../src/mapping/user.js'
import { ENTERPRISE_USER_SCHEMA } from '../../src/protocol/constants.js'
import { userDefaults } from '../fixtures/config.js'

const defaults = userDefaults()
const mapping = createUserMapping({ defaults, usernameSuffix: '', extraMappings: [] })
const suffixed = createUserMapping({ defaults, usernameSuffix: '.sandbox', extraMappings: [] })
/** An admin who chose FederationIdentifier for externalId (users.externalIdField). */
const federated = createUserMapping({ defaults, usernameSuffix: '', extraMappings: [], externalIdField: 'FederationIdentifier' })

describe('scimToFields', () => {
  it('maps core, multi-valued and enterprise attributes to Salesforce fields', () => {
    const fields = scimToFields(federated, {
      userName: 'ada@example.com',
      externalId: 'ext-1',
      name: { givenName: 'Ada', familyName: 'Lovelace', formatted: 'ignored' },
      displayName: 'ignored too',
      title: 'Countess',
      active: false,
      locale: 'en-GB',
      preferredLanguage: 'fr-FR',
      timezone: 'Europe/London',
      emails: [{ value: 'other@example.com', type: 'home' }, { value: 'ada@example.com', type: 'work', primary: true }],
      phoneNumbers: [{ value: '+1 555', type: 'work' }, { value: '+1 666', type: 'mobile' }, { value: '+1 777', type: 'fax' }],
      addresses: [{ type: 'work', streetAddress: '1 Main St', locality: 'London', region: 'LDN', postalCode: 'N1', country: 'GB' }],
      [ENTERPRISE_USER_SCHEMA]: { employeeNumber: '42', department: 'Sales', division: 'EMEA', organization: 'Pickup', manager: { value: '005000000000001AAA' } },
    })
    expect(fields).toEqual({
      Username: 'ada@example.com',
      FederationIdentifier: 'ext-1',
      FirstName: 'Ada',
      LastName: 'Lovelace',
      Title: 'Countess',
      IsActive: false,
      LocaleSidKey: 'en_GB',
      LanguageLocaleKey: 'fr',
      TimeZoneSidKey: 'Europe/London',
      Email: 'ada@example.com',
      Phone: '+1 555',
      MobilePhone: '+1 666',
      Fax: '+1 777',
      Street: '1 Main St',
      City: 'London',
      State: 'LDN',
      PostalCode: 'N1',
      Country: 'GB',
      EmployeeNumber: '42',
      Department: 'Sales',
      Division: 'EMEA',
      CompanyName: 'Pickup',
      ManagerId: '005000000000001AAA',
    })
  })

  it('takes an untyped email and appends the username suffix', () => {
    expect(scimToFields(suffixed, { userName: 'bob@example.com', emails: [{ value: 'bob@example.com' }] }))
      .toEqual({ Username: 'bob@example.com.sandbox', Email: 'bob@example.com' })
  })
})

describe('toScimUser', () => {
  it('builds the SCIM resource with meta from Salesforce system fields', () => {
    const user = toScimUser(suffixed, {
      Id: '005000000000002AAA',
      Username: 'bob@example.com.sandbox',
      FirstName: 'Bob',
      LastName: 'Builder',
      Name: 'Bob Builder',
      Email: 'bob@example.com',
      MobilePhone: '+44 1',
      IsActive: true,
      LocaleSidKey: 'en_US',
      Department: 'Ops',
      ManagerId: null,
      UserType: 'Standard',
      CreatedDate: '2026-11-28T03:22:13.000+0000',
      LastModifiedDate: '2026-11-28T04:00:00.000+0000',
      SystemModstamp: '2026-11-28T04:00:00.000+0000',
    })
    expect(user).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER_SCHEMA],
      id: '005000000000002AAA',
      userName: 'bob@example.com',
      name: { givenName: 'Bob', familyName: 'Builder', formatted: 'Bob Builder' },
      displayName: 'Bob Builder',
      userType: 'Standard',
      locale: 'en-US',
      active: true,
      emails: [{ value: 'bob@example.com', type: 'work', primary: true }],
      phoneNumbers: [{ value: '+44 1', type: 'mobile' }],
      [ENTERPRISE_USER_SCHEMA]: { department: 'Ops' },
      meta: {
        resourceType: 'User',
        created: '2026-11-28T03:22:13.000Z',
        lastModified: '2026-11-28T04:00:00.000Z',
        version: versionOf('2026-11-28T04:00:00.000+0000'),
      },
    })
  })

  it('converts Salesforce timestamps and versions', () => {
    expect(toIsoDate('2026-01-02T03:04:05.000+0100')).toBe('2026-01-02T02:04:05.000Z')
    expect(versionOf('2026-01-02T03:04:05.000+0000')).toMatch(/^W\/"[0-9a-z]+"$/)
    expect(versionOf('2026-01-02T03:04:05.000+0000')).not.toBe(versionOf('2026-01-02T03:04:06.000+0000'))
  })
})

describe('buildCreateRecord', () => {
  it('starts from the defaults and derives Alias, nickname and Email', () => {
    const rec = buildCreateRecord(mapping, defaults, { userName: 'ada.lovelace@example.com', name: { givenName: 'Ada', familyName: 'Lovelace-Byron' } })
    expect(rec).toEqual({
      ...defaults,
      Username: 'ada.lovelace@example.com',
      FirstName: 'Ada',
      LastName: 'Lovelace-Byron',
      Alias: 'alovelac',
      CommunityNickname: 'ada.lovelace',
      Email: 'ada.lovelace@example.com',
      IsActive: true,
    })
  })

  it('lets the SCIM request override a default', () => {
    const rec = buildCreateRecord(mapping, defaults, { userName: 'x@example.com', timezone: 'Europe/Paris', name: { familyName: 'X' } })
    expect(rec.TimeZoneSidKey).toBe('Europe/Paris')
  })
})

describe('derived values', () => {
  it('keeps Alias within Salesforce limits', () => {
    expect(deriveAlias('Élodie', 'Dupont-Moretti', 'x@y')).toBe('edupontm')
    expect(deriveAlias(undefined, undefined, 'jo.smith@example.com')).toBe('josmith')
    expect(deriveAlias(undefined, '', '@@')).toBe('user')
  })

  it('gives a new nickname after a clash, within 40 characters', () => {
    const base = 'a'.repeat(60) + '@example.com'
    expect(deriveNickname(base, 0)).toHaveLength(40)
    const retry = deriveNickname(base, 1)
    expect(retry).toHaveLength(40)
    expect(retry).toMatch(/\.\d{4}$/)
    expect(deriveNickname('bob@example.com', 0, 'Bobby')).toBe('Bobby')
  })

  it('clears optional fields only', () => {
    const fields = clearableFields(mapping)
    expect(fields).toContain('Title')
    expect(fields).toContain('MobilePhone')
    expect(fields).not.toContain('Email')
    expect(fields).not.toContain('LastName')
    expect(fields).not.toContain('Username')
    expect(fields).not.toContain('IsActive')
  })
})

describe('toLanguageKey', () => {
  it("turns IdP language tags into Salesforce's language keys", async () => {
    const { toLanguageKey } = await import('../../src/mapping/user.js')
    expect(toLanguageKey('de-DE')).toBe('de')
    expect(toLanguageKey('en-US')).toBe('en_US')
    expect(toLanguageKey('en-AU')).toBe('en_US')
    expect(toLanguageKey('en-GB')).toBe('en_GB')
    expect(toLanguageKey('pt-BR')).toBe('pt_BR')
    expect(toLanguageKey('zh-TW')).toBe('zh_TW')
    expect(toLanguageKey('he')).toBe('iw')
    expect(toLanguageKey('xh')).toBeUndefined()
  })

  it('leaves a language Salesforce lacks to the default', () => {
    const rec = buildCreateRecord(mapping, defaults, { userName: 'x@example.com', name: { familyName: 'X' }, preferredLanguage: 'xh', locale: 'de-DE' })
    expect(rec.LanguageLocaleKey).toBe('en_US')
    expect(rec.LocaleSidKey).toBe('de_DE')
  })
})
