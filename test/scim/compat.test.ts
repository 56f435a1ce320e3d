// IdP compatibility rewrites: the exact shapes WSO2 IS, Entra, Okta, OneLogin and the Microsoft suite send
// (docs/idp-behaviour.md#wso2-tolerate, docs/idp-behaviour.md#idp-clients), and that SCIMMY accepts what comes out.
import SCIMMY from 'scimmy'
import { describe, expect, it } from 'vitest'
import { CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA } from '../../src/protocol/constants.js'
import { FilterError, parseFilter } from '../../src/protocol/filter.js'
import { normalizeFilter, normalizePatchBody, normalizeUserBody, parseRequestFilter } from '../../src/scim/compat.js'

const ENT = ENTERPRISE_USER_SCHEMA

/** Deep-freezes a value so any mutation by the function under test throws. */
function frozen<T> (value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) frozen(v)
    Object.freeze(value)
  }
  return value
}

/** The filter as SCIMMY parses it (throws what SCIMMY throws). */
function parsed (filter: string): unknown {
  return JSON.parse(JSON.stringify(new SCIMMY.Types.Filter(filter)))
}

describe('normalizeFilter', () => {
  it.each([
    // WSO2 IS: capitalised operator, raw value (docs/idp-behaviour.md#wso2-sequences).
    ['userName Eq john@example.com', 'userName eq "john@example.com"'],
    ['userName Eq john.doe+x@example.com', 'userName eq "john.doe+x@example.com"'],
    ['displayName Eq PRIMARY/sales team', 'displayName eq "PRIMARY/sales team"'],
    ['displayName Eq Sales and Marketing', 'displayName eq "Sales and Marketing"'],
    ['userName Eq john', 'userName eq "john"'],
    // Microsoft SCIM suite: unquoted single words and dates.
    ['userName sw O', 'userName sw "O"'],
    ['meta.Created gt 2015-10-10T14:38:21.8617979-07:00', 'meta.Created gt "2015-10-10T14:38:21.8617979-07:00"'],
    // Value paths and extension URNs keep their attribute path as sent.
    ['emails[type eq "work"].value eq a@b.c', 'emails[type eq "work"].value eq "a@b.c"'],
    [`${ENT}:employeeNumber Eq E-42`, `${ENT}:employeeNumber eq "E-42"`],
    // Backslashes and quotes are JSON-escaped inside the new quotes.
    ['userName Eq a"b\\c', 'userName eq "a\\"b\\\\c"'],
    ['  userName   EQ   john smith  ', 'userName eq "john smith"'],
    // The ABNF allows True/FALSE; SCIMMY 1.3.5 would read them as false.
    ['active eq True', 'active eq true'],
    ['active Eq FALSE', 'active eq false']
  ])('%s → %s', (input, expected) => {
    expect(normalizeFilter(input)).toBe(expected)
  })

  it('produces filters SCIMMY parses to the intended value', () => {
    expect(parsed(normalizeFilter('userName Eq john@example.com'))).toEqual([{ userName: ['eq', 'john@example.com'] }])
    expect(parsed(normalizeFilter('displayName Eq PRIMARY/sales team'))).toEqual([{ displayName: ['eq', 'PRIMARY/sales team'] }])
    expect(parsed(normalizeFilter('active eq True'))).toEqual([{ active: ['eq', true] }])
    // Without the rewrite SCIMMY refuses the WSO2 shape (docs/idp-behaviour.md#wso2-interop).
    expect(() => parsed('userName Eq john@example.com')).toThrow(/Unexpected token/)
  })

  it.each([
    'userName eq "john@example.com"',
    'userName Eq "john@example.com"',
    'userName eq "x" or userName eq "y"',
    'userName eq "a" and active eq true',
    'name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)',
    'userName eq x and active eq true',
    'not (userName eq "x")',
    'title pr',
    'userName eq 12',
    'active eq false',
    'manager eq null',
    'DisplayName eq "BobIsAmazing"',
    'emails[type eq "work" and value co "@example.com"]',
    ''
  ])('leaves %j as it is', (input) => {
    expect(normalizeFilter(input)).toBe(input)
  })

  it('is idempotent', () => {
    for (const f of ['userName Eq john@example.com', 'displayName Eq PRIMARY/sales team', 'userName sw O', 'active eq True', 'userName Eq a"b\\c']) {
      const once = normalizeFilter(f)
      expect(normalizeFilter(once)).toBe(once)
    }
  })

  it('never throws on non-string input', () => {
    for (const v of [undefined, null, 42, {}, []]) {
      expect(normalizeFilter(v as unknown as string)).toBe(v)
    }
  })

  it('stays fast on pathological input', () => {
    const evil = `userName eq x and ${' '.repeat(50_000)}(`
    const started = performance.now()
    normalizeFilter(evil)
    normalizeFilter(`a eq ${'a '.repeat(50_000)}`)
    expect(performance.now() - started).toBeLessThan(500)
  })
})

