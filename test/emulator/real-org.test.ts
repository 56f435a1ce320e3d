// Real-org behaviours from docs/salesforce-behaviour.md#real-org: composite references and allOrNone over collections, the URI
// limit, unknown API versions and Group name lengths.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DATA, newUser, start, type Started } from './helpers.js'

let s: Started
beforeAll(async () => { s = await start() })
afterAll(async () => { await s.em.close() })

interface SubResult { body: unknown, httpStatusCode: number, referenceId: string }
const HALTED = [{ errorCode: 'PROCESSING_HALTED', message: 'The transaction was rolled back since another operation in the same transaction failed.' }]

async function composite (body: unknown): Promise<SubResult[]> {
  const res = await s.call('POST', `${DATA}/composite`, { body })
  expect(res.status).toBe(200)
  return (res.json as { compositeResponse: SubResult[] }).compositeResponse
}

const ada = (): string => s.em.seed.users['ada.lovelace@scimforce.demo'] as string
const title = (id: string): unknown => s.em.org.get('User', id)?.Title

describe('composite references', () => {
  it('are resolved inside any string of a body, not only whole values', async () => {
    const [, read] = await composite({
      compositeRequest: [
        { method: 'POST', url: `${DATA}/sobjects/Group`, referenceId: 'g', body: { Name: 'Ref Holder' } },
        { method: 'PATCH', url: `${DATA}/sobjects/Group/@{g.id}`, referenceId: 'p', body: { Description: 'made as @{g.id} here' } },
      ],
    })
    expect(read?.httpStatusCode).toBe(204)
    const g = s.em.org.find('Group', r => r.Name === 'Ref Holder')
    expect(g?.Description).toBe(`made as ${String(g?.Id)} here`)
  })

  it('halt the whole request when a value names a referenceId that no earlier subrequest has, allOrNone or not', async () => {
    const before = title(ada())
    for (const allOrNone of [false, true]) {
      const out = await composite({
        allOrNone,
        compositeRequest: [
          { method: 'POST', url: `${DATA}/sobjects/Group`, referenceId: 'first', body: { Name: `Never ${String(allOrNone)}` } },
          { method: 'PATCH', url: `${DATA}/sobjects/User/${ada()}`, referenceId: 'update', body: { Title: 'VP @{update.id}' } },
          { method: 'GET', url: `${DATA}/sobjects/User/${ada()}?fields=Title`, referenceId: 'read' },
        ],
      })
      expect(out.map(r => r.httpStatusCode)).toEqual([400, 400, 400])
      expect(out[0]?.body).toEqual(HALTED)
      expect(out[1]?.body).toEqual([{ errorCode: 'PROCESSING_HALTED', message: 'Invalid reference specified. No value for update.id found in update. Provided referenceId (\'update\') must be unique and exist in a previous subrequest.' }])
      expect(out[2]?.body).toEqual(HALTED)
      expect(s.em.org.find('Group', r => r.Name === `Never ${String(allOrNone)}`)).toBeUndefined()
      expect(title(ada())).toBe(before)
    }
  })

  it('halt the request for a reference in a url too, and for a later referenceId', async () => {
    const out = await composite({
      compositeRequest: [
        { method: 'GET', url: `${DATA}/sobjects/User/@{later.id}`, referenceId: 'early' },
        { method: 'POST', url: `${DATA}/sobjects/Group`, referenceId: 'later', body: { Name: 'Later' } },
      ],
    })
    expect(out.map(r => r.httpStatusCode)).toEqual([400, 400])
    expect(s.em.org.find('Group', r => r.Name === 'Later')).toBeUndefined()
  })

  it('leave text that is not a reference alone', async () => {
    const id = (await s.call('POST', `${DATA}/sobjects/User`, { body: newUser(s.em) }).then(r => r.json as { id: string })).id
    const literal = '@{ not a ref } @{} {!x} @{a-b.c}'
    const [res] = await composite({ compositeRequest: [{ method: 'PATCH', url: `${DATA}/sobjects/User/${id}`, referenceId: 'u', body: { Title: literal } }] })
    expect(res?.httpStatusCode).toBe(204)
    expect(title(id)).toBe(literal)
  })

  it('are not read outside /composite: a plain sObject PATCH or POST stores @{…} as data (docs/salesforce-behaviour.md#composite-references)', async () => {
    const value = 'VP @{update.id} of @{guard.records[0].Id}'
    const created = await s.call('POST', `${DATA}/sobjects/User`, { body: { ...newUser(s.em), Title: value } })
    expect(created.status).toBe(201)
    const id = (created.json as { id: string }).id
    expect(title(id)).toBe(value)
    const patched = await s.call('PATCH', `${DATA}/sobjects/User/${id}`, { body: { Title: `${value}!` } })
    expect(patched.status).toBe(204)
    expect(title(id)).toBe(`${value}!`)
  })
})

