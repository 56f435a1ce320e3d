// Broken and oversized input: each refused with a precise SCIM error, and nothing written to Salesforce.
// Limits: request body, filter length/nesting/size, PATCH operation count; malformed JSON, wrong content types,
// unknown schemas, wrong types, read-only attributes, repeated query parameters, prototype keys.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_FILTER_LIMITS } from '../../src/protocol/filter.js'
import { MAX_PATCH_OPERATIONS } from '../../src/scim/routes.js'
import { auth, expectScimError, SCIM, startHarness, type Harness } from '../helper.js'
import { orgState } from './org-state.js'

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User'

let h: Harness
let victim: string
let other: string
let before: string

beforeAll(async () => {
  h = await startHarness()
  for (const userName of ['victim@input.example', 'other@input.example']) {
    const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName, name: { familyName: 'Input' }, title: 'Original' })
    expect(res.status).toBe(201)
    if (userName.startsWith('victim')) victim = String(res.body.id)
    else other = String(res.body.id)
  }
})
afterAll(async () => { await h.close() })
beforeEach(() => { before = orgState(h.emulator) })

type Res = Awaited<ReturnType<typeof h.http.get>>
/** The precise SCIM error, and Salesforce exactly as it was. */
function refused (res: Res, status: number, scimType?: string): void {
  expectScimError(res, status, scimType)
  expect(orgState(h.emulator)).toBe(before)
}

const raw = (method: 'post' | 'put' | 'patch', url: string, type: string | undefined, body: string): Promise<Res> => {
  const req = h.http[method](url).set(auth)
  return (type === undefined ? req : req.set('Content-Type', type)).send(body)
}

describe('limits', () => {
  it('refuses a body over the limit with 413 before reading it all', async () => {
    const big = JSON.stringify({ userName: 'big@input.example', title: 'x'.repeat(h.config.server.bodyLimit) })
    refused(await raw('post', `${SCIM}/Users`, 'application/scim+json', big), 413)
    refused(await raw('patch', `${SCIM}/Users/${victim}`, 'application/scim+json', big), 413)
  })

  it('refuses filters that are too long, too deep or too large with 400 invalidFilter, without a query', async () => {
    const n = h.emulator.queryLog.length
    const long = `title eq "${'a'.repeat(DEFAULT_FILTER_LIMITS.maxLength)}"`
    const deep = `${'('.repeat(DEFAULT_FILTER_LIMITS.maxDepth + 1)}title pr${')'.repeat(DEFAULT_FILTER_LIMITS.maxDepth + 1)}`
    const wide = Array.from({ length: DEFAULT_FILTER_LIMITS.maxComparisons + 1 }, (_, i) => `title eq "${i}"`).join(' or ')
    for (const filter of [long, deep, wide]) refused(await h.http.get(`${SCIM}/Users`).query({ filter }).set(auth), 400, 'invalidFilter')
    const search = await h.http.post(`${SCIM}/Users/.search`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: wide })
    refused(search, 400, 'invalidFilter')
    expect(h.emulator.queryLog.slice(n)).toEqual([])
  })

  it(`caps a PATCH at ${MAX_PATCH_OPERATIONS} operations (413), and takes exactly that many`, async () => {
    const ops = (n: number): unknown[] => Array.from({ length: n }, (_, i) => ({ op: 'replace', path: 'title', value: `T${i}` }))
    const res = await h.http.patch(`${SCIM}/Users/${victim}`).set(auth).send({ schemas: [PATCH_OP], Operations: ops(MAX_PATCH_OPERATIONS + 1) })
    refused(res, 413)
    expect(res.body.detail).toMatch(new RegExp(`at most ${MAX_PATCH_OPERATIONS}`))
    const ok = await h.http.patch(`${SCIM}/Users/${victim}`).set(auth).send({ schemas: [PATCH_OP], Operations: ops(MAX_PATCH_OPERATIONS) })
    expect(ok.status).toBe(200)
    expect(h.emulator.org.get('User', victim)?.Title).toBe(`T${MAX_PATCH_OPERATIONS - 1}`)
  })

  it('survives deeply nested JSON', async () => {
    const deep = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n)
    refused(await raw('post', `${SCIM}/Users`, 'application/json', `{"userName":"deep@input.example","name":${deep(50_000)}}`), 400)
    refused(await raw('patch', `${SCIM}/Users/${victim}`, 'application/json', `{"schemas":["${PATCH_OP}"],"Operations":[{"op":"add","value":${deep(50_000)}}]}`), 400)
    refused(await raw('post', `${SCIM}/Users`, 'application/json', '['.repeat(100_000) + ']'.repeat(100_000)), 400, 'invalidSyntax')
  })
})