describe('parseRequestFilter', () => {
  it('parses RFC filters as they are and IdP quirks after normalising them', () => {
    expect(parseRequestFilter(undefined)).toBeUndefined()
    expect(parseRequestFilter('')).toBeUndefined()
    expect(parseRequestFilter('userName eq "x" or active eq True')).toEqual(parseFilter('userName eq "x" or active eq true'))
    expect(parseRequestFilter('userName Eq john@example.com')).toEqual(parseFilter('userName eq "john@example.com"'))
    expect(parseRequestFilter('displayName Eq PRIMARY/sales team')).toEqual(parseFilter('displayName eq "PRIMARY/sales team"'))
  })

  it('finds the attribute path with the filter parser: a quoted "]" or " eq " inside a value filter stays in it', () => {
    expect(normalizeFilter('emails[type eq "a]b"].value eq x@y.z')).toBe('emails[type eq "a]b"].value eq "x@y.z"')
    expect(normalizeFilter('emails[type eq "a eq b"].value Eq x@y.z')).toBe('emails[type eq "a eq b"].value eq "x@y.z"')
    expect(parseRequestFilter('emails[type eq "a]b"].value eq x@y.z')).toEqual(parseFilter('emails[type eq "a]b"].value eq "x@y.z"'))
  })

  it('throws the parser\'s FilterError for what it cannot read', () => {
    expect(() => parseRequestFilter('userName eq')).toThrow(FilterError)
    expect(() => parseRequestFilter('(userName eq x')).toThrow(FilterError)
  })
})

describe('normalizeUserBody', () => {
  it('fixes WSO2 IS\'s create body: empty schemas, string emails (docs/idp-behaviour.md#wso2-tolerate)', () => {
    const body = frozen({
      schemas: [],
      userName: 'john@example.com',
      password: 'b6f6c1a4-8f6e-4a4e-9d3c-2a1b0c9d8e7f',
      name: { givenName: 'John', familyName: 'Doe' },
      emails: ['john@example.com', 'jd@example.org'],
      [ENT]: { department: 'Sales' }
    })
    expect(normalizeUserBody(body)).toEqual({
      schemas: [CORE_USER_SCHEMA, ENT],
      userName: 'john@example.com',
      password: 'b6f6c1a4-8f6e-4a4e-9d3c-2a1b0c9d8e7f',
      name: { givenName: 'John', familyName: 'Doe' },
      emails: [{ value: 'john@example.com', primary: true }, { value: 'jd@example.org' }],
      [ENT]: { department: 'Sales' }
    })
  })

  it('fixes WSO2 IS\'s partial PUT body without enterprise data', () => {
    expect(normalizeUserBody(frozen({ schemas: [], userName: 'john', emails: ['j@x.com'] }))).toEqual({
      schemas: [CORE_USER_SCHEMA], userName: 'john', emails: [{ value: 'j@x.com', primary: true }]
    })
  })

  it('keeps an object that is already primary and does not add a second one', () => {
    expect(normalizeUserBody(frozen({ schemas: [CORE_USER_SCHEMA], userName: 'j', emails: ['a@x.com', { value: 'b@x.com', primary: 'True' }] }))).toEqual({
      schemas: [CORE_USER_SCHEMA], userName: 'j', emails: [{ value: 'a@x.com' }, { value: 'b@x.com', primary: true }]
    })
  })

  it('fixes Entra\'s create body: string manager, string active (docs/idp-behaviour.md#entra)', () => {
    const body = frozen({
      schemas: [CORE_USER_SCHEMA, ENT],
      externalId: 'jdoe',
      userName: 'jdoe@contoso.com',
      active: 'True',
      emails: [{ primary: 'true', type: 'work', value: 'jdoe@contoso.com' }],
      meta: { resourceType: 'User' },
      roles: [],
      [ENT]: { employeeNumber: '42', manager: '4f5e0c7a' }
    })
    expect(normalizeUserBody(body)).toEqual({
      schemas: [CORE_USER_SCHEMA, ENT],
      externalId: 'jdoe',
      userName: 'jdoe@contoso.com',
      active: true,
      emails: [{ primary: true, type: 'work', value: 'jdoe@contoso.com' }],
      roles: [],
      [ENT]: { employeeNumber: '42', manager: { value: '4f5e0c7a' } }
    })
  })

  it('fixes a flattened enterprise manager and recognises the enterprise data when schemas is missing', () => {
    expect(normalizeUserBody(frozen({ userName: 'j', [`${ENT}:manager`]: 'm1' }))).toEqual({
      schemas: [CORE_USER_SCHEMA, ENT], userName: 'j', [`${ENT}:manager`]: { value: 'm1' }
    })
  })

  it('fixes OneLogin\'s template body: id null, meta, string active; keeps what it does not know', () => {
    const body = frozen({
      schemas: [CORE_USER_SCHEMA, ENT],
      id: null,
      meta: { created: '{$user.created}' },
      userName: 'ann@example.com',
      active: 'false',
      [ENT]: { manager: { managerId: '77' } },
      'urn:example:params:scim:schemas:extension:acme:2.0:User': { badge: 'B-1' }
    })
    expect(normalizeUserBody(body)).toEqual({
      schemas: [CORE_USER_SCHEMA, ENT],
      userName: 'ann@example.com',
      active: false,
      [ENT]: { manager: { managerId: '77' } },
      'urn:example:params:scim:schemas:extension:acme:2.0:User': { badge: 'B-1' }
    })
  })

  it('leaves Okta\'s RFC-tidy create body as it is (the same object)', () => {
    const body = frozen({
      schemas: [CORE_USER_SCHEMA],
      userName: 'isabella@example.com',
      name: { givenName: 'Isabella', familyName: 'Jones' },
      emails: [{ primary: true, value: 'isabella@example.com', type: 'work' }],
      displayName: 'Isabella Jones',
      locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7',
      groups: [],
      password: '1mz050nq',
      active: true
    })
    expect(normalizeUserBody(body)).toBe(body)
  })

  it('keeps a non-null id and values it cannot fix, for validation to refuse', () => {
    const body = frozen({ schemas: [CORE_USER_SCHEMA], id: '005000000000001AAA', userName: 'j', active: 'yes', emails: [42] })
    expect(normalizeUserBody(body)).toBe(body)
  })

  it('produces bodies SCIMMY accepts', () => {
    const out = normalizeUserBody({ schemas: [], userName: 'john@example.com', active: 'True', emails: ['john@example.com'] })
    const user = JSON.parse(JSON.stringify(new SCIMMY.Schemas.User(out as Record<string, unknown>, 'in'))) as Record<string, unknown>
    expect(user).toMatchObject({ userName: 'john@example.com', active: true, emails: [{ value: 'john@example.com', primary: true }] })
  })

  it('is idempotent', () => {
    for (const body of [
      { schemas: [], userName: 'j', emails: ['a@x.com', 'b@x.com'], active: 'False', id: null, meta: {} },
      { userName: 'j', [ENT]: { manager: 'm' } }
    ]) {
      const once = normalizeUserBody(body)
      expect(normalizeUserBody(once)).toEqual(once)
    }
  })

  it.each([null, undefined, 42, 'text', true, [], [{ userName: 'j' }]])('returns %j unchanged', (input) => {
    expect(normalizeUserBody(input)).toBe(input)
  })
})

