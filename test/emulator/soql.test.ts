import { describe, it, expect, beforeEach } from 'vitest'
import { SalesforceError } from '../../src/emulator/errors.js'
import { Org } from '../../src/emulator/org.js'
import { seedOrg, type SeedIds } from '../../src/emulator/seed.js'
import { decodeString, foldCase, likePattern } from '../../src/emulator/soql.js'

let org: Org
let seed: SeedIds

beforeEach(() => {
  org = new Org()
  seed = seedOrg(org, { integrationUsername: 'integration@scimforce.demo' })
})

const usernames = (soql: string): unknown[] => org.query(soql).map(r => r.Username)

function queryError (soql: string): SalesforceError {
  try {
    org.query(soql)
  } catch (err) {
    if (err instanceof SalesforceError) return err
    throw err
  }
  throw new Error('expected a SOQL error')
}

describe('SOQL string literals', () => {
  it('decodes the documented escape sequences', () => {
    expect(decodeString(String.raw`'it\'s'`)).toBe('it\'s')
    expect(decodeString(String.raw`'a\\b'`)).toBe('a\\b')
    expect(decodeString(String.raw`'say \"hi\"'`)).toBe('say "hi"')
    expect(decodeString(String.raw`'x\ny\tz\Rw'`)).toBe('x\ny\tz\rw')
    expect(decodeString(String.raw`'caf\u00e9'`)).toBe('café')
    // \_ and \% mean something only in LIKE.
    expect(decodeString(String.raw`'a\_b'`)).toBe('a\\_b')
  })

  it('rejects other backslash sequences', () => {
    expect(() => decodeString(String.raw`'a\qb'`)).toThrow(/Illegal character sequence '\\q'/)
    expect(() => decodeString(String.raw`'\u12'`)).toThrow(SalesforceError)
  })

  it('turns LIKE patterns into case-insensitive whole-value matches', () => {
    expect(likePattern('\'a%\'').test('ABC')).toBe(true)
    expect(likePattern('\'a%\'').test('bac')).toBe(false)
    expect(likePattern('\'a_c\'').test('abc')).toBe(true)
    expect(likePattern('\'a_c\'').test('abbc')).toBe(false)
    expect(likePattern(String.raw`'100\%'`).test('100%')).toBe(true)
    expect(likePattern(String.raw`'100\%'`).test('1000')).toBe(false)
    expect(likePattern(String.raw`'a\_b'`).test('a_b')).toBe(true)
    expect(likePattern(String.raw`'a\_b'`).test('axb')).toBe(false)
    expect(likePattern('\'(x).*\'').test('(x).*')).toBe(true)
  })
})