describe('malformed requests', () => {
  it.each([
    ['truncated JSON', '{"userName": "x@input.example"'],
    ['JSON with a trailing comma', '{"userName": "x@input.example",}'],
    ['the suite\'s "Post junk" body', '{ "acve": tre, "les": [] }'],
    ['not JSON at all', 'userName=x'],
  ])('refuses %s with 400 invalidSyntax', async (_name, body) => {
    refused(await raw('post', `${SCIM}/Users`, 'application/scim+json', body), 400, 'invalidSyntax')
    refused(await raw('put', `${SCIM}/Users/${victim}`, 'application/json', body), 400, 'invalidSyntax')
    refused(await raw('patch', `${SCIM}/Users/${victim}`, 'application/scim+json', body), 400, 'invalidSyntax')
  })

  it.each([
    ['null', 'null'], ['a string', '"x"'], ['a number', '42'], ['an array', '[{"userName":"x@input.example"}]'],
  ])('refuses %s as a body with 400', async (_name, body) => {
    refused(await raw('post', `${SCIM}/Users`, 'application/scim+json', body), 400, 'invalidSyntax')
    refused(await raw('patch', `${SCIM}/Users/${victim}`, 'application/scim+json', body), 400)
  })

  it.each([
    ['text/plain'], ['application/xml'], ['application/x-www-form-urlencoded'], ['multipart/form-data; boundary=x'], [undefined],
  ])('refuses Content-Type %s with 415', async (type) => {
    const body = JSON.stringify({ userName: 'ct@input.example', name: { familyName: 'Ct' } })
    refused(await raw('post', `${SCIM}/Users`, type, body), 415)
    refused(await raw('put', `${SCIM}/Users/${victim}`, type, body), 415)
    refused(await raw('patch', `${SCIM}/Users/${victim}`, type, JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] })), 415)
  })

  it('takes both JSON media types with parameters', async () => {
    for (const type of ['application/json; charset=utf-8', 'Application/SCIM+JSON;charset=UTF-8']) {
      const res = await raw('patch', `${SCIM}/Users/${victim}`, type, JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: type }] }))
      expect(res.status, type).toBe(200)
    }
  })

  it.each([
    ['an unknown schema URN', { schemas: [CORE, 'urn:example:params:scim:schemas:custom:2.0:User'], userName: 'u@input.example', name: { familyName: 'U' } }],
    ['only a foreign schema', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], userName: 'u@input.example', name: { familyName: 'U' } }],
    ['an unknown extension block', { userName: 'u@input.example', name: { familyName: 'U' }, 'urn:example:ext:2.0:User': { level: 9 } }],
    ['schemas that are not a list of strings', { schemas: 'urn:ietf:params:scim:schemas:core:2.0:User', userName: 'u@input.example', name: { familyName: 'U' } }],
    ['schemas with a number', { schemas: [CORE, 7], userName: 'u@input.example', name: { familyName: 'U' } }],
  ])('refuses %s with 400 invalidSyntax', async (_name, body) => {
    refused(await h.http.post(`${SCIM}/Users`).set(auth).send(body), 400, 'invalidSyntax')
    refused(await h.http.put(`${SCIM}/Users/${victim}`).set(auth).send(body), 400, 'invalidSyntax')
  })

  it.each([
    ['active as a number', { active: 3 }],
    ['active as a word', { active: 'yes' }],
    ['userName as a number', { userName: 5 }],
    ['name as a string', { name: 'Input' }],
    ['emails as a string', { emails: 'x@input.example' }],
    ['title as an object', { title: { a: 1 } }],
    // "Work" is canonical ("work"): type is not case-exact (issue 12); an unknown type still is refused.
    ['a non-canonical email type', { emails: [{ value: 'x@input.example', type: 'pager' }] }],
    ['no userName', { userName: undefined }],
  ])('refuses %s with 400 invalidValue', async (_name, change) => {
    const body = { userName: 'typed@input.example', name: { familyName: 'Typed' }, ...change }
    refused(await h.http.post(`${SCIM}/Users`).set(auth).send(body), 400, 'invalidValue')
    refused(await h.http.put(`${SCIM}/Users/${victim}`).set(auth).send({ ...body, userName: body.userName === 'typed@input.example' ? 'victim@input.example' : body.userName }), 400, 'invalidValue')
  })

  it('refuses wrongly typed PATCH values and unknown ops', async () => {
    const patch = (op: Record<string, unknown>): Promise<Res> => h.http.patch(`${SCIM}/Users/${victim}`).set(auth).send({ schemas: [PATCH_OP], Operations: [op] })
    refused(await patch({ op: 'replace', path: 'active', value: 3 }), 400, 'invalidValue')
    refused(await patch({ op: 'replace', path: 'userName', value: ['a'] }), 400, 'invalidValue')
    refused(await patch({ op: 'frobnicate', path: 'title', value: 'x' }), 400)
    refused(await patch({ op: 'replace', path: 7, value: 'x' }), 400, 'invalidPath')
    refused(await patch({ op: 'replace', path: 'urn:example:ext:2.0:User:level', value: 'x' }), 400)
  })
})

