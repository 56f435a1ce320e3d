// Every Salesforce signal of docs/salesforce-behaviour.md#bridge-answers table ("What a good bridge answers") gets its SCIM status and a
// detail an admin can act on (issue 13). Pure: typed errors in, ScimErrors out.
import { describe, expect, it } from 'vitest'
import { fromItems, SalesforceError } from '../../src/salesforce/errors.js'
import { isDeactivationRefusal, refusalError } from '../../src/scim/deprovision.js'
import { toScimError } from '../../src/scim/errors.js'
import { noSeatError } from '../../src/scim/licence-keeper.js'

const sf = (errorCode: string, message: string, fields: string[] = [], status = 400): SalesforceError => fromItems([{ errorCode, message, fields }], status)

describe('Salesforce errors as SCIM errors (docs/salesforce-behaviour.md#bridge-answers)', () => {
  it('DUPLICATE_USERNAME: 409 uniqueness, suggesting another userName or a username suffix', () => {
    const e = toScimError(sf('DUPLICATE_USERNAME', 'Duplicate Username.<br>The username already exists in this or another Salesforce organization.', ['Username']))
    expect(e.status).toBe(409)
    expect(e.scimType).toBe('uniqueness')
    expect(e.message).toMatch(/users\.usernameSuffix/)
    expect(e.message).not.toMatch(/<br>/)
  })

  it('LICENSE_LIMIT_EXCEEDED: 409 naming the licence and its used/total counts', () => {
    const err = sf('LICENSE_LIMIT_EXCEEDED', 'License Limit Exceeded - Sales Cloud Einstein')
    const e = noSeatError(err, 'permission set licence', { id: '0PL000000000001AAA', name: 'SalesCloudEinsteinPsl', label: 'Sales Cloud Einstein', used: 3, total: 3 }, 'user 005x')
    expect(e.status).toBe(409)
    expect(e.message).toMatch(/'Sales Cloud Einstein' \(SalesCloudEinsteinPsl\) for user 005x: 3 of 3 seats used/)
    // Without counts (their read failed), the licence is still named.
    expect(toScimError(err).message).toMatch(/Sales Cloud Einstein/)
    expect(toScimError(err).status).toBe(409)
  })

  it('REQUIRED_FIELD_MISSING: 400 invalidValue naming the field and the config default that fills it (never 409)', () => {
    const e = toScimError(sf('REQUIRED_FIELD_MISSING', 'Required fields are missing: [ProfileId]', ['ProfileId']))
    expect(e.status).toBe(400)
    expect(e.scimType).toBe('invalidValue')
    expect(e.message).toMatch(/users\.defaults\.ProfileId/)
    expect(toScimError(sf('REQUIRED_FIELD_MISSING', 'Required fields are missing: [Alias, Email]')).message).toMatch(/users\.defaults\.Alias, users\.defaults\.Email/)
  })

  it('"Username must be in the form of an email address": 400 invalidValue about userName', () => {
    const e = toScimError(sf('FIELD_INTEGRITY_EXCEPTION', 'Username: Username must be in the form of an email address (for example, john@acme.com)', ['Username']))
    expect(e.status).toBe(400)
    expect(e.scimType).toBe('invalidValue')
    expect(e.message).toMatch(/userName .* must look like an email address/)
  })

  it('"The user license doesn\'t allow the permission": 400 naming what needs which licence', () => {
    const e = toScimError(sf('FIELD_INTEGRITY_EXCEPTION', "The user license doesn't allow the permission: Sales Cloud Einstein", ['PermissionSetId']))
    expect(e.status).toBe(400)
    expect(e.message).toMatch(/Sales Cloud Einstein.*needs a licence the user lacks/)
  })

  it('a refused deactivation: 409, the blocker in Salesforce\'s words, and that the user is frozen', () => {
    const err = sf('FIELD_INTEGRITY_EXCEPTION', 'You cannot deactivate this user. You cannot deactivate a user who is the default owner of cases')
    expect(isDeactivationRefusal(err)).toBe(true)
    const e = refusalError(err, true, 'casey@example.com')
    expect(e.status).toBe(409)
    expect(e.message).toMatch(/default owner of cases/)
    expect(e.message).toMatch(/froze the user instead/)
    expect(refusalError(err, false, 'casey@example.com').message).toMatch(/THEY CAN STILL LOG IN/)
  })

  it('Federation ID already in use: 409 uniqueness on the mapped attribute', () => {
    const e = toScimError(sf('FIELD_INTEGRITY_EXCEPTION', 'This Federation ID is already in use. Use a different Federation ID.', ['FederationIdentifier']))
    expect(e.status).toBe(409)
    expect(e.scimType).toBe('uniqueness')
    expect(e.message).toMatch(/FederationIdentifier must be unique/)
  })

  it('UNABLE_TO_LOCK_ROW and "Group membership operation already in progress": retried, then 503 with Retry-After', () => {
    for (const err of [sf('UNABLE_TO_LOCK_ROW', 'unable to obtain exclusive access to this record'), sf('UNKNOWN_EXCEPTION', 'Group membership operation already in progress'), sf('FIELD_INTEGRITY_EXCEPTION', 'Group membership operation already in progress')]) {
      expect(err.kind).toBe('transient')
      const e = toScimError(err)
      expect(e.status).toBe(503)
      expect(e.retryAfter).toBeGreaterThan(0)
    }
  })

  it('CANNOT_DISABLE_LAST_ADMIN: 409 explaining that Salesforce needs one active admin', () => {
    const err = sf('CANNOT_DISABLE_LAST_ADMIN', 'cannot disable last admin')
    expect(toScimError(err).status).toBe(409)
    expect(toScimError(err).message).toMatch(/at least one active System Administrator/)
    expect(refusalError(err, true, 'root@example.com').message).toMatch(/at least one active System Administrator/)
  })

  it('keeps what it does not know as 400 with the errorCode', () => {
    const e = toScimError(new SalesforceError('STRING_TOO_LONG', 'Title: data value too large', 'validation', { fields: ['Title'] }))
    expect(e.status).toBe(400)
    expect(e.message).toBe('Title: data value too large (Salesforce STRING_TOO_LONG on Title)')
  })
})