describe('SOQL WHERE', () => {
  it('compares strings case-insensitively', () => {
    expect(usernames('SELECT Username FROM User WHERE Username = \'ADA.LOVELACE@scimforce.demo\'')).toEqual(['ada.lovelace@scimforce.demo'])
    expect(usernames('SELECT Username FROM User WHERE Username LIKE \'GRACE%\'')).toEqual(['grace.hopper@scimforce.demo'])
  })

  it('folds case one character to one, the same for = and LIKE (ß is not SS, İ is not i)', () => {
    expect(foldCase('Straße café İ')).toBe('STRAßE CAFÉ İ')
    expect(foldCase('ſ ı')).toBe('ſ ı')
    for (const [stored, literal, same] of [['ß', 'SS', false], ['ß', 's', false], ['é', 'É', true], ['İ', 'i', false], ['Ünï', 'üNÏ', true]] as const) {
      const rule = (c: string): boolean => likePattern(`'${c}'`).test(stored)
      expect(foldCase(stored) === foldCase(literal), `${stored} = ${literal}`).toBe(same)
      expect(rule(literal), `${stored} LIKE ${literal}`).toBe(same)
    }
    expect(likePattern('\'%s%\'').test('ß')).toBe(false)
  })

  it('handles booleans, !=, IN, NOT IN and NOT', () => {
    expect(usernames('SELECT Username FROM User WHERE IsActive = false')).toEqual(['alan.turing@scimforce.demo'])
    expect(usernames('SELECT Username FROM User WHERE Department IN (\'Support\', \'Nope\')')).toEqual(['alan.turing@scimforce.demo', 'case.owner@scimforce.demo'])
    expect(usernames('SELECT Username FROM User WHERE Department NOT IN (\'Sales\') ORDER BY Username')).toEqual(['admin@scimforce.demo', 'alan.turing@scimforce.demo', 'case.owner@scimforce.demo', 'integration@scimforce.demo'])
    expect(usernames('SELECT Username FROM User WHERE NOT Department = \'Sales\' ORDER BY Username')).toEqual(['admin@scimforce.demo', 'alan.turing@scimforce.demo', 'case.owner@scimforce.demo', 'integration@scimforce.demo'])
    // SOQL's != keeps nulls (the integration user and the admin have no Department).
    expect(usernames('SELECT Username FROM User WHERE Department != \'Sales\' ORDER BY Username')).toEqual(['admin@scimforce.demo', 'alan.turing@scimforce.demo', 'case.owner@scimforce.demo', 'integration@scimforce.demo'])
  })

  it('handles null comparisons', () => {
    expect(usernames('SELECT Username FROM User WHERE Department = null')).toEqual(['integration@scimforce.demo', 'admin@scimforce.demo'])
    expect(usernames('SELECT Username FROM User WHERE ManagerId != null')).toEqual(['ada.lovelace@scimforce.demo'])
  })

  it('honours parentheses and refuses AND/OR mixed without them', () => {
    expect(usernames('SELECT Username FROM User WHERE IsActive = true AND (Department = \'Support\' OR Department = \'Sales\') ORDER BY Username'))
      .toEqual(['ada.lovelace@scimforce.demo', 'case.owner@scimforce.demo', 'grace.hopper@scimforce.demo'])
    expect(usernames('SELECT Username FROM User WHERE (IsActive = true AND Department = \'Support\') OR Department = \'Sales\' ORDER BY Username'))
      .toEqual(['ada.lovelace@scimforce.demo', 'case.owner@scimforce.demo', 'grace.hopper@scimforce.demo'])
    const err = queryError('SELECT Id FROM User WHERE Username = \'a\' OR Username = \'b\' AND IsActive = true')
    expect(err.errorCode).toBe('MALFORMED_QUERY')
    expect(err.message).toMatch(/ERROR at Row:1:Column:60\nunexpected token: AND$/)
  })

  it('matches 15- and 18-character Ids and filters on parent fields', () => {
    const ada = seed.users['ada.lovelace@scimforce.demo'] as string
    expect(usernames(`SELECT Username FROM User WHERE Id = '${ada.slice(0, 15)}'`)).toEqual(['ada.lovelace@scimforce.demo'])
    expect(usernames(`SELECT Username FROM User WHERE Id = '${ada.toLowerCase()}'`)).toEqual(['ada.lovelace@scimforce.demo'])
    expect(usernames('SELECT Username FROM User WHERE Profile.Name = \'System Administrator\'')).toEqual(['integration@scimforce.demo', 'admin@scimforce.demo'])
    expect(usernames('SELECT Username FROM User WHERE Manager.Username = \'grace.hopper@scimforce.demo\'')).toEqual(['ada.lovelace@scimforce.demo'])
  })

  it('supports semi-joins', () => {
    const ps = seed.permissionSets.Sales_Ops as string
    expect(usernames(`SELECT Username FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = '${ps}')`))
      .toEqual(['ada.lovelace@scimforce.demo'])
  })

  it('supports datetime literals and TODAY / LAST_N_DAYS', () => {
    expect(usernames('SELECT Username FROM User WHERE CreatedDate > 2020-01-01T00:00:00Z AND IsActive = false')).toEqual(['alan.turing@scimforce.demo'])
    expect(usernames('SELECT Username FROM User WHERE CreatedDate < 2020-01-01T00:00:00.000+0000')).toEqual([])
    expect(org.query('SELECT Id FROM User WHERE CreatedDate = TODAY')).toHaveLength(6)
    expect(org.query('SELECT Id FROM User WHERE CreatedDate = LAST_N_DAYS:3')).toHaveLength(6)
    expect(org.query('SELECT Id FROM User WHERE CreatedDate = YESTERDAY')).toHaveLength(0)
    expect(org.query('SELECT Id FROM User WHERE CreatedDate < TODAY')).toHaveLength(0)
  })
})

