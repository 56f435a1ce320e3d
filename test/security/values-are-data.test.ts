// Values are data (issue 11): every mapped, writable User attribute is sent values that Salesforce or a template
// engine could read as syntax — composite references `@{…}`, merge fields `{!…}`, quotes, backslashes, line and
// paragraph separators — and every 2xx must have left exactly that value in Salesforce, read straight from the
// emulated org; anything else must be a 4xx that left the user as it was. Never a 5xx, never a 2xx without the write.
// A value holding `@{` goes to Salesforce as a plain sObject call (users.ts holdsReference), so it is stored too.
// Groups: a displayName (the public group's Name) and externalId get the same values.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUserMapping } from '../../src/mapping/user.js'
import { PATCH_OP_SCHEMA } from '../../src/protocol/constants.js'
import { auth, SCIM, startHarness, type Harness } from '../helper.js'

const ODD = ['T @{update.id} x', '@{guard.records[0].Id}', '{!$User.Id}', 'Quote " and \' q', 'Back\\slash\\', 'Line\u2028Sep\u2029End']

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

/** Every writable text attribute of the mapping table and of its multi-valued slots, with its Salesforce field. */
function writableTargets (): Array<{ path: string, field: string }> {
  const mapping = createUserMapping(h.config.users)
  const single = mapping.fields
    .filter((f) => f.kind === 'string' && f.readOnly !== true && f.path !== 'userName' && f.path !== 'nickName' && f.path !== 'timezone')
    .map((f) => ({ path: f.path, field: f.field }))
  const slots = mapping.slots.flatMap((s) => Object.entries(s.fields).map(([sub, field]) => ({ path: `${s.attr}[type eq "${s.type}"].${sub}`, field })))
  return [...single, ...slots]
}

