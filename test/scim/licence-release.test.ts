// Release on deactivation (issue 13, users.releaseLicencesOnDeactivate): the package seats, permission set licences
// (with the sets that need them) and feature licences scimforce granted go when it deactivates a user, on every
// disable path, and come back on every reactivation path; an admin's grants are never touched; a licence that
// cannot come back refuses the reactivation with a 409 naming it. Read straight from the emulated org.
import type { Response } from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { CASE_OWNER_USERNAME } from '../../src/emulator/index.js'
import { changeOrgSettings } from '../../src/emulator/licences.js'
import { RELEASED_NS } from '../../src/scim/licence-release.js'
import { auth, expectScimError, SCIM, type Harness } from '../helper.js'
import { assignees, groupsHarness, PATCH_OP, seedUser } from './groups-helpers.js'

let h: Harness | undefined
afterEach(async () => { await h?.close(); h = undefined })

type Rec = Record<string, unknown>
const DOCUSIGN = { displayName: 'DocuSign Users', kind: 'packageLicence' as const, target: 'dsfs', priority: 0 }
const CPQ = { displayName: 'CPQ Users', kind: 'packageLicence' as const, target: 'SBQQ', priority: 0 }
const EINSTEIN = { displayName: 'Einstein Users', kind: 'permissionSet' as const, target: 'Sales_Cloud_Einstein', priority: 0 }

const rows = (hh: Harness, soql: string): Rec[] => hh.emulator.org.query(soql) as unknown as Rec[]
const seats = (hh: Harness, userId: string, pkg: string): number => rows(hh, `SELECT Id FROM UserPackageLicense WHERE UserId = '${userId}' AND PackageLicenseId = '${pkg}'`).length
const psl = (hh: Harness, userId: string): boolean => rows(hh, `SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '${userId}'`).length > 0
const active = (hh: Harness, id: string): boolean => (hh.emulator.org.get('User', id) as Rec).IsActive === true

async function groupId (hh: Harness, name: string): Promise<string> {
  const res = await hh.http.get(`${SCIM}/Groups`).query({ filter: `displayName eq "${name}"` }).set(auth).expect(200)
  return String(res.body.Resources[0].id)
}

async function addMember (hh: Harness, group: string, userId: string): Promise<void> {
  const res = await hh.http.patch(`${SCIM}/Groups/${group}`).set(auth).send({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: userId }] }] })
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300)
}

async function newUser (hh: Harness, name: string): Promise<string> {
  const res = await hh.http.post(`${SCIM}/Users`).set(auth).send({ userName: `${name}@pickup.example`, name: { familyName: name } })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return String(res.body.id)
}

const setActive = async (hh: Harness, id: string, value: boolean): Promise<Response> =>
  await hh.http.patch(`${SCIM}/Users/${id}`).set(auth).send({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value }] })

async function disable (hh: Harness, id: string, path: 'DELETE' | 'PATCH' | 'PUT'): Promise<void> {
  if (path === 'DELETE') {
    await hh.http.delete(`${SCIM}/Users/${id}`).set(auth).expect(204)
  } else if (path === 'PATCH') {
    expect((await setActive(hh, id, false)).status).toBe(200)
  } else {
    const current = await hh.http.get(`${SCIM}/Users/${id}`).set(auth).expect(200)
    await hh.http.put(`${SCIM}/Users/${id}`).set(auth).send({ ...current.body, active: false }).expect(200)
  }
}

/** The reactivation that matches a disable path: a rehire POST after DELETE, else PATCH or PUT active:true. */
async function enable (hh: Harness, id: string, name: string, path: 'DELETE' | 'PATCH' | 'PUT'): Promise<Response> {
  if (path === 'DELETE') return await hh.http.post(`${SCIM}/Users`).set(auth).send({ userName: `${name}@pickup.example`, name: { familyName: name } })
  if (path === 'PATCH') return await setActive(hh, id, true)
  const current = await hh.http.get(`${SCIM}/Users/${id}`).set(auth).expect(200)
  return await hh.http.put(`${SCIM}/Users/${id}`).set(auth).send({ ...current.body, active: true })
}

