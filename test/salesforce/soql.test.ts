// The SOQL escaper and builder: exact text for every escape, identifier rejection, and every query read back by soql-parser-js.
import { describe, expect, it } from 'vitest'
import {
  ALWAYS_FALSE, ALWAYS_TRUE, LIKE_ANY, MAX_SOQL_STRING_LENGTH, SoqlFragment, and, assertIdentifier, compare, contains,
  endsWith, eq, escapeSoqlLike, escapeSoqlString, ge, gt, ident, inList, isIdentifier, isNotNull, isNull, le, like,
  literal, lt, ne, not, notInList, or, select, soql, startsWith, toSoql, type SoqlScalar,
} from '../../src/salesforce/soql.js'
import { ANY, whereLeaves } from './soql-literals.js'

const R = String.raw

describe('escapeSoqlString', () => {
  it.each([
    ['plain', 'john@example.com', 'john@example.com'],
    ['quote', "O'Brien", R`O\'Brien`],
    ['backslash', R`DOMAIN\user`, R`DOMAIN\\user`],
    ['backslash then quote (jsforce breaks here)', R`x\' OR Name != '`, R`x\\\' OR Name != \'`],
    ['quote then backslash', "'\\", "\\'\\\\"],
    ['trailing backslash', 'abc\\', 'abc\\\\'],
    ['two backslashes and a quote', R`\\'`, R`\\\\\'`],
    ['double quote', 'say "hi"', R`say \"hi\"`],
    ['SOQL injection attempt', "' OR Id != '", R`\' OR Id != \'`],
    ['SOQL keywords stay text', 'SELECT Id FROM User WHERE Name LIKE', 'SELECT Id FROM User WHERE Name LIKE'],
    ['LIKE wildcards untouched outside LIKE', '50%_off', '50%_off'],
    ['newline, CR, tab', 'a\nb\rc\td', R`a\nb\rc\td`],
    ['backspace and form feed', 'a\bb\fc', R`a\bb\fc`],
    ['other C0 controls', '\u0000\u0001\u001b\u001f', R`\u0000\u0001\u001b\u001f`],
    ['DEL and C1 controls', '\u007f\u0085\u009f', R`\u007f\u0085\u009f`],
    ['line and paragraph separators', 'a\u2028b\u2029c', R`a\u2028b\u2029c`],
    ['accents and CJK unchanged', 'Zoë 日本語', 'Zoë 日本語'],
    ['emoji (surrogate pair) unchanged', 'hi 😀👍🏽', 'hi 😀👍🏽'],
    ['lone high surrogate', 'a\ud83dz', R`a\ud83dz`],
    ['lone low surrogate', '\ude00', R`\ude00`],
    ['empty', '', ''],
  ])('%s', (_name, input, expected) => {
    expect(escapeSoqlString(input)).toBe(expected)
  })

  it('refuses non-strings instead of turning them into an empty string (jsforce does for 0/false)', () => {
    for (const bad of [0, false, undefined, null, {}]) {
      expect(() => escapeSoqlString(bad as unknown as string)).toThrow(TypeError)
    }
  })
})

describe('escapeSoqlLike', () => {
  it.each([
    ['percent and underscore', '50%_off', R`50\%\_off`],
    ['quote and backslash as in strings', R`a\'%`, R`a\\\'\%`],
    ['already-escaped looking input', R`\%`, R`\\\%`],
    ['newline', '_\n', R`\_\n`],
  ])('%s', (_name, input, expected) => {
    expect(escapeSoqlLike(input)).toBe(expected)
  })
})

describe('literal', () => {
  it.each<[string, SoqlScalar, string]>([
    ['string', "it's", R`'it\'s'`],
    ['true', true, 'true'],
    ['false', false, 'false'],
    ['null', null, 'null'],
    ['integer', 42, '42'],
    ['zero', 0, '0'],
    ['negative zero', -0, '0'],
    ['decimal', -1.5, '-1.5'],
    ['date', new Date('2026-11-28T03:22:13Z'), '2026-11-28T03:22:13Z'],
    ['date with milliseconds is floored', new Date('2026-11-28T03:22:13.999Z'), '2026-11-28T03:22:13Z'],
  ])('%s', (_name, value, expected) => {
    expect(literal(value)).toBe(expected)
  })

  it('rejects what SOQL cannot express', () => {
    expect(() => literal(Number.NaN)).toThrow(RangeError)
    expect(() => literal(Number.POSITIVE_INFINITY)).toThrow(RangeError)
    expect(() => literal(1e21)).toThrow('SOQL cannot express 1e+21 without an exponent')
    expect(() => literal(1e-7)).toThrow(RangeError)
    expect(() => literal(new Date('nope'))).toThrow('Invalid Date cannot be a SOQL dateTime')
    expect(() => literal(undefined as unknown as SoqlScalar)).toThrow(TypeError)
    expect(() => literal({} as unknown as SoqlScalar)).toThrow(TypeError)
  })

  it('enforces Salesforce\'s 4,000-character limit on WHERE strings', () => {
    expect(literal('x'.repeat(MAX_SOQL_STRING_LENGTH))).toHaveLength(MAX_SOQL_STRING_LENGTH + 2)
    expect(() => literal('x'.repeat(MAX_SOQL_STRING_LENGTH + 1))).toThrow('exceeds Salesforce\'s 4000')
  })
})

