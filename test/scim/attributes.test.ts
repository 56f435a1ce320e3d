import { describe, expect, it } from 'vitest'
import { parseAttributeList, project } from '../../src/scim/attributes.js'

const E = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const user = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', E],
  id: '005A',
  meta: { resourceType: 'User', location: 'http://x/Users/005A' },
  userName: 'ada@example.com',
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [{ value: 'ada@example.com', type: 'work', primary: true }],
  [E]: { department: 'Sales', division: 'EMEA' },
}

describe('project', () => {
  it('keeps id and schemas and the named attributes, case-insensitively', () => {
    expect(project(user, { attributes: ['USERNAME', 'name.givenName', 'emails.value'] })).toEqual({
      schemas: user.schemas,
      id: '005A',
      userName: 'ada@example.com',
      name: { givenName: 'Ada' },
      emails: [{ value: 'ada@example.com' }],
    })
  })

  it('selects extension attributes by URN path', () => {
    expect(project(user, { attributes: [`${E}:department`] })).toEqual({ schemas: user.schemas, id: '005A', [E]: { department: 'Sales' } })
    expect(project(user, { attributes: [E] })).toEqual({ schemas: user.schemas, id: '005A', [E]: user[E] })
  })

  it('selects and excludes core attributes named with their schema URN, for Users and Groups', () => {
    expect(project(user, { attributes: ['urn:ietf:params:scim:schemas:core:2.0:User:name.givenName'] })).toEqual({ schemas: user.schemas, id: '005A', name: { givenName: 'Ada' } })
    const group = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: '00GA', displayName: 'Sales', members: [{ value: '005A' }] }
    expect(project(group, { attributes: ['urn:ietf:params:scim:schemas:core:2.0:Group:displayName'] })).toEqual({ schemas: group.schemas, id: '00GA', displayName: 'Sales' })
    expect(project(group, { excludedAttributes: ['urn:ietf:params:scim:schemas:core:2.0:group:members'] })).toEqual({ schemas: group.schemas, id: '00GA', displayName: 'Sales' })
  })

  it('excludes attributes but never id or schemas, and leaves the input alone', () => {
    const out = project(user, { excludedAttributes: ['emails', 'id', `${E}:division`, 'name.familyName'] })
    expect(out).toEqual({ schemas: user.schemas, id: '005A', meta: user.meta, userName: 'ada@example.com', name: { givenName: 'Ada' }, [E]: { department: 'Sales' } })
    expect(user.emails).toHaveLength(1)
    expect(user[E].division).toBe('EMEA')
  })

  it('returns the resource when nothing is asked', () => {
    expect(project(user, {})).toBe(user)
  })
})

describe('parseAttributeList', () => {
  it('splits on commas outside brackets and drops value filters', () => {
    expect(parseAttributeList('userName, emails[type eq "work" or type eq "home"],name.givenName')).toEqual(['userName', 'emails', 'name.givenName'])
    expect(parseAttributeList('  ')).toBeUndefined()
    expect(parseAttributeList(undefined)).toBeUndefined()
  })
})
