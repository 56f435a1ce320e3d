// The app's JSON body parser (Fastify's secure one): prototype-poisoning keys are refused with a SCIM 400 before
// any code sees the body; bad JSON is invalidSyntax; an empty body with a JSON content type is no body.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auth, expectScimError, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

const send = async (method: 'post' | 'put' | 'patch', url: string, type: string, body: string) =>
  await h.http[method](url).set(auth).set('Content-Type', type).send(body)

describe('JSON bodies', () => {
  it.each([
    ['__proto__ at the top', '{"__proto__":{"polluted":1},"userName":"p1@json.example","name":{"familyName":"P"}}'],
    ['__proto__ nested', '{"userName":"p2@json.example","name":{"__proto__":{"polluted":1},"familyName":"P"}}'],
    ['constructor.prototype', '{"constructor":{"prototype":{"polluted":1}},"userName":"p3@json.example","name":{"familyName":"P"}}'],
  ])('refuses %s with 400 invalidSyntax, under either media type, and writes nothing', async (_name, body) => {
    const calls = h.emulator.counters.snapshot().apiCalls
    expectScimError(await send('post', `${SCIM}/Users`, 'application/scim+json', body), 400, 'invalidSyntax')
    expectScimError(await send('post', `${SCIM}/Users`, 'application/json', body), 400, 'invalidSyntax')
    expect(h.emulator.counters.snapshot().apiCalls).toBe(calls)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('says what is wrong with a body that is not JSON', async () => {
    const res = await send('post', `${SCIM}/Users`, 'application/scim+json', '{"userName": ')
    expectScimError(res, 400, 'invalidSyntax')
    expect(res.body.detail).toMatch(/not valid JSON/)
  })

  it('takes an empty body with a JSON content type as no body (WSO2 IS on GET and DELETE)', async () => {
    const res = await h.http.get(`${SCIM}/Users`).query({ count: 1 }).set(auth).set('Content-Type', 'application/json').send('')
    expect(res.status).toBe(200)
  })

  it('accepts __proto__ and constructor as values: only keys are refused', async () => {
    const res = await send('post', `${SCIM}/Users`, 'application/scim+json', '{"userName":"ok@json.example","name":{"familyName":"constructor"},"title":"__proto__"}')
    expect(res.status).toBe(201)
  })
})