describe('release on deactivation, grant again on reactivation', () => {
  for (const path of ['DELETE', 'PATCH', 'PUT'] as const) {
    it(`${path}: the package seat, the permission set licence and its set go, and come back on reactivation`, async () => {
      h = await groupsHarness({ mappings: [DOCUSIGN, EINSTEIN] })
      const pkg = String(h.emulator.seed.packageLicenses.dsfs)
      const ps = String(h.emulator.seed.permissionSets.Sales_Cloud_Einstein)
      const name = `leaver.${path.toLowerCase()}`
      const u = await newUser(h, name)
      await addMember(h, await groupId(h, 'DocuSign Users'), u)
      await addMember(h, await groupId(h, 'Einstein Users'), u)
      expect([seats(h, u, pkg), psl(h, u), assignees(h, ps)]).toEqual([1, true, [u]])

      await disable(h, u, path)
      expect(active(h, u)).toBe(false)
      expect([seats(h, u, pkg), psl(h, u), assignees(h, ps)]).toEqual([0, false, []])

      const back = await enable(h, u, name, path)
      expect(back.status, JSON.stringify(back.body)).toBeLessThan(300)
      expect(active(h, u)).toBe(true)
      expect([seats(h, u, pkg), psl(h, u), assignees(h, ps)]).toEqual([1, true, [u]])
      expect(await h.store.getDoc(RELEASED_NS, u.slice(0, 15))).toBeUndefined()
    })
  }

  it('never releases what an admin granted: a package seat or a permission set licence', async () => {
    h = await groupsHarness({ mappings: [DOCUSIGN, EINSTEIN] })
    const pkg = String(h.emulator.seed.packageLicenses.dsfs)
    const ps = String(h.emulator.seed.permissionSets.Sales_Cloud_Einstein)
    const licence = String(h.emulator.seed.permissionSetLicenses.SalesCloudEinsteinPsl)
    const u = await newUser(h, 'admin.granted')
    // The admin gave the seat and the licence by hand; the IdP then adds the user to both groups.
    h.emulator.org.insert('UserPackageLicense', { UserId: u, PackageLicenseId: pkg })
    h.emulator.org.insert('PermissionSetLicenseAssign', { AssigneeId: u, PermissionSetLicenseId: licence })
    await addMember(h, await groupId(h, 'DocuSign Users'), u)
    await addMember(h, await groupId(h, 'Einstein Users'), u)
    await disable(h, u, 'PATCH')
    expect([seats(h, u, pkg), psl(h, u), assignees(h, ps)]).toEqual([1, true, [u]])
  })

  it('a seat the IdP took away while the user was inactive does not come back', async () => {
    h = await groupsHarness({ mappings: [DOCUSIGN] })
    const pkg = String(h.emulator.seed.packageLicenses.dsfs)
    const g = await groupId(h, 'DocuSign Users')
    const u = await newUser(h, 'moved.on')
    await addMember(h, g, u)
    await disable(h, u, 'PATCH')
    expect(seats(h, u, pkg)).toBe(0)
    await h.http.patch(`${SCIM}/Groups/${g}`).set(auth).send({ schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${u}"]` }] }).expect(200)
    expect((await setActive(h, u, true)).status).toBe(200)
    expect(seats(h, u, pkg)).toBe(0)
  })

  it('a reactivation whose seat is taken answers 409 naming the package, and the user stays inactive until a seat is free', async () => {
    h = await groupsHarness({ mappings: [CPQ] })
    const pkg = String(h.emulator.seed.packageLicenses.SBQQ)
    const g = await groupId(h, 'CPQ Users')
    const u = await newUser(h, 'cpq.leaver')
    await addMember(h, g, u)
    await disable(h, u, 'PATCH')
    // Meanwhile both seats went to others.
    const others = [seedUser(h), seedUser(h)]
    for (const o of others) h.emulator.org.insert('UserPackageLicense', { UserId: o, PackageLicenseId: pkg })
    const res = await setActive(h, u, true)
    expectScimError(res, 409)
    expect(res.body.detail).toMatch(/package licence 'SBQQ'/)
    expect(res.body.detail).toMatch(/2 of 2 seats used/)
    expect(res.body.detail).toMatch(/stays inactive/)
    expect(active(h, u)).toBe(false)
    // A seat is freed; the IdP's retry completes the reactivation with the seat.
    h.emulator.org.delete('UserPackageLicense', String(rows(h, `SELECT Id FROM UserPackageLicense WHERE UserId = '${others[0] as string}'`)[0]?.Id))
    expect((await setActive(h, u, true)).status).toBe(200)
    expect(active(h, u)).toBe(true)
    expect(seats(h, u, pkg)).toBe(1)
  })

  it('a rehire POST whose seat is taken answers 409 naming the package; the user stays deleted for SCIM', async () => {
    h = await groupsHarness({ mappings: [CPQ] })
    const pkg = String(h.emulator.seed.packageLicenses.SBQQ)
    const u = await newUser(h, 'cpq.rehire')
    await addMember(h, await groupId(h, 'CPQ Users'), u)
    await disable(h, u, 'DELETE')
    for (const o of [seedUser(h), seedUser(h)]) h.emulator.org.insert('UserPackageLicense', { UserId: o, PackageLicenseId: pkg })
    const res = await enable(h, u, 'cpq.rehire', 'DELETE')
    expectScimError(res, 409)
    expect(res.body.detail).toMatch(/package licence 'SBQQ'.*2 of 2 seats used/)
    expect(active(h, u)).toBe(false)
    await h.http.get(`${SCIM}/Users/${u}`).set(auth).expect(404)
  })

  it('feature licences scimforce granted are switched off with the deactivation and on with the reactivation', async () => {
    h = await groupsHarness({ mappings: [] })
    const u = await newUser(h, 'marketer')
    const admins = await newUser(h, 'marketer.by.hand')
    h.emulator.org.update('User', u, { UserPermissionsMarketingUser: true, UserPermissionsKnowledgeUser: true })
    h.emulator.org.update('User', admins, { UserPermissionsMarketingUser: true })
    // scimforce granted the Marketing User flag (featureLicence group); the Knowledge flag is the admin's.
    await h.store.addMemberships([{ targetId: 'UserPermissionsMarketingUser', userId: u, kind: 'featureLicence', displayName: 'Marketing Users' }], 'test')
    const before = h.emulator.counters.snapshot().apiCalls
    await disable(h, admins, 'PATCH')
    // Nothing of this user is scimforce's: the disable costs what it always did.
    const plain = h.emulator.counters.snapshot().apiCalls - before
    await disable(h, u, 'PATCH')
    const flags = (id: string): unknown[] => { const r = h?.emulator.org.get('User', id) as Rec; return [r.UserPermissionsMarketingUser, r.UserPermissionsKnowledgeUser] }
    expect(flags(u)).toEqual([false, true])
    expect(flags(admins)).toEqual([true, false])
    expect(h.emulator.counters.snapshot().apiCalls - before - plain).toBe(plain)
    expect((await setActive(h, u, true)).status).toBe(200)
    expect(flags(u)).toEqual([true, true])
  })

  it('an inactive member added to a licence group (WSO2 re-sends the whole list) gets the seat only on reactivation', async () => {
    h = await groupsHarness({ mappings: [DOCUSIGN, EINSTEIN] })
    const pkg = String(h.emulator.seed.packageLicenses.dsfs)
    const ps = String(h.emulator.seed.permissionSets.Sales_Cloud_Einstein)
    const docusign = await groupId(h, 'DocuSign Users')
    const einstein = await groupId(h, 'Einstein Users')
    const u = await newUser(h, 'resent')
    const v = await newUser(h, 'joined.while.away')
    await addMember(h, docusign, u)
    await disable(h, u, 'PATCH')
    await disable(h, v, 'PATCH')
    expect(seats(h, u, pkg)).toBe(0)
    // A PUT with every member, the deactivated one among them; and a new member who is inactive.
    const put = await h.http.put(`${SCIM}/Groups/${docusign}`).set(auth).send({ displayName: 'DocuSign Users', members: [{ value: u }, { value: v }] })
    expect(put.status, JSON.stringify(put.body)).toBe(200)
    await addMember(h, einstein, v)
    expect([seats(h, u, pkg), seats(h, v, pkg), psl(h, v), assignees(h, ps)]).toEqual([0, 0, false, []])
    for (const id of [u, v]) expect((await setActive(h, id, true)).status).toBe(200)
    expect([seats(h, u, pkg), seats(h, v, pkg), psl(h, v), assignees(h, ps)]).toEqual([1, 1, true, [v]])
  })

  it('a refused deactivation releases nothing (the user stays active, frozen); the retry that deactivates releases', async () => {
    h = await groupsHarness({ mappings: [DOCUSIGN] })
    const pkg = String(h.emulator.seed.packageLicenses.dsfs)
    const owner = String(h.emulator.seed.users[CASE_OWNER_USERNAME])
    await addMember(h, await groupId(h, 'DocuSign Users'), owner)
    expectScimError(await setActive(h, owner, false), 409)
    expect([active(h, owner), seats(h, owner, pkg)]).toEqual([true, 1])
    changeOrgSettings(h.emulator.org, { defaultCaseOwnerId: null })
    expect((await setActive(h, owner, false)).status).toBe(200)
    expect([active(h, owner), seats(h, owner, pkg)]).toEqual([false, 0])
  })

  it('users.releaseLicencesOnDeactivate: false keeps every licence with the deactivated user', async () => {
    h = await groupsHarness({ mappings: [DOCUSIGN] }, 6000, { releaseLicencesOnDeactivate: false })
    const pkg = String(h.emulator.seed.packageLicenses.dsfs)
    const u = await newUser(h, 'keeps.seat')
    await addMember(h, await groupId(h, 'DocuSign Users'), u)
    await disable(h, u, 'DELETE')
    expect(seats(h, u, pkg)).toBe(1)
  })
})
