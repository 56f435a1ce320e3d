// Property: whatever User body arrives on POST or PUT, scimforce answers below 500, every refusal is a SCIM error
// body, and a refused request leaves Salesforce exactly as it was.
import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { auth, SCIM, startHarness, type Harness } from '../helper.js'
import { expectOnlyFrozen, orgState } from '../security/org-state.js'
import { expectScimAnswer, RUN, tracked, userBody } from './arbitraries.js'

let h: Harness
let target: string
let n = 0
const freshUserName = (): string => `prop${++n}@bodies.example`

beforeAll(async () => {
  // Licences are not what these properties are about: enough for every accepted create.
  h = await startHarness({ emulator: { licenseTotals: { Salesforce: 100_000 } } })
  const res = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'target@bodies.example', name: { familyName: 'Target' } })
  target = String(res.body.id)
})
afterAll(async () => { await h.close() })

it('POST /Users: never a 5xx, always a SCIM error, nothing written when refused', async () => {
  const seen = new Set<number>()
  const check = tracked(async (body: unknown) => {
    const before = orgState(h.emulator)
    const res = await h.http.post(`${SCIM}/Users`).set(auth).set('Content-Type', 'application/scim+json').send(JSON.stringify(body))
    seen.add(res.status)
    expectScimAnswer(res, body)
    if (res.status >= 400) expect(orgState(h.emulator)).toBe(before)
    else expect(res.body).toMatchObject({ id: expect.stringMatching(/^005/), userName: expect.any(String) })
  })
  try {
    await fc.assert(fc.asyncProperty(userBody(freshUserName), check.predicate), RUN)
  } finally {
    await check.idle()
  }
  // Not vacuous: both the accepted and the refused path were taken.
  expect(seen).toContain(201)
  expect(seen).toContain(400)
})

it('PUT /Users/:id: never a 5xx, always a SCIM error, nothing written when refused', async () => {
  const seen = new Set<number>()
  const check = tracked(async (body: unknown) => {
    const before = orgState(h.emulator)
    const res = await h.http.put(`${SCIM}/Users/${target}`).set(auth).set('Content-Type', 'application/scim+json').send(JSON.stringify(body))
    seen.add(res.status)
    expectScimAnswer(res, body)
    if (res.status >= 400 && /froze/.test(String(res.body.detail))) expectOnlyFrozen(before, orgState(h.emulator), target)
    else if (res.status >= 400) expect(orgState(h.emulator)).toBe(before)
  })
  try {
    await fc.assert(fc.asyncProperty(userBody(() => 'target@bodies.example'), check.predicate), RUN)
  } finally {
    await check.idle()
  }
  expect(seen).toContain(200)
  expect(seen).toContain(400)
})
