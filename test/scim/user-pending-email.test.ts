// Email changes wait for the user's verification in a real org (help article 000385115; the emulator's default):
// scimforce answers the address the IdP asked for while Salesforce keeps the old one, counts it, and forgets it
// once Salesforce has the new address (issue 12).
import { afterEach, describe, expect, it } from 'vitest'
import { PENDING_EMAIL_NS } from '../../src/scim/user-pending-email.js'
import { auth, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness | undefined
afterEach(async () => { await h?.close(); h = undefined })

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

describe('pending email verification', () => {
  it('answers the requested address until the user confirms, then Salesforce has it', async () => {
    h = await startHarness()
    const created = await h.http.post(`${SCIM}/Users`).set(auth).set('Content-Type', 'application/scim+json')
      .send({ userName: 'pend@pickup.example', name: { givenName: 'P', familyName: 'End' }, emails: [{ value: 'pend@pickup.example', type: 'work', primary: true }] })
    expect(created.status).toBe(201)
    const id = String(created.body.id)
    // A new user's first address needs no verification.
    expect(h.emulator.org.get('User', id)?.Email).toBe('pend@pickup.example')

    const res = await h.http.patch(`${SCIM}/Users/${id}`).set(auth).set('Content-Type', 'application/scim+json')
      .send({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'new@pickup.example' }] })
    expect(res.status).toBe(200)
    expect(res.body.emails).toEqual([{ value: 'new@pickup.example', type: 'work', primary: true }])
    // Salesforce keeps the old address until the link is clicked; SCIM shows what the IdP asked for (no drift loop).
    expect(h.emulator.org.get('User', id)?.Email).toBe('pend@pickup.example')
    expect(await h.store.getDoc(PENDING_EMAIL_NS, id.slice(0, 15))).toBeDefined()
    const got = await h.http.get(`${SCIM}/Users/${id}`).set(auth)
    expect(got.body.emails[0].value).toBe('new@pickup.example')
    const listed = await h.http.get(`${SCIM}/Users`).query({ filter: 'userName eq "pend@pickup.example"' }).set(auth)
    expect(listed.body.Resources[0].emails[0].value).toBe('new@pickup.example')
    const metrics = await h.app.scimforce.metrics.render()
    expect(metrics).toMatch(/scimforce_pending_email_changes_total\{event="requested"\} 1/)

    // The user clicks the link: Salesforce has the address, and scimforce forgets the pending one.
    expect(h.emulator.org.confirmEmail(id)).toBe('new@pickup.example')
    const after = await h.http.get(`${SCIM}/Users/${id}`).set(auth)
    expect(after.body.emails[0].value).toBe('new@pickup.example')
    expect(await h.store.getDoc(PENDING_EMAIL_NS, id.slice(0, 15))).toBeUndefined()
    expect(await h.app.scimforce.metrics.render()).toMatch(/scimforce_pending_email_changes_total\{event="confirmed"\} 1/)
  })

  it('drops the pending address when Email changes otherwise (an admin), so Salesforce is the truth again', async () => {
    h = await startHarness()
    const created = await h.http.post(`${SCIM}/Users`).set(auth).set('Content-Type', 'application/scim+json')
      .send({ userName: 'adm@pickup.example', name: { familyName: 'Adm' }, emails: [{ value: 'adm@pickup.example', type: 'work' }] })
    const id = String(created.body.id)
    await h.http.patch(`${SCIM}/Users/${id}`).set(auth).set('Content-Type', 'application/scim+json')
      .send({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'adm2@pickup.example' }] })
    h.emulator.org.systemUpdate('User', id, { Email: 'byhand@pickup.example', $PendingEmail: null, $PendingEmailSince: null })
    const got = await h.http.get(`${SCIM}/Users/${id}`).set(auth)
    expect(got.body.emails[0].value).toBe('byhand@pickup.example')
    expect(await h.store.getDoc(PENDING_EMAIL_NS, id.slice(0, 15))).toBeUndefined()
  })
})
