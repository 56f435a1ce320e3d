// Discovery tells the truth (issue 12): /Schemas advertises only what round-trips, list responses count their page,
// and Groups sort as ServiceProviderConfig says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auth, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

describe('discovery', () => {
  it('/Schemas and /ResourceTypes report itemsPerPage = page length', async () => {
    for (const path of ['/Schemas', '/ResourceTypes']) {
      const res = await h.http.get(`${SCIM}${path}`).set(auth)
      expect(res.status).toBe(200)
      expect(res.body.itemsPerPage).toBe(res.body.Resources.length)
      expect(res.body.totalResults).toBe(res.body.Resources.length)
    }
  })

  it('the User schema advertises no attribute Salesforce cannot hold', async () => {
    const res = await h.http.get(`${SCIM}/Schemas/urn:ietf:params:scim:schemas:core:2.0:User`).set(auth)
    const names = (res.body.attributes as Array<{ name: string }>).map((a) => a.name)
    for (const gone of ['ims', 'photos', 'x509Certificates', 'entitlements', 'roles', 'profileUrl']) expect(names).not.toContain(gone)
    for (const kept of ['userName', 'name', 'emails', 'phoneNumbers', 'addresses', 'active']) expect(names).toContain(kept)
  })

  it('sorts Groups by displayName in both orders, paged after sorting', async () => {
    const names = ['Zeta Team', 'alpha Team', 'Mid Team']
    for (const displayName of names) {
      const res = await h.http.post(`${SCIM}/Groups`).set(auth).set('Content-Type', 'application/scim+json').send({ displayName })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
    }
    const asc = await h.http.get(`${SCIM}/Groups`).query({ sortBy: 'displayName', filter: 'displayName ew "Team"' }).set(auth)
    expect(asc.status).toBe(200)
    const ascNames = (asc.body.Resources as Array<{ displayName: string }>).map((g) => g.displayName)
    expect(ascNames).toEqual([...ascNames].sort((a, b) => a.toLowerCase() < b.toLowerCase() ? -1 : 1))
    expect(ascNames.indexOf('alpha Team')).toBeLessThan(ascNames.indexOf('Zeta Team'))
    const desc = await h.http.get(`${SCIM}/Groups`).query({ sortBy: 'displayName', sortOrder: 'descending', startIndex: 2, count: 1, filter: 'displayName ew "Team"' }).set(auth)
    expect(desc.body.totalResults).toBe(ascNames.length)
    expect(desc.body.Resources.map((g: { displayName: string }) => g.displayName)).toEqual([[...ascNames].reverse()[1]])
  })
})
