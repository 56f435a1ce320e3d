// PATCH paths (RFC 7644 §3.5.2): `[urn:]attr[[valueFilter]][.subAttr]`, the value filter parsed by the filter parser.
import { describe, expect, it } from 'vitest'
import { FilterError, parsePath, PathError } from '../../src/protocol/filter.js'

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'

describe('parsePath', () => {
  it.each([
    ['userName', { attr: 'userName' }],
    ['  name.givenName  ', { attr: 'name', subAttr: 'givenName' }],
    [`${ENT}:manager.value`, { urn: ENT, attr: 'manager', subAttr: 'value' }],
    ['urn:ietf:params:scim:schemas:core:2.0:User:emails', { urn: 'urn:ietf:params:scim:schemas:core:2.0:User', attr: 'emails' }],
    ['members.$ref', { attr: 'members', subAttr: '$ref' }],
    ['emails[type eq "work"]', { attr: 'emails', valueFilter: { type: 'compare', path: { attr: 'type' }, op: 'eq', value: 'work' } }],
    ['emails[type eq "work"].value', { attr: 'emails', subAttr: 'value', valueFilter: { type: 'compare', path: { attr: 'type' }, op: 'eq', value: 'work' } }],
    // A quoted " or " and a quoted ']' are part of the value, not of the path.
    ['members[value eq "a or b]"]', { attr: 'members', valueFilter: { type: 'compare', path: { attr: 'value' }, op: 'eq', value: 'a or b]' } }],
    ['members[value eq "x" or value eq "y"]', {
      attr: 'members',
      valueFilter: { type: 'or', operands: [{ type: 'compare', path: { attr: 'value' }, op: 'eq', value: 'x' }, { type: 'compare', path: { attr: 'value' }, op: 'eq', value: 'y' }] },
    }],
  ])('%s', (raw, expected) => {
    expect(parsePath(raw)).toEqual(expected)
  })

  it.each(['', '   ', '1abc', 'name.givenName.x', 'name givenName', 'emails[type eq "work"] x', 'emails.value[type eq "work"]', '[type eq "work"]', 'emails[type eq "work"].'])(
    'refuses %j as invalidPath', (raw) => {
      const err = (() => { try { parsePath(raw) } catch (e) { return e } })()
      expect(err).toBeInstanceOf(PathError)
      expect(err).toMatchObject({ status: 400, scimType: 'invalidPath' })
    })

  it.each(['emails[type eq]', 'emails[type eq "work"', 'emails[type eq "work" and]', 'emails[foo[bar eq 1]]'])('refuses the value filter of %j as invalidFilter', (raw) => {
    expect(() => parsePath(raw)).toThrow(FilterError)
  })
})