describe('SOQL SELECT, ORDER BY, LIMIT, COUNT', () => {
  it('returns parent fields as nested records with attributes, null when absent', () => {
    const [grace, ada] = org.query('SELECT Username, Profile.Name, Manager.Username FROM User WHERE Department = \'Sales\' ORDER BY Username DESC')
    expect(ada).toMatchObject({
      attributes: { type: 'User', url: `/services/data/v62.0/sobjects/User/${seed.users['ada.lovelace@scimforce.demo'] as string}` },
      Username: 'ada.lovelace@scimforce.demo',
      Profile: { attributes: { type: 'Profile' }, Name: 'Standard User' },
      Manager: { attributes: { type: 'User' }, Username: 'grace.hopper@scimforce.demo' },
    })
    expect(grace?.Manager).toBeNull()
    expect(Object.keys(ada ?? {})).toEqual(['attributes', 'Username', 'Profile', 'Manager'])
  })

  it('uses canonical field names whatever the case in the query', () => {
    const [rec] = org.query('select username, isactive from user where username = \'ada.lovelace@scimforce.demo\'')
    expect(rec).toEqual(expect.objectContaining({ Username: 'ada.lovelace@scimforce.demo', IsActive: true }))
  })

  it('orders with Salesforce null defaults and NULLS FIRST/LAST', () => {
    expect(usernames('SELECT Username FROM User ORDER BY Department, Username')).toEqual([
      'admin@scimforce.demo', 'integration@scimforce.demo', 'ada.lovelace@scimforce.demo', 'grace.hopper@scimforce.demo', 'alan.turing@scimforce.demo', 'case.owner@scimforce.demo',
    ])
    expect(usernames('SELECT Username FROM User ORDER BY Department DESC, Username')[5]).toBe('integration@scimforce.demo')
    expect(usernames('SELECT Username FROM User ORDER BY Department DESC NULLS FIRST, Username')[1]).toBe('integration@scimforce.demo')
  })

  it('applies LIMIT and OFFSET, and refuses OFFSET above 2000', () => {
    expect(usernames('SELECT Username FROM User ORDER BY Username LIMIT 2 OFFSET 2')).toEqual(['alan.turing@scimforce.demo', 'case.owner@scimforce.demo'])
    const err = queryError('SELECT Id FROM User OFFSET 2001')
    expect(err.errorCode).toBe('NUMBER_OUTSIDE_VALID_RANGE')
  })

  it('counts', () => {
    const seen: unknown[] = []
    org.query('SELECT COUNT() FROM User').forEach(r => seen.push(r))
    expect(seen).toEqual([])
    expect(org.query('SELECT COUNT(Id) total FROM User WHERE IsActive = true')).toEqual([{ attributes: { type: 'AggregateResult' }, total: 5 }])
  })

  it('returns child relationship subqueries', () => {
    const [team] = org.query('SELECT Name, (SELECT UserOrGroupId FROM GroupMembers) FROM Group WHERE DeveloperName = \'Sales_Team\'')
    const members = team?.GroupMembers as { totalSize: number, records: Array<{ UserOrGroupId: string }> }
    expect(members.totalSize).toBe(2)
    expect(members.records.map(r => r.UserOrGroupId).sort()).toEqual([seed.users['ada.lovelace@scimforce.demo'], seed.users['grace.hopper@scimforce.demo']].sort())
    const [support] = org.query('SELECT Name, (SELECT Id FROM GroupMembers) FROM Group WHERE DeveloperName = \'Support_Team\'')
    expect(support?.GroupMembers).toBeNull()
  })
})

