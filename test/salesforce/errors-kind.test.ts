// A duplicate FederationIdentifier is a uniqueness conflict, whatever errorCode carries it.
import { describe, expect, it } from 'vitest'
import { fromItems, kindOf } from '../../src/salesforce/errors.js'

describe('kindOf / fromItems', () => {
  it('treat FIELD_INTEGRITY_EXCEPTION on FederationIdentifier as a conflict, other fields as validation', () => {
    expect(kindOf('FIELD_INTEGRITY_EXCEPTION', 400, ['FederationIdentifier'])).toBe('conflict')
    expect(kindOf('FIELD_INTEGRITY_EXCEPTION', 400, ['Username'])).toBe('validation')
    expect(kindOf('FIELD_INTEGRITY_EXCEPTION')).toBe('validation')
    const err = fromItems([{ errorCode: 'FIELD_INTEGRITY_EXCEPTION', message: 'This Federation ID is already in use. Use a different Federation ID.', fields: ['FederationIdentifier'] }], 400)
    expect([err.code, err.kind, err.fields]).toEqual(['FIELD_INTEGRITY_EXCEPTION', 'conflict', ['FederationIdentifier']])
    expect(fromItems([{ statusCode: 'FIELD_INTEGRITY_EXCEPTION', message: 'x', fields: ['FederationIdentifier'] }]).kind).toBe('conflict')
  })
})
