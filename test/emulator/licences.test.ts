import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { DATA, caught, newUser, start, type Started } from './helpers.js'

let s: Started
beforeEach(async () => { s = await start() })
afterEach(async () => { await s.em.close() })

type Rec = Record<string, unknown>
const first = (json: unknown): Rec => (json as Rec[])[0] as Rec

function userId (name: string): string {
  return s.em.seed.users[name] as string
}

/** An active Standard User made straight in the org. */
function makeUser (overrides: Rec = {}): string {
  return s.em.org.insert('User', newUser(s.em, overrides))
}

async function assign (assigneeId: string, permissionSetId: string): Promise<{ status: number, json: unknown }> {
  return await s.call('POST', `${DATA}/sobjects/PermissionSetAssignment`, { body: { AssigneeId: assigneeId, PermissionSetId: permissionSetId } })
}

async function grantPsl (assigneeId: string): Promise<{ status: number, json: unknown }> {
  return await s.call('POST', `${DATA}/sobjects/PermissionSetLicenseAssign`, { body: { AssigneeId: assigneeId, PermissionSetLicenseId: s.em.seed.permissionSetLicenses.SalesCloudEinsteinPsl } })
}

describe('the lifecycle seed', () => {
  it('has a permission set that needs a licence with free seats, package licences, a case owner and a queue', () => {
    const seed = s.em.seed
    expect(s.em.org.get('PermissionSet', seed.permissionSets.Sales_Cloud_Einstein as string)).toMatchObject({ Name: 'Sales_Cloud_Einstein', LicenseId: seed.permissionSetLicenses.SalesCloudEinsteinPsl })
    expect(s.em.org.query('SELECT DeveloperName, MasterLabel, TotalLicenses, UsedLicenses, Status FROM PermissionSetLicense')).toEqual([
      expect.objectContaining({ DeveloperName: 'SalesCloudEinsteinPsl', MasterLabel: 'Sales Cloud Einstein', TotalLicenses: 3, UsedLicenses: 0, Status: 'Active' }),
    ])
    expect(s.em.org.query('SELECT NamespacePrefix, AllowedLicenses, UsedLicenses, Status FROM PackageLicense ORDER BY NamespacePrefix').map(r => [r.NamespacePrefix, r.AllowedLicenses, r.UsedLicenses, r.Status]))
      .toEqual([['dsfs', 5, 0, 'Active'], ['SBQQ', 2, 0, 'Active']])
    expect(s.em.org.get('User', userId('case.owner@scimforce.demo'))).toMatchObject({ IsActive: true, Department: 'Support' })
    expect(s.em.org.settings.defaultCaseOwnerId).toBe(userId('case.owner@scimforce.demo'))
    const queue = seed.groups['Support Queue'] as string
    expect(s.em.org.get('Group', queue)).toMatchObject({ Type: 'Queue', DeveloperName: 'Support_Queue' })
    expect(s.em.org.query(`SELECT UserOrGroupId FROM GroupMember WHERE GroupId = '${queue}'`).map(r => r.UserOrGroupId)).toEqual([userId('case.owner@scimforce.demo')])
  })

  it('takes seat counts from the options', async () => {
    const other = await start({ permissionSetLicenseTotals: { SalesCloudEinsteinPsl: 0 }, packageLicenseTotals: { dsfs: -1 }, featureLicenseTotals: { UserPermissionsMarketingUser: 1, UserPermissionsOfflineUser: null } })
    try {
      expect(other.em.org.query('SELECT TotalLicenses FROM PermissionSetLicense')[0]?.TotalLicenses).toBe(0)
      expect(other.em.org.query('SELECT AllowedLicenses FROM PackageLicense WHERE NamespacePrefix = \'dsfs\'')[0]?.AllowedLicenses).toBe(-1)
      expect(other.em.org.settings.featureLicenseTotals).toMatchObject({ UserPermissionsMarketingUser: 1, UserPermissionsKnowledgeUser: 5 })
      expect(other.em.org.settings.featureLicenseTotals).not.toHaveProperty('UserPermissionsOfflineUser')
    } finally {
      await other.em.close()
    }
  })
})

