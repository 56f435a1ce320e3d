// Permission set licences follow their permission sets (issue 13): a member added to a group mapped to a set that
// needs a permission set licence gets the licence first, removal takes both away, an admin's licence stays, and
// a full licence answers an error that names it with its seat counts. Read straight from the emulated org.
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/loader.js'
import { changeOrgSettings } from '../../src/emulator/licences.js'
import { auth, expectScimError, SCIM, startHarness, type Harness } from '../helper.js'
import { assignees, groupsHarness, PATCH_OP, seedUser } from './groups-helpers.js'

let h: Harness | undefined
afterEach(async () => { await h?.close(); h = undefined })

type Rec = Record<string, unknown>
const EINSTEIN = { displayName: 'Einstein Users', kind: 'permissionSet' as const, target: 'Sales_Cloud_Einstein', priority: 0 }

const licensed = (hh: Harness, userId: string): boolean =>
  (hh.emulator.org.query(`SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '${userId}'`) as unknown as Rec[]).length > 0

async function einsteinGroup (hh: Harness): Promise<string> {
  const res = await hh.http.get(`${SCIM}/Groups`).query({ filter: 'displayName eq "Einstein Users"' }).set(auth).expect(200)
  expect(res.body.totalResults).toBe(1)
  return String(res.body.Resources[0].id)
}

const members = async (hh: Harness, groupId: string, op: 'add' | 'remove', ids: string[]): Promise<{ status: number, body: Rec, headers: Record<string, string> }> =>
  await hh.http.patch(`${SCIM}/Groups/${groupId}`).set(auth).send({
    schemas: [PATCH_OP],
    Operations: op === 'add'
      ? [{ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }]
      : ids.map((id) => ({ op: 'remove', path: `members[value eq "${id}"]` })),
  })

describe('Einstein Users → Sales_Cloud_Einstein (needs the SalesCloudEinsteinPsl licence)', () => {
  it('a member added holds the licence and the permission set; removing them releases both', async () => {
    h = await groupsHarness({ mappings: [EINSTEIN] })
    const ps = String(h.emulator.seed.permissionSets.Sales_Cloud_Einstein)
    const u = seedUser(h)
    const g = await einsteinGroup(h)
    const added = await members(h, g, 'add', [u])
    expect(added.status, JSON.stringify(added.body)).toBeLessThan(300)
    expect(licensed(h, u)).toBe(true)
    expect(assignees(h, ps)).toEqual([u])
    const removed = await members(h, g, 'remove', [u])
    expect(removed.status).toBeLessThan(300)
    expect(assignees(h, ps)).toEqual([])
    expect(licensed(h, u)).toBe(false)
  })

  it('releases the licence itself where Salesforce does not remove it with the set', async () => {
    h = await groupsHarness({ mappings: [EINSTEIN] })
    changeOrgSettings(h.emulator.org, { autoRemovePermissionSetLicenses: false })
    const u = seedUser(h)
    const g = await einsteinGroup(h)
    await members(h, g, 'add', [u])
    expect(licensed(h, u)).toBe(true)
    await members(h, g, 'remove', [u])
    expect(licensed(h, u)).toBe(false)
  })

  it('never releases a licence an admin assigned', async () => {
    h = await groupsHarness({ mappings: [EINSTEIN] })
    changeOrgSettings(h.emulator.org, { autoRemovePermissionSetLicenses: false })
    const u = seedUser(h)
    h.emulator.org.insert('PermissionSetLicenseAssign', { AssigneeId: u, PermissionSetLicenseId: String(h.emulator.seed.permissionSetLicenses.SalesCloudEinsteinPsl) })
    const g = await einsteinGroup(h)
    expect((await members(h, g, 'add', [u])).status).toBeLessThan(300)
    await members(h, g, 'remove', [u])
    expect(licensed(h, u)).toBe(true)
  })

  it('a full licence answers 409 naming the licence and its seats, and assigns nothing', async () => {
    h = await groupsHarness({ mappings: [EINSTEIN] })
    const ps = String(h.emulator.seed.permissionSets.Sales_Cloud_Einstein)
    const g = await einsteinGroup(h)
    const users = [seedUser(h), seedUser(h), seedUser(h), seedUser(h)]
    const res = await members(h, g, 'add', users)
    expectScimError(res, 409)
    expect(res.body.detail).toMatch(/permission set licence 'Sales Cloud Einstein' \(SalesCloudEinsteinPsl\)/)
    expect(res.body.detail).toMatch(/3 of 3 seats used/)
    expect(assignees(h, ps)).toEqual([])
    // The seats taken for this request are given back.
    for (const u of users) expect(licensed(h, u)).toBe(false)
    // The metrics show the refusal and the seats as Salesforce saw them then.
    const text = await h.app.scimforce.metrics.render()
    expect(text).toMatch(/^scimforce_licence_seats_free\{kind="permissionSetLicence",licence="SalesCloudEinsteinPsl"\} 0$/m)
    expect(text).toMatch(/^scimforce_licence_refusals_total\{kind="permissionSetLicence"\} 1$/m)
  })

  it('costs no extra call for a permission set that needs no licence', async () => {
    h = await groupsHarness({ mappings: [EINSTEIN, { displayName: 'Sales Ops', kind: 'permissionSet', target: 'Sales_Ops', priority: 0 }] })
    const res = await h.http.get(`${SCIM}/Groups`).query({ filter: 'displayName eq "Sales Ops"' }).set(auth).expect(200)
    const u = seedUser(h)
    const before = h.emulator.counters.snapshot().apiCalls
    expect((await members(h, String(res.body.Resources[0].id), 'add', [u])).status).toBeLessThan(300)
    const plain = h.emulator.counters.snapshot().apiCalls - before
    const g = await einsteinGroup(h)
    const v = seedUser(h)
    const mid = h.emulator.counters.snapshot().apiCalls
    expect((await members(h, g, 'add', [v])).status).toBeLessThan(300)
    // The licence grant is one more call, and only for sets that need one.
    expect(h.emulator.counters.snapshot().apiCalls - mid).toBe(plain + 1)
  })
})

