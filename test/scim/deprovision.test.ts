// Deprovisioning that never leaves a leaver able to log in (issue 13): every disable path (DELETE, PATCH and PUT
// active:false) ends with the user inactive or frozen, read straight from the emulated org; a refused
// deactivation (the seeded default case owner) freezes, answers 409 naming the blocker, and a retry completes it.
import type { Response } from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { CASE_OWNER_USERNAME } from '../../src/emulator/index.js'
import { changeOrgSettings } from '../../src/emulator/licences.js'
import type { Config } from '../../src/config/types.js'
import { auth, expectScimError, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness | undefined
afterEach(async () => { await h?.close(); h = undefined })

type Rec = Record<string, unknown>
const patchOp = (Operations: unknown[]): Rec => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations })

function state (hh: Harness, id: string): { active: boolean, frozen: boolean } {
  const user = hh.emulator.org.get('User', id) as Rec
  const login = hh.emulator.org.query(`SELECT IsFrozen FROM UserLogin WHERE UserId = '${id}'`) as unknown as Rec[]
  return { active: user.IsActive === true, frozen: login[0]?.IsFrozen === true }
}

type DisablePath = 'DELETE' | 'PATCH' | 'PUT'
async function disable (hh: Harness, id: string, path: DisablePath): Promise<Response> {
  if (path === 'DELETE') return await hh.http.delete(`${SCIM}/Users/${id}`).set(auth)
  if (path === 'PATCH') return await hh.http.patch(`${SCIM}/Users/${id}`).set(auth).send(patchOp([{ op: 'replace', value: { active: false } }]))
  const current = await hh.http.get(`${SCIM}/Users/${id}`).set(auth).expect(200)
  return await hh.http.put(`${SCIM}/Users/${id}`).set(auth).send({ ...current.body, active: false })
}

const caseOwner = (hh: Harness): string => String(hh.emulator.seed.users[CASE_OWNER_USERNAME])
const withFreeze = (mode: 'always' | 'whenRefused', deleteMode: Config['users']['deleteMode'] = 'deactivate'): Partial<Config['users']> => ({ freezeOnDisable: mode, deleteMode })

describe('every disable path leaves the user frozen or inactive, never neither', () => {
  for (const path of ['DELETE', 'PATCH', 'PUT'] as const) {
    for (const [label, users] of [['default', {}], ['freezeOnDisable: always', withFreeze('always')], ['deleteMode: freeze', withFreeze('whenRefused', 'freeze')]] as const) {
      it(`${path}, ${label}: an ordinary leaver ends inactive; the default case owner ends frozen, with a 409 that names the blocker`, async () => {
        h = await startHarness({ users })
        const u = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: `leaver.${path.toLowerCase()}@pickup.example`, name: { familyName: 'Leaver' } }).expect(201)
        const ok = await disable(h, String(u.body.id), path)
        expect(ok.status).toBeLessThan(300)
        const leaver = state(h, String(u.body.id))
        expect(leaver.active).toBe(false)
        // Freezing first is what `always` asks for, and what deleteMode freeze does on DELETE.
        const freezes = label === 'freezeOnDisable: always' || (label === 'deleteMode: freeze' && path === 'DELETE')
        expect(leaver.frozen).toBe(freezes)

        const co = caseOwner(h)
        const refused = await disable(h, co, path)
        expectScimError(refused, 409)
        expect(refused.body.detail).toMatch(/default owner of cases/)
        expect(refused.body.detail).toMatch(/froze/)
        expect(state(h, co)).toEqual({ active: true, frozen: true })
      })
    }
  }
})