describe('permission set licences', () => {
  it('refuse a set whose licence the user lacks, with FIELD_INTEGRITY_EXCEPTION', async () => {
    const ada = userId('ada.lovelace@scimforce.demo')
    const res = await assign(ada, s.em.seed.permissionSets.Sales_Cloud_Einstein as string)
    expect(res.status).toBe(400)
    expect(res.json).toEqual([{ errorCode: 'FIELD_INTEGRITY_EXCEPTION', message: 'The user license doesn\'t allow the permission: Sales Cloud Einstein', fields: ['PermissionSetId'] }])
    // Through jsforce, as scimforce will meet it.
    const conn = await s.connect()
    const err = await caught(() => conn.sobject('PermissionSetAssignment').create({ AssigneeId: ada, PermissionSetId: s.em.seed.permissionSets.Sales_Cloud_Einstein }))
    expect(err.name).toBe('FIELD_INTEGRITY_EXCEPTION')
  })

  it('accept the set once the licence is assigned, and count seats', async () => {
    const ada = userId('ada.lovelace@scimforce.demo')
    const granted = await grantPsl(ada)
    expect(granted.status).toBe(201)
    expect((granted.json as { id: string }).id).toMatch(/^2LA/)
    expect((await assign(ada, s.em.seed.permissionSets.Sales_Cloud_Einstein as string)).status).toBe(201)
    const [psl] = s.em.org.query('SELECT UsedLicenses, TotalLicenses FROM PermissionSetLicense WHERE DeveloperName = \'SalesCloudEinsteinPsl\'')
    expect(psl).toMatchObject({ UsedLicenses: 1, TotalLicenses: 3 })
    const dup = await grantPsl(ada)
    expect([dup.status, first(dup.json).errorCode]).toEqual([400, 'DUPLICATE_VALUE'])
  })

  it('answer LICENSE_LIMIT_EXCEEDED when every seat is taken', async () => {
    for (let i = 0; i < 3; i++) expect((await grantPsl(makeUser())).status).toBe(201)
    const full = await grantPsl(userId('ada.lovelace@scimforce.demo'))
    expect(full.status).toBe(400)
    expect(full.json).toEqual([{ errorCode: 'LICENSE_LIMIT_EXCEEDED', message: 'License Limit Exceeded - Sales Cloud Einstein', fields: [] }])
  })

  it('cannot be removed while a set that needs them is assigned; removing the set removes the licence', async () => {
    const ada = userId('ada.lovelace@scimforce.demo')
    const psla = (await grantPsl(ada)).json as { id: string }
    const psa = (await assign(ada, s.em.seed.permissionSets.Sales_Cloud_Einstein as string)).json as { id: string }
    const refused = await s.call('DELETE', `${DATA}/sobjects/PermissionSetLicenseAssign/${psla.id}`)
    expect(refused.status).toBe(400)
    expect(first(refused.json)).toMatchObject({ errorCode: 'DELETE_FAILED', message: expect.stringContaining('Sales_Cloud_Einstein') })
    expect(s.em.org.get('PermissionSetLicenseAssign', psla.id)).toBeDefined()
    // Help "Remove a Permission Set License from a User": unassigning the set removes the licence assignment.
    expect((await s.call('DELETE', `${DATA}/sobjects/PermissionSetAssignment/${psa.id}`)).status).toBe(204)
    expect(s.em.org.get('PermissionSetLicenseAssign', psla.id)).toBeUndefined()
  })

  it('stay with the user when automatic removal is off, and can then be deleted', async () => {
    s.em.org.settings.autoRemovePermissionSetLicenses = false
    const ada = userId('ada.lovelace@scimforce.demo')
    const psla = (await grantPsl(ada)).json as { id: string }
    const psa = (await assign(ada, s.em.seed.permissionSets.Sales_Cloud_Einstein as string)).json as { id: string }
    expect((await s.call('DELETE', `${DATA}/sobjects/PermissionSetAssignment/${psa.id}`)).status).toBe(204)
    expect(s.em.org.get('PermissionSetLicenseAssign', psla.id)).toBeDefined()
    expect((await s.call('DELETE', `${DATA}/sobjects/PermissionSetLicenseAssign/${psla.id}`)).status).toBe(204)
  })

  it('can be granted with the set in one allOrNone composite, licence first; a full licence rolls both back', async () => {
    const body = (user: string): unknown => ({
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `${DATA}/sobjects/PermissionSetLicenseAssign`, referenceId: 'psl', body: { AssigneeId: user, PermissionSetLicenseId: s.em.seed.permissionSetLicenses.SalesCloudEinsteinPsl } },
        { method: 'POST', url: `${DATA}/sobjects/PermissionSetAssignment`, referenceId: 'psa', body: { AssigneeId: user, PermissionSetId: s.em.seed.permissionSets.Sales_Cloud_Einstein } },
      ],
    })
    const statuses = async (user: string): Promise<number[]> =>
      ((await s.call('POST', `${DATA}/composite`, { body: body(user) })).json as { compositeResponse: Array<{ httpStatusCode: number }> }).compositeResponse.map(r => r.httpStatusCode)
    for (let i = 0; i < 3; i++) expect(await statuses(makeUser())).toEqual([201, 201])
    const late = makeUser()
    expect(await statuses(late)).toEqual([400, 400])
    expect(s.em.org.query(`SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '${late}' AND PermissionSet.Name = 'Sales_Cloud_Einstein'`)).toEqual([])
    expect(s.em.org.query('SELECT UsedLicenses FROM PermissionSetLicense')[0]?.UsedLicenses).toBe(3)
  })

  it('are read-only licences: no create, update or delete of PermissionSetLicense', async () => {
    const psl = s.em.seed.permissionSetLicenses.SalesCloudEinsteinPsl as string
    expect((await s.call('POST', `${DATA}/sobjects/PermissionSetLicense`, { body: { DeveloperName: 'X' } })).status).toBe(405)
    expect((await s.call('PATCH', `${DATA}/sobjects/PermissionSetLicense/${psl}`, { body: { TotalLicenses: 99 } })).status).toBe(405)
    expect((await s.call('DELETE', `${DATA}/sobjects/PermissionSetLicense/${psl}`)).status).toBe(405)
    const read = await s.call('GET', `${DATA}/sobjects/PermissionSetLicense/${psl}?fields=DeveloperName,UsedLicenses`)
    expect(read.json).toMatchObject({ DeveloperName: 'SalesCloudEinsteinPsl', UsedLicenses: 0 })
  })
})