describe('identifiers', () => {
  it.each(['Id', 'Username', 'Manager.Username', 'Foo__c', 'Account.Owner.Name', 'a1'])('accepts %s', (name) => {
    expect(isIdentifier(name)).toBe(true)
    expect(ident(name).text).toBe(name)
  })

  it.each([
    '', ' Id', 'Id ', '1Id', '_Id', 'Name; DELETE', 'Name OR Id', "Name'", 'Name--', 'Foo-Bar', 'Name.', '.Name',
    'Manager..Name', 'Nämé', 'Id = null', 'Select', 'OR', 'null', 'Manager.from', 'TRUE',
  ])('rejects %j', (name) => {
    expect(isIdentifier(name)).toBe(false)
    expect(() => assertIdentifier(name)).toThrow(`Not a SOQL identifier: ${JSON.stringify(name)}`)
    expect(() => eq(name, 'x')).toThrow(TypeError)
  })

  it('rejects non-strings', () => {
    expect(() => assertIdentifier(42)).toThrow(TypeError)
    expect(() => eq(undefined as unknown as string, 'x')).toThrow(TypeError)
  })
})

describe('conditions', () => {
  it('renders comparisons', () => {
    expect(eq('Username', 'a@b.c').text).toBe("Username = 'a@b.c'")
    expect(ne('Title', "O'Neil").text).toBe(R`Title != 'O\'Neil'`)
    expect(gt('LastModifiedDate', new Date('2011-05-13T04:42:34Z')).text).toBe('LastModifiedDate > 2011-05-13T04:42:34Z')
    expect(ge('Age__c', 3).text).toBe('Age__c >= 3')
    expect(lt('Name', 'm').text).toBe("Name < 'm'")
    expect(le('Name', 'm').text).toBe("Name <= 'm'")
    expect(eq('IsActive', true).text).toBe('IsActive = true')
    expect(isNull('ManagerId').text).toBe('ManagerId = null')
    expect(isNotNull('ManagerId').text).toBe('ManagerId != null')
    expect(compare(ident('Email'), '=', 'x').text).toBe("Email = 'x'")
    expect(() => compare('Email', 'LIKE' as '=', 'x')).toThrow('Not a SOQL comparison operator: LIKE')
  })

  it('renders LIKE with the value matched literally', () => {
    expect(startsWith('Username', 'a%b_')).toHaveProperty('text', R`Username LIKE 'a\%b\_%'`)
    expect(endsWith('Username', '@x.com')).toHaveProperty('text', "Username LIKE '%@x.com'")
    expect(contains('Title', "it's 100%")).toHaveProperty('text', R`Title LIKE '%it\'s 100\%%'`)
    expect(like('Username', 'jo', LIKE_ANY, '.sf_dev')).toHaveProperty('text', R`Username LIKE 'jo%.sf\_dev'`)
    expect(like('Username', LIKE_ANY, LIKE_ANY, 'x', LIKE_ANY)).toHaveProperty('text', "Username LIKE '%x%'")
  })

  it('renders IN lists, and empty lists as constants', () => {
    expect(inList('Id', ['005A', "b'c"]).text).toBe(R`Id IN ('005A', 'b\'c')`)
    expect(notInList('UserType', ['Guest']).text).toBe("UserType NOT IN ('Guest')")
    expect(inList('Id', [])).toBe(ALWAYS_FALSE)
    expect(notInList('Id', [])).toBe(ALWAYS_TRUE)
  })

  it('uses Id = null / Id != null for false / true (SOQL has no boolean condition literal)', () => {
    expect(ALWAYS_FALSE.text).toBe('Id = null')
    expect(ALWAYS_TRUE.text).toBe('Id != null')
  })

  it('parenthesises whenever AND, OR and NOT mix, and flattens same-operator chains', () => {
    const a = eq('A__c', 1)
    const b = eq('B__c', 2)
    const c = eq('C__c', 3)
    expect(and(a, or(b, c)).text).toBe('A__c = 1 AND (B__c = 2 OR C__c = 3)')
    expect(or(a, and(b, c)).text).toBe('A__c = 1 OR (B__c = 2 AND C__c = 3)')
    expect(and(and(a, b), c).text).toBe('A__c = 1 AND B__c = 2 AND C__c = 3')
    expect(or(a, or(b, c)).text).toBe('A__c = 1 OR B__c = 2 OR C__c = 3')
    expect(and(a, not(b)).text).toBe('A__c = 1 AND (NOT B__c = 2)')
    expect(not(and(a, b)).text).toBe('NOT (A__c = 1 AND B__c = 2)')
    expect(not(not(a))).toBe(a)
    expect(and(a, soql`B__c = ${2} OR C__c = ${3}`).text).toBe('A__c = 1 AND (B__c = 2 OR C__c = 3)')
  })

  it('simplifies constants', () => {
    const a = eq('A__c', 1)
    expect(and()).toBe(ALWAYS_TRUE)
    expect(or()).toBe(ALWAYS_FALSE)
    expect(and(a)).toBe(a)
    expect(and(a, ALWAYS_TRUE)).toBe(a)
    expect(and(a, ALWAYS_FALSE)).toBe(ALWAYS_FALSE)
    expect(or(a, ALWAYS_FALSE)).toBe(a)
    expect(or(a, ALWAYS_TRUE)).toBe(ALWAYS_TRUE)
    expect(not(ALWAYS_TRUE)).toBe(ALWAYS_FALSE)
    expect(not(ALWAYS_FALSE)).toBe(ALWAYS_TRUE)
  })

  it('accepts only fragments made here as conditions', () => {
    expect(() => and("Name = 'x' OR Id != null" as unknown as SoqlFragment)).toThrow(TypeError)
    expect(() => or(ident('Name'))).toThrow('A field name is not a condition: Name')
    expect(() => new SoqlFragment(Symbol('soql.internal'), 'atom', 'Id != null')).toThrow('SoqlFragment is made only by the helpers')
  })
})

