// RFC 7644 behaviours that IdPs rely on, over real HTTP against the emulated org: projection on every read and
// write, sorting, paging edges, filter operators, discovery refusals, /Me, case-insensitive names, ETags.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_RESULTS } from '../../src/scim/routes.js'
import { auth, expectScimError, SCIM, startHarness, type Harness } from '../helper.js'

const E = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
type Rec = Record<string, unknown>

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

async function create (body: Rec): Promise<Rec> {
  const res = await h.http.post(`${SCIM}/Users`).set(auth).send(body)
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body as Rec
}

/** Users of one test, told apart from everyone else's by their userName domain. */
async function people (domain: string, specs: Array<{ local: string, title?: string, department?: string, given?: string }>): Promise<Rec[]> {
  const out: Rec[] = []
  for (const s of specs) {
    out.push(await create({
      userName: `${s.local}@${domain}`,
      name: { givenName: s.given ?? s.local, familyName: 'Rfc' },
      ...(s.title !== undefined ? { title: s.title } : {}),
      ...(s.department !== undefined ? { [E]: { department: s.department } } : {}),
    }))
  }
  return out
}

async function userNames (query: Rec): Promise<string[]> {
  const res = await h.http.get(`${SCIM}/Users`).query(query).set(auth)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return (res.body.Resources as Rec[]).map((r) => String(r.userName))
}

describe('attributes and excludedAttributes', () => {
  it('apply to GET by id, list, .search, POST, PUT and PATCH answers; id and schemas always come back', async () => {
    const only = (body: Rec): string[] => Object.keys(body).sort()
    const post = await h.http.post(`${SCIM}/Users`).query({ attributes: 'userName' }).set(auth).send({ userName: 'proj@rfc-a.example', name: { familyName: 'Proj' }, title: 'T' })
    expect(post.status).toBe(201)
    expect(only(post.body)).toEqual(['id', 'schemas', 'userName'])
    const id = String(post.body.id)
    expect(post.headers.location).toMatch(new RegExp(`/Users/${id}$`))

    const get = await h.http.get(`${SCIM}/Users/${id}`).query({ excludedAttributes: 'name,emails,meta,title' }).set(auth)
    expect(get.body.name).toBeUndefined()
    expect(get.body.meta).toBeUndefined()
    expect(get.body.title).toBeUndefined()
    expect(get.body).toMatchObject({ id, userName: 'proj@rfc-a.example' })

    const put = await h.http.put(`${SCIM}/Users/${id}`).query({ attributes: 'title' }).set(auth).send({ userName: 'proj@rfc-a.example', name: { familyName: 'Proj' }, title: 'T2' })
    expect(put.status).toBe(200)
    expect(only(put.body)).toEqual(['id', 'schemas', 'title'])

    // PATCH answers 200 with the resource (RFC 7644 §3.5.2 allows 200 or 204): with a body, attributes= applies.
    const patch = await h.http.patch(`${SCIM}/Users/${id}`).query({ excludedAttributes: 'meta,name' }).set(auth)
      .send({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'T3' }] })
    expect(patch.status).toBe(200)
    expect(patch.body.title).toBe('T3')
    expect(patch.body.meta).toBeUndefined()

    const list = await h.http.get(`${SCIM}/Users`).query({ filter: 'userName eq "proj@rfc-a.example"', attributes: 'id' }).set(auth)
    expect((list.body.Resources as Rec[]).map(only)).toEqual([['id', 'schemas']])

    const search = await h.http.post(`${SCIM}/Users/.search`).set(auth).send({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'userName eq "proj@rfc-a.example"',
      attributes: ['userName', `${E}:department`],
    })
    expect((search.body.Resources as Rec[]).map(only)).toEqual([['id', 'schemas', 'userName']])
  })

  it('selects a multi-valued attribute named with a value filter (emails[type eq "work"])', async () => {
    const [u] = await people('rfc-b.example', [{ local: 'mv' }])
    const res = await h.http.get(`${SCIM}/Users/${String(u?.id)}`).query({ attributes: 'emails[type eq "work"]' }).set(auth)
    expect(res.body).toEqual({ schemas: res.body.schemas, id: u?.id, emails: [{ value: 'mv@rfc-b.example', type: 'work', primary: true }] })
  })
})

