// Property: whatever PATCH message arrives, scimforce answers below 500, every refusal is a SCIM error body, and a
// refused PATCH (all operations or none, RFC 7644 §3.5.2) leaves Salesforce exactly as it was.
import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { auth, SCIM, startHarness, type Harness } from '../helper.js'
import { expectOnlyFrozen, orgState } from '../security/org-state.js'
import { E, expectScimAnswer, patchBody, RUN, tracked } from './arbitraries.js'

let h: Harness
let target: string

beforeAll(async () => {
  h = await startHarness()
  const res = await h.http.post(`${SCIM}/Users`).set(auth).send({
    userName: 'target@patch.example',
    name: { givenName: 'Pat', familyName: 'Target' },
    title: 'Original',
    emails: [{ value: 'target@patch.example', type: 'work', primary: true }],
    phoneNumbers: [{ value: '+1 555 0100', type: 'mobile' }],
    [E]: { department: 'Sales' },
  })
  expect(res.status).toBe(201)
  target = String(res.body.id)
})
afterAll(async () => { await h.close() })

it('PATCH /Users/:id: never a 5xx, always a SCIM error, nothing written when refused', async () => {
  const seen = new Set<number>()
  const check = tracked(async (body: unknown) => {
    const before = orgState(h.emulator)
    const res = await h.http.patch(`${SCIM}/Users/${target}`).set(auth).set('Content-Type', 'application/scim+json').send(JSON.stringify(body))
    seen.add(res.status)
    expectScimAnswer(res, body)
    if (res.status >= 400 && /froze/.test(String(res.body.detail))) expectOnlyFrozen(before, orgState(h.emulator), target)
    else if (res.status >= 400) expect(orgState(h.emulator)).toBe(before)
    else expect(res.body).toMatchObject({ id: target })
  })
  try {
    await fc.assert(fc.asyncProperty(patchBody, check.predicate), RUN)
  } finally {
    await check.idle()
  }
  // Not vacuous: both the applied and the refused path were taken.
  expect(seen).toContain(200)
  expect(seen).toContain(400)
})

// The counterexample fast-check found once (seed 247627815): a disable together with a value Salesforce refuses.
it('a refused PATCH that disables the user leaves them frozen and nothing else changed, and says so', async () => {
  const made = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'leaver@patch.example', name: { familyName: 'Leaver' } })
  expect(made.status).toBe(201)
  const id = String(made.body.id)
  const patch = (ops: unknown[]) => h.http.patch(`${SCIM}/Users/${id}`).set(auth).set('Content-Type', 'application/scim+json')
    .send(JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: ops }))
  const before = orgState(h.emulator)
  const res = await patch([{ op: 'replace', path: 'active', value: false }, { op: 'add', value: { 'name.givenName': 'x'.repeat(300) } }])
  expect(res.status).toBe(400)
  expect(res.body.detail).toMatch(/STRING_TOO_LONG on FirstName.*froze/)
  expectOnlyFrozen(before, orgState(h.emulator), id)
  expect((await patch([{ op: 'replace', path: 'active', value: true }])).status).toBe(200)
  expect([...h.emulator.org.scan('UserLogin')].find((r) => r.UserId === id)?.IsFrozen).toBe(false)
})