describe('outer allOrNone over sObject Collections', () => {
  it('rolls the whole composite back when a collection subrequest has a failing record', async () => {
    const before = title(ada())
    const out = await composite({
      allOrNone: true,
      compositeRequest: [
        { method: 'PATCH', url: `${DATA}/sobjects/User/${ada()}`, referenceId: 'rename', body: { Title: 'Should roll back' } },
        // The collection says allOrNone false; the outer true wins (cases 3-4 of the Developer Guide).
        {
          method: 'POST',
          url: `${DATA}/composite/sobjects`,
          referenceId: 'coll',
          body: { allOrNone: false, records: [{ attributes: { type: 'Group' }, Name: 'Coll Kept?' }, { attributes: { type: 'Group' }, DeveloperName: 'NoName' }] },
        },
      ],
    })
    expect(out[0]).toMatchObject({ httpStatusCode: 400, body: HALTED })
    expect(out[1]?.httpStatusCode).toBe(200)
    const items = out[1]?.body as Array<{ success: boolean, errors: Array<{ statusCode: string }> }>
    expect(items.map(i => [i.success, i.errors[0]?.statusCode])).toEqual([[false, 'ALL_OR_NONE_OPERATION_ROLLED_BACK'], [false, 'REQUIRED_FIELD_MISSING']])
    expect(title(ada())).toBe(before)
    expect(s.em.org.find('Group', r => r.Name === 'Coll Kept?')).toBeUndefined()
  })

  // Composite resource, allOrNone (REST API Developer Guide): "If true, an error in any subrequest causes the
  // entire request to roll back" — a collection subrequest refused as a whole is such an error.
  it('rolls the whole composite back when a collection subrequest is refused as a whole', async () => {
    const before = title(ada())
    const out = await composite({
      allOrNone: true,
      compositeRequest: [
        { method: 'PATCH', url: `${DATA}/sobjects/User/${ada()}`, referenceId: 'rename', body: { Title: 'Should roll back too' } },
        { method: 'POST', url: `${DATA}/sobjects/Group`, referenceId: 'grp', body: { Name: 'Refused Coll Kept?' } },
        {
          method: 'POST',
          url: `${DATA}/composite/sobjects`,
          referenceId: 'coll',
          body: { allOrNone: false, records: Array.from({ length: 201 }, (_, i) => ({ attributes: { type: 'Group' }, Name: `Over ${i}` })) },
        },
      ],
    })
    expect(out[0]).toMatchObject({ httpStatusCode: 400, body: HALTED })
    expect(out[1]).toMatchObject({ httpStatusCode: 400, body: HALTED })
    expect(out[2]?.httpStatusCode).toBe(400)
    expect(JSON.stringify(out[2]?.body)).toMatch(/EXCEEDED_ID_LIMIT/)
    expect(title(ada())).toBe(before)
    expect(s.em.org.find('Group', r => r.Name === 'Refused Coll Kept?' || r.Name === 'Over 0')).toBeUndefined()
  })

  it('leaves each collection to its own flag when the outer allOrNone is false', async () => {
    const out = await composite({
      allOrNone: false,
      compositeRequest: [
        { method: 'POST', url: `${DATA}/composite/sobjects`, referenceId: 'coll', body: { allOrNone: false, records: [{ attributes: { type: 'Group' }, Name: 'Partly Kept' }, { attributes: { type: 'Group' }, DeveloperName: 'NoName2' }] } },
      ],
    })
    expect((out[0]?.body as Array<{ success: boolean }>).map(i => i.success)).toEqual([true, false])
    expect(s.em.org.find('Group', r => r.Name === 'Partly Kept')).toBeDefined()
  })

  it('also overrides a collection delete', async () => {
    const keep = s.em.org.insert('Group', { Name: 'Delete Rolled Back' })
    const out = await composite({
      allOrNone: true,
      compositeRequest: [{ method: 'DELETE', url: `${DATA}/composite/sobjects?ids=${keep},00G000000000000AAA&allOrNone=false`, referenceId: 'del' }],
    })
    expect((out[0]?.body as Array<{ success: boolean }>).map(i => i.success)).toEqual([false, false])
    expect(s.em.org.get('Group', keep)).toBeDefined()
  })
})

