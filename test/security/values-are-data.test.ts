// Values are data (issue 11): every mapped, writable User attribute is sent values that Salesforce or a template
// engine could read as syntax — composite references `@{…}`, merge fields `{!…}`, quotes, backslashes, line and
// paragraph separators — and every 2xx must have left exactly that value in Salesforce, read straight from the
// emulated org; anything else must be a 4xx that left the user as it was. Never a 5xx, never a 2xx without the write.
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
        }
      }
    }
    // Values without `@{` are stored: the refusal is only for what a composite would read as a reference.
    expect(stored).toBeGreaterThan(0)
  })
})