describe('read-only attributes', () => {
  it('refuses to change id or meta through PATCH (400 mutability)', async () => {
    const patch = (op: Record<string, unknown>): Promise<Res> => h.http.patch(`${SCIM}/Users/${victim}`).set(auth).send({ schemas: [PATCH_OP], Operations: [op] })
    refused(await patch({ op: 'replace', path: 'id', value: other }), 400, 'mutability')
    refused(await patch({ op: 'replace', path: 'meta.created', value: '2001-01-01T00:00:00Z' }), 400, 'mutability')
    refused(await patch({ op: 'replace', value: { id: other, title: 'Hijacked' } }), 400, 'mutability')
  })

  it("refuses a PUT whose body names another user's id (400 mutability), and takes its own id in either form", async () => {
    refused(await h.http.put(`${SCIM}/Users/${victim}`).set(auth).send({ id: other, userName: 'victim@input.example', name: { familyName: 'Input' } }), 400, 'mutability')
    for (const id of [victim, victim.slice(0, 15)]) {
      const res = await h.http.put(`${SCIM}/Users/${victim}`).set(auth).send({ id, userName: 'victim@input.example', name: { familyName: 'Input' }, title: 'Original' })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
    }
  })

  it('ignores id and meta in a POST body (RFC 7644 §3.5.1 readOnly; OneLogin sends both) and leaves that user alone', async () => {
    const otherBefore = JSON.stringify(h.emulator.org.get('User', other))
    const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ id: other, meta: { created: '2001-01-01T00:00:00Z', version: 'W/"1"' }, userName: 'ro@input.example', name: { familyName: 'Ro' } })
    expect(res.status).toBe(201)
    expect(res.body.id).not.toBe(other)
    expect(res.body.meta.created).not.toBe('2001-01-01T00:00:00Z')
    expect(JSON.stringify(h.emulator.org.get('User', other))).toBe(otherBefore)
  })
})

describe('query parameters and search bodies of the wrong shape', () => {
  it.each([
    ['sortBy=userName&sortBy=title'], ['sortOrder=ascending&sortOrder=descending'], ['filter=title%20pr&filter=title%20pr'],
    ['count=1&count=2'], ['startIndex=1&startIndex=2'],
  ])('answers %s with 400, not 500', async (query) => {
    refused(await h.http.get(`${SCIM}/Users`).query(query).set(auth), 400)
  })

  it.each([
    [{ filter: 5 }], [{ sortBy: ['a'] }], [{ sortOrder: {} }], [{ count: [1] }], [{ attributes: [1, 2] }], [{ excludedAttributes: { a: 1 } }],
  ])('answers a SearchRequest with %j with 400 invalidValue', async (params) => {
    refused(await h.http.post(`${SCIM}/Users/.search`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], ...params }), 400, 'invalidValue')
  })
})

describe('prototype keys', () => {
  it('are plain data: nothing reaches Object.prototype', async () => {
    const own = Object.getOwnPropertyNames(Object.prototype).sort()
    const bodies = [
      '{"__proto__":{"polluted":1},"userName":"proto1@input.example","name":{"familyName":"P"}}',
      '{"constructor":{"prototype":{"polluted":1}},"userName":"proto2@input.example","name":{"__proto__":{"polluted":1},"familyName":"P"}}',
      `{"schemas":["${PATCH_OP}"],"Operations":[{"op":"add","value":{"__proto__":{"polluted":1}}},{"op":"add","path":"__proto__.polluted","value":1}]}`,
    ]
    await raw('post', `${SCIM}/Users`, 'application/json', bodies[0] as string)
    await raw('post', `${SCIM}/Users`, 'application/json', bodies[1] as string)
    const res = await raw('patch', `${SCIM}/Users/${victim}`, 'application/json', bodies[2] as string)
    expect(res.status).toBeLessThan(500)
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(own)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