describe('managed-package licences', () => {
  it('count UserPackageLicense rows, refuse duplicates and a full package, allow a site licence', async () => {
    const dsfs = s.em.seed.packageLicenses.dsfs as string
    const sbqq = s.em.seed.packageLicenses.SBQQ as string
    const grant = async (user: string, pkg: string): Promise<{ status: number, json: unknown }> =>
      await s.call('POST', `${DATA}/sobjects/UserPackageLicense`, { body: { UserId: user, PackageLicenseId: pkg } })
    const ada = userId('ada.lovelace@scimforce.demo')
    const created = await grant(ada, sbqq)
    expect(created.status).toBe(201)
    expect((created.json as { id: string }).id).toMatch(/^051/)
    expect(first((await grant(ada, sbqq)).json).errorCode).toBe('DUPLICATE_VALUE')
    expect((await grant(userId('grace.hopper@scimforce.demo'), sbqq)).status).toBe(201)
    const full = await grant(userId('case.owner@scimforce.demo'), sbqq)
    expect(full.json).toEqual([{ errorCode: 'LICENSE_LIMIT_EXCEEDED', message: 'License Limit Exceeded - SBQQ', fields: [] }])
    expect(s.em.org.query(`SELECT UsedLicenses FROM PackageLicense WHERE Id = '${sbqq}'`)[0]?.UsedLicenses).toBe(2)
    // Releasing a seat makes room.
    expect((await s.call('DELETE', `${DATA}/sobjects/UserPackageLicense/${(created.json as { id: string }).id}`)).status).toBe(204)
    expect((await grant(userId('case.owner@scimforce.demo'), sbqq)).status).toBe(201)
    // AllowedLicenses -1 is a site licence.
    const site = await start({ packageLicenseTotals: { dsfs: -1 } })
    try {
      for (const u of ['ada.lovelace@scimforce.demo', 'grace.hopper@scimforce.demo', 'case.owner@scimforce.demo']) {
        expect(site.em.org.insert('UserPackageLicense', { UserId: site.em.seed.users[u], PackageLicenseId: site.em.seed.packageLicenses.dsfs })).toMatch(/^051/)
      }
    } finally {
      await site.em.close()
    }
    expect(dsfs).toMatch(/^050/)
  })

  it('and permission set licences stay with a deactivated user (KB 000386472)', async () => {
    const user = makeUser()
    s.em.org.insert('UserPackageLicense', { UserId: user, PackageLicenseId: s.em.seed.packageLicenses.dsfs })
    s.em.org.insert('PermissionSetLicenseAssign', { AssigneeId: user, PermissionSetLicenseId: s.em.seed.permissionSetLicenses.SalesCloudEinsteinPsl })
    expect((await s.call('PATCH', `${DATA}/sobjects/User/${user}`, { body: { IsActive: false } })).status).toBe(204)
    expect(s.em.org.query(`SELECT Id FROM UserPackageLicense WHERE UserId = '${user}'`)).toHaveLength(1)
    expect(s.em.org.query(`SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '${user}'`)).toHaveLength(1)
    expect(s.em.org.query('SELECT UsedLicenses FROM PackageLicense WHERE NamespacePrefix = \'dsfs\'')[0]?.UsedLicenses).toBe(1)
    expect(s.em.org.query('SELECT UsedLicenses FROM PermissionSetLicense')[0]?.UsedLicenses).toBe(1)
  })
})

