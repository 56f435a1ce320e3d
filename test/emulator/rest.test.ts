import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { to18 } from '../../src/emulator/ids.js'
import { DATA, caught, newUser, start, type Started } from './helpers.js'

let s: Started
beforeAll(async () => { s = await start() })
afterAll(async () => { await s.em.close() })

const JSON_TYPE = 'application/json;charset=UTF-8'

describe('versions, resources and limits', () => {
  it('lists versions 31.0 to 66.0 without a session and without Sforce-Limit-Info', async () => {
    const res = await s.call('GET', '/services/data/', { auth: false })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(JSON_TYPE)
    expect(res.headers.get('sforce-limit-info')).toBeNull()
    const list = res.json as Array<{ label: string, url: string, version: string }>
    expect(list[0]).toEqual({ label: 'Summer \'14', url: '/services/data/v31.0', version: '31.0' })
    expect(list.find(v => v.version === '62.0')?.label).toBe('Winter \'25')
    expect(list.at(-1)).toEqual({ label: 'Spring \'26', url: '/services/data/v66.0', version: '66.0' })
  })

  it('serves the resources of a version and 404 for an unknown one', async () => {
    const res = await s.call('GET', `${DATA}/`)
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ sobjects: `${DATA}/sobjects`, query: `${DATA}/query`, composite: `${DATA}/composite` })
    const bad = await s.call('GET', '/services/data/v20.0/limits')
    expect(bad.status).toBe(404)
    expect(bad.json).toEqual([{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }])
  })

  it('reports usage in Sforce-Limit-Info and /limits', async () => {
    const before = s.em.counters.snapshot().apiCalls
    const res = await s.call('GET', `${DATA}/limits`)
    const info = res.headers.get('sforce-limit-info') ?? ''
    expect(info).toMatch(/^api-usage=\d+\/15000$/)
    const used = Number(/=(\d+)\//.exec(info)?.[1])
    expect((res.json as { DailyApiRequests: { Max: number, Remaining: number } }).DailyApiRequests).toEqual({ Max: 15000, Remaining: 15000 - used })
    expect(s.em.counters.snapshot().apiCalls).toBe(before + 1)
  })

  it('answers 401 INVALID_SESSION_ID without a valid token', async () => {
    const res = await s.call('GET', `${DATA}/limits`, { auth: 'garbage' })
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toBe(JSON_TYPE)
    expect(res.json).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }])
  })
})

