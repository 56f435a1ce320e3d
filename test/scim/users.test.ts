// SCIM Users end to end through real HTTP against the emulated org, asserting what ends up in Salesforce.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { auth, basicAuth, expectScimError, SCIM, startHarness, type Harness } from '../helper.js'

const E = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
let h: Harness

beforeEach(async () => { h = await startHarness() })
afterEach(async () => { await h.close() })

type Rec = Record<string, unknown>
function sfUser (id: string): Rec {
  const rec = h.emulator.org.get('User', id) as Rec | undefined
  if (rec === undefined) throw new Error(`no Salesforce user ${id}`)
  return rec
}

async function create (body: Rec, headers: Rec = auth): Promise<Rec> {
  const res = await h.http.post(`${SCIM}/Users`).set(headers as Record<string, string>).set('Content-Type', 'application/scim+json').send(body)
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body as Rec
}

const ada = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', E],
  userName: 'ada@pickup.example',
  externalId: 'entra-ada',
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  title: 'Engineer',
  emails: [{ value: 'ada@pickup.example', type: 'work', primary: true }],
  phoneNumbers: [{ value: '+44 20 7946 0000', type: 'mobile' }],
  active: true,
  [E]: { department: 'Sales', employeeNumber: '1001' },
}

describe('POST /Users', () => {
  it('creates the Salesforce user with the configured defaults and answers 201 with Location and meta', async () => {
    const res = await h.http.post(`${SCIM}/Users`).set(auth).set('Content-Type', 'application/scim+json').send(ada)
    expect(res.status).toBe(201)
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/)
    const id = res.body.id as string
    expect(id).toMatch(/^005[A-Za-z0-9]{15}$/)
    expect(res.headers.location).toBe(`http://127.0.0.1:${(h.app.server.address() as { port: number }).port}${SCIM}/Users/${id}`)
    expect(res.body.meta).toMatchObject({ resourceType: 'User', location: res.headers.location })
    expect(res.body.meta.created).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(res.body.meta.version).toMatch(/^W\/"/)
    expect(res.headers.etag).toBe(res.body.meta.version)
    expect(res.body).toMatchObject({ userName: 'ada@pickup.example', externalId: 'entra-ada', active: true, title: 'Engineer', [E]: { department: 'Sales', employeeNumber: '1001' } })

    const rec = sfUser(id)
    expect(rec).toMatchObject({
      Username: 'ada@pickup.example',
      FirstName: 'Ada',
      LastName: 'Lovelace',
      Email: 'ada@pickup.example',
      MobilePhone: '+44 20 7946 0000',
      // externalId is scimforce's own by default (users.externalIdField unset): the SSO key stays the admin's.
      FederationIdentifier: null,
      Department: 'Sales',
      EmployeeNumber: '1001',
      IsActive: true,
      ProfileId: h.config.users.defaults.ProfileId,
      Alias: 'alovelac',
      CommunityNickname: 'ada',
      TimeZoneSidKey: 'America/Los_Angeles',
      LocaleSidKey: 'en_US',
      LanguageLocaleKey: 'en_US',
      EmailEncodingKey: 'UTF-8',
      UserPermissionsMarketingUser: false,
      UserPermissionsOfflineUser: false,
      UserPermissionsCallCenterAutoLogin: false,
    })
  })

  it('accepts what WSO2 IS sends: Basic auth, empty schemas, string emails, a password', async () => {
    const body = await create({ schemas: [], userName: 'kim@pickup.example', password: 'f00-b4r', name: { givenName: 'Kim', familyName: 'Lee' }, emails: ['kim@pickup.example'] }, basicAuth)
    expect(body.emails).toEqual([{ value: 'kim@pickup.example', type: 'work', primary: true }])
    expect(JSON.stringify(body)).not.toContain('f00-b4r')
    expect(sfUser(body.id as string).Email).toBe('kim@pickup.example')
  })

  it('gives a new CommunityNickname when the derived one is taken, instead of failing', async () => {
    await create({ userName: 'sam@one.example', name: { familyName: 'One' } })
    const second = await create({ userName: 'sam@two.example', name: { familyName: 'Two' } })
    const nick = sfUser(second.id as string).CommunityNickname as string
    expect(nick).not.toBe('sam')
    expect(nick.startsWith('sam.')).toBe(true)
  })

  it('answers 409 uniqueness for an active user and for a username taken in another org, and changes nothing', async () => {
    await create(ada)
    const before = h.emulator.org.count('User')
    const dup = await h.http.post(`${SCIM}/Users`).set(auth).send({ ...ada, externalId: 'other' })
    expectScimError(dup, 409, 'uniqueness')
    expect(dup.body.detail).toMatch(/already exists/)
    const foreign = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'taken@otherorg.example', name: { familyName: 'X' } })
    expectScimError(foreign, 409, 'uniqueness')
    expect(foreign.body.detail).toMatch(/another Salesforce org/)
    expect(h.emulator.org.count('User')).toBe(before)
  })

  it('turns Salesforce validation errors into 400 invalidValue with the errorCode', async () => {
    const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'nolastname@pickup.example', name: { givenName: 'No' } })
    expectScimError(res, 400, 'invalidValue')
    expect(res.body.detail).toMatch(/REQUIRED_FIELD_MISSING/)
    const bad = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'tz@pickup.example', name: { familyName: 'Tz' }, timezone: 'Mars/Olympus' })
    expectScimError(bad, 400, 'invalidValue')
    expect(bad.body.detail).toMatch(/INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST/)
  })

  it('rejects bad SCIM input precisely and writes nothing', async () => {
    const before = h.emulator.org.count('User')
    expectScimError(await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'x@y.example', active: 3 }), 400, 'invalidValue')
    expectScimError(await h.http.post(`${SCIM}/Users`).set(auth).send({ name: { familyName: 'X' } }), 400, 'invalidValue')
    expectScimError(await h.http.post(`${SCIM}/Users`).set(auth).set('Content-Type', 'application/scim+json').send('{"userName": '), 400, 'invalidSyntax')
    expect(h.emulator.org.count('User')).toBe(before)
  })
})