describe('feature licences', () => {
  it('limit each UserPermissions* flag to its total, on create and on update', async () => {
    s.em.org.settings.featureLicenseTotals.UserPermissionsKnowledgeUser = 1
    const created = await s.call('POST', `${DATA}/sobjects/User`, { body: newUser(s.em, { UserPermissionsKnowledgeUser: true }) })
    expect(created.status).toBe(201)
    const second = await s.call('POST', `${DATA}/sobjects/User`, { body: newUser(s.em, { UserPermissionsKnowledgeUser: true }) })
    expect(second.status).toBe(400)
    expect(second.json).toEqual([{ errorCode: 'LICENSE_LIMIT_EXCEEDED', message: 'License Limit Exceeded - Knowledge User', fields: ['UserPermissionsKnowledgeUser'] }])
    const ada = userId('ada.lovelace@scimforce.demo')
    const patched = await s.call('PATCH', `${DATA}/sobjects/User/${ada}`, { body: { UserPermissionsKnowledgeUser: true } })
    expect(first(patched.json).errorCode).toBe('LICENSE_LIMIT_EXCEEDED')
    // The holder may keep and re-save it; other fields of other users are untouched by the limit.
    const holder = (created.json as { id: string }).id
    expect((await s.call('PATCH', `${DATA}/sobjects/User/${holder}`, { body: { UserPermissionsKnowledgeUser: true, Title: 'x' } })).status).toBe(204)
    expect((await s.call('PATCH', `${DATA}/sobjects/User/${ada}`, { body: { Title: 'y' } })).status).toBe(204)
    // Assumption under test: a deactivated holder still uses the licence; clearing the flag frees it.
    expect((await s.call('PATCH', `${DATA}/sobjects/User/${holder}`, { body: { IsActive: false } })).status).toBe(204)
    expect(first((await s.call('PATCH', `${DATA}/sobjects/User/${ada}`, { body: { UserPermissionsKnowledgeUser: true } })).json).errorCode).toBe('LICENSE_LIMIT_EXCEEDED')
    expect((await s.call('PATCH', `${DATA}/sobjects/User/${holder}`, { body: { UserPermissionsKnowledgeUser: false } })).status).toBe(204)
    expect((await s.call('PATCH', `${DATA}/sobjects/User/${ada}`, { body: { UserPermissionsKnowledgeUser: true } })).status).toBe(204)
  })

  it('leave flags without a total unlimited, and change totals through the control API', async () => {
    for (let i = 0; i < 3; i++) makeUser({ UserPermissionsCallCenterAutoLogin: true })
    const put = await s.call('PUT', '/__emulator/org-settings', { auth: false, body: { featureLicenseTotals: { UserPermissionsSupportUser: 0 } } })
    expect(put.status).toBe(200)
    expect(put.json).toMatchObject({ featureLicenseTotals: { UserPermissionsSupportUser: 0, UserPermissionsMarketingUser: 10 } })
    expect(() => makeUser({ UserPermissionsSupportUser: true })).toThrow('License Limit Exceeded - Service Cloud User')
    expect((await s.call('PUT', '/__emulator/org-settings', { auth: false, body: { featureLicenseTotals: { Title: 3 } } })).status).toBe(400)
    expect((await s.call('PUT', '/__emulator/org-settings', { auth: false, body: { featureLicenseTotals: { UserPermissionsSupportUser: -1 } } })).status).toBe(400)
  })
})