describe('sorting and paging', () => {
  it('sorts by sortBy in either order, and refuses an attribute it cannot sort on', async () => {
    await people('rfc-sort.example', [{ local: 'b', title: 'Beta' }, { local: 'c', title: 'Alpha' }, { local: 'a', title: 'Gamma' }])
    const filter = 'userName ew "@rfc-sort.example"'
    expect(await userNames({ filter, sortBy: 'userName' })).toEqual(['a@rfc-sort.example', 'b@rfc-sort.example', 'c@rfc-sort.example'])
    expect(await userNames({ filter, sortBy: 'title', sortOrder: 'descending' })).toEqual(['a@rfc-sort.example', 'b@rfc-sort.example', 'c@rfc-sort.example'])
    expect(await userNames({ filter, sortBy: 'title', sortOrder: 'ascending' })).toEqual(['c@rfc-sort.example', 'b@rfc-sort.example', 'a@rfc-sort.example'])
    expectScimError(await h.http.get(`${SCIM}/Users`).query({ filter, sortBy: 'nickNameX' }).set(auth), 400, 'invalidValue')
    expectScimError(await h.http.get(`${SCIM}/Users`).query({ filter, sortOrder: 'sideways' }).set(auth), 400, 'invalidValue')
  })

  it('answers count=0 with the total only, clamps a negative count and startIndex below 1, and pages past the end empty', async () => {
    await people('rfc-page.example', [{ local: 'p1' }, { local: 'p2' }, { local: 'p3' }])
    const filter = 'userName ew "@rfc-page.example"'
    const zero = await h.http.get(`${SCIM}/Users`).query({ filter, count: 0 }).set(auth)
    expect(zero.body).toEqual({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 3, startIndex: 1, itemsPerPage: 0, Resources: [] })
    const negative = await h.http.get(`${SCIM}/Users`).query({ filter, count: -4, startIndex: -9 }).set(auth)
    expect(negative.body).toMatchObject({ totalResults: 3, startIndex: 1, itemsPerPage: 0 })
    const past = await h.http.get(`${SCIM}/Users`).query({ filter, startIndex: 50, count: 10 }).set(auth)
    expect(past.body).toEqual({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 3, startIndex: 50, itemsPerPage: 0, Resources: [] })
    const last = await h.http.get(`${SCIM}/Users`).query({ filter, startIndex: 3, count: 10, sortBy: 'userName' }).set(auth)
    expect(last.body).toMatchObject({ totalResults: 3, startIndex: 3, itemsPerPage: 1 })
    expect((last.body.Resources as Rec[])[0]?.userName).toBe('p3@rfc-page.example')
    expectScimError(await h.http.get(`${SCIM}/Users`).query({ count: 'many' }).set(auth), 400, 'invalidValue')
  })

  it('advertises filter.maxResults and clamps a larger count to it (RFC 7644 §3.4.2.4), never an error', async () => {
    const spc = await h.http.get(`${SCIM}/ServiceProviderConfig`).set(auth)
    expect(spc.body.filter).toEqual({ supported: true, maxResults: MAX_RESULTS })
    const n = h.emulator.queryLog.length
    const big = await h.http.get(`${SCIM}/Users`).query({ count: MAX_RESULTS * 100, attributes: 'id' }).set(auth)
    expect(big.status).toBe(200)
    expect(big.body.itemsPerPage).toBe(big.body.totalResults)
    expect(h.emulator.queryLog.slice(n).some((q) => q.endsWith(`LIMIT ${MAX_RESULTS}`))).toBe(true)
  })
})

