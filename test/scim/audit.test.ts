// touchedAttributes: the names a write touched, from any body a client may send (journalled even when refused).
import { describe, expect, it } from 'vitest'
import { touchedAttributes } from '../../src/scim/audit.js'

describe('touchedAttributes', () => {
  it('names body keys and extension attributes, never values', () => {
    expect(touchedAttributes('create', {
      schemas: ['x'], id: 'i', userName: 'a', password: 'secret', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: '7' },
    })).toEqual(['password', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber', 'userName'])
    expect(touchedAttributes('patch', { Operations: [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'x' }, { op: 'add', value: { title: 't', active: true } }] }))
      .toEqual(['active', 'emails', 'title'])
    expect(touchedAttributes('delete', { userName: 'x' })).toEqual([])
  })

  it('takes whatever a hostile client sends without throwing', () => {
    for (const body of [undefined, null, 7, 'x', [], [1, null], { Operations: null }, { Operations: [null, 3, 'x', { path: 5 }, { value: [1] }] }]) {
      expect(() => touchedAttributes('patch', body)).not.toThrow()
      expect(() => touchedAttributes('create', body)).not.toThrow()
    }
  })
})
