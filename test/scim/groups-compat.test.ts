// The group body normalisers: WSO2's empty schemas and PRIMARY/ prefix, Okta's member types, Entra's PatchOp case.
import { describe, expect, it } from 'vitest'
import { normalizeGroupBody, normalizeGroupPatchBody } from '../../src/scim/compat.js'

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

describe('normalizeGroupBody', () => {
  it('fills empty schemas, strips the user-store prefix when asked, fixes member types, drops id null and meta', () => {
    expect(normalizeGroupBody({ schemas: [], displayName: 'PRIMARY/sales', members: [{ value: 'a', type: 'user' }, { value: 'b', type: 'GROUP' }], id: null, meta: {} }, { stripPrefix: true }))
      .toEqual({ schemas: [CORE], displayName: 'sales', members: [{ value: 'a', type: 'User' }, { value: 'b', type: 'Group' }] })
    expect(normalizeGroupBody({ displayName: 'PRIMARY/sales' }, { stripPrefix: false })).toEqual({ displayName: 'PRIMARY/sales', schemas: [CORE] })
  })

  it('returns tidy input as it is', () => {
    const body = { schemas: [CORE], displayName: 'Sales', members: [{ value: 'a' }] }
    expect(normalizeGroupBody(body, { stripPrefix: true })).toBe(body)
  })
})

describe('normalizeGroupPatchBody', () => {
  it('lower-cases ops, adds schemas, strips the prefix of renames (path or path-less) and fixes member types', () => {
    expect(normalizeGroupPatchBody({
      Operations: [
        { op: 'Replace', path: 'displayName', value: 'PRIMARY/new' },
        { op: 'replace', value: { id: 'g', displayName: 'PRIMARY/newer' } },
        { op: 'Add', path: 'members', value: [{ value: 'u', type: 'user' }] },
      ],
    }, { stripPrefix: true })).toEqual({
      schemas: [PATCH],
      Operations: [
        { op: 'replace', path: 'displayName', value: 'new' },
        { op: 'replace', value: { id: 'g', displayName: 'newer' } },
        { op: 'add', path: 'members', value: [{ value: 'u', type: 'User' }] },
      ],
    })
  })
})