describe('filters', () => {
  it('combine and, or, not, grouping, value paths, pr and extension attributes', async () => {
    await people('rfc-f.example', [
      { local: 'eng', title: 'Engineer', department: 'Sales' },
      { local: 'mgr', title: 'Manager', department: 'Ops' },
      { local: 'none' },
    ])
    const scope = 'userName ew "@rfc-f.example"'
    const names = async (f: string): Promise<string[]> => (await userNames({ filter: `${scope} and (${f})`, sortBy: 'userName' })).map((n) => n.split('@')[0] as string)
    expect(await names('title pr')).toEqual(['eng', 'mgr'])
    expect(await names('not (title pr)')).toEqual(['none'])
    expect(await names('title eq "Engineer" or title eq "Manager"')).toEqual(['eng', 'mgr'])
    // SOQL compares null as a value: a user without a title is "not an Engineer" too.
    expect(await names('not (title eq "Engineer")')).toEqual(['mgr', 'none'])
    expect(await names(`${E}:department eq "Sales"`)).toEqual(['eng'])
    expect(await names('department eq "Ops"')).toEqual(['mgr'])
    expect(await names('emails[type eq "work" and value sw "mgr@"]')).toEqual(['mgr'])
    expect(await names('emails[type eq "work"].value ew "eng@rfc-f.example"')).toEqual(['eng'])
    // A quoted value followed by more filter stays a conjunction (the IdP-compatibility rewrite must not touch it).
    expect(await userNames({ filter: 'userName eq "mgr@rfc-f.example" and emails[type eq "work"]' })).toEqual(['mgr@rfc-f.example'])
    expect(await userNames({ filter: 'userName eq "eng@rfc-f.example" and (title pr)' })).toEqual(['eng@rfc-f.example'])
    expect(await names('(title sw "Eng" and department eq "Sales") or (title co "nag" and not (department eq "Sales"))')).toEqual(['eng', 'mgr'])
    expect(await names('meta.created gt "2000-01-01T00:00:00Z" and title ew "er"')).toEqual(['eng', 'mgr'])
    expectScimError(await h.http.get(`${SCIM}/Users`).query({ filter: 'title xx "a"' }).set(auth), 400, 'invalidFilter')
  })
})

describe('case-insensitive attribute names (RFC 7643 §2.1)', () => {
  it('in filters, attributes=, excludedAttributes=, sortBy, PATCH paths and body keys', async () => {
    const body = await create({ USERNAME: 'Case@rfc-case.example', NAME: { GIVENNAME: 'Ca', FAMILYNAME: 'Se' }, Title: 'Lead', [E.toUpperCase()]: { DEPARTMENT: 'Legal' } })
    expect(body).toMatchObject({ userName: 'Case@rfc-case.example', name: { givenName: 'Ca', familyName: 'Se' }, title: 'Lead', [E]: { department: 'Legal' } })
    const id = String(body.id)

    expect(await userNames({ filter: 'USERNAME EQ "case@RFC-CASE.example" AND TITLE Eq "lead"' })).toEqual(['Case@rfc-case.example'])
    expect(await userNames({ filter: `${E.toUpperCase()}:DEPARTMENT eq "Legal" and Name.FamilyName eq "Se"`, sortBy: 'USERNAME', sortOrder: 'Descending' })).toEqual(['Case@rfc-case.example'])

    const got = await h.http.get(`${SCIM}/Users/${id}`).query({ attributes: `USERNAME,Name.GivenName,${E.toUpperCase()}:Department` }).set(auth)
    expect(got.body).toEqual({ schemas: got.body.schemas, id, userName: 'Case@rfc-case.example', name: { givenName: 'Ca' }, [E]: { department: 'Legal' } })
    const ex = await h.http.get(`${SCIM}/Users/${id}`).query({ excludedAttributes: 'EMAILS,META,Name' }).set(auth)
    expect(ex.body.emails).toBeUndefined()
    expect(ex.body.meta).toBeUndefined()
    expect(ex.body.name).toBeUndefined()

    const patched = await h.http.patch(`${SCIM}/Users/${id}`).set(auth).send({
      schemas: [PATCH_OP],
      Operations: [
        { op: 'Replace', path: 'NAME.GIVENNAME', value: 'Cee' },
        { op: 'replace', path: 'EMAILS[TYPE eq "work"].VALUE', value: 'case2@rfc-case.example' },
        { op: 'add', path: `${E.toUpperCase()}:DEPARTMENT`, value: 'Finance' },
      ],
    })
    expect(patched.status, JSON.stringify(patched.body)).toBe(200)
    // The new Email waits for the user's verification (help article 000385115) until they click the link.
    expect(h.emulator.org.confirmEmail(id)).toBe('case2@rfc-case.example')
    expect(h.emulator.org.get('User', id)).toMatchObject({ FirstName: 'Cee', Email: 'case2@rfc-case.example', Department: 'Finance' })
  })
})