describe('GET /Users', () => {
  it('reads by id, and answers 404 for unknown and non-User ids', async () => {
    const u = await create(ada)
    const res = await h.http.get(`${SCIM}/Users/${String(u.id)}`).set(auth)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: u.id, userName: 'ada@pickup.example', name: { givenName: 'Ada', familyName: 'Lovelace', formatted: 'Ada Lovelace' } })
    expectScimError(await h.http.get(`${SCIM}/Users/005000000000000AAA`).set(auth), 404)
    expectScimError(await h.http.get(`${SCIM}/Users/${String(h.emulator.seed.profiles['Standard User'])}`).set(auth), 404)
    expectScimError(await h.http.get(`${SCIM}/Users/not-an-id'%20OR%20'1`).set(auth), 404)
  })

  it("finds a user with WSO2's unquoted filter, case-insensitively, and with Entra's externalId filter", async () => {
    const u = await create(ada)
    const wso2 = await h.http.get(`${SCIM}/Users`).query('filter=userName%20Eq%20ADA@pickup.example&startIndex=1&count=1').set(basicAuth).set('Content-Type', 'application/json')
    expect(wso2.status).toBe(200)
    expect(wso2.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 1, startIndex: 1, itemsPerPage: 1 })
    expect(wso2.body.Resources[0].id).toBe(u.id)
    const entra = await h.http.get(`${SCIM}/Users`).query({ filter: 'externalId eq "entra-ada"' }).set(auth)
    expect(entra.body.totalResults).toBe(1)
    const none = await h.http.get(`${SCIM}/Users`).query({ filter: 'userName eq "3f1c6c8e-0000-4000-8000-000000000000"' }).set(auth)
    expect(none.status).toBe(200)
    expect(none.body).toMatchObject({ totalResults: 0, Resources: [] })
  })

  it('applies attributes and excludedAttributes', async () => {
    const u = await create(ada)
    const res = await h.http.get(`${SCIM}/Users/${String(u.id)}`).query({ attributes: `userName,${E}:department` }).set(auth)
    expect(res.body).toEqual({ schemas: res.body.schemas, id: u.id, userName: 'ada@pickup.example', [E]: { department: 'Sales' } })
    const ex = await h.http.get(`${SCIM}/Users`).query({ excludedAttributes: 'emails,name', filter: 'userName eq "ada@pickup.example"' }).set(auth)
    expect(ex.body.Resources[0].emails).toBeUndefined()
    expect(ex.body.Resources[0].name).toBeUndefined()
    expect(ex.body.Resources[0].userName).toBe('ada@pickup.example')
  })

  it('rejects unsupported filters with 400 invalidFilter', async () => {
    expectScimError(await h.http.get(`${SCIM}/Users`).query({ filter: 'nosuchattr eq "x"' }).set(auth), 400, 'invalidFilter')
    expectScimError(await h.http.get(`${SCIM}/Users`).query({ filter: 'userName eq' }).set(auth), 400, 'invalidFilter')
  })
})

