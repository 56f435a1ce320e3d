import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { DATA, caught, start, type Started } from './helpers.js'

let s: Started
const TOTAL = 2600

beforeAll(async () => {
  s = await start()
  // Enough groups for two 2000-record batches (inserted directly: no API accounting).
  for (let i = 0; i < TOTAL; i++) s.em.org.insert('Group', { Name: `Bulk ${String(i).padStart(4, '0')}`, DeveloperName: `Bulk_${i}` })
})
afterAll(async () => { await s.em.close() })

const BULK = 'SELECT Id, Name FROM Group WHERE Name LIKE \'Bulk%\' ORDER BY Name'

describe('query over REST', () => {
  it('pages results in 2000-record batches with a query locator', async () => {
    const first = await s.call('GET', `${DATA}/query?q=${encodeURIComponent(BULK)}`)
    const body = first.json as { totalSize: number, done: boolean, nextRecordsUrl: string, records: Array<{ Name: string }> }
    expect(body.totalSize).toBe(TOTAL)
    expect(body.done).toBe(false)
    expect(body.records).toHaveLength(2000)
    expect(body.nextRecordsUrl).toMatch(/^\/services\/data\/v62\.0\/query\/01g[0-9A-Za-z]{15}-2000$/)
    const second = await s.call('GET', body.nextRecordsUrl)
    const rest = second.json as { totalSize: number, done: boolean, records: Array<{ Name: string }>, nextRecordsUrl?: string }
    expect(rest.done).toBe(true)
    expect(rest.nextRecordsUrl).toBeUndefined()
    expect(rest.records).toHaveLength(TOTAL - 2000)
    expect(rest.records[0]?.Name).toBe('Bulk 2000')
    expect(s.em.counters.snapshot().byEndpoint.queryMore).toBeGreaterThanOrEqual(1)
  })

  it('honours Sforce-Query-Options batchSize within 200..2000', async () => {
    const res = await s.call('GET', `${DATA}/query?q=${encodeURIComponent(BULK)}`, { headers: { 'Sforce-Query-Options': 'batchSize=500' } })
    const body = res.json as { records: unknown[], nextRecordsUrl: string }
    expect(body.records).toHaveLength(500)
    expect(body.nextRecordsUrl).toMatch(/-500$/)
    const tiny = await s.call('GET', `${DATA}/query?q=${encodeURIComponent(BULK)}`, { headers: { 'Sforce-Query-Options': 'batchSize=10' } })
    expect((tiny.json as { records: unknown[] }).records).toHaveLength(200)
  })

  it('lets jsforce autoFetch and queryMore through the batches', async () => {
    const conn = await s.connect()
    const all = await conn.query<{ Name: string }>(BULK, { autoFetch: true, maxFetch: 5000 })
    expect(all.records).toHaveLength(TOTAL)
    expect(all.records.at(-1)?.Name).toBe(`Bulk ${TOTAL - 1}`)
    const page = await conn.query(BULK)
    expect(page.done).toBe(false)
    const more = await conn.queryMore(page.nextRecordsUrl as string)
    expect(more.records).toHaveLength(TOTAL - 2000)
  })

  it('answers INVALID_QUERY_LOCATOR for unknown locators', async () => {
    const res = await s.call('GET', `${DATA}/query/01gHu0000000000AAA-2000`)
    expect(res.status).toBe(400)
    expect(res.json).toEqual([{ message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' }])
  })

  it('returns COUNT() as totalSize with no records', async () => {
    const res = await s.call('GET', `${DATA}/query?q=${encodeURIComponent("SELECT COUNT() FROM Group WHERE Name LIKE 'Bulk 1%'")}`)
    expect(res.json).toEqual({ totalSize: 1000, done: true, records: [] })
  })

  it('serves queryAll and accepts + for spaces', async () => {
    const res = await s.call('GET', `${DATA}/queryAll?q=SELECT+Username+FROM+User+WHERE+IsActive+=+false`)
    expect((res.json as { records: Array<{ Username: string }> }).records.map(r => r.Username)).toEqual(['alan.turing@scimforce.demo'])
  })

  it('returns SOQL errors as JSON arrays and jsforce errors', async () => {
    const res = await s.call('GET', `${DATA}/query?q=${encodeURIComponent('SELECT Id FROM User WHERE Bogus = 1')}`)
    expect(res.status).toBe(400)
    const [err] = res.json as Array<{ errorCode: string, message: string }>
    expect(err?.errorCode).toBe('INVALID_FIELD')
    expect(err?.message).toContain('ERROR at Row:1:Column:27')
    const conn = await s.connect()
    expect((await caught(() => conn.query('SELECT Id FROM Nothing'))).name).toBe('INVALID_TYPE')
    expect((await caught(() => conn.query('SELEC Id FROM User'))).name).toBe('MALFORMED_QUERY')
    expect((await s.call('GET', `${DATA}/query`)).status).toBe(400)
  })

  it('logs every SOQL string it receives', async () => {
    s.em.counters.reset()
    const conn = await s.connect()
    const soql = 'SELECT Id FROM User WHERE Username = \'o\\\'brien@x.example\''
    await conn.query(soql)
    expect(s.em.queryLog).toEqual([soql])
  })
})
