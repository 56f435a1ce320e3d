// users.usernameDomain: a userName without @ (WSO2 IS, Microsoft's test collection) becomes a Salesforce Username
// with the domain, and the IdP gets back exactly the userName it sent, in every answer and filter.
import { afterEach, describe, expect, it } from 'vitest'
import { auth, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness | undefined
afterEach(async () => { await h?.close(); h = undefined })

type Rec = Record<string, unknown>
const patchOp = (Operations: unknown[]): Rec => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations })
const mail = (v: string): Rec[] => [{ value: v, type: 'work', primary: true }]

describe('users.usernameDomain', () => {
  it('holds a plain userName with the domain in Salesforce and answers it as sent, in writes, reads and filters', async () => {
    h = await startHarness({ users: { usernameDomain: 'corp.example' } })
    const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'OMalley', name: { familyName: 'OMalley' }, emails: mail('om@pickup.example') }).expect(201)
    const id = res.body.id as string
    expect(res.body.userName).toBe('OMalley')
    expect((h.emulator.org.get('User', id) as Rec).Username).toBe('OMalley@corp.example')
    expect((await h.http.get(`${SCIM}/Users/${id}`).set(auth).expect(200)).body.userName).toBe('OMalley')
    for (const filter of ['userName eq "OMalley"', 'userName eq "omalley"', 'userName sw "OM"', 'userName ew "alley"', 'userName co "Mall"']) {
      const found = await h.http.get(`${SCIM}/Users`).query({ filter }).set(auth).expect(200)
      expect(found.body.Resources.map((u: Rec) => u.userName), filter).toEqual(['OMalley'])
    }
    // A rename by PATCH, and a PUT back: Salesforce follows, the IdP sees its own names.
    const patched = await h.http.patch(`${SCIM}/Users/${id}`).set(auth).send(patchOp([{ op: 'Replace', path: 'userName', value: 'newusername' }])).expect(200)
    expect(patched.body.userName).toBe('newusername')
    expect((h.emulator.org.get('User', id) as Rec).Username).toBe('newusername@corp.example')
    const put = await h.http.put(`${SCIM}/Users/${id}`).set(auth).send({ userName: 'OMalley', name: { familyName: 'OMalley' }, emails: mail('om@pickup.example') }).expect(200)
    expect(put.body.userName).toBe('OMalley')
    expect((h.emulator.org.get('User', id) as Rec).Username).toBe('OMalley@corp.example')
    // The same name again is the same Salesforce user: 409, not a second user.
    await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'OMalley', name: { familyName: 'Other' }, emails: mail('o2@pickup.example') }).expect(409)
  })

  it('leaves an email-shaped userName as it is, and answers what Salesforce holds when an admin renames the user', async () => {
    h = await startHarness({ users: { usernameDomain: 'corp.example' } })
    const ana = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'ana@pickup.example', name: { familyName: 'Ana' } }).expect(201)
    expect((h.emulator.org.get('User', ana.body.id as string) as Rec).Username).toBe('ana@pickup.example')
    expect(ana.body.userName).toBe('ana@pickup.example')
    const bo = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'bo', name: { familyName: 'Bo' }, emails: mail('bo@pickup.example') }).expect(201)
    h.emulator.org.update('User', bo.body.id as string, { Username: 'bo.renamed@corp.example' })
    expect((await h.http.get(`${SCIM}/Users/${String(bo.body.id)}`).set(auth).expect(200)).body.userName).toBe('bo.renamed@corp.example')
  })

  it('is off by default: a userName without @ is refused as Salesforce refuses it, with the option named', async () => {
    h = await startHarness()
    const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'OMalley', name: { familyName: 'OMalley' }, emails: mail('om@pickup.example') }).expect(400)
    expect(res.body.detail).toMatch(/users\.usernameDomain/)
  })
})