describe('sObject CRUD over raw HTTP', () => {
  it('creates with 201, Location and the save result; reads with attributes; updates with 204', async () => {
    const body = newUser(s.em, { Title: 'Engineer' })
    const created = await s.call('POST', `${DATA}/sobjects/user/`, { body })
    expect(created.status).toBe(201)
    const { id } = created.json as { id: string }
    expect(created.json).toEqual({ id, success: true, errors: [] })
    expect(id).toMatch(/^005[0-9A-Za-z]{15}$/)
    expect(created.headers.get('location')).toBe(`${DATA}/sobjects/User/${id}`)
    expect(created.headers.get('sforce-limit-info')).toMatch(/^api-usage=/)

    const read = await s.call('GET', `${DATA}/sobjects/User/${id.slice(0, 15)}?fields=Id,Name,Title`)
    expect(read.json).toEqual({ attributes: { type: 'User', url: `${DATA}/sobjects/User/${id}` }, Id: id, Name: 'Tess Tester', Title: 'Engineer' })
    const full = await s.call('GET', `${DATA}/sobjects/User/${id}`)
    expect(full.json).toMatchObject({ Username: body.Username, IsActive: true, UserType: 'Standard', SystemModstamp: expect.stringMatching(/\+0000$/) })

    const patched = await s.call('PATCH', `${DATA}/sobjects/User/${id}`, { body: { Title: 'Lead', IsActive: false } })
    expect(patched.status).toBe(204)
    expect(patched.text).toBe('')
    expect(s.em.org.get('User', id)).toMatchObject({ Title: 'Lead', IsActive: false })
    const override = await s.call('POST', `${DATA}/sobjects/User/${id}?_HttpMethod=PATCH`, { body: { Title: 'Override' } })
    expect(override.status).toBe(204)
    expect(s.em.org.get('User', id)?.Title).toBe('Override')
  })

  it('refuses DELETE on User with 405 and the allowed methods', async () => {
    const id = s.em.seed.users['alan.turing@scimforce.demo'] as string
    const res = await s.call('DELETE', `${DATA}/sobjects/User/${id}`)
    expect(res.status).toBe(405)
    expect(res.json).toEqual([{ errorCode: 'METHOD_NOT_ALLOWED', message: 'HTTP Method \'DELETE\' not allowed. Allowed are HEAD,GET,PATCH' }])
    const license = await s.call('POST', `${DATA}/sobjects/UserLicense`, { body: { Name: 'x' } })
    expect(license.status).toBe(405)
    expect((license.json as Array<{ message: string }>)[0]?.message).toBe('HTTP Method \'POST\' not allowed. Allowed are HEAD,GET')
    const login = await s.call('DELETE', `${DATA}/sobjects/UserLogin/${s.em.org.query('SELECT Id FROM UserLogin LIMIT 1')[0]?.Id as string}`)
    expect(login.status).toBe(405)
  })

  it('maps body problems to Salesforce error codes', async () => {
    const cases: Array<[Record<string, unknown>, string, string[] | undefined]> = [
      [{ Bogus: 1 }, 'INVALID_FIELD', undefined],
      [{ Name: 'x' }, 'INVALID_FIELD_FOR_INSERT_UPDATE', ['Name']],
      [{ ProfileId: s.em.seed.permissionSets.Sales_Ops }, 'MALFORMED_ID', ['ProfileId']],
      [{ ProfileId: to18('00eHu0000009999') }, 'INVALID_CROSS_REFERENCE_KEY', []],
      [{ Email: 'nope' }, 'INVALID_EMAIL_ADDRESS', ['Email']],
      [{ Username: 'taken@otherorg.example' }, 'DUPLICATE_USERNAME', ['Username']],
      [{ LocaleSidKey: 'xx_XX' }, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', ['LocaleSidKey']],
    ]
    for (const [override, code, fields] of cases) {
      const res = await s.call('POST', `${DATA}/sobjects/User`, { body: newUser(s.em, override) })
      expect(res.status).toBe(400)
      const [err] = res.json as Array<{ errorCode: string, message: string, fields?: string[] }>
      expect(err?.errorCode).toBe(code)
      expect(err?.fields).toEqual(fields)
    }
    const parse = await s.call('POST', `${DATA}/sobjects/User`, { body: '{"LastName":' })
    expect(parse.status).toBe(400)
    expect((parse.json as Array<{ errorCode: string }>)[0]?.errorCode).toBe('JSON_PARSER_ERROR')
  })

  it('answers NOT_FOUND and MALFORMED_ID for bad path Ids', async () => {
    const missing = await s.call('GET', `${DATA}/sobjects/User/${to18('005Hu0000009999')}`)
    expect([missing.status, missing.json]).toEqual([404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]])
    const foreign = await s.call('GET', `${DATA}/sobjects/User/${s.em.seed.profiles['Standard User'] as string}`)
    expect(foreign.status).toBe(404)
    const malformed = await s.call('PATCH', `${DATA}/sobjects/User/005Hu0000009999ZZZ`, { body: { Title: 'x' } })
    expect(malformed.status).toBe(400)
    expect((malformed.json as Array<{ errorCode: string }>)[0]?.errorCode).toBe('MALFORMED_ID')
    const text = await s.call('GET', `${DATA}/sobjects/User/not-an-id`)
    expect(text.status).toBe(404)
    const unknown = await s.call('GET', `${DATA}/sobjects/Account/001000000000000`)
    expect(unknown.status).toBe(404)
    const field = await s.call('GET', `${DATA}/sobjects/User/${s.em.seed.users['ada.lovelace@scimforce.demo'] as string}?fields=Nope`)
    expect((field.json as Array<{ errorCode: string }>)[0]?.errorCode).toBe('INVALID_FIELD')
  })

  it('deletes groups with 204 and then answers ENTITY_IS_DELETED', async () => {
    const conn = await s.connect()
    const group = await conn.sobject('Group').create({ Name: 'Temp Group' })
    expect(group.success).toBe(true)
    const res = await s.call('DELETE', `${DATA}/sobjects/Group/${group.id as string}`)
    expect(res.status).toBe(204)
    const again = await s.call('GET', `${DATA}/sobjects/Group/${group.id as string}`)
    expect(again.status).toBe(404)
    expect((again.json as Array<{ errorCode: string }>)[0]?.errorCode).toBe('ENTITY_IS_DELETED')
  })

  it('describes objects and the org', async () => {
    const describe = await s.call('GET', `${DATA}/sobjects/User/describe`)
    const d = describe.json as { name: string, keyPrefix: string, deletable: boolean, fields: Array<{ name: string, length: number, createable: boolean, nillable: boolean, restrictedPicklist: boolean, picklistValues: Array<{ value: string }> }> }
    expect([d.name, d.keyPrefix, d.deletable]).toEqual(['User', '005', false])
    const field = (n: string): (typeof d.fields)[number] | undefined => d.fields.find(f => f.name === n)
    expect(field('Alias')?.length).toBe(8)
    expect(field('Name')?.createable).toBe(false)
    expect(field('TimeZoneSidKey')?.restrictedPicklist).toBe(true)
    expect(field('TimeZoneSidKey')?.picklistValues.map(p => p.value)).toContain('Asia/Colombo')
    const global = await s.call('GET', `${DATA}/sobjects/`)
    const names = (global.json as { sobjects: Array<{ name: string }> }).sobjects.map(o => o.name)
    expect(names).toEqual(expect.arrayContaining(['User', 'Profile', 'UserRole', 'UserLicense', 'PermissionSet', 'PermissionSetGroup', 'PermissionSetAssignment', 'Group', 'GroupMember', 'UserLogin']))
  })

  it('freezes a user through UserLogin', async () => {
    const conn = await s.connect()
    const ada = s.em.seed.users['ada.lovelace@scimforce.demo'] as string
    const login = (await conn.query<{ Id: string, IsFrozen: boolean }>(`SELECT Id, IsFrozen FROM UserLogin WHERE UserId = '${ada}'`)).records[0]
    expect(login?.IsFrozen).toBe(false)
    await conn.sobject('UserLogin').update({ Id: login?.Id, IsFrozen: true })
    expect(s.em.org.get('UserLogin', login?.Id as string)?.IsFrozen).toBe(true)
    await conn.sobject('UserLogin').update({ Id: login?.Id, IsFrozen: false })
  })
})

