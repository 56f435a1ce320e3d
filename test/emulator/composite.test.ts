import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { DATA, newUser, start, type Started } from './helpers.js'

let s: Started
beforeAll(async () => { s = await start() })
afterAll(async () => { await s.em.close() })

interface CompositeResponse { compositeResponse: Array<{ body: unknown, httpHeaders: Record<string, string>, httpStatusCode: number, referenceId: string }> }

const HALTED = [{ errorCode: 'PROCESSING_HALTED', message: 'The transaction was rolled back since another operation in the same transaction failed.' }]

async function composite (body: unknown): Promise<CompositeResponse> {
  const res = await s.call('POST', `${DATA}/composite`, { body })
  expect(res.status).toBe(200)
  return res.json as CompositeResponse
}

describe('/composite', () => {
  it('runs subrequests with references and counts as one API call', async () => {
    s.em.counters.reset()
    const user = newUser(s.em)
    const out = await composite({
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `${DATA}/sobjects/User`, referenceId: 'newUser', body: user },
        { method: 'POST', url: `${DATA}/sobjects/GroupMember`, referenceId: 'member', body: { GroupId: s.em.seed.groups['Support Team'], UserOrGroupId: '@{newUser.id}' } },
        { method: 'GET', url: `${DATA}/query?q=${encodeURIComponent(`SELECT Id, Username FROM User WHERE Username = '${user.Username as string}'`)}`, referenceId: 'lookup' },
        { method: 'PATCH', url: `${DATA}/sobjects/User/@{lookup.records[0].Id}`, referenceId: 'patch', body: { Title: 'Composed' } },
        { method: 'GET', url: `${DATA}/sobjects/User/@{newUser.id}?fields=Title`, referenceId: 'read' },
      ],
    })
    const [created, member, lookup, patch, read] = out.compositeResponse
    expect(created?.httpStatusCode).toBe(201)
    const id = (created?.body as { id: string }).id
    expect(created?.httpHeaders).toEqual({ Location: `${DATA}/sobjects/User/${id}` })
    expect(member?.httpStatusCode).toBe(201)
    expect((lookup?.body as { records: Array<{ Id: string }> }).records[0]?.Id).toBe(id)
    expect(patch).toEqual({ body: null, httpHeaders: {}, httpStatusCode: 204, referenceId: 'patch' })
    expect((read?.body as { Title: string }).Title).toBe('Composed')
    const snap = s.em.counters.snapshot()
    expect(snap.apiCalls).toBe(1)
    expect(snap.byEndpoint.composite).toBe(1)
    expect(snap.byEndpoint['composite.subrequests']).toBe(5)
    expect(snap.queries).toHaveLength(1)
  })

  it('rolls everything back with allOrNone when one subrequest fails', async () => {
    const before = s.em.org.count('User')
    const user = newUser(s.em)
    const out = await composite({
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `${DATA}/sobjects/User`, referenceId: 'good', body: user },
        { method: 'PATCH', url: `${DATA}/sobjects/User/${s.em.seed.users['ada.lovelace@scimforce.demo'] as string}`, referenceId: 'edit', body: { Title: 'Should not stick' } },
        { method: 'POST', url: `${DATA}/sobjects/User`, referenceId: 'bad', body: newUser(s.em, { Email: 'broken' }) },
        { method: 'POST', url: `${DATA}/sobjects/Group`, referenceId: 'never', body: { Name: 'Never' } },
      ],
    })
    expect(out.compositeResponse.map(r => r.httpStatusCode)).toEqual([400, 400, 400, 400])
    expect(out.compositeResponse[0]?.body).toEqual(HALTED)
    expect(out.compositeResponse[3]?.body).toEqual(HALTED)
    expect((out.compositeResponse[2]?.body as Array<{ errorCode: string }>)[0]?.errorCode).toBe('INVALID_EMAIL_ADDRESS')
    expect(s.em.org.count('User')).toBe(before)
    expect(s.em.org.query(`SELECT Id FROM User WHERE Username = '${user.Username as string}'`)).toEqual([])
    expect(s.em.org.get('User', s.em.seed.users['ada.lovelace@scimforce.demo'] as string)?.Title).toBe('Account Executive')
  })

  it('keeps independent work without allOrNone and halts dependents of a failure', async () => {
    const out = await composite({
      compositeRequest: [
        { method: 'POST', url: `${DATA}/sobjects/User`, referenceId: 'bad', body: newUser(s.em, { Alias: 'waytoolong' }) },
        { method: 'POST', url: `${DATA}/sobjects/Group`, referenceId: 'group', body: { Name: 'Independent' } },
        { method: 'POST', url: `${DATA}/sobjects/GroupMember`, referenceId: 'dependent', body: { GroupId: '@{group.id}', UserOrGroupId: '@{bad.id}' } },
      ],
    })
    const [bad, group, dependent] = out.compositeResponse
    expect((bad?.body as Array<{ errorCode: string }>)[0]?.errorCode).toBe('STRING_TOO_LONG')
    expect(group?.httpStatusCode).toBe(201)
    expect(s.em.org.get('Group', (group?.body as { id: string }).id)?.Name).toBe('Independent')
    expect(dependent?.httpStatusCode).toBe(400)
    expect(dependent?.body).toEqual([{ errorCode: 'PROCESSING_HALTED', message: 'Invalid reference specified. No value for bad.id found in bad. Provided referenceId (\'bad\') must be unique and exist in a previous subrequest.' }])
  })

  it('validates the envelope', async () => {
    const many = Array.from({ length: 26 }, (_, i) => ({ method: 'GET', url: `${DATA}/sobjects/User/describe`, referenceId: `r${i}` }))
    const tooMany = await s.call('POST', `${DATA}/composite`, { body: { compositeRequest: many } })
    expect(tooMany.status).toBe(400)
    const queries = Array.from({ length: 6 }, (_, i) => ({ method: 'GET', url: `${DATA}/query?q=SELECT+Id+FROM+User`, referenceId: `q${i}` }))
    expect((await s.call('POST', `${DATA}/composite`, { body: { compositeRequest: queries } })).status).toBe(400)
    const dup = [{ method: 'GET', url: `${DATA}/limits`, referenceId: 'a' }, { method: 'GET', url: `${DATA}/limits`, referenceId: 'a' }]
    expect((await s.call('POST', `${DATA}/composite`, { body: { compositeRequest: dup } })).status).toBe(400)
  })
})