describe('discovery, /Me and unknown paths', () => {
  it.each(['/ServiceProviderConfig', '/ResourceTypes', '/ResourceTypes/User', '/Schemas', `/Schemas/${E}`])('refuses writes to %s with 405 and Allow: GET', async (path) => {
    for (const method of ['post', 'put', 'patch', 'delete'] as const) {
      const res = await h.http[method](`${SCIM}${path}`).set(auth).send({})
      expectScimError(res, 405)
      expect(res.headers.allow).toBe('GET')
    }
    expect((await h.http.get(`${SCIM}${path}`).set(auth)).status).toBe(200)
  })

  it('refuses filters on discovery endpoints with 403 (RFC 7644 §4)', async () => {
    expectScimError(await h.http.get(`${SCIM}/Schemas`).query({ filter: 'id pr' }).set(auth), 403)
  })

  it('answers /Me with 501 for every method', async () => {
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) expectScimError(await h.http[method](`${SCIM}/Me`).set(auth).send({}), 501)
  })

  it('asks for credentials before it says a path does not exist', async () => {
    expectScimError(await h.http.get(`${SCIM}/Nope`), 401)
    expectScimError(await h.http.delete(`${SCIM}/Users`), 401)
    expectScimError(await h.http.get(`${SCIM}/Nope`).set(auth), 404)
    expectScimError(await h.http.delete(`${SCIM}/Users`).set(auth), 404)
  })
})

describe('DELETE', () => {
  it('answers 404 afterwards to every method, and again to a second DELETE', async () => {
    const [u] = await people('rfc-del.example', [{ local: 'gone' }])
    const url = `${SCIM}/Users/${String(u?.id)}`
    expect((await h.http.delete(url).set(auth)).status).toBe(204)
    expectScimError(await h.http.get(url).set(auth), 404)
    expectScimError(await h.http.put(url).set(auth).send({ userName: 'gone@rfc-del.example' }), 404)
    expectScimError(await h.http.patch(url).set(auth).send({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }), 404)
    expectScimError(await h.http.delete(url).set(auth), 404)
  })
})

describe('ETags (RFC 7644 §3.14)', () => {
  const patchTitle = (title: string): Rec => ({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: title }] })

  it('are advertised, sent as ETag and meta.version, and answer If-None-Match with 304', async () => {
    const spc = await h.http.get(`${SCIM}/ServiceProviderConfig`).set(auth)
    expect(spc.body.etag).toEqual({ supported: true })
    const [u] = await people('rfc-etag.example', [{ local: 'v' }])
    const url = `${SCIM}/Users/${String(u?.id)}`
    const got = await h.http.get(url).set(auth)
    expect(got.headers.etag).toBe(got.body.meta.version)
    const cached = await h.http.get(url).set(auth).set('If-None-Match', got.headers.etag as string)
    expect(cached.status).toBe(304)
    expect(cached.headers.etag).toBe(got.headers.etag)
    expect((await h.http.get(url).set(auth).set('If-None-Match', 'W/"older"')).status).toBe(200)
  })

  it('refuse a stale If-Match on PUT, PATCH and DELETE with 412 and change nothing; a current one or * goes through', async () => {
    const [u] = await people('rfc-etag2.example', [{ local: 'w', title: 'First' }])
    const id = String(u?.id)
    const url = `${SCIM}/Users/${id}`
    const v1 = String((u?.meta as Rec).version)
    const ok = await h.http.patch(url).set(auth).set('If-Match', v1).send(patchTitle('Second'))
    expect(ok.status).toBe(200)
    const v2 = String(ok.body.meta.version)
    expect(v2).not.toBe(v1)

    const before = JSON.stringify(h.emulator.org.get('User', id))
    expectScimError(await h.http.patch(url).set(auth).set('If-Match', v1).send(patchTitle('Third')), 412)
    expectScimError(await h.http.put(url).set(auth).set('If-Match', v1).send({ userName: 'w@rfc-etag2.example', name: { familyName: 'Rfc' } }), 412)
    expectScimError(await h.http.delete(url).set(auth).set('If-Match', v1), 412)
    expect(JSON.stringify(h.emulator.org.get('User', id))).toBe(before)

    // The check costs one more Salesforce read, and only for requests that carry If-Match.
    const calls = h.emulator.counters.snapshot().apiCalls
    expect((await h.http.patch(url).set(auth).set('If-Match', `"x", ${v2}`).send(patchTitle('Third'))).status).toBe(200)
    expect(h.emulator.counters.snapshot().apiCalls - calls).toBe(2)
    expect((await h.http.patch(url).set(auth).set('If-Match', '*').send(patchTitle('Fourth'))).status).toBe(200)
    expect(h.emulator.org.get('User', id)?.Title).toBe('Fourth')
    expect((await h.http.delete(url).set(auth).set('If-Match', '*')).status).toBe(204)
    expectScimError(await h.http.delete(url).set(auth).set('If-Match', '*'), 404)
  })
})