describe('a refused deactivation', () => {
  it('keeps the user reachable (no tombstone) and a retry completes it once the blocker is gone', async () => {
    h = await startHarness()
    const co = caseOwner(h)
    expectScimError(await h.http.delete(`${SCIM}/Users/${co}`).set(auth), 409)
    // Not deleted for SCIM: the IdP's retry must reach the user again.
    const read = await h.http.get(`${SCIM}/Users/${co}`).set(auth).expect(200)
    expect(read.body.active).toBe(true)
    changeOrgSettings(h.emulator.org, { defaultCaseOwnerId: null })
    await h.http.delete(`${SCIM}/Users/${co}`).set(auth).expect(204)
    expect(state(h, co)).toEqual({ active: false, frozen: true })
    await h.http.get(`${SCIM}/Users/${co}`).set(auth).expect(404)
  })

  it('PATCH active:false is refused for the case owner (409) and answers 200 after the blocker is gone', async () => {
    h = await startHarness()
    const co = caseOwner(h)
    const refused = await disable(h, co, 'PATCH')
    expectScimError(refused, 409)
    expect(refused.body.detail).toMatch(/send the same request again/)
    changeOrgSettings(h.emulator.org, { defaultCaseOwnerId: null })
    const done = await disable(h, co, 'PATCH')
    expect(done.status).toBe(200)
    expect(done.body.active).toBe(false)
    expect(state(h, co)).toEqual({ active: false, frozen: true })
  })

  it('costs one call on the common path and two when refused', async () => {
    h = await startHarness()
    const u = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'cheap@pickup.example', name: { familyName: 'Cheap' } }).expect(201)
    let before = h.emulator.counters.snapshot().apiCalls
    await disable(h, String(u.body.id), 'PATCH')
    expect(h.emulator.counters.snapshot().apiCalls - before).toBe(1)
    before = h.emulator.counters.snapshot().apiCalls
    await disable(h, caseOwner(h), 'PATCH')
    expect(h.emulator.counters.snapshot().apiCalls - before).toBe(2)
  })
})

describe('reactivation', () => {
  it('unfreezes a user scimforce froze, in the same call as the reactivation', async () => {
    h = await startHarness({ users: withFreeze('always') })
    const u = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'back@pickup.example', name: { familyName: 'Back' } }).expect(201)
    const id = String(u.body.id)
    await disable(h, id, 'PATCH')
    expect(state(h, id)).toEqual({ active: false, frozen: true })
    const before = h.emulator.counters.snapshot().apiCalls
    await h.http.patch(`${SCIM}/Users/${id}`).set(auth).send(patchOp([{ op: 'replace', path: 'active', value: true }])).expect(200)
    expect(h.emulator.counters.snapshot().apiCalls - before).toBe(1)
    expect(state(h, id)).toEqual({ active: true, frozen: false })
  })

  it('a rehire (POST of a deleted user) unfreezes them', async () => {
    h = await startHarness({ users: withFreeze('whenRefused', 'freeze') })
    const u = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'rehire@pickup.example', name: { familyName: 'Rehire' } }).expect(201)
    await h.http.delete(`${SCIM}/Users/${String(u.body.id)}`).set(auth).expect(204)
    expect(state(h, String(u.body.id))).toEqual({ active: false, frozen: true })
    const again = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'rehire@pickup.example', name: { familyName: 'Rehire' } }).expect(201)
    expect(again.body.id).toBe(u.body.id)
    expect(state(h, String(u.body.id))).toEqual({ active: true, frozen: false })
  })

  it('leaves a freeze an admin made alone', async () => {
    h = await startHarness()
    const u = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'held@pickup.example', name: { familyName: 'Held' } }).expect(201)
    const id = String(u.body.id)
    const [login] = h.emulator.org.query(`SELECT Id FROM UserLogin WHERE UserId = '${id}'`) as unknown as Rec[]
    h.emulator.org.update('UserLogin', String(login?.Id), { IsFrozen: true })
    await h.http.patch(`${SCIM}/Users/${id}`).set(auth).send(patchOp([{ op: 'replace', path: 'active', value: true }])).expect(200)
    expect(state(h, id)).toEqual({ active: true, frozen: true })
  })
})