describe('sObject Collections', () => {
  it('creates, updates and deletes records, reporting statusCode-style errors', async () => {
    const conn = await s.connect()
    const created = await conn.sobject('Group').create([{ Name: 'Coll A' }, { Name: 'Coll B', DeveloperName: 'bad__name' }, { Name: 'Coll C' }], { allOrNone: false })
    expect(created.map(r => r.success)).toEqual([true, false, true])
    const failed = created[1] as { success: false, errors: Array<{ statusCode?: string, errorCode?: string }> }
    expect(failed.errors[0]?.statusCode ?? failed.errors[0]?.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION')
    const ids = created.filter(r => r.success).map(r => r.id as string)
    const updated = await conn.sobject('Group').update(ids.map(Id => ({ Id, DoesSendEmailToMembers: true })))
    expect(updated.every(r => r.success)).toBe(true)
    expect(s.em.org.get('Group', ids[0] as string)?.DoesSendEmailToMembers).toBe(true)
    const deleted = await conn.sobject('Group').destroy(ids)
    expect(deleted.map(r => r.id)).toEqual(ids)
    expect(s.em.org.get('Group', ids[1] as string)).toBeUndefined()
  })

  it('rolls back a whole allOrNone collection', async () => {
    const before = s.em.org.count('Group')
    const res = await s.call('POST', `${DATA}/composite/sobjects`, {
      body: { allOrNone: true, records: [{ attributes: { type: 'Group' }, Name: 'Keep?' }, { attributes: { type: 'Group' }, DeveloperName: 'NoName' }] },
    })
    expect(res.status).toBe(200)
    const [first, second] = res.json as Array<{ id?: string, success: boolean, errors: Array<{ statusCode: string, message: string, fields: string[] }> }>
    expect(first?.success).toBe(false)
    expect(first?.errors).toEqual([{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK', message: 'Record rolled back because not all records were valid and the request was using AllOrNone header', fields: [] }])
    expect(second?.errors[0]).toEqual({ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [Name]', fields: ['Name'] })
    expect(s.em.org.count('Group')).toBe(before)
  })

  it('reports per-record errors on update and delete', async () => {
    const res = await s.call('PATCH', `${DATA}/composite/sobjects`, {
      body: { records: [{ attributes: { type: 'User' }, Title: 'No Id' }, { attributes: { type: 'User' }, id: 'garbage', Title: 'x' }] },
    })
    const [noId, bad] = res.json as Array<{ success: boolean, errors: Array<{ statusCode: string }> }>
    expect(noId?.errors[0]?.statusCode).toBe('MISSING_ARGUMENT')
    expect(bad?.errors[0]?.statusCode).toBe('MALFORMED_ID')
    const user = s.em.seed.users['ada.lovelace@scimforce.demo'] as string
    const del = await s.call('DELETE', `${DATA}/composite/sobjects?ids=${user},001RM000003oLrB000&allOrNone=false`)
    const [u, m] = del.json as Array<{ success: boolean, errors: Array<{ statusCode: string, message: string }> }>
    expect(u?.success).toBe(false)
    expect(u?.errors[0]?.statusCode).toBe('INVALID_TYPE_FOR_OPERATION')
    expect(m?.errors[0]).toEqual({ statusCode: 'MALFORMED_ID', message: 'malformed id 001RM000003oLrB000', fields: [] })
  })

  it('refuses more than 200 records', async () => {
    const records = Array.from({ length: 201 }, (_, i) => ({ attributes: { type: 'Group' }, Name: `G${i}` }))
    const res = await s.call('POST', `${DATA}/composite/sobjects`, { body: { records } })
    expect(res.status).toBe(400)
    expect((res.json as Array<{ errorCode: string }>)[0]?.errorCode).toBe('EXCEEDED_ID_LIMIT')
  })

  it('retrieves records by Id with null for unknown Ids', async () => {
    const ada = s.em.seed.users['ada.lovelace@scimforce.demo'] as string
    const res = await s.call('POST', `${DATA}/composite/sobjects/User`, { body: { ids: [ada, '005Hu0000009999AAA'], fields: ['Username', 'IsActive'] } })
    expect(res.json).toEqual([
      { attributes: { type: 'User', url: `${DATA}/sobjects/User/${ada}` }, Username: 'ada.lovelace@scimforce.demo', IsActive: true },
      null,
    ])
  })
})

describe('/composite/batch', () => {
  it('runs independent subrequests, counting each one, and halts on error when asked', async () => {
    s.em.counters.reset()
    const ada = s.em.seed.users['ada.lovelace@scimforce.demo'] as string
    const res = await s.call('POST', `${DATA}/composite/batch`, {
      body: {
        haltOnError: true,
        batchRequests: [
          { method: 'GET', url: `v62.0/sobjects/User/${ada}?fields=Username` },
          { method: 'PATCH', url: 'v62.0/sobjects/User/005Hu0000009999AAA', richInput: { Title: 'x' } },
          { method: 'GET', url: 'v62.0/limits' },
        ],
      },
    })
    const body = res.json as { hasErrors: boolean, results: Array<{ statusCode: number, result: unknown }> }
    expect(body.hasErrors).toBe(true)
    expect(body.results.map(r => r.statusCode)).toEqual([200, 404, 412])
    expect((body.results[0]?.result as { Username: string }).Username).toBe('ada.lovelace@scimforce.demo')
    expect(s.em.counters.snapshot().apiCalls).toBe(3)
  })
})