describe('soql tag', () => {
  it('renders every interpolation as a literal', () => {
    const q = soql`Username = ${"x' OR Name != '"} AND IsActive = ${true} AND LastModifiedDate > ${new Date('2026-11-28T03:22:13Z')} AND Id IN ${['a', 'b']} AND ManagerId = ${null}`
    expect(q.text).toBe(R`Username = 'x\' OR Name != \'' AND IsActive = true AND LastModifiedDate > 2026-11-28T03:22:13Z AND Id IN ('a', 'b') AND ManagerId = null`)
  })

  it('inserts fragments verbatim', () => {
    expect(soql`${ident('Title')} != ${'x'} AND ${eq('A__c', 1)}`.text).toBe("Title != 'x' AND A__c = 1")
  })

  it('refuses quoted interpolations and non-template calls', () => {
    const v = 'x'
    expect(() => soql`Name = '${v}'`).toThrow('Do not quote ${} in soql')
    expect(() => soql`Name LIKE '%${v}%'`).toThrow('Do not quote ${} in soql')
    const fake = Object.assign(['Name = ', ''], { raw: ['Name = ', ''] }) as unknown as TemplateStringsArray
    expect(() => soql(fake, 'x')).toThrow('soql must be used as a tagged template')
    expect(() => soql`Id IN ${[]}`).toThrow('SOQL IN () needs at least one value')
  })

  it('brands a whole query with toSoql', () => {
    expect(toSoql(soql`SELECT Id FROM User WHERE Username = ${'a'}`)).toBe("SELECT Id FROM User WHERE Username = 'a'")
    expect(() => toSoql(eq('A__c', 1))).toThrow(TypeError)
  })
})