describe('PUT /Users/:id', () => {
  it("merges WSO2's partial PUT (Basic client) and keeps what it omits", async () => {
    const u = await create(ada)
    const res = await h.http.put(`${SCIM}/Users/${String(u.id)}`).set(basicAuth).send({ schemas: [], userName: 'ada@pickup.example', name: { givenName: 'Augusta' } })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ name: { givenName: 'Augusta', familyName: 'Lovelace' }, title: 'Engineer' })
    expect(sfUser(u.id as string)).toMatchObject({ FirstName: 'Augusta', LastName: 'Lovelace', Title: 'Engineer', MobilePhone: '+44 20 7946 0000' })
  })

  it('replaces for a replace-mode client (Okta/Entra): omitted optional attributes are cleared', async () => {
    const u = await create(ada)
    const res = await h.http.put(`${SCIM}/Users/${String(u.id)}`).set(auth).send({ userName: 'ada@pickup.example', name: { givenName: 'Ada', familyName: 'King' }, emails: [{ value: 'ada.king@pickup.example', primary: true }], active: false })
    expect(res.status).toBe(200)
    // The new Email waits for the user's verification (help article 000385115): SCIM answers it meanwhile.
    expect(res.body.emails[0].value).toBe('ada.king@pickup.example')
    expect(h.emulator.org.confirmEmail(u.id as string)).toBe('ada.king@pickup.example')
    const rec = sfUser(u.id as string)
    expect(rec).toMatchObject({ LastName: 'King', Email: 'ada.king@pickup.example', IsActive: false, Title: null, MobilePhone: null, Department: null })
    expect(res.body.active).toBe(false)
  })
})

