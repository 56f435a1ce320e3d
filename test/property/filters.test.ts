// Properties of filters: any string is answered (200 or 400 invalidFilter, never a 5xx, never a write); any value
// compared with eq/co/sw/ew is matched literally by Salesforce (no quoting, escaping or wildcard leaks through);
// the IdP-compatibility rewrite never changes the meaning of a filter the parser accepts.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { normalizeFilter } from '../../src/scim/compat.js'
import { FilterError, parseFilter } from '../../src/protocol/filter.js'
import { auth, SCIM, startHarness, type Harness } from '../helper.js'
import { orgState } from '../security/org-state.js'
import { E, expectScimAnswer, nastyString, RUN, tracked } from './arbitraries.js'

/** Titles planted in the org: each is a near miss of the others for some operator or escaping mistake. */
const TITLES = ["O'Brien", 'OBrien', 'o\\brien', '50%_off', '50XYoff', 'a_c', 'abc', 'say "hi"', 'SELECT Id FROM User', "x' OR Title != '", 'Ünïcödé 😀', 'ß']

let h: Harness
beforeAll(async () => {
  h = await startHarness()
  for (const [i, title] of TITLES.entries()) {
    const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: `t${i}@filters.example`, name: { familyName: 'Filter' }, title })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
  }
})
afterAll(async () => { await h.close() })

// Filter-shaped noise: real attribute names, operators, values and brackets in random order.
const token = fc.oneof(
  fc.constantFrom('userName', 'title', 'emails', 'emails.value', 'name.givenName', 'meta.created', `${E}:department`, 'id', 'active',
    'eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'pr', 'np', 'and', 'or', 'not', '(', ')', '[', ']', '.value',
    '"x"', '"O\'Brien"', 'true', 'null', '42', '"2011-05-13T04:42:34Z"', '"\\u0027"', '"\\"', '\\'),
  nastyString
)
const filterish = fc.oneof(
  fc.array(token, { minLength: 1, maxLength: 9 }).map((t) => t.join(' ')),
  fc.array(token, { minLength: 1, maxLength: 9 }).map((t) => t.join('')),
  nastyString
)

describe('any filter string', () => {
  it('gets 200 or a SCIM 400, and changes nothing', async () => {
    const check = tracked(async (filter: string) => {
      const before = orgState(h.emulator)
      const res = await h.http.get(`${SCIM}/Users`).query({ filter }).set(auth)
      expectScimAnswer(res, filter)
      expect([200, 400], filter).toContain(res.status)
      if (res.status === 400) expect(['invalidFilter', 'invalidValue']).toContain(res.body.scimType)
      expect(orgState(h.emulator)).toBe(before)
    })
    try {
      await fc.assert(fc.asyncProperty(filterish, check.predicate), RUN)
    } finally {
      await check.idle()
    }
  })
})

describe('compared values are literals', () => {
  // Case-insensitive as the emulator assumes SOQL is (foldCase in src/emulator/soql.ts): one character to one, so
  // "ß" does not contain "s" and "İ" is not "i". Written out again here so that the oracle does not borrow the code it judges.
  const fold = (s: string): string => Array.from(s, (c) => {
    const u = c.toUpperCase()
    return u.length === c.length && !(c.charCodeAt(0) >= 128 && u.charCodeAt(0) < 128) ? u : c
  }).join('')
  const folds = (s: string): string[] => [fold(s)]
  const sameText = (a: string, b: string): boolean => fold(a) === fold(b)
  const value = fc.oneof(fc.constantFrom(...TITLES), nastyString.filter((s) => s.length > 0), fc.constantFrom(...TITLES).map((t) => t.slice(1, -1)))

  it.each([
    ['eq', (title: string, v: string) => sameText(title, v)],
    ['sw', (title: string, v: string) => folds(title).some((t) => folds(v).some((x) => t.startsWith(x)))],
    ['ew', (title: string, v: string) => folds(title).some((t) => folds(v).some((x) => t.endsWith(x)))],
    ['co', (title: string, v: string) => folds(title).some((t) => folds(v).some((x) => t.includes(x)))],
  ] as const)('title %s "<any string>" returns exactly the users whose title matches it as text', async (op, matches) => {
    const check = tracked(async (v: string) => {
      const filter = `title ${op} ${JSON.stringify(v)}`
      const res = await h.http.get(`${SCIM}/Users`).query({ filter: `userName ew "@filters.example" and ${filter}`, count: 100 }).set(auth)
      expectScimAnswer(res, filter)
      expect(res.status, `${filter} → ${JSON.stringify(res.body)}`).toBe(200)
      const found = (res.body.Resources as Array<{ title?: string }>).map((r) => r.title ?? '').sort()
      const expected = TITLES.filter((t) => matches(t, v)).sort()
      expect(found, filter).toEqual(expected)
    })
    try {
      await fc.assert(fc.asyncProperty(value, check.predicate), RUN)
    } finally {
      await check.idle()
    }
  })
})

describe('the IdP-compatibility rewrite', () => {
  // RFC 7644 filters built from a small grammar: what an RFC-abiding IdP may send.
  const attr = fc.constantFrom('userName', 'title', 'name.familyName', 'emails.value', `${E}:department`, 'UserName', 'TITLE')
  const rfcValue = fc.oneof(nastyString.map((s) => JSON.stringify(s)), fc.constantFrom('true', 'false', 'null', '42', '-1.5'))
  const leaf = fc.oneof(
    fc.tuple(attr, fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'Eq', 'SW'), rfcValue).map(([a, o, v]) => `${a} ${o} ${v}`),
    attr.map((a) => `${a} pr`),
    rfcValue.map((v) => `emails[type eq "work" and value co ${v}]`)
  )
  const { filter } = fc.letrec<{ filter: string }>((tie) => ({
    filter: fc.oneof({ depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.tuple(tie('filter'), fc.constantFrom('and', 'or', 'AND'), tie('filter')).map(([a, op, b]) => `${a} ${op} ${b}`),
      tie('filter').map((f) => `(${f})`),
      tie('filter').map((f) => `not (${f})`)),
  }))

  it('never changes what a filter the parser accepts means', () => {
    fc.assert(fc.property(filter, (f) => {
      let parsed
      try {
        parsed = parseFilter(f)
      } catch (err) {
        if (err instanceof FilterError) return
        throw err
      }
      expect(parseFilter(normalizeFilter(f)), f).toEqual(parsed)
    }), { numRuns: 500 })
  })
})