describe('deactivation blockers', () => {
  const caseOwner = (): string => userId('case.owner@scimforce.demo')

  it('refuse to deactivate the default case owner, and leave the user active', async () => {
    const res = await s.call('PATCH', `${DATA}/sobjects/User/${caseOwner()}`, { body: { IsActive: false } })
    expect(res.status).toBe(400)
    expect(res.json).toEqual([{ errorCode: 'FIELD_INTEGRITY_EXCEPTION', message: 'You cannot deactivate this user. You cannot deactivate a user who is the default owner of cases', fields: [] }])
    expect(s.em.org.get('User', caseOwner())?.IsActive).toBe(true)
    // Other changes to the user still work.
    expect((await s.call('PATCH', `${DATA}/sobjects/User/${caseOwner()}`, { body: { Title: 'Still here' } })).status).toBe(204)
  })

  it('still let the user be frozen in a request of its own, and the freeze ends their sessions', async () => {
    const [login] = s.em.org.query(`SELECT Id, IsFrozen FROM UserLogin WHERE UserId = '${caseOwner()}'`)
    expect(login?.IsFrozen).toBe(false)
    const frozen = await s.call('PATCH', `${DATA}/sobjects/UserLogin/${login?.Id as string}`, { body: { IsFrozen: true } })
    expect(frozen.status).toBe(204)
    expect(s.em.org.query(`SELECT IsFrozen FROM UserLogin WHERE UserId = '${caseOwner()}'`)[0]?.IsFrozen).toBe(true)
    expect(s.em.org.get('User', caseOwner())?.IsActive).toBe(true)
  })

  it('roll a freeze back when it rides in the same allOrNone composite as the refused deactivation', async () => {
    const [login] = s.em.org.query(`SELECT Id FROM UserLogin WHERE UserId = '${caseOwner()}'`)
    const res = await s.call('POST', `${DATA}/composite`, {
      body: {
        allOrNone: true,
        compositeRequest: [
          { method: 'PATCH', url: `${DATA}/sobjects/UserLogin/${login?.Id as string}`, referenceId: 'freeze', body: { IsFrozen: true } },
          { method: 'PATCH', url: `${DATA}/sobjects/User/${caseOwner()}`, referenceId: 'deactivate', body: { IsActive: false } },
        ],
      },
    })
    const out = res.json as { compositeResponse: Array<{ httpStatusCode: number, body: unknown }> }
    expect(out.compositeResponse.map(r => r.httpStatusCode)).toEqual([400, 400])
    expect(first(out.compositeResponse[1]?.body).message).toMatch(/default owner of cases/)
    // issue 13: the leaver can still log in — neither frozen nor inactive.
    expect(s.em.org.query(`SELECT IsFrozen FROM UserLogin WHERE UserId = '${caseOwner()}'`)[0]?.IsFrozen).toBe(false)
    expect(s.em.org.get('User', caseOwner())?.IsActive).toBe(true)
  })

  it('clear through the control API, after which a retry deactivates', async () => {
    const settings = await s.call('GET', '/__emulator/org-settings', { auth: false })
    expect(settings.json).toMatchObject({ defaultCaseOwnerId: caseOwner(), defaultWorkflowUserId: null, autoRemovePermissionSetLicenses: true })
    expect((await s.call('PUT', '/__emulator/org-settings', { auth: false, body: { defaultCaseOwnerId: null } })).status).toBe(200)
    expect((await s.call('PATCH', `${DATA}/sobjects/User/${caseOwner()}`, { body: { IsActive: false } })).status).toBe(204)
    expect(s.em.org.get('User', caseOwner())?.IsActive).toBe(false)
  })

  it('cover the default workflow user, the default lead owner and the Web-to-Lead creator', async () => {
    const ada = userId('ada.lovelace@scimforce.demo')
    const grace = userId('grace.hopper@scimforce.demo')
    const other = makeUser()
    expect((await s.call('PUT', '/__emulator/org-settings', { auth: false, body: { defaultWorkflowUserId: ada.slice(0, 15), defaultLeadOwnerId: grace, webToLeadDefaultCreatorId: other } })).status).toBe(200)
    expect(s.em.org.settings.defaultWorkflowUserId).toBe(ada)
    const messages = []
    for (const id of [ada, grace, other]) {
      const res = await s.call('PATCH', `${DATA}/sobjects/User/${id}`, { body: { IsActive: false } })
      messages.push([res.status, first(res.json).message])
    }
    expect(messages).toEqual([
      [400, 'You cannot deactivate the Default Workflow User'],
      [400, 'You cannot deactivate this user. You cannot deactivate a user who is the default owner of leads'],
      [400, 'You cannot disable the Web to Lead Default Creator'],
    ])
    const bad = await s.call('PUT', '/__emulator/org-settings', { auth: false, body: { defaultCaseOwnerId: s.em.seed.groups['Sales Team'] } })
    expect(bad.status).toBe(400)
    expect((await s.call('PUT', '/__emulator/org-settings', { auth: false, body: { nope: 1 } })).status).toBe(400)
  })
})

