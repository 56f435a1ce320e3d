// Long group names (issue 12): Group.Name holds 40 characters and DeveloperName 80; the full displayName
// round-trips through SCIM, filters included, and the Salesforce names are deterministic, unique and fit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deriveDeveloperName, salesforceGroupName } from '../../src/mapping/group.js'
import { auth, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

describe('salesforceGroupName / deriveDeveloperName', () => {
  it('keeps short names, and shortens long ones deterministically, uniquely and within the limits', () => {
    expect(salesforceGroupName('Sales Team')).toBe('Sales Team')
    const a = 'Global Sales Engineering EMEA North Region Team 1'
    const b = 'Global Sales Engineering EMEA North Region Team 2'
    expect(salesforceGroupName(a).length).toBeLessThanOrEqual(40)
    expect(salesforceGroupName(a)).toBe(salesforceGroupName(a))
    expect(salesforceGroupName(a)).not.toBe(salesforceGroupName(b))
    expect(salesforceGroupName(a.toUpperCase())).not.toBe(salesforceGroupName(b))
    const long = 'x'.repeat(90)
    expect(deriveDeveloperName(long + 'a')).not.toBe(deriveDeveloperName(long + 'b'))
    expect(deriveDeveloperName(long + 'a').length).toBeLessThanOrEqual(80)
    expect(deriveDeveloperName(long + 'a')).toMatch(/^[A-Za-z][A-Za-z0-9_]*[A-Za-z0-9]$/)
  })
})

describe('a group whose displayName is longer than Group.Name', () => {
  it('is created (201), answers its full displayName, is found by it, and is renamed', async () => {
    const long = 'Global Sales Engineering EMEA North Region Team 4711'
    const res = await h.http.post(`${SCIM}/Groups`).set(auth).set('Content-Type', 'application/scim+json').send({ displayName: long })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body.displayName).toBe(long)
    const id = String(res.body.id)
    const name = String(h.emulator.org.get('Group', id)?.Name)
    expect(name.length).toBeLessThanOrEqual(40)
    expect(name.startsWith('Global Sales Engineering')).toBe(true)
    expect((await h.http.get(`${SCIM}/Groups/${id}`).set(auth)).body.displayName).toBe(long)
    const found = await h.http.get(`${SCIM}/Groups`).query({ filter: `displayName eq "${long}"` }).set(auth)
    expect(found.body.totalResults).toBe(1)
    expect(found.body.Resources[0]).toMatchObject({ id, displayName: long })
    const renamed = `${long} Renamed`
    const patch = await h.http.patch(`${SCIM}/Groups/${id}`).set(auth).set('Content-Type', 'application/scim+json')
      .send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: renamed }] })
    expect(patch.status).toBeLessThan(300)
    expect((await h.http.get(`${SCIM}/Groups/${id}`).set(auth)).body.displayName).toBe(renamed)
    expect(String(h.emulator.org.get('Group', id)?.Name).length).toBeLessThanOrEqual(40)
  })
})