describe('licence headroom', () => {
  it('a create without a free user licence answers 409 naming the licence and its seats', async () => {
    h = await startHarness({ emulator: { licenseTotals: { Salesforce: 5 } } })
    const used = (h.emulator.org.query("SELECT UsedLicenses, TotalLicenses FROM UserLicense WHERE Name = 'Salesforce'") as unknown as Rec[])[0]
    for (let i = Number(used?.UsedLicenses); i < 5; i++) seedUser(h)
    const before = h.emulator.counters.snapshot().apiCalls
    const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'full@pickup.example', name: { familyName: 'Full' } })
    expectScimError(res, 409)
    expect(res.body.detail).toMatch(/licence 'Salesforce'/)
    expect(res.body.detail).toMatch(/5 of 5 seats used/)
    // The counts cost one call, after the refusal only.
    expect(h.emulator.counters.snapshot().apiCalls - before).toBe(2)
  })

  it('a reactivation without a free user licence names it too', async () => {
    h = await startHarness({ emulator: { licenseTotals: { Salesforce: 6 } } })
    const u = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'gone@pickup.example', name: { familyName: 'Gone' } }).expect(201)
    await h.http.patch(`${SCIM}/Users/${String(u.body.id)}`).set(auth).send({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] }).expect(200)
    const used = (h.emulator.org.query("SELECT UsedLicenses FROM UserLicense WHERE Name = 'Salesforce'") as unknown as Rec[])[0]
    for (let i = Number(used?.UsedLicenses); i < 6; i++) seedUser(h)
    const res = await h.http.patch(`${SCIM}/Users/${String(u.body.id)}`).set(auth).send({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] })
    expectScimError(res, 409)
    expect(res.body.detail).toMatch(/licence 'Salesforce' for user \w+: 6 of 6 seats used/)
  })
})

