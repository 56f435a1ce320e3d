// The in-memory filter evaluator: RFC 7644 §3.4.2.2 operators per type, caseExact, dateTimes, logic, value paths.
import { describe, expect, it } from 'vitest'
import { compareText, matches, type Attribute, type Lookup } from '../../src/protocol/evaluate.js'
import { parseFilter, type CompareOp } from '../../src/protocol/filter.js'

/** A Lookup over a plain object; `types` names the SCIM type of a key (default string), `exact` the caseExact ones. */
function subject (obj: Record<string, unknown>, types: Record<string, Attribute['type']> = {}, exact: string[] = []): Lookup {
  return ({ urn, attr }) => {
    if (urn !== undefined && urn.toLowerCase() !== 'urn:ietf:params:scim:schemas:core:2.0:user') return undefined
    const key = Object.keys(obj).find((k) => k.toLowerCase() === attr.toLowerCase())
    if (key === undefined) return undefined
    const raw = obj[key]
    const list = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [raw]
    const isComplex = list.some((v) => typeof v === 'object' && v !== null)
    if (isComplex) return { type: 'complex', values: list.map((v) => subject(v as Record<string, unknown>, types, exact)) }
    return { type: types[key] ?? 'string', caseExact: exact.includes(key), values: list }
  }
}

const user = subject({
  userName: 'Bjensen@Example.com',
  externalId: 'AbC',
  title: null,
  active: true,
  loginCount: 7,
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }, { value: 'babs@jensen.org', type: 'home' }],
  meta: { created: '2011-08-01T18:29:49.000Z', lastModified: '2011-08-01T20:31:02+02:00' },
}, { active: 'boolean', primary: 'boolean', loginCount: 'integer', created: 'dateTime', lastModified: 'dateTime' }, ['externalId'])

const ok = (filter: string): boolean => matches(parseFilter(filter), user)

describe('compareText', () => {
  it.each<[CompareOp, string, string, boolean, boolean]>([
    ['eq', 'Sales', 'sales', false, true],
    ['eq', 'Sales', 'sales', true, false],
    ['ne', 'Sales', 'SALES', false, false],
    ['ne', 'Sales', 'SALES', true, true],
    ['co', 'Field Sales', 'LD s', false, true],
    ['sw', 'Field Sales', 'fie', false, true],
    ['sw', 'Field Sales', 'fie', true, false],
    ['ew', 'Field Sales', 'SALES', false, true],
    ['gt', 'b', 'A', false, true],
    ['gt', 'b', 'A', true, true],
    ['lt', 'B', 'a', true, true],
    ['lt', 'B', 'a', false, false],
    ['ge', 'abc', 'ABC', false, true],
    ['le', 'abc', 'ABC', false, true],
  ])('%s %j %j caseExact=%s → %s', (op, a, b, caseExact, expected) => {
    expect(compareText(op, a, b, caseExact)).toBe(expected)
  })

  it('is case-insensitive by default', () => {
    expect(compareText('eq', 'ABC', 'abc')).toBe(true)
  })
})

describe('matches', () => {
  it.each([
    // Text: case-insensitive unless caseExact (RFC 7643 §2.2).
    ['userName eq "bjensen@example.com"', true],
    ['USERNAME Eq "BJENSEN@EXAMPLE.COM"', true],
    ['userName co "@EXAMPLE"', true],
    ['userName sw "bjen"', true],
    ['userName ew ".COM"', true],
    ['userName ne "bjensen@example.com"', false],
    ['userName gt "a"', true],
    ['userName lt "a"', false],
    ['externalId eq "AbC"', true],
    ['externalId eq "abc"', false],
    ['externalId ne "abc"', true],
    // Booleans, including Entra's string booleans; numbers.
    ['active eq true', true],
    ['active eq "True"', true],
    ['active ne true', false],
    ['loginCount gt 6', true],
    ['loginCount le 6', false],
    ['loginCount eq 7', true],
    // dateTime: instants, whatever the zone and the fraction.
    ['meta.created eq "2011-08-01T18:29:49Z"', true],
    ['meta.created eq "2011-08-01T20:29:49+02:00"', true],
    ['meta.created gt "2011-08-01T18:29:48.5Z"', true],
    ['meta.created ge "2011-08-01T18:29:49.5Z"', false],
    ['meta.lastModified lt "2011-08-01T18:31:03Z"', true],
    ['meta.created co "2011"', false],
    ['meta.created eq "not a date"', false],
    // Presence and null.
    ['title pr', false],
    ['userName pr', true],
    ['title eq null', true],
    ['title ne null', false],
    ['userName eq null', false],
    ['userName ne null', true],
    ['title ne "x"', true],
    ['title eq "x"', false],
    ['nickName pr', false],
    // Logic and precedence.
    ['userName eq "x" or active eq true', true],
    ['userName eq "x" or active eq true and loginCount eq 1', false],
    ['not (userName eq "x")', true],
    ['not (userName sw "b" and active eq true)', false],
    // Complex attributes.
    ['name.givenName eq "barbara"', true],
    ['name.familyName ne "Jensen"', false],
    ['emails eq "BABS@jensen.org"', true],
    ['emails.value co "jensen.org"', true],
    ['emails.type eq "other"', false],
    ['emails[type eq "work"]', true],
    ['emails[type eq "other"]', false],
    ['emails[type eq "work" and value ew "example.com"]', true],
    ['emails[type eq "home"].value eq "bjensen@example.com"', false],
    ['emails[type eq "home"].value eq "babs@jensen.org"', true],
    ['emails[primary eq true].value sw "bjensen"', true],
    ['emails[not (primary eq true)].value sw "bjensen"', false],
    ['emails pr', true],
    // Schema URNs.
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com"', true],
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName eq "bjensen@example.com"', false],
  ])('%s → %s', (filter, expected) => {
    expect(ok(filter)).toBe(expected)
  })

  it('compares canonical forms when the attribute has one, and an invalid value equals nothing', () => {
    const upper = (text: string): string | undefined => /^[a-z]+$/i.test(text) ? text.toUpperCase() : undefined
    const s: Lookup = () => ({ type: 'string', caseExact: true, canonical: upper, values: ['abc'] })
    expect(matches(parseFilter('id eq "ABC"'), s)).toBe(true)
    expect(matches(parseFilter('id eq "a-b"'), s)).toBe(false)
    expect(matches(parseFilter('id ne "a-b"'), s)).toBe(true)
  })

  it('answers a value of the wrong type with no match (ne: a match)', () => {
    expect(ok('userName eq true')).toBe(false)
    expect(ok('active eq "yes"')).toBe(false)
    expect(ok('loginCount eq "7"')).toBe(false)
    expect(ok('loginCount ne "7"')).toBe(true)
  })
})