describe('PATCH /Users/:id', () => {
  it('applies Entra shapes: capitalised ops, string booleans, dotted keys, string manager', async () => {
    const boss = await create({ userName: 'boss@pickup.example', name: { familyName: 'Boss' } })
    const u = await create(ada)
    const res = await h.http.patch(`${SCIM}/Users/${String(u.id)}`).set(auth).send({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'ada.new@pickup.example' },
        { op: 'Add', value: { 'name.givenName': 'Augusta', [`${E}:department`]: 'Ops' } },
        { op: 'Add', path: `${E}:manager`, value: boss.id },
        { op: 'Replace', path: 'active', value: 'False' },
      ],
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body).toMatchObject({ active: false, name: { givenName: 'Augusta' }, emails: [{ value: 'ada.new@pickup.example' }], [E]: { department: 'Ops', manager: { value: boss.id } } })
    // The new Email waits for the user's verification (help article 000385115) until they click the link.
    expect(h.emulator.org.confirmEmail(u.id as string)).toBe('ada.new@pickup.example')
    expect(sfUser(u.id as string)).toMatchObject({ Email: 'ada.new@pickup.example', FirstName: 'Augusta', Department: 'Ops', ManagerId: boss.id, IsActive: false })
  })

  it("applies Okta's path-less deactivate, and a deactivated user stays visible", async () => {
    const u = await create(ada)
    const res = await h.http.patch(`${SCIM}/Users/${String(u.id)}`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] })
    expect(res.status).toBe(200)
    expect(sfUser(u.id as string).IsActive).toBe(false)
    expect((await h.http.get(`${SCIM}/Users/${String(u.id)}`).set(auth)).body.active).toBe(false)
    const list = await h.http.get(`${SCIM}/Users`).query({ filter: 'userName eq "ada@pickup.example"' }).set(auth)
    expect(list.body.totalResults).toBe(1)
  })

  it('applies a value-filtered remove through the slow path', async () => {
    const u = await create(ada)
    const res = await h.http.patch(`${SCIM}/Users/${String(u.id)}`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'remove', path: 'phoneNumbers[value eq "+44 20 7946 0000"]' }] })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(sfUser(u.id as string).MobilePhone).toBeNull()
  })

  it('rejects bad operations and changes nothing', async () => {
    const u = await create(ada)
    const before = sfUser(u.id as string).SystemModstamp
    const url = `${SCIM}/Users/${String(u.id)}`
    const op = (Operations: unknown[]): Rec => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations })
    expectScimError(await h.http.patch(url).set(auth).send(op([{ op: 'replace', path: 'title', value: 'x' }, { op: 'remove', path: 'userName' }])), 400, 'mutability')
    expectScimError(await h.http.patch(url).set(auth).send(op([{ op: 'replace', path: 'nope', value: 1 }])), 400, 'invalidPath')
    expectScimError(await h.http.patch(url).set(auth).send(op([])), 400, 'invalidValue')
    expectScimError(await h.http.patch(url).set(auth).send({ Operations: 'x' }), 400)
    expect(sfUser(u.id as string).SystemModstamp).toBe(before)
    expect(sfUser(u.id as string).Title).toBe('Engineer')
  })
})

describe('DELETE /Users/:id', () => {
  it('deactivates in Salesforce; afterwards every operation is 404 and lists omit the user', async () => {
    const u = await create(ada)
    const id = u.id as string
    const del = await h.http.delete(`${SCIM}/Users/${id}`).set(basicAuth).set('Content-Type', 'application/json')
    expect(del.status).toBe(204)
    expect(sfUser(id).IsActive).toBe(false)
    expectScimError(await h.http.get(`${SCIM}/Users/${id}`).set(auth), 404)
    expectScimError(await h.http.put(`${SCIM}/Users/${id}`).set(auth).send({ userName: 'ada@pickup.example' }), 404)
    expectScimError(await h.http.patch(`${SCIM}/Users/${id}`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }), 404)
    expectScimError(await h.http.delete(`${SCIM}/Users/${id}`).set(auth), 404)
    const list = await h.http.get(`${SCIM}/Users`).query({ filter: 'userName eq "ada@pickup.example"' }).set(auth)
    expect(list.body.totalResults).toBe(0)
    const all = await h.http.get(`${SCIM}/Users`).query({ count: 1000 }).set(auth)
    expect((all.body.Resources as Rec[]).map((r) => r.id)).not.toContain(id)
    expect(all.body.totalResults).toBe((all.body.Resources as Rec[]).length)
  })

  it('rehires: a POST with the userName of a deleted user reactivates and updates that same user', async () => {
    const u = await create(ada)
    await h.http.delete(`${SCIM}/Users/${String(u.id)}`).set(auth).expect(204)
    const again = await create({ ...ada, title: 'Principal Engineer' })
    expect(again.id).toBe(u.id)
    expect(sfUser(u.id as string)).toMatchObject({ IsActive: true, Title: 'Principal Engineer' })
    expect((await h.http.get(`${SCIM}/Users/${String(u.id)}`).set(auth)).status).toBe(200)
  })
})

describe('auth', () => {
  it('answers 401 with WWW-Authenticate and a SCIM body without credentials', async () => {
    const res = await h.http.get(`${SCIM}/Users`)
    expectScimError(res, 401)
    expect(res.headers['www-authenticate']).toMatch(/Basic/)
    expect(res.headers['www-authenticate']).toMatch(/Bearer/)
    expectScimError(await h.http.get(`${SCIM}/Users`).set('Authorization', 'Bearer wrong-token-wrong-token'), 401)
  })
})
