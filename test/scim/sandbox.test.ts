// Sandbox mode (issue 13): emails a refresh suffixed with `.invalid` are left alone unless the IdP really changed
// the address, and a DUPLICATE_USERNAME right after a refresh is retried before the 409. Read from the org.
import { afterEach, describe, expect, it } from 'vitest'
import type { Config } from '../../src/config/types.js'
import { sandboxRetryDelay } from '../../src/scim/user-service.js'
import { usersConfig } from '../fixtures/config.js'
import { auth, expectScimError, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness | undefined
afterEach(async () => { await h?.close(); h = undefined })

type Rec = Record<string, unknown>
const sandbox = (extra: Partial<NonNullable<Config['users']['sandbox']>> = {}): Partial<Config['users']> => ({ sandbox: { duplicateRetryDelaysMs: [10, 20], ...extra } })
const duplicate = { status: 400, errorCode: 'DUPLICATE_USERNAME', message: 'Duplicate Username.<br>The username already exists in this or another Salesforce organization. Usernames must be unique across all Salesforce organizations.' }

describe('sandbox mode', () => {
  it('leaves an email a refresh made .invalid alone when the IdP sends the same address, and writes a real change', async () => {
    h = await startHarness({ users: sandbox() })
    const u = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'sb@pickup.example', name: { familyName: 'Sb' }, emails: [{ value: 'sb@pickup.example', primary: true }] }).expect(201)
    const id = String(u.body.id)
    // What a sandbox refresh does to every user (KB 000386507).
    h.emulator.org.update('User', id, { Email: 'sb@pickup.example.invalid' })
    h.emulator.org.confirmEmail(id)
    const same = await h.http.get(`${SCIM}/Users/${id}`).set(auth).expect(200)
    await h.http.put(`${SCIM}/Users/${id}`).set(auth).send({ ...same.body, emails: [{ value: 'sb@pickup.example', primary: true }], title: 'Driver' }).expect(200)
    expect(h.emulator.org.get('User', id) as Rec).toMatchObject({ Email: 'sb@pickup.example.invalid', Title: 'Driver' })
    await h.http.put(`${SCIM}/Users/${id}`).set(auth).send({ ...same.body, emails: [{ value: 'new@pickup.example', primary: true }] }).expect(200)
    // A real change is written (and, as in a real org, waits for the user's verification).
    h.emulator.org.confirmEmail(id)
    expect((h.emulator.org.get('User', id) as Rec).Email).toBe('new@pickup.example')
  })

  it('outside sandbox mode the address is written as sent', async () => {
    h = await startHarness()
    const u = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'prod@pickup.example', name: { familyName: 'Prod' } }).expect(201)
    const id = String(u.body.id)
    h.emulator.org.update('User', id, { Email: 'prod@pickup.example.invalid' })
    h.emulator.org.confirmEmail(id)
    const same = await h.http.get(`${SCIM}/Users/${id}`).set(auth).expect(200)
    await h.http.put(`${SCIM}/Users/${id}`).set(auth).send({ ...same.body, emails: [{ value: 'prod@pickup.example', primary: true }] }).expect(200)
    h.emulator.org.confirmEmail(id)
    expect((h.emulator.org.get('User', id) as Rec).Email).toBe('prod@pickup.example')
  })

  it('retries a DUPLICATE_USERNAME no user of this org explains, then creates the user', async () => {
    h = await startHarness({ users: sandbox() })
    h.emulator.faults.failNext(1, duplicate, { method: 'POST', pathIncludes: '/composite' })
    const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'replica@pickup.example', name: { familyName: 'Replica' } })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
  })

  it('answers 409 once the retries are spent, and at once outside sandbox mode', async () => {
    h = await startHarness({ users: sandbox() })
    // Each try is a create and a look-up (both POST /composite): the 1st, 3rd and 5th calls are the creates.
    for (const nth of [1, 3, 5]) h.emulator.faults.failNext(1, duplicate, { method: 'POST', pathIncludes: '/composite', nth })
    const spent = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'taken@pickup.example', name: { familyName: 'Taken' } })
    expectScimError(spent, 409, 'uniqueness')
    expect(spent.body.detail).toMatch(/another Salesforce org/)
    await h.close()
    h = await startHarness()
    h.emulator.faults.failNext(1, duplicate, { method: 'POST', pathIncludes: '/composite' })
    const before = h.emulator.counters.snapshot().apiCalls
    expectScimError(await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'other@pickup.example', name: { familyName: 'Other' } }), 409, 'uniqueness')
    expect(h.emulator.counters.snapshot().apiCalls - before).toBeLessThanOrEqual(2)
  })

  it('retries only within 48 hours of the refresh, and only as many times as configured', () => {
    const now = Date.parse('2026-11-30T12:00:00Z')
    const cfg = (refreshedAt?: string): Config['users'] => usersConfig(undefined, { sandbox: { duplicateRetryDelaysMs: [5, 7], ...(refreshedAt !== undefined ? { refreshedAt } : {}) } })
    expect(sandboxRetryDelay(cfg('2026-11-29T12:00:00Z'), 0, now)).toBe(5)
    expect(sandboxRetryDelay(cfg('2026-11-29T12:00:00Z'), 1, now)).toBe(7)
    expect(sandboxRetryDelay(cfg('2026-11-29T12:00:00Z'), 2, now)).toBeUndefined()
    expect(sandboxRetryDelay(cfg('2026-11-27T12:00:00Z'), 0, now)).toBeUndefined()
    expect(sandboxRetryDelay(cfg(), 0, now)).toBe(5)
    expect(sandboxRetryDelay(usersConfig(), 0, now)).toBeUndefined()
  })
})
