import { describe, expect, it } from 'vitest'
import { parsePath, planPatch } from '../../src/mapping/patch.js'
import { createUserMapping } from '../../src/mapping/user.js'
import { ENTERPRISE_USER_SCHEMA } from '../../src/protocol/constants.js'
import { asScimError, ScimError } from '../../src/scim/errors.js'
import { usersConfig } from '../fixtures/config.js'

const mapping = createUserMapping(usersConfig())

function direct (ops: Array<{ op: string, path?: string, value?: unknown }>): Record<string, unknown> {
  const plan = planPatch(mapping, ops)
  if (plan.kind !== 'direct') throw new Error(`expected a direct plan, got ${plan.reason}`)
  return plan.changes
}

function scimError (fn: () => unknown): ScimError {
  try { fn() } catch (err) { const scim = asScimError(err); if (scim instanceof ScimError) return scim; throw err }
  throw new Error('expected a ScimError')
}

describe('planPatch', () => {
  it('translates WSO2 replace operations', () => {
    expect(direct([
      { op: 'replace', path: 'name.givenName', value: 'Jo' },
      { op: 'replace', path: 'emails', value: [{ value: 'jo@x.com', primary: true }] },
      { op: 'replace', path: `${ENTERPRISE_USER_SCHEMA}:department`, value: 'X' },
    ])).toEqual({ FirstName: 'Jo', Email: 'jo@x.com', Department: 'X' })
  })

  it('translates Entra shapes: capitalised ops, filtered email path, path-less dotted keys, string manager', () => {
    expect(direct([
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@x.com' },
      { op: 'Add', value: { 'name.givenName': 'Barb', [`${ENTERPRISE_USER_SCHEMA}:employeeNumber`]: '7' } },
      { op: 'Add', path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: { value: '005000000000009AAA' } },
      { op: 'Replace', path: 'active', value: false },
    ])).toEqual({ Email: 'new@x.com', FirstName: 'Barb', EmployeeNumber: '7', ManagerId: '005000000000009AAA', IsActive: false })
  })

  it("translates Okta's path-less deactivate and ignores the echoed id", () => {
    expect(direct([{ op: 'replace', value: { id: '005x', active: false } }])).toEqual({ IsActive: false })
  })

  it('maps phone types to their Salesforce fields and removes by type', () => {
    expect(direct([
      { op: 'add', path: 'phoneNumbers', value: [{ type: 'mobile', value: '1' }] },
      { op: 'remove', path: 'phoneNumbers[type eq "fax"]' },
    ])).toEqual({ MobilePhone: '1', Fax: null })
  })

  it('a replace of a multi-valued attribute clears the slots it does not fill', () => {
    expect(direct([{ op: 'replace', path: 'phoneNumbers', value: [{ type: 'work', value: '2' }] }]))
      .toEqual({ Phone: '2', MobilePhone: null, Fax: null })
  })

  it('removes optional single attributes and whole complex attributes', () => {
    expect(direct([{ op: 'remove', path: 'title' }, { op: 'remove', path: `${ENTERPRISE_USER_SCHEMA}:manager` }]))
      .toEqual({ Title: null, ManagerId: null })
  })

  it('ignores valid attributes Salesforce has no field for', () => {
    expect(direct([{ op: 'add', path: 'photos', value: [{ value: 'https://x/p.png' }] }, { op: 'replace', path: 'displayName', value: 'Jo' }])).toEqual({})
  })

  it('needs the current user for value filters other than type', () => {
    expect(planPatch(mapping, [{ op: 'remove', path: 'emails[value eq "a@b.c"]' }]).kind).toBe('needsCurrent')
  })

  it('rejects what cannot be done', () => {
    expect(scimError(() => planPatch(mapping, [{ op: 'remove', path: 'userName' }]))).toMatchObject({ status: 400, scimType: 'mutability' })
    expect(scimError(() => planPatch(mapping, [{ op: 'replace', path: 'id', value: 'x' }]))).toMatchObject({ status: 400, scimType: 'mutability' })
    expect(scimError(() => planPatch(mapping, [{ op: 'replace', path: 'nope', value: 'x' }]))).toMatchObject({ status: 400, scimType: 'invalidPath' })
    expect(scimError(() => planPatch(mapping, [{ op: 'remove' }]))).toMatchObject({ status: 400, scimType: 'noTarget' })
    expect(scimError(() => planPatch(mapping, [{ op: 'replace', path: 'active', value: 'yes' }]))).toMatchObject({ status: 400, scimType: 'invalidValue' })
    expect(scimError(() => planPatch(mapping, [{ op: 'move', path: 'title', value: 'x' }]))).toMatchObject({ status: 400, scimType: 'invalidSyntax' })
    expect(scimError(() => planPatch(mapping, [{ op: 'replace', path: 'emails[type eq "home"].value', value: 'x' }]))).toMatchObject({ status: 400, scimType: 'noTarget' })
  })
})

describe('parsePath', () => {
  it('parses core, URN-qualified and filtered paths case-insensitively', () => {
    expect(parsePath('Name.GivenName')).toEqual({ schema: 'core', attr: 'name', sub: 'givenname' })
    expect(parsePath('urn:ietf:params:scim:schemas:core:2.0:User:userName')).toEqual({ schema: 'core', attr: 'username' })
    expect(parsePath(`${ENTERPRISE_USER_SCHEMA}:manager.value`)).toEqual({ schema: 'enterprise', attr: 'manager', sub: 'value' })
    expect(parsePath('emails[type eq "work"].value')).toEqual({ schema: 'core', attr: 'emails', filter: 'type eq "work"', sub: 'value' })
  })

  it('reads value filters with the filter parser: any case, parentheses, escapes and brackets inside strings', () => {
    expect(direct([{ op: 'replace', path: 'emails[(Type EQ "WORK")].value', value: 'a@x.com' }])).toEqual({ Email: 'a@x.com' })
    expect(direct([{ op: 'replace', path: 'phoneNumbers[type eq "\\u006dobile"].value', value: '1' }])).toEqual({ MobilePhone: '1' })
    expect(planPatch(mapping, [{ op: 'remove', path: 'emails[value eq "a]b or c"]' }]).kind).toBe('needsCurrent')
    expect(scimError(() => planPatch(mapping, [{ op: 'remove', path: 'emails[type eq ]' }]))).toMatchObject({ status: 400, scimType: 'invalidFilter' })
    expect(scimError(() => planPatch(mapping, [{ op: 'remove', path: 'emails[type eq "work"] title' }]))).toMatchObject({ status: 400, scimType: 'invalidPath' })
    expect(scimError(() => planPatch(mapping, [{ op: 'remove', path: 'urn:example:custom:title' }]))).toMatchObject({ status: 400, scimType: 'invalidPath' })
  })
})
