// Identity data kept exactly (issue 12): externalId kept by scimforce per client (case-exact, never unique, never
// the SSO key unless mapped), and emails that do not overwrite each other. Asserted against the emulated org.
import { afterEach, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/store.js'
import { auth, basicAuth, SCIM, startHarness, type Harness } from '../helper.js'

type Rec = Record<string, unknown>
let h: Harness | undefined
afterEach(async () => { await h?.close(); h = undefined })

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

function sf (id: string): Rec {
  const rec = h?.emulator.org.get('User', id) as Rec | undefined
  if (rec === undefined) throw new Error(`no Salesforce user ${id}`)
  return rec
}

async function post (body: Rec, headers: Record<string, string> = auth): Promise<{ status: number, body: Rec }> {
  const res = await (h as Harness).http.post(`${SCIM}/Users`).set(headers).set('Content-Type', 'application/scim+json').send(body)
  return { status: res.status, body: res.body as Rec }
}

function user (name: string, extra: Rec = {}): Rec {
  return { userName: `${name}@pickup.example`, name: { givenName: 'D', familyName: 'Ata' }, emails: [{ value: `${name}@pickup.example`, type: 'work', primary: true }], ...extra }
}

async function patch (id: string, Operations: Rec[]): Promise<{ status: number, body: Rec }> {
  const res = await (h as Harness).http.patch(`${SCIM}/Users/${id}`).set(auth).set('Content-Type', 'application/scim+json').send({ schemas: [PATCH_OP], Operations })
  return { status: res.status, body: res.body as Rec }
}

async function list (filter: string, headers: Record<string, string> = auth): Promise<Rec> {
  const res = await (h as Harness).http.get(`${SCIM}/Users`).query({ filter }).set(headers)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body as Rec
}

describe('externalId kept by scimforce', () => {
  it('is shared by two users, filtered case-exactly, never written to FederationIdentifier', async () => {
    h = await startHarness()
    const a = await post(user('x1', { externalId: 'Shared-1' }))
    const b = await post(user('x2', { externalId: 'Shared-1' }))
    expect([a.status, b.status]).toEqual([201, 201])
    expect(a.body.externalId).toBe('Shared-1')
    expect(sf(String(a.body.id)).FederationIdentifier ?? null).toBeNull()
    expect((await list('externalId eq "shared-1"')).totalResults).toBe(0)
    const both = await list('externalId eq "Shared-1"')
    expect(both.totalResults).toBe(2)
    expect((await list('externalId sw "Shared" and userName eq "x1@pickup.example"')).totalResults).toBe(1)
    expect((await list('not (externalId eq "Shared-1") and userName eq "x1@pickup.example"')).totalResults).toBe(0)
    // GET by id answers it; another SCIM client has its own externalIds.
    const got = await h.http.get(`${SCIM}/Users/${String(a.body.id)}`).set(auth)
    expect(got.body.externalId).toBe('Shared-1')
    const other = await h.http.get(`${SCIM}/Users/${String(a.body.id)}`).set(basicAuth)
    expect(other.body.externalId).toBeUndefined()
    expect((await list('externalId eq "Shared-1"', basicAuth)).totalResults).toBe(0)
  })

  it('PATCH and PUT change it; a PUT never clears the admin\'s FederationIdentifier', async () => {
    h = await startHarness()
    const a = await post(user('sso', { externalId: 'e-1' }))
    const id = String(a.body.id)
    h.emulator.org.systemUpdate('User', id, { FederationIdentifier: 'sso-admin' })
    const p = await patch(id, [{ op: 'replace', path: 'externalId', value: 'e-2' }])
    expect(p.status).toBe(200)
    expect(p.body.externalId).toBe('e-2')
    expect((await list('externalId eq "e-1"')).totalResults).toBe(0)
    expect((await list('externalId eq "e-2"')).totalResults).toBe(1)
    const put = await h.http.put(`${SCIM}/Users/${id}`).set(auth).set('Content-Type', 'application/scim+json').send(user('sso', { title: 't' }))
    expect(put.status).toBe(200)
    expect(put.body.externalId).toBeUndefined()
    expect(sf(id).FederationIdentifier).toBe('sso-admin')
    expect((await list('externalId eq "e-2"')).totalResults).toBe(0)
  })

  it('survives a restart (store documents)', async () => {
    const dir = await import('node:fs/promises').then(async (fs) => await fs.mkdtemp('/tmp/scimforce-ext-'))
    const store = openStore(`${dir}/s.db`)
    h = await startHarness({ store })
    const id = String((await post(user('keep', { externalId: 'Keep-Me' }))).body.id)
    await h.close()
    h = undefined
    const again = openStore(`${dir}/s.db`)
    const h2 = await startHarness({ store: again })
    h = h2
    const res = await h2.http.get(`${SCIM}/Users/${id}`).set(auth)
    // The user lives in the first emulated org; the second harness has its own, so ask the store directly.
    expect(res.status === 404 || res.body.externalId === 'Keep-Me').toBe(true)
    expect((await again.listDocs('user-externalId')).map((d) => d.value)).toEqual([expect.objectContaining({ externalId: 'Keep-Me' })])
  })

  it('goes to FederationIdentifier only when the admin maps it (users.externalIdField)', async () => {
    h = await startHarness({ users: { externalIdField: 'FederationIdentifier' } })
    const a = await post(user('fed', { externalId: 'fed-1' }))
    const id = String(a.body.id)
    expect(sf(id).FederationIdentifier).toBe('fed-1')
    const put = await h.http.put(`${SCIM}/Users/${id}`).set(auth).set('Content-Type', 'application/scim+json').send(user('fed'))
    expect(put.status).toBe(200)
    expect(sf(id).FederationIdentifier).toBe('fed-1')
  })
})

describe('emails', () => {
  it('an add of a home email leaves the work Email; Work is work; no-op and value-filtered PATCHes work', async () => {
    h = await startHarness()
    const id = String((await post(user('em'))).body.id)
    const add = await patch(id, [{ op: 'add', path: 'emails', value: [{ value: 'home@home.example', type: 'home' }] }])
    expect(add.status).toBe(200)
    expect(sf(id).Email).toBe('em@pickup.example')
    const noop = await patch(id, [{ op: 'replace', path: 'emails[value eq "em@pickup.example"].primary', value: true }])
    expect(noop.status).toBe(200)
    const rep = await patch(id, [{ op: 'replace', path: 'emails[value eq "em@pickup.example"].value', value: 'em.new@pickup.example' }])
    expect(rep.status, JSON.stringify(rep.body)).toBe(200)
    expect(JSON.stringify(rep.body.emails)).toContain('em.new@pickup.example')
    const miss = await patch(id, [{ op: 'replace', path: 'emails[value eq "nobody@x.example"].value', value: 'a@b.example' }])
    expect(miss.status).toBe(400)
    expect(miss.body.scimType).toBe('noTarget')
    const work = await post({ ...user('wk'), emails: [{ value: 'wk@pickup.example', type: 'Work', primary: true }] })
    expect(work.status).toBe(201)
    const addWork = await patch(String(work.body.id), [{ op: 'add', path: 'emails', value: [{ value: 'wk2@pickup.example', type: 'Work', primary: true }] }])
    expect(addWork.status).toBe(200)
  })
})