describe('the 16,384-byte URI limit', () => {
  const soqlOfLength = (bytes: number): string => {
    const head = `${DATA}/query?q=`
    // %27 spelled out: fetch would percent-encode a bare quote and change the length.
    const base = `${encodeURIComponent('SELECT Id FROM User WHERE Username != ')}%27`
    const tail = '%27'
    return head + base + 'x'.repeat(bytes - head.length - base.length - tail.length) + tail
  }

  it('answers 414 for a URI over 16,384 bytes, 431 when URI and headers together are over, and serves shorter ones', async () => {
    expect((await s.call('GET', soqlOfLength(15_000))).status).toBe(200)
    const over = await s.call('GET', soqlOfLength(16_385))
    expect(over.status).toBe(414)
    expect(over.json).toEqual([{ errorCode: 'URI_TOO_LONG', message: 'The request URI is longer than 16384 bytes' }])
    // Anywhere, before the session is looked at.
    expect((await s.call('GET', `${DATA}/sobjects/User/${'a'.repeat(16_400)}`, { auth: false })).status).toBe(414)
    // docs/salesforce-behaviour.md#status-codes: 431 when URI + headers exceed 16,384 bytes.
    const both = await s.call('GET', soqlOfLength(16_000), { headers: { 'x-padding': 'p'.repeat(1_000) } })
    expect([both.status, (both.json as Array<{ errorCode: string }>)[0]?.errorCode]).toEqual([431, 'REQUEST_HEADER_FIELDS_TOO_LARGE'])
    expect((await s.call('GET', `${DATA}/limits`)).status).toBe(200)
  })

  it('holds a /composite subrequest url to the same limit (assumption)', async () => {
    const [res] = await composite({ compositeRequest: [{ method: 'GET', url: soqlOfLength(16_385), referenceId: 'q' }] })
    expect(res?.httpStatusCode).toBe(414)
  })
})

describe('API versions', () => {
  it('answers 404 NOT_FOUND for a version the org does not have, on every resource and inside a composite', async () => {
    const listed = await s.call('GET', '/services/data/', { auth: false })
    const versions = (listed.json as Array<{ version: string }>).map(v => v.version)
    expect(versions).toContain('62.0')
    expect(versions).not.toContain('99.0')
    for (const path of ['/services/data/v99.0/', '/services/data/v99.0/sobjects/User', `/services/data/v99.0/sobjects/User/${ada()}`, '/services/data/v30.0/query?q=SELECT+Id+FROM+User', '/services/data/v99.0/composite']) {
      const res = await s.call(path.endsWith('composite') ? 'POST' : 'GET', path, path.endsWith('composite') ? { body: { compositeRequest: [] } } : {})
      expect([path, res.status, res.json]).toEqual([path, 404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]])
    }
    const [sub] = await composite({ compositeRequest: [{ method: 'GET', url: `/services/data/v99.0/sobjects/User/${ada()}`, referenceId: 'old' }] })
    expect(sub).toMatchObject({ httpStatusCode: 404, body: [{ errorCode: 'NOT_FOUND' }] })
  })
})

describe('Group name lengths (Object Reference, Group)', () => {
  it('refuses a Name over 40 characters and a DeveloperName over 80 with STRING_TOO_LONG', async () => {
    const long = await s.call('POST', `${DATA}/sobjects/Group`, { body: { Name: 'N'.repeat(41) } })
    expect(long.status).toBe(400)
    expect(long.json).toEqual([{ errorCode: 'STRING_TOO_LONG', message: `Name: data value too large: ${'N'.repeat(41)} (max length=40)`, fields: ['Name'] }])
    const dev = await s.call('POST', `${DATA}/sobjects/Group`, { body: { Name: 'Dev', DeveloperName: `D${'x'.repeat(80)}` } })
    expect((dev.json as Array<{ errorCode: string, fields: string[] }>)[0]).toMatchObject({ errorCode: 'STRING_TOO_LONG', fields: ['DeveloperName'] })
    const fits = await s.call('POST', `${DATA}/sobjects/Group`, { body: { Name: 'N'.repeat(40), DeveloperName: `D${'x'.repeat(79)}` } })
    expect(fits.status).toBe(201)
    const id = (fits.json as { id: string }).id
    expect((await s.call('PATCH', `${DATA}/sobjects/Group/${id}`, { body: { Name: 'M'.repeat(41) } })).status).toBe(400)
  })
})
