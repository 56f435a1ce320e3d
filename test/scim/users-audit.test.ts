// The audit journal as the route pipeline writes it: each SCIM write, success or refusal, with its client,
// request id, Salesforce Id, attribute names (never values: no password reaches the journal), status, Salesforce
// error code and API calls spent; and a store that fails answers 503, never a 404 or 2xx.
import { afterEach, describe, expect, it } from 'vitest'
import { openStore, StoreUnavailableError, type Store } from '../../src/store/store.js'
import { auth, expectScimError, SCIM, startHarness, type Harness } from '../helper.js'

let h: Harness | undefined
afterEach(async () => { await h?.close(); h = undefined })

const ada = { userName: 'ada@audit.example', name: { givenName: 'Ada', familyName: 'Lovelace' }, emails: [{ value: 'ada@audit.example', primary: true }], password: 'S3cret-Passw0rd!' }

describe('audit journal', () => {
  it('journals every write with its outcome, and no secret', async () => {
    h = await startHarness()
    const created = await h.http.post(`${SCIM}/Users`).set(auth).set('x-request-id', 'req-create-1').send(ada)
    expect(created.status).toBe(201)
    const id = String(created.body.id)
    await h.http.patch(`${SCIM}/Users/${id}`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Countess' }] }).expect(200)
    const conflict = await h.http.post(`${SCIM}/Users`).set(auth).send(ada)
    expect(conflict.status).toBe(409)
    await h.http.delete(`${SCIM}/Users/${id}`).set(auth).expect(204)
    await h.http.delete(`${SCIM}/Users/005000000000000AAA`).set(auth).expect(404)

    const entries = (await h.store.queryAudit({})).reverse()
    expect(entries.map((e) => [e.operation, e.status])).toEqual([['create', 201], ['patch', 200], ['create', 409], ['delete', 204], ['delete', 404]])
    const [create, patch, dup, del] = entries
    expect(create).toMatchObject({ client: 'entra', requestId: 'req-create-1', resourceType: 'User', scimId: id, salesforceId: id, details: { userName: 'ada@audit.example' } })
    expect(create?.attributes).toEqual(['emails', 'name', 'password', 'userName'])
    expect(create?.apiCalls).toBeGreaterThan(0)
    expect(patch?.attributes).toEqual(['title'])
    expect(dup?.salesforceCode).toBe('DUPLICATE_USERNAME')
    expect(del?.salesforceId).toBe(id)
    expect(JSON.stringify(entries)).not.toContain('S3cret')
    // Found by the userName, the DELETE (which has no body) included.
    expect((await h.store.queryAudit({ subject: 'ADA@audit.example' })).length).toBe(4)
  })

  it('answers 503 when the store is unreachable, and readiness says so', async () => {
    const real = openStore(':memory:')
    let down = false
    const store = new Proxy(real, {
      get (target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown
        if (typeof v !== 'function' || prop === 'close') return v
        return async (...args: unknown[]) => {
          if (down) throw new StoreUnavailableError('PostgreSQL store unavailable: connection terminated')
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args)
        }
      },
    }) as Store
    h = await startHarness({ store })
    const created = await h.http.post(`${SCIM}/Users`).set(auth).send(ada)
    expect(created.status).toBe(201)
    down = true
    const res = await h.http.get(`${SCIM}/Users/${String(created.body.id)}`).set(auth)
    expectScimError(res, 503)
    expect(res.headers['retry-after']).toBeDefined()
    expectScimError(await h.http.delete(`${SCIM}/Users/${String(created.body.id)}`).set(auth), 503)
    expectScimError(await h.http.get(`${SCIM}/Users`).set(auth), 503)
    const ready = await h.http.get('/readyz')
    expect(ready.status).toBe(503)
    expect(ready.body.checks.store).toBe('failed')
    await real.close()
  })
})