describe('sObject CRUD with jsforce', () => {
  it('creates, reads, updates users and reports errors as jsforce errors', async () => {
    const conn = await s.connect()
    const created = await conn.sobject('User').create(newUser(s.em, { FirstName: 'Jay', LastName: 'Force' }))
    const got = await conn.sobject('User').retrieve(created.id as string)
    expect(got).toMatchObject({ Id: created.id, Name: 'Jay Force' })
    const updated = await conn.sobject('User').update({ Id: created.id as string, Department: 'QA' })
    expect(updated).toEqual({ id: created.id, success: true, errors: [] })
    const many = await conn.sobject('User').retrieve([created.id as string, s.em.seed.users['grace.hopper@scimforce.demo'] as string])
    expect(many.map(u => u?.Department)).toEqual(['QA', 'Sales'])
    const err = await caught(() => conn.sobject('User').create(newUser(s.em, { Alias: 'muchtoolong' })))
    expect(err.name).toBe('STRING_TOO_LONG')
    expect(err.message).toBe('Alias: data value too large: muchtoolong (max length=8)')
    const del = await caught(() => conn.sobject('User').destroy(created.id as string))
    expect(del.name).toBe('METHOD_NOT_ALLOWED')
  })

  it('manages groups, members, permission sets, assignments and roles', async () => {
    const conn = await s.connect()
    const ada = s.em.seed.users['ada.lovelace@scimforce.demo'] as string
    const group = await conn.sobject('Group').create({ Name: 'Night Shift' })
    const member = await conn.sobject('GroupMember').create({ GroupId: group.id, UserOrGroupId: ada })
    const dup = await conn.sobject('GroupMember').create({ GroupId: group.id, UserOrGroupId: ada })
    expect(dup.id).toBe(member.id)
    expect((await caught(() => conn.sobject('GroupMember').update({ Id: member.id as string, GroupId: group.id }))).name).toBe('METHOD_NOT_ALLOWED')
    await conn.sobject('GroupMember').destroy(member.id as string)

    const ps = await conn.sobject('PermissionSet').create({ Name: 'Night_Ops', Label: 'Night Ops' })
    const psa = await conn.sobject('PermissionSetAssignment').create({ AssigneeId: ada, PermissionSetId: ps.id })
    const dupErr = await caught(() => conn.sobject('PermissionSetAssignment').create({ AssigneeId: ada, PermissionSetId: ps.id }))
    expect(dupErr.name).toBe('DUPLICATE_VALUE')
    expect(dupErr.message).toBe(`Duplicate PermissionSetAssignment. Assignee: ${ada}; Permission Set: ${ps.id as string}`)
    await conn.sobject('PermissionSetAssignment').destroy(psa.id as string)
    await conn.sobject('PermissionSet').destroy(ps.id as string)

    const role = await conn.sobject('UserRole').create({ Name: 'Night Lead', ParentRoleId: s.em.seed.roles.CEO })
    await conn.sobject('User').update({ Id: ada, UserRoleId: role.id })
    const check = await conn.query<{ UserRole: { Name: string } }>(`SELECT UserRole.Name FROM User WHERE Id = '${ada}'`)
    expect(check.records[0]?.UserRole.Name).toBe('Night Lead')
    await conn.sobject('User').update({ Id: ada, UserRoleId: s.em.seed.roles['Sales Rep'] })
    await conn.sobject('UserRole').destroy(role.id as string)
    expect(s.em.org.get('UserRole', role.id as string)).toBeUndefined()
  })

  it('counts calls per endpoint, sObject and method', async () => {
    const conn = await s.connect()
    s.em.counters.reset()
    await conn.sobject('Group').create({ Name: 'Counted' })
    await conn.query('SELECT Id FROM Group')
    await conn.sobject('Group').describe()
    const snap = s.em.counters.snapshot()
    expect(snap.apiCalls).toBe(3)
    expect(snap.byEndpoint).toEqual({ sobjects: 1, query: 1, describe: 1 })
    expect(snap.bySObject).toEqual({ Group: 2 })
    expect(snap.byMethod).toEqual({ POST: 1, GET: 2 })
    expect(snap.queries).toEqual(['SELECT Id FROM Group'])
    expect(s.em.queryLog).toEqual(['SELECT Id FROM Group'])
  })
})

describe('HTTP details', () => {
  it('answers HEAD like GET, refuses unsupported methods and media types', async () => {
    const ada = s.em.seed.users['ada.lovelace@scimforce.demo'] as string
    const head = await s.call('HEAD', `${DATA}/sobjects/User/${ada}`)
    expect(head.status).toBe(200)
    expect(head.text).toBe('')
    const put = await s.call('PUT', `${DATA}/sobjects/User`, { body: {} })
    expect(put.status).toBe(405)
    expect(put.json).toEqual([{ message: 'HTTP Method \'PUT\' not allowed. Allowed are HEAD,GET,POST', errorCode: 'METHOD_NOT_ALLOWED' }])
    const text = await s.call('POST', `${DATA}/sobjects/Group`, { body: '{"Name":"x"}', headers: { 'content-type': 'text/plain' } })
    expect(text.status).toBe(415)
    expect((text.json as Array<{ errorCode: string }>)[0]?.errorCode).toBe('UNSUPPORTED_MEDIA_TYPE')
    const empty = await s.call('DELETE', `${DATA}/sobjects/Group/${s.em.org.insert('Group', { Name: 'Empty body' })}`, { headers: { 'content-type': 'application/json' } })
    expect(empty.status).toBe(204)
  })
})