describe('select', () => {
  it('builds every clause', () => {
    expect(select({
      fields: ['Id', 'Username', 'Manager.Username'],
      from: 'User',
      where: and(eq('IsActive', true), startsWith('Username', 'jo')),
      orderBy: [{ field: 'Username', dir: 'ASC', nulls: 'LAST' }, { field: 'Id', dir: 'DESC' }],
      limit: 10,
      offset: 20,
    })).toBe("SELECT Id, Username, Manager.Username FROM User WHERE IsActive = true AND Username LIKE 'jo%' ORDER BY Username ASC NULLS LAST, Id DESC LIMIT 10 OFFSET 20")
  })

  it('leaves out an always-true WHERE and accepts COUNT()', () => {
    expect(select({ fields: ['Id'], from: 'User', where: ALWAYS_TRUE })).toBe('SELECT Id FROM User')
    expect(select({ fields: [soql`COUNT()`], from: 'User', where: ALWAYS_FALSE })).toBe('SELECT COUNT() FROM User WHERE Id = null')
  })

  it('rejects bad names and numbers', () => {
    expect(() => select({ fields: [], from: 'User' })).toThrow('select() needs at least one field')
    expect(() => select({ fields: ['Id'], from: 'User WHERE Id != null' })).toThrow(TypeError)
    expect(() => select({ fields: ['Id, Password'], from: 'User' })).toThrow(TypeError)
    expect(() => select({ fields: ['Id'], from: 'User', orderBy: [{ field: 'Name; x' }] })).toThrow(TypeError)
    expect(() => select({ fields: ['Id'], from: 'User', orderBy: [{ field: 'Name', dir: 'UP' as 'ASC' }] })).toThrow(TypeError)
    expect(() => select({ fields: ['Id'], from: 'User', limit: -1 })).toThrow(RangeError)
    expect(() => select({ fields: ['Id'], from: 'User', limit: 1.5 })).toThrow(RangeError)
    expect(() => select({ fields: ['Id'], from: 'User', offset: 2001 })).toThrow('Salesforce allows OFFSET up to 2000, got 2001')
    expect(() => select({ fields: ['Id'], from: 'User', where: ident('Name') })).toThrow(TypeError)
  })
})

describe('every value round-trips through soql-parser-js as exactly one literal', () => {
  const nasty = [
    "O'Brien", R`DOMAIN\user`, R`x\' OR Name != '`, R`\'`, R`\\'`, 'abc\\', "' OR Id != '", "') OR (Id != '",
    'say "hi"', '50%_off', 'a\nb\rc\td\be\ff', '\u0000\u001b\u007f', 'Zoë 日本語 😀', 'a\ud83dz', '', ' ',
    "'; DELETE FROM User; --", 'SELECT Id FROM User', R`\u0027`, R`\n`,
  ]

  it.each(nasty)('eq %j', (value) => {
    const query = select({ fields: ['Id'], from: 'User', where: eq('Username', value) })
    expect(whereLeaves(query)).toEqual([{ field: 'Username', operator: '=', value }])
  })

  it.each(nasty.filter((v) => v !== ''))('contains %j', (value) => {
    const query = select({ fields: ['Id'], from: 'User', where: contains('Title', value) })
    expect(whereLeaves(query)).toEqual([{ field: 'Title', operator: 'LIKE', value: { like: [ANY, value, ANY] } }])
  })

  it('IN lists, dates, booleans and null', () => {
    const query = select({
      fields: ['Id'],
      from: 'User',
      where: and(inList('Id', ["a'b", 'c\\']), gt('LastModifiedDate', new Date('2026-11-28T03:22:13Z')), ne('IsActive', false), isNull('ManagerId')),
    })
    expect(whereLeaves(query)).toEqual([
      { field: 'Id', operator: 'IN', value: ["a'b", 'c\\'] },
      { field: 'LastModifiedDate', operator: '>', value: { dateTime: '2026-11-28T03:22:13Z' } },
      { field: 'IsActive', operator: '!=', value: false },
      { field: 'ManagerId', operator: '=', value: null },
    ])
  })

  it('random strings over a hostile alphabet (seeded)', () => {
    const alphabet = ["'", '\\', '"', '%', '_', '\n', '\r', '\t', ' ', 'OR', 'AND', '(', ')', '=', '!', 'a', 'é', '😀', '\u0001', 'u', '0']
    let seed = 7
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n }
    for (let i = 0; i < 300; i++) {
      let value = ''
      for (let j = rand(12) + 1; j > 0; j--) value += alphabet[rand(alphabet.length)] as string
      const query = select({ fields: ['Id'], from: 'User', where: eq('Username', value) })
      expect(whereLeaves(query)).toEqual([{ field: 'Username', operator: '=', value }])
      const pattern = select({ fields: ['Id'], from: 'User', where: startsWith('Username', value) })
      expect(whereLeaves(pattern)).toEqual([{ field: 'Username', operator: 'LIKE', value: { like: [value, ANY] } }])
    }
  })
})