describe('values are data', () => {
  it('stores every odd value literally in every mapped user attribute, or refuses it with 4xx and changes nothing', async () => {
    const created = await h.http.post(`${SCIM}/Users`).set(auth).send({
      userName: 'literal.values@pickup.example',
      name: { givenName: 'Lit', familyName: 'Eral' },
      emails: [{ value: 'literal.values@pickup.example', type: 'work', primary: true }],
    })
    expect(created.status).toBe(201)
    const id = String(created.body.id)
    const targets = writableTargets()
    expect(targets.length).toBeGreaterThan(10)
    let stored = 0
    for (const { path, field } of targets) {
      for (const value of ODD) {
        const before = h.emulator.org.get('User', id)?.[field]
        const res = await h.http.patch(`${SCIM}/Users/${id}`).set(auth)
          .send({ schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'replace', path, value }] })
        const now = h.emulator.org.get('User', id)?.[field]
        expect(res.status, `${path} = ${JSON.stringify(value)}`).toBeLessThan(500)
        if (res.status < 300) {
          expect(now, `${path} = ${JSON.stringify(value)} answered ${res.status}`).toBe(value)
          stored++
        } else {
          expect(res.status, `${path} = ${JSON.stringify(value)}`).toBeGreaterThanOrEqual(400)
          expect(now, `${path} = ${JSON.stringify(value)} refused but changed`).toEqual(before)
          // A refusal has a reason in the value itself (not an email, longer than the field), never its syntax.
          expect(field === 'Email' || /STRING_TOO_LONG/.test(String(res.body.detail)), `${path} = ${JSON.stringify(value)}: ${String(res.body.detail)}`).toBe(true)
        }
      }
    }
    expect(stored).toBeGreaterThan(targets.length * ODD.length * 0.8)
  })

  it('POST, PATCH and PUT carrying odd values in every attribute at once store them all, in one request each', async () => {
    const targets = writableTargets().filter((t) => t.field !== 'Email')
    for (const [i, odd] of ODD.entries()) {
      const userName = `odd.all.${i}@pickup.example`
      const created = await h.http.post(`${SCIM}/Users`).set(auth).send({
        userName, name: { givenName: 'Odd', familyName: 'All' }, emails: [{ value: userName, type: 'work', primary: true }],
      }).expect(201)
      const id = String(created.body.id)
      const value = (path: string): string => `${odd.slice(0, 17)}${targets.findIndex((t) => t.path === path)}` // PostalCode holds 20
      // Every attribute in one PATCH: one Salesforce write holding them all.
      const patched = await h.http.patch(`${SCIM}/Users/${id}`).set(auth)
        .send({ schemas: [PATCH_OP_SCHEMA], Operations: targets.map((t) => ({ op: 'replace', path: t.path, value: value(t.path) })) })
      expect(patched.status, JSON.stringify(patched.body)).toBe(200)
      for (const t of targets) expect(h.emulator.org.get('User', id)?.[t.field], `${t.path} after PATCH`).toBe(value(t.path))

      // The resource as read back, sent again: a PUT that deactivates keeps every value; then a POST of a new
      // user with the same attributes stores them from the start.
      const back = await h.http.get(`${SCIM}/Users/${id}`).set(auth).expect(200)
      const resource: Record<string, unknown> = { ...back.body as Record<string, unknown>, title: `${odd} put`, active: false }
      delete resource.id
      delete resource.meta
      const put = await h.http.put(`${SCIM}/Users/${id}`).set(auth).send(resource)
      expect(put.status, JSON.stringify(put.body)).toBe(200)
      expect(h.emulator.org.get('User', id)).toMatchObject({ IsActive: false, Title: `${odd} put` })
      for (const t of targets.filter((x) => x.field !== 'Title')) expect(h.emulator.org.get('User', id)?.[t.field], `${t.path} after PUT`).toBe(value(t.path))

      const twin = `odd.twin.${i}@pickup.example`
      const posted = await h.http.post(`${SCIM}/Users`).set(auth)
        .send({ ...resource, userName: twin, externalId: `${odd} twin`, emails: [{ value: twin, type: 'work', primary: true }], active: true })
      expect(posted.status, JSON.stringify(posted.body)).toBe(201)
      const twinId = String(posted.body.id)
      expect(h.emulator.org.get('User', twinId)).toMatchObject({ Username: twin, Title: `${odd} put` })
      // externalId is scimforce's own (per client, issue 12): kept literally, answered as sent.
      expect(posted.body.externalId).toBe(`${odd} twin`)
      expect((await h.http.get(`${SCIM}/Users/${twinId}`).set(auth).expect(200)).body.externalId).toBe(`${odd} twin`)
      for (const t of targets.filter((x) => x.field !== 'Title' && x.field !== 'FederationIdentifier')) expect(h.emulator.org.get('User', twinId)?.[t.field], `${t.path} after POST`).toBe(value(t.path))
    }
  })

  it('group displayName and externalId: every odd value stored as sent (create, PATCH rename, PUT), never a 5xx', async () => {
    const ada = String(h.emulator.seed.users['ada.lovelace@scimforce.demo'])
    for (const [i, odd] of ODD.entries()) {
      const created = await h.http.post(`${SCIM}/Groups`).set(auth).send({ displayName: `G${i} ${odd}`, externalId: `X${i} ${odd}`, members: [{ value: ada }] })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      const id = String(created.body.id)
      expect(h.emulator.org.get('Group', id)?.Name).toBe(`G${i} ${odd}`)
      const patched = await h.http.patch(`${SCIM}/Groups/${id}`).set(auth)
        .send({ schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'replace', path: 'displayName', value: `R${i} ${odd}` }, { op: 'replace', path: 'externalId', value: `Y${i} ${odd}` }] })
      expect(patched.status, JSON.stringify(patched.body)).toBe(200)
      expect(h.emulator.org.get('Group', id)?.Name).toBe(`R${i} ${odd}`)
      const put = await h.http.put(`${SCIM}/Groups/${id}`).set(auth).send({ displayName: `P${i} ${odd}`, externalId: `Z${i} ${odd}`, members: [{ value: ada }] })
      expect(put.status, JSON.stringify(put.body)).toBe(200)
      expect(h.emulator.org.get('Group', id)?.Name).toBe(`P${i} ${odd}`)
      const back = await h.http.get(`${SCIM}/Groups/${id}`).set(auth).expect(200)
      expect(back.body).toMatchObject({ displayName: `P${i} ${odd}`, externalId: `Z${i} ${odd}` })
      expect(h.emulator.org.query(`SELECT UserOrGroupId FROM GroupMember WHERE GroupId = '${id}'`).map((r) => r.UserOrGroupId)).toEqual([ada])
    }
  })
})