describe('normalizePatchBody', () => {
  it('fixes Entra\'s default user PATCH: capitalised ops, string booleans, string manager (docs/idp-behaviour.md#scimmy-patch, #entra)', () => {
    const body = frozen({
      schemas: [PATCH_OP_SCHEMA],
      Operations: [
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'Add', path: 'nickName', value: 'Babs' },
        { op: 'Add', path: `${ENT}:manager`, value: '4f5e0c7a' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'babs@contoso.com' },
        { op: 'Remove', path: 'title' }
      ]
    })
    expect(normalizePatchBody(body)).toEqual({
      schemas: [PATCH_OP_SCHEMA],
      Operations: [
        { op: 'replace', path: 'active', value: false },
        { op: 'add', path: 'nickName', value: 'Babs' },
        { op: 'add', path: `${ENT}:manager`, value: { value: '4f5e0c7a' } },
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'babs@contoso.com' },
        { op: 'remove', path: 'title' }
      ]
    })
  })

  it('fixes Entra\'s path-less replace with dotted keys (aadOptscim062020), keeping the dotted keys', () => {
    const body = frozen({
      schemas: [PATCH_OP_SCHEMA],
      Operations: [{
        op: 'replace',
        value: { displayName: 'Babs Jensen', 'name.givenName': 'Barbara', active: 'false', [`${ENT}:manager`]: 'm2', [`${ENT}:employeeNumber`]: '7' }
      }]
    })
    expect(normalizePatchBody(body)).toEqual({
      schemas: [PATCH_OP_SCHEMA],
      Operations: [{
        op: 'replace',
        value: { displayName: 'Babs Jensen', 'name.givenName': 'Barbara', active: false, [`${ENT}:manager`]: { value: 'm2' }, [`${ENT}:employeeNumber`]: '7' }
      }]
    })
  })

  it('fixes a manager inside a whole-extension value and primary flags on filtered paths', () => {
    const body = frozen({
      Operations: [
        { op: 'replace', path: ENT, value: { manager: 'm3', department: 'R&D' } },
        { op: 'replace', path: 'emails[type eq "work"].primary', value: 'TRUE' },
        { op: 'replace', path: 'emails', value: ['new@x.com'] }
      ]
    })
    expect(normalizePatchBody(body)).toEqual({
      schemas: [PATCH_OP_SCHEMA],
      Operations: [
        { op: 'replace', path: ENT, value: { manager: { value: 'm3' }, department: 'R&D' } },
        { op: 'replace', path: 'emails[type eq "work"].primary', value: true },
        { op: 'replace', path: 'emails', value: [{ value: 'new@x.com', primary: true }] }
      ]
    })
  })

  it('adds the PatchOp schema when missing or empty (WSO2 IS group rename)', () => {
    const rename = frozen({ Operations: [{ op: 'replace', path: 'displayName', value: 'sales' }] })
    expect(normalizePatchBody(rename)).toEqual({ schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'replace', path: 'displayName', value: 'sales' }] })
    expect(normalizePatchBody(frozen({ schemas: [], Operations: [] }))).toEqual({ schemas: [PATCH_OP_SCHEMA], Operations: [] })
  })

  it('fixes Entra\'s group membership PATCH ops and keeps the member values as sent', () => {
    const body = frozen({
      schemas: [PATCH_OP_SCHEMA],
      Operations: [
        { op: 'Add', path: 'members', value: [{ $ref: null, value: 'f648f8d5' }] },
        { op: 'Remove', path: 'members', value: [{ value: 'u1091' }] }
      ]
    })
    expect(normalizePatchBody(body)).toEqual({
      schemas: [PATCH_OP_SCHEMA],
      Operations: [
        { op: 'add', path: 'members', value: [{ $ref: null, value: 'f648f8d5' }] },
        { op: 'remove', path: 'members', value: [{ value: 'u1091' }] }
      ]
    })
  })

  it.each([
    // Okta deactivation, Okta group rename + membership, WSO2 IS PATCH mode: already RFC-tidy.
    { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'replace', value: { active: false } }] },
    {
      schemas: [PATCH_OP_SCHEMA],
      Operations: [
        { op: 'replace', value: { id: '00G000000000001AAA', displayName: 'Sales' } },
        { op: 'remove', path: 'members[value eq "005000000000001AAA"]' },
        { op: 'add', path: 'members', value: [{ value: '005000000000002AAA', display: 'ann@example.com' }] }
      ]
    },
    {
      schemas: [PATCH_OP_SCHEMA],
      Operations: [
        { op: 'replace', path: 'name.givenName', value: 'Jo' },
        { op: 'replace', path: 'emails', value: [{ value: 'jo@example.com', primary: true }] },
        { op: 'replace', path: `${ENT}:department`, value: 'X' }
      ]
    }
  ])('leaves an RFC-tidy body as it is (the same object) %#', (body) => {
    frozen(body)
    expect(normalizePatchBody(body)).toBe(body)
  })

  it('produces a PatchOp SCIMMY applies', async () => {
    const body = normalizePatchBody({
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }, { op: 'Add', value: { 'name.givenName': 'Barb' } }]
    })
    const patch = new SCIMMY.Messages.PatchOp(body as ConstructorParameters<typeof SCIMMY.Messages.PatchOp>[0])
    const user = new SCIMMY.Schemas.User({ id: '1', userName: 'barb', active: true, name: { givenName: 'B' } })
    const out = await patch.apply(user) as unknown as Record<string, unknown>
    expect(out).toMatchObject({ active: false, name: { givenName: 'Barb' } })
  })

  it('is idempotent', () => {
    const body = {
      Operations: [
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'Add', value: { active: 'True', [`${ENT}:manager`]: 'm', emails: ['a@x.com'] } },
        { op: 'Add', path: `${ENT}:manager`, value: 'm' }
      ]
    }
    const once = normalizePatchBody(body)
    expect(normalizePatchBody(once)).toEqual(once)
  })

  it('leaves what it does not understand for validation to refuse', () => {
    const body = frozen({
      schemas: ['urn:wrong'],
      Operations: [null, 7, 'op', { op: 5, path: 9, value: 'False' }, { op: 'replace', path: 'active', value: 'maybe' }]
    })
    expect(normalizePatchBody(body)).toBe(body)
    const noOps = frozen({ schemas: [PATCH_OP_SCHEMA], Operations: 'all' })
    expect(normalizePatchBody(noOps)).toBe(noOps)
  })

  it.each([null, undefined, 42, 'text', false, [], [{ op: 'Add' }]])('returns %j unchanged', (input) => {
    expect(normalizePatchBody(input)).toBe(input)
  })
})