describe('SOQL errors', () => {
  it('MALFORMED_QUERY with the row and column', () => {
    const err = queryError('SELECT Id, FROM User')
    expect(err.errorCode).toBe('MALFORMED_QUERY')
    expect(err.message).toBe("\nSELECT Id, FROM User\n           ^\nERROR at Row:1:Column:12\nunexpected token: 'FROM'")
    expect(queryError('SELECT Id FROM User WHERE Name = "x"').errorCode).toBe('MALFORMED_QUERY')
  })

  it('INVALID_FIELD for unknown columns and relationships', () => {
    const err = queryError('SELECT Id, Foo FROM User')
    expect(err.errorCode).toBe('INVALID_FIELD')
    expect(err.message).toContain("ERROR at Row:1:Column:12\nNo such column 'Foo' on entity 'User'.")
    expect(queryError('SELECT Bogus.Name FROM User').message).toContain("Didn't understand relationship 'Bogus'")
    expect(queryError('SELECT Id FROM User ORDER BY Nope').errorCode).toBe('INVALID_FIELD')
  })

  it('INVALID_TYPE for unknown objects', () => {
    const err = queryError('SELECT Id FROM Account')
    expect(err.errorCode).toBe('INVALID_TYPE')
    expect(err.message).toContain("sObject type 'Account' is not supported")
  })

  it('type mismatches in filters', () => {
    expect(queryError('SELECT Id FROM User WHERE IsActive = \'true\'').message).toContain("value of filter criterion for field 'IsActive' must be of type boolean and should not be enclosed in quotes")
    expect(queryError('SELECT Id FROM User WHERE Username = 5').message).toContain('must be of type string and should be enclosed in quotes')
    const bad = queryError('SELECT Id FROM User WHERE Id = \'abc\'')
    expect(bad.errorCode).toBe('INVALID_QUERY_FILTER_OPERATOR')
    expect(bad.message).toContain('invalid ID field: abc')
    expect(queryError('SELECT Id FROM User WHERE CreatedDate > 2020-01-01').errorCode).toBe('INVALID_FIELD')
    expect(queryError('SELECT Id FROM User WHERE AboutMe = \'x\'').message).toContain("field 'AboutMe' can not be filtered")
  })

  it('duplicate fields and COUNT() with other fields', () => {
    expect(queryError('SELECT Id, id FROM User').message).toContain('duplicate field selected: id')
    expect(queryError('SELECT COUNT(), Id FROM User').errorCode).toBe('MALFORMED_QUERY')
    expect(queryError('SELECT COUNT(Id), Name FROM User').message).toContain('Field must be grouped or aggregated: Name')
  })
})

describe('SOQL on Ids', () => {
  it('orders Ids in creation order, consistently with Id > filters (keyset paging)', () => {
    for (let i = 0; i < 80; i++) org.insert('Group', { Name: `Keyset ${i}` })
    const all = org.query('SELECT Id FROM Group WHERE Name LIKE \'Keyset%\' ORDER BY Id').map(r => r.Id as string)
    expect(all).toHaveLength(80)
    const walked: string[] = []
    let last = ''
    for (;;) {
      const where = last === '' ? '' : ` AND Id > '${last}'`
      const page = org.query(`SELECT Id FROM Group WHERE Name LIKE 'Keyset%'${where} ORDER BY Id LIMIT 7`).map(r => r.Id as string)
      if (page.length === 0) break
      walked.push(...page)
      last = page.at(-1) as string
    }
    expect(walked).toEqual(all)
    expect(org.query('SELECT Name FROM Group WHERE Name LIKE \'Keyset%\' ORDER BY Id LIMIT 1')[0]?.Name).toBe('Keyset 0')
  })
})

describe('SOQL FIELDS()', () => {
  it('expands FIELDS(STANDARD) and requires a LIMIT for FIELDS(ALL)', () => {
    const [rec] = org.query('SELECT FIELDS(STANDARD) FROM Profile WHERE Name = \'Standard User\'')
    expect(rec).toMatchObject({ Id: seed.profiles['Standard User'], Name: 'Standard User', UserLicenseId: seed.licenses.Salesforce })
    expect(org.query('SELECT FIELDS(ALL) FROM User LIMIT 200')).toHaveLength(6)
    expect(queryError('SELECT FIELDS(ALL) FROM User').message).toContain('must have a LIMIT of at most 200')
  })
})

describe('SOQL escapes end to end', () => {
  it('matches values holding quotes and backslashes, and rejects a broken literal', () => {
    org.update('User', seed.users['ada.lovelace@scimforce.demo'] as string, { Title: 'a\\', Department: 'O\'Brien "Q"' })
    expect(usernames(String.raw`SELECT Username FROM User WHERE Title = 'a\\' AND Department = 'O\'Brien \"Q\"'`)).toEqual(['ada.lovelace@scimforce.demo'])
    expect(usernames(String.raw`SELECT Username FROM User WHERE Title LIKE 'a\\%'`)).toEqual(['ada.lovelace@scimforce.demo'])
    // What jsforce's own escaper makes of "x\' OR Name != '" (docs/salesforce-behaviour.md#soql): not valid SOQL.
    expect(queryError(String.raw`SELECT Username FROM User WHERE Title = 'x\\' OR Name != \''`).errorCode).toBe('MALFORMED_QUERY')
  })
})
