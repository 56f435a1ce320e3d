// The "request completed" line of a SCIM write names the Salesforce record it created or changed (salesforceId),
// so an admin can find who created or changed a user from the Id alone; reads and failures name none.
import supertest from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { loggerOptions } from '../../src/server.js'
import { LogCapture } from '../app/support.js'
import { auth, SCIM, testConfig } from '../helper.js'

let emulator: Emulator
let http: ReturnType<typeof supertest>
let close: () => Promise<void>
const log = new LogCapture()

beforeAll(async () => {
  emulator = await createEmulator()
  await emulator.listen()
  const base = testConfig(emulator)
  const config = { ...base, server: { ...base.server, logLevel: 'info' as const } }
  const app = await buildApp(config, { logger: loggerOptions(config, log), retry: { attempts: 1, baseDelayMs: 5, budgetMs: 2000 } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  http = supertest(app.server)
  close = async () => { await app.close(); await emulator.close() }
})
afterAll(async () => { await close() })

function completed (res: { headers: Record<string, string> }): Record<string, unknown> | undefined {
  return log.lines.find((l) => l.reqId === res.headers['x-request-id'] && l.msg === 'request completed')
}

describe('salesforceId in the request log', () => {
  it('names the user a POST created, and the user a PATCH or DELETE changed', async () => {
    const created = await http.post(`${SCIM}/Users`).set(auth).send({ userName: 'grace@pickup.example', name: { givenName: 'Grace', familyName: 'Hopper' } })
    expect(created.status).toBe(201)
    const id = created.body.id as string
    expect(id).toMatch(/^005/)
    expect(completed(created)).toMatchObject({ client: 'entra', salesforceId: id, res: { statusCode: 201 } })

    const patched = await http.patch(`${SCIM}/Users/${id}`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Rear Admiral' }] })
    expect(patched.status).toBe(200)
    expect(completed(patched)).toMatchObject({ salesforceId: id })

    const deleted = await http.delete(`${SCIM}/Users/${id}`).set(auth)
    expect(deleted.status).toBe(204)
    expect(completed(deleted)).toMatchObject({ salesforceId: id })
  })

  it('names none for a read, a search, or a write that failed', async () => {
    const read = await http.get(`${SCIM}/Users`).set(auth)
    expect(completed(read)?.salesforceId).toBeUndefined()
    const search = await http.post(`${SCIM}/Users/.search`).set(auth).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], count: 1 })
    expect(search.status).toBe(200)
    expect(completed(search)?.salesforceId).toBeUndefined()
    const refused = await http.post(`${SCIM}/Users`).set(auth).send({ name: { givenName: 'No' } })
    expect(refused.status).toBe(400)
    expect(completed(refused)?.salesforceId).toBeUndefined()
  })
})
