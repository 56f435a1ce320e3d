// Lists are correct at every page, including past Salesforce's OFFSET limit of 2000 (Okta reads everyone
// 100 at a time), and with SCIM-deleted users hidden.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auth, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness
let expected: string[] = []
const N = 2150

beforeAll(async () => {
  // An org with licences for everyone: this test is about paging, not the licence limit.
  h = await startHarness({ emulator: { licenseTotals: { Salesforce: 5000 } } })
  // Seed straight into the org (no API accounting): the list under test is what Salesforce holds.
  const profileId = h.config.users.defaults.ProfileId
  for (let i = 0; i < N; i++) {
    const n = String(i).padStart(4, '0')
    h.emulator.org.insert('User', {
      Username: `bulk${n}@paging.example`,
      LastName: `Bulk${n}`,
      Email: `bulk${n}@paging.example`,
      Alias: `b${n}`,
      CommunityNickname: `bulk${n}`,
      TimeZoneSidKey: 'America/Los_Angeles',
      LocaleSidKey: 'en_US',
      EmailEncodingKey: 'UTF-8',
      LanguageLocaleKey: 'en_US',
      ProfileId: profileId,
      IsActive: true,
    })
  }
  const all = await h.http.get(`${SCIM}/Users`).query({ count: 1000, startIndex: 1, filter: 'userName sw "bulk"' }).set(auth).expect(200)
  expect(all.body.totalResults).toBe(N)
  expected = (h.emulator.org.query("SELECT Id FROM User WHERE Username LIKE 'bulk%' ORDER BY Id") as unknown as Array<{ Id: string }>).map((r) => r.Id)
}, 120_000)
afterAll(async () => { await h.close() })

async function page (startIndex: number, count: number): Promise<{ total: number, ids: string[], itemsPerPage: number, startIndex: number }> {
  const res = await h.http.get(`${SCIM}/Users`).query({ filter: 'userName sw "bulk"', startIndex, count }).set(auth).expect(200)
  return { total: res.body.totalResults, ids: (res.body.Resources as Array<{ id: string }>).map((r) => r.id), itemsPerPage: res.body.itemsPerPage, startIndex: res.body.startIndex }
}

describe('paging', () => {
  it('walks every user 100 at a time, like Okta, past OFFSET 2000, each page costing one API call', async () => {
    const seen: string[] = []
    for (let s = 1; s <= N; s += 100) {
      const before = h.emulator.counters.snapshot().apiCalls
      const p = await page(s, 100)
      expect(h.emulator.counters.snapshot().apiCalls - before).toBe(1)
      expect(p.total).toBe(N)
      expect(p.startIndex).toBe(s)
      expect(p.itemsPerPage).toBe(p.ids.length)
      seen.push(...p.ids)
    }
    expect(seen).toEqual(expected)
  })

  it('answers odd pages correctly, also deep ones without a cursor (scan path)', async () => {
    expect((await page(2, 2)).ids).toEqual(expected.slice(1, 3))
    expect((await page(2001, 3)).ids).toEqual(expected.slice(2000, 2003))
    expect((await page(2147, 10)).ids).toEqual(expected.slice(2146))
    const beyond = await page(5000, 10)
    expect(beyond).toMatchObject({ total: N, ids: [], itemsPerPage: 0 })
    const zero = await page(1, 0)
    expect(zero).toMatchObject({ total: N, ids: [] })
  })

  it('hides SCIM-deleted users from pages and totals', async () => {
    const victim = expected[5] as string
    await h.http.delete(`${SCIM}/Users/${victim}`).set(auth).expect(204)
    const p = await page(1, 10)
    expect(p.total).toBe(N - 1)
    expect(p.ids).toEqual([...expected.slice(0, 5), ...expected.slice(6, 11)])
  })
})