describe('describe, SOQL and CRUD of the new objects', () => {
  it('are described like the others', async () => {
    const global = (await s.call('GET', `${DATA}/sobjects`)).json as { sobjects: Array<{ name: string, keyPrefix: string, createable: boolean, deletable: boolean }> }
    const byName = new Map(global.sobjects.map(o => [o.name, o]))
    expect(byName.get('PermissionSetLicense')).toMatchObject({ keyPrefix: '0PL', createable: false, deletable: false })
    expect(byName.get('PermissionSetLicenseAssign')).toMatchObject({ keyPrefix: '2LA', createable: true, deletable: true })
    expect(byName.get('PackageLicense')).toMatchObject({ keyPrefix: '050', createable: false })
    expect(byName.get('UserPackageLicense')).toMatchObject({ keyPrefix: '051', createable: true, deletable: true })
    const ps = (await s.call('GET', `${DATA}/sobjects/PermissionSet/describe`)).json as { fields: Array<{ name: string, referenceTo: string[], polymorphicForeignKey: boolean }> }
    expect(ps.fields.find(f => f.name === 'LicenseId')).toMatchObject({ referenceTo: ['UserLicense', 'PermissionSetLicense'], polymorphicForeignKey: true })
    const conn = await s.connect()
    const psla = await conn.sobject('PermissionSetLicenseAssign').describe()
    expect(psla.fields.map(f => f.name)).toEqual(expect.arrayContaining(['AssigneeId', 'PermissionSetLicenseId']))
  })

  it('answer SOQL with relationships and semi-joins, and jsforce CRUD', async () => {
    const conn = await s.connect()
    const ada = userId('ada.lovelace@scimforce.demo')
    const created = await conn.sobject('PermissionSetLicenseAssign').create({ AssigneeId: ada, PermissionSetLicenseId: s.em.seed.permissionSetLicenses.SalesCloudEinsteinPsl })
    expect(created.success).toBe(true)
    const rows = await conn.query<Rec>(`SELECT Id, PermissionSetLicense.DeveloperName, Assignee.Username FROM PermissionSetLicenseAssign WHERE AssigneeId = '${ada}'`)
    expect(rows.records[0]).toMatchObject({ PermissionSetLicense: { DeveloperName: 'SalesCloudEinsteinPsl' }, Assignee: { Username: 'ada.lovelace@scimforce.demo' } })
    const holders = await conn.query<Rec>('SELECT Username FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetLicenseAssign WHERE PermissionSetLicense.DeveloperName = \'SalesCloudEinsteinPsl\')')
    expect(holders.records.map(r => r.Username)).toEqual(['ada.lovelace@scimforce.demo'])
    const children = await conn.query<Rec>(`SELECT Username, (SELECT PermissionSetLicenseId FROM PermissionSetLicenseAssignments) FROM User WHERE Id = '${ada}'`)
    expect((children.records[0]?.PermissionSetLicenseAssignments as { totalSize: number }).totalSize).toBe(1)
    // No update on assignments.
    expect((await s.call('PATCH', `${DATA}/sobjects/PermissionSetLicenseAssign/${created.id as string}`, { body: {} })).status).toBe(405)
    await conn.sobject('PermissionSetLicenseAssign').destroy(created.id as string)
    expect(s.em.org.get('PermissionSetLicenseAssign', created.id as string)).toBeUndefined()
  })
})