describe('a managed package licence as a group target', () => {
  const DOCUSIGN = { displayName: 'DocuSign Users', kind: 'packageLicence' as const, target: 'dsfs', priority: 0 }
  const seatsOf = (hh: Harness, userId: string): number =>
    (hh.emulator.org.query(`SELECT Id FROM UserPackageLicense WHERE UserId = '${userId}'`) as unknown as Rec[]).length

  it('lists the group, grants the package licence to a member, lists the member, and removes only its own seats', async () => {
    h = await groupsHarness({ mappings: [DOCUSIGN] })
    const found = await h.http.get(`${SCIM}/Groups`).query({ filter: 'displayName eq "DocuSign Users"' }).set(auth).expect(200)
    expect(found.body.totalResults).toBe(1)
    const g = String(found.body.Resources[0].id)
    expect(g).toBe(String(h.emulator.seed.packageLicenses.dsfs))
    const u = seedUser(h)
    const admins = seedUser(h)
    // A seat an admin gave stays when the IdP removes that user.
    h.emulator.org.insert('UserPackageLicense', { UserId: admins, PackageLicenseId: g })
    expect((await members(h, g, 'add', [u])).status).toBeLessThan(300)
    expect(seatsOf(h, u)).toBe(1)
    const read = await h.http.get(`${SCIM}/Groups/${g}`).set(auth).expect(200)
    expect((read.body.members as Rec[]).map((m) => m.value).sort()).toEqual([admins, u].sort())
    await members(h, g, 'remove', [u, admins])
    expect(seatsOf(h, u)).toBe(0)
    expect(seatsOf(h, admins)).toBe(1)
  })

  it('a package without free seats answers 409 naming the package', async () => {
    h = await groupsHarness({ mappings: [{ displayName: 'CPQ Users', kind: 'packageLicence', target: 'SBQQ', priority: 0 }] })
    const found = await h.http.get(`${SCIM}/Groups`).query({ filter: 'displayName eq "CPQ Users"' }).set(auth).expect(200)
    const g = String(found.body.Resources[0].id)
    const res = await members(h, g, 'add', [seedUser(h), seedUser(h), seedUser(h)])
    expectScimError(res, 409)
    expect(res.body.detail).toMatch(/SBQQ/)
    expect((h.emulator.org.query(`SELECT Id FROM UserPackageLicense WHERE PackageLicenseId = '${g}'`) as unknown as Rec[]).length).toBe(0)
  })
})

describe('configuration of licence targets', () => {
  it('groups.mappings[].packageLicence names a package by namespace (or an 050 Id); another kind of Id is refused', () => {
    const load = (yaml: string): ReturnType<typeof loadConfig> => loadConfig({ SF_LOGIN_URL: 'https://x.my.salesforce.com', SF_CLIENT_ID: 'id', SF_CLIENT_SECRET: 'secret', SF_PROFILE_ID: '00e000000000001AAA', SCIM_BEARER_TOKEN: 'a-token-long-enough-0123456789' }, { configPath: '/c.yaml', readFile: () => yaml })
    const ok = load('groups:\n  mappings:\n    - displayName: DocuSign Users\n      packageLicence: dsfs\n')
    expect(ok.groups?.mappings[0]).toMatchObject({ kind: 'packageLicence', target: 'dsfs' })
    expect(() => load('groups:\n  mappings:\n    - displayName: X\n      packageLicence: 0PS000000000001AAA\n')).toThrow(/packageLicence Id starts with 050/)
  })
})

describe('a queue as a group target', () => {
  it('lists and reads the queue, adds members as GroupMember rows, and removes only its own', async () => {
    h = await groupsHarness({ mappings: [{ displayName: 'Support Queue', kind: 'queue', target: 'Support_Queue', priority: 0 }] })
    const queue = String(h.emulator.seed.groups['Support Queue'])
    const caseOwner = String(h.emulator.seed.users['case.owner@scimforce.demo'])
    const found = await h.http.get(`${SCIM}/Groups`).query({ filter: 'displayName eq "Support Queue"' }).set(auth).expect(200)
    expect(found.body.totalResults).toBe(1)
    expect(found.body.Resources[0].id).toBe(queue)
    const u = seedUser(h)
    expect((await members(h, queue, 'add', [u])).status).toBeLessThan(300)
    const rows = (): string[] => (h?.emulator.org.query(`SELECT UserOrGroupId FROM GroupMember WHERE GroupId = '${queue}'`) as unknown as Rec[]).map((r) => String(r.UserOrGroupId)).sort()
    expect(rows()).toEqual([caseOwner, u].sort())
    const read = await h.http.get(`${SCIM}/Groups/${queue}`).set(auth).expect(200)
    expect(read.body.displayName).toBe('Support Queue')
    expect((read.body.members as Rec[]).map((m) => m.value).sort()).toEqual([caseOwner, u].sort())
    // The case owner was put in the queue by an admin: the IdP's removal leaves them there.
    await members(h, queue, 'remove', [u, caseOwner])
    expect(rows()).toEqual([caseOwner])
  })

  it('an unmapped queue is no SCIM group', async () => {
    h = await groupsHarness()
    await h.http.get(`${SCIM}/Groups/${String(h.emulator.seed.groups['Support Queue'])}`).set(auth).expect(404)
  })
})
