// Email change verification: the changed address waits for the user's confirmation (help article 000385115).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { EMAIL_LINK_LIFETIME_MS } from '../../src/emulator/email.js'
import { Org } from '../../src/emulator/org.js'
import { seedOrg, type SeedIds } from '../../src/emulator/seed.js'
import { DATA, newUser, start, type Started } from './helpers.js'

let org: Org
let seed: SeedIds
let clock: number

beforeEach(() => {
  clock = Date.UTC(2026, 0, 5, 12)
  org = new Org({ now: () => clock })
  seed = seedOrg(org, { integrationUsername: 'integration@scimforce.demo' })
})

const ada = (): string => seed.users['ada.lovelace@scimforce.demo'] as string
const email = (id: string): unknown => org.get('User', id)?.Email

describe('with verification off', () => {
  it('is on by default, as in a real org; off, it changes the Email at once', () => {
    expect(org.emailVerification).toBe(true)
    org.emailVerification = false
    org.update('User', ada(), { Email: 'ada@new.example' })
    expect(email(ada())).toBe('ada@new.example')
    expect(org.pendingEmail(ada())).toBeUndefined()
  })
})

describe('with verification on', () => {
  beforeEach(() => { org.emailVerification = true })

  it('keeps the old address until the user confirms, then applies the new one as changed by the user', () => {
    org.update('User', ada(), { Email: 'ada@new.example', Title: 'Countess' })
    expect(org.get('User', ada())).toMatchObject({ Email: 'ada.lovelace@scimforce.demo', Title: 'Countess' })
    expect(org.pendingEmail(ada())).toBe('ada@new.example')
    expect(org.query('SELECT Id FROM User WHERE Email = \'ada@new.example\'')).toEqual([])
    // Unrelated updates keep the pending address; another change replaces it.
    org.update('User', ada(), { Department: 'Research' })
    expect(org.pendingEmail(ada())).toBe('ada@new.example')
    org.update('User', ada(), { Email: 'ada@newer.example' })
    expect(org.pendingEmail(ada())).toBe('ada@newer.example')
    clock += 60_000
    expect(org.confirmEmail(ada())).toBe('ada@newer.example')
    expect(org.get('User', ada())).toMatchObject({ Email: 'ada@newer.example', LastModifiedById: ada() })
    expect(org.pendingEmail(ada())).toBeUndefined()
    expect(org.confirmEmail(ada())).toBeUndefined()
  })

  it('needs no verification for a new user, still validates the requested address, and lets the link expire after 72 hours', () => {
    const id = org.insert('User', {
      Username: 'fresh@scimforce.test',
      LastName: 'Fresh',
      Email: 'fresh@scimforce.test',
      Alias: 'fresh',
      TimeZoneSidKey: 'Europe/London',
      LocaleSidKey: 'en_GB',
      EmailEncodingKey: 'UTF-8',
      LanguageLocaleKey: 'en_US',
      ProfileId: seed.profiles['Standard User'],
    })
    expect(email(id)).toBe('fresh@scimforce.test')
    expect(() => org.update('User', id, { Email: 'not an address' })).toThrow(/invalid email address/)
    expect(org.pendingEmail(id)).toBeUndefined()
    org.update('User', id, { Email: 'fresh@later.example' })
    clock += EMAIL_LINK_LIFETIME_MS + 1
    expect(org.pendingEmail(id)).toBeUndefined()
    expect(org.confirmEmail(id)).toBeUndefined()
    expect(email(id)).toBe('fresh@scimforce.test')
  })

  it('loses the pending address with a rolled-back transaction', () => {
    expect(() => org.transaction(() => {
      org.update('User', ada(), { Email: 'ada@rolled.example' })
      throw new Error('rollback')
    })).toThrow('rollback')
    expect(org.pendingEmail(ada())).toBeUndefined()
  })
})

describe('over the REST API and the control API', () => {
  let s: Started
  beforeAll(async () => { s = await start({ emailVerification: true }) })
  afterAll(async () => { await s.em.close() })

  it('answers 204 to the change, reads back the old address, and confirms through /__emulator', async () => {
    const created = await s.call('POST', `${DATA}/sobjects/User`, { body: newUser(s.em, { Email: 'first@scimforce.test' }) })
    const id = (created.json as { id: string }).id
    expect((await s.call('PATCH', `${DATA}/sobjects/User/${id}`, { body: { Email: 'second@scimforce.test' } })).status).toBe(204)
    const read = await s.call('GET', `${DATA}/sobjects/User/${id}?fields=Email`)
    expect((read.json as { Email: string }).Email).toBe('first@scimforce.test')
    expect(Object.keys(read.json as object)).toEqual(['attributes', 'Email'])
    const pending = await s.call('GET', `/__emulator/users/${id}/pending-email`, { auth: false })
    expect(pending.json).toEqual({ pendingEmail: 'second@scimforce.test' })
    const confirmed = await s.call('POST', `/__emulator/users/${id}/confirm-email`, { auth: false })
    expect([confirmed.status, confirmed.json]).toEqual([200, { email: 'second@scimforce.test' }])
    expect(s.em.org.get('User', id)?.Email).toBe('second@scimforce.test')
    expect((await s.call('POST', `/__emulator/users/${id}/confirm-email`, { auth: false })).status).toBe(409)
    expect((await s.call('POST', '/__emulator/users/005000000000000AAA/confirm-email', { auth: false })).status).toBe(404)
  })

  it('switches verification on and off', async () => {
    expect((await s.call('GET', '/__emulator/email-verification', { auth: false })).json).toEqual({ enabled: true })
    const off = await s.call('PUT', '/__emulator/email-verification', { auth: false, body: { enabled: false } })
    expect([off.status, off.json]).toEqual([200, { enabled: false }])
    expect(s.em.org.emailVerification).toBe(false)
    expect((await s.call('PUT', '/__emulator/email-verification', { auth: false, body: { enabled: 'yes' } })).status).toBe(400)
    s.em.org.emailVerification = true
  })
})
