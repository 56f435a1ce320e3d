// The Users gateway against the emulated org: what each method sends (API calls counted by the emulator, the
// SOQL it logs) and that a composite result that is not a success is an error, never a record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { createSalesforceSession, type SalesforceSession } from '../../src/salesforce/connection.js'
import { SalesforceError } from '../../src/salesforce/errors.js'
import { createGateway, type CompositeSubrequest, type Gateway } from '../../src/salesforce/gateway.js'
import { eq } from '../../src/salesforce/soql.js'
import { createUserGateway, renamedUsername, type UserGateway } from '../../src/salesforce/users.js'
import { quietLog as log } from '../reliability/fakes.js'

const FIELDS = ['Id', 'Username', 'LastName', 'Title', 'IsActive']

let emulator: Emulator
let gateway: Gateway
let users: UserGateway
let integrationId: string
const scope = { integrationUserId: async () => integrationId, allowPrivileged: false }
/** The managed scope as every list query carries it (issue 11): people, not the integration user, no admins. */
const SCOPE = (): string => "(UserType IN ('Standard', 'CsnOnly')) AND (Id != '" + integrationId + "') AND (Id NOT IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSet.PermissionsModifyAllData = true OR PermissionSet.PermissionsViewAllData = true OR PermissionSet.PermissionsManageUsers = true OR PermissionSet.PermissionsCustomizeApplication = true OR PermissionSet.PermissionsAuthorApex = true))"

beforeAll(async () => {
  emulator = await createEmulator()
  await emulator.listen()
  const session = createSalesforceSession({
    loginUrl: emulator.url,
    authFlow: 'client_credentials',
    clientId: 'scimforce-demo',
    clientSecret: 'scimforce-demo-secret',
    apiVersion: '62.0',
    timeoutMs: 5000,
  }, log)
  gateway = createGateway(session, { attempts: 2, baseDelayMs: 5, budgetMs: 2000 })
  integrationId = await gateway.integrationUserId(log)
  users = createUserGateway(gateway, FIELDS, scope)
})
afterAll(async () => { await emulator.close() })

let n = 0
function newUser (lastName = 'Gateway'): Record<string, unknown> {
  const name = `gw.${Date.now().toString(36)}.${n++}@pickup.example`
  return {
    Username: name,
    LastName: lastName,
    Email: name,
    Alias: `gw${n}`,
    CommunityNickname: `gw-${name}`,
    ProfileId: emulator.seed.profiles['Standard User'],
    TimeZoneSidKey: 'America/Los_Angeles',
    LocaleSidKey: 'en_US',
    EmailEncodingKey: 'UTF-8',
    LanguageLocaleKey: 'en_US',
  }
}

/** What fn cost in Salesforce API calls, and the SOQL it sent. */
async function cost<T> (fn: () => Promise<T>): Promise<{ result: T, calls: number, composites: number, soql: string[] }> {
  const before = emulator.counters.snapshot()
  const result = await fn()
  const after = emulator.counters.snapshot()
  return {
    result,
    calls: after.apiCalls - before.apiCalls,
    composites: (after.byEndpoint.composite ?? 0) - (before.byEndpoint.composite ?? 0),
    soql: after.queries.slice(before.queries.length),
  }
}

/**
 * A real gateway (so its composite checks apply, gateway.ts checkComposite) over a transport whose every
 * `/composite` answer is `answer(subrequests)`.
 */
function over (answer: (requests: CompositeSubrequest[]) => unknown[]): Gateway {
  const request = async (req: { body?: string }): Promise<unknown> =>
    ({ compositeResponse: answer((JSON.parse(req.body ?? '{}') as { compositeRequest: CompositeSubrequest[] }).compositeRequest) })
  const session = { conn: { version: '62.0', request }, ensureAuthorized: async () => {}, reset: () => {}, tokenRequests: 0, limitInfo: () => undefined, timeoutMs: 5000 }
  return createGateway(session as unknown as SalesforceSession, { attempts: 1, baseDelayMs: 1 })
}

async function failure (p: Promise<unknown>): Promise<SalesforceError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(SalesforceError)
    return err as SalesforceError
  }
  throw new Error('expected a SalesforceError')
}

const raw = (id: string): Record<string, unknown> | undefined => emulator.org.get('User', id)

describe('writes: each with its read-back in one API call', () => {
  it('createAndRead posts the user and reads it back in one composite', async () => {
    const c = await cost(async () => await users.createAndRead(newUser(), log))
    expect(c).toMatchObject({ calls: 1, composites: 1 })
    expect(c.result.Id).toMatch(/^005/)
    expect(Object.keys(c.result)).toEqual(expect.arrayContaining(FIELDS))
    expect(raw(String(c.result.Id))?.LastName).toBe('Gateway')
  })

  it('updateAndRead patches and reads back in one call; no change is one plain read', async () => {
    const { Id } = await users.createAndRead(newUser(), log)
    const id = String(Id)
    const write = await cost(async () => await users.updateAndRead(id, { Title: 'Driver' }, log))
    expect(write).toMatchObject({ calls: 1, composites: 1, result: { Id: id, Title: 'Driver' } })
    const read = await cost(async () => await users.updateAndRead(id, {}, log))
    expect(read).toMatchObject({ calls: 1, composites: 0, result: { Id: id, Title: 'Driver' } })
  })

  it('updateAndRead of an id Salesforce does not know is NOT_FOUND, with changes or without', async () => {
    const ghost = '005000000000000AAA'
    expect(await failure(users.updateAndRead(ghost, { Title: 'x' }, log))).toMatchObject({ kind: 'notFound' })
    expect(await failure(users.updateAndRead(ghost, {}, log))).toMatchObject({ code: 'NOT_FOUND', kind: 'notFound' })
  })

  it('the guard rides in the write\'s composite: a user out of scope at that moment is NOT_FOUND, nothing written', async () => {
    const id = String((await users.createAndRead(newUser(), log)).Id)
    emulator.org.insert('PermissionSetAssignment', { AssigneeId: id, PermissionSetId: emulator.seed.permissionSets.User_Admin as string })
    const c = await cost(async () => await failure(users.updateAndRead(id, { Title: 'owned' }, log)))
    expect(c).toMatchObject({ calls: 1, composites: 1, result: { code: 'NOT_FOUND', kind: 'notFound' } })
    expect(raw(id)?.Title ?? null).toBeNull()
    const d = await cost(async () => await failure(users.deactivateAndRead(id, 'freeze', log)))
    expect(d).toMatchObject({ calls: 1, composites: 1, result: { code: 'NOT_FOUND' } })
    expect(raw(id)?.IsActive).toBe(true)
    expect(emulator.org.find('UserLogin', (r) => r.UserId === id)?.IsFrozen).toBe(false)
    expect(await failure(users.updateAndRead(integrationId, { Title: 'owned' }, log))).toMatchObject({ code: 'NOT_FOUND' })
    expect(await users.retrieve(integrationId, log)).toBeUndefined()
  })

  it('refuses an id that is not a Salesforce id before it reaches a URL', async () => {
    const c = await cost(async () => await failure(users.updateAndRead('005/../Account', { Title: 'x' }, log)))
    expect(c).toMatchObject({ calls: 0, result: { code: 'MALFORMED_ID' } })
  })

  it('a write whose every subrequest was halted is an error, not a record (and nothing is written)', async () => {
    const { Id } = await users.createAndRead(newUser(), log)
    const id = String(Id)
    // An unresolvable composite reference halts the whole request (docs/salesforce-behaviour.md#composite, #composite-references).
    const halting = over((requests) => requests.map((r) => ({ referenceId: r.referenceId, httpStatusCode: 400, httpHeaders: {}, body: [{ errorCode: 'PROCESSING_HALTED', message: 'The transaction was rolled back since another operation in the same transaction failed.' }] })))
    const err = await failure(createUserGateway(halting, FIELDS, scope).updateAndRead(id, { Title: 'x' }, log))
    expect(err.code).toBe('PROCESSING_HALTED')
    expect(raw(id)?.Title ?? null).toBeNull()
  })

  it('a value containing @{ never travels in a composite: plain sObject calls store it literally', async () => {
    const { Id } = await users.createAndRead(newUser(), log)
    const id = String(Id)
    // The guard query, the plain PATCH and the read-back: three calls, no composite, the value stored as sent.
    const c = await cost(async () => await users.updateAndRead(id, { Title: '@{update.id}', Phone: '+1 555' }, log))
    expect(c).toMatchObject({ calls: 3, composites: 0, result: { Id: id, Title: '@{update.id}' } })
    expect(raw(id)).toMatchObject({ Title: '@{update.id}', Phone: '+1 555' })
    // A create: the plain POST and its read-back.
    const made = await cost(async () => await users.createAndRead({ ...newUser('@{guard.records[0].Id}'), Phone: 'x @{newUser.id}' }, log))
    expect(made).toMatchObject({ calls: 2, composites: 0, result: { LastName: '@{guard.records[0].Id}' } })
    expect(raw(String(made.result.Id))).toMatchObject({ LastName: '@{guard.records[0].Id}', Phone: 'x @{newUser.id}' })
    // Deactivation with the freeze: the user's write plain, the freeze in a composite of its own.
    const frozen = String((await users.createAndRead(newUser(), log)).Id)
    const f = await cost(async () => await users.deactivateAndRead(frozen, 'freeze', log))
    expect(f).toMatchObject({ calls: 1, composites: 1, result: { IsActive: false } })
    expect(emulator.org.find('UserLogin', (r) => r.UserId === frozen)?.IsFrozen).toBe(true)
  })

  it('the plain path still keeps the scope: a user out of scope is NOT_FOUND and nothing is written', async () => {
    const id = String((await users.createAndRead(newUser(), log)).Id)
    emulator.org.insert('PermissionSetAssignment', { AssigneeId: id, PermissionSetId: emulator.seed.permissionSets.User_Admin as string })
    const c = await cost(async () => await failure(users.updateAndRead(id, { Title: '@{update.id}' }, log)))
    expect(c).toMatchObject({ calls: 1, composites: 0, result: { code: 'NOT_FOUND', kind: 'notFound' } })
    expect(raw(id)?.Title ?? null).toBeNull()
    expect(await failure(users.updateAndRead(integrationId, { Title: '@{x.y}' }, log))).toMatchObject({ code: 'NOT_FOUND' })
    expect(raw(integrationId)?.Title).not.toBe('@{x.y}')
  })

  it('deactivateAndRead: IsActive=false and the read-back in one call; freeze rides along in the same call', async () => {
    const plain = String((await users.createAndRead(newUser(), log)).Id)
    const c = await cost(async () => await users.deactivateAndRead(plain, 'deactivate', log))
    expect(c).toMatchObject({ calls: 1, composites: 1, result: { Id: plain, IsActive: false } })
    expect(emulator.org.find('UserLogin', (r) => r.UserId === plain)?.IsFrozen).toBe(false)

    const frozen = String((await users.createAndRead(newUser(), log)).Id)
    const f = await cost(async () => await users.deactivateAndRead(frozen, 'freeze', log))
    expect(f).toMatchObject({ calls: 1, composites: 1, result: { Id: frozen, IsActive: false } })
    expect(f.soql).toEqual([
      `SELECT Id FROM User WHERE Id = '${frozen}' AND ${SCOPE()} LIMIT 1`,
      `SELECT Id FROM UserLogin WHERE UserId = '${frozen}' LIMIT 1`,
    ])
    expect(emulator.org.find('UserLogin', (r) => r.UserId === frozen)?.IsFrozen).toBe(true)
  })

  it('deactivateAndRead in rename mode reads the Username first (two calls) and frees it', async () => {
    const rec = await users.createAndRead(newUser(), log)
    const id = String(rec.Id)
    const c = await cost(async () => await users.deactivateAndRead(id, 'rename', log))
    expect(c).toMatchObject({ calls: 2, composites: 1, result: { Id: id, IsActive: false } })
    expect(String(c.result.Username)).toMatch(new RegExp(`^deleted\\.[0-9a-z]+\\.${String(rec.Username).replace(/\./g, '\\.')}$`))
    expect(await users.findByUsername(String(rec.Username), log)).toBeUndefined()
    expect(await failure(users.deactivateAndRead('005000000000000AAA', 'rename', log))).toMatchObject({ code: 'NOT_FOUND' })
  })

  it('renamedUsername keeps the name email-shaped and within 80 characters', () => {
    expect(renamedUsername('ann@pickup.example', 36 ** 3)).toBe('deleted.1000.ann@pickup.example')
    expect(renamedUsername(`${'a'.repeat(70)}@pickup.example`)).toHaveLength(80)
  })
})

describe('reads', () => {
  it('retrieve: one call; undefined for an unknown id', async () => {
    const rec = await users.createAndRead(newUser(), log)
    const id = String(rec.Id)
    expect(await cost(async () => await users.retrieve(id, log))).toMatchObject({ calls: 1, result: { Id: id, Username: rec.Username } })
    expect(await users.retrieve('005000000000000AAA', log)).toBeUndefined()
  })

  it('findByUsername: one query on the exact Username, active or not', async () => {
    const rec = await users.createAndRead(newUser(), log)
    await users.deactivateAndRead(String(rec.Id), 'deactivate', log)
    const username = String(rec.Username)
    const c = await cost(async () => await users.findByUsername(username, log))
    expect(c).toMatchObject({ calls: 1, result: { record: { Id: rec.Id, IsActive: false }, inScope: true } })
    expect(c.soql).toEqual([
      `SELECT ${FIELDS.join(', ')} FROM User WHERE Username = '${username}' LIMIT 2`,
      `SELECT Id FROM User WHERE Username = '${username}' AND ${SCOPE()} LIMIT 2`,
    ])
    expect(await users.findByUsername(`nobody.${username}`, log)).toBeUndefined()
  })

  it('retrieveWith reads the user and other queries in one composite, every answer by referenceId', async () => {
    const rec = await users.createAndRead(newUser(), log)
    const id = String(rec.Id)
    const reads = [{ method: 'GET' as const, url: `/query?q=${encodeURIComponent(`SELECT Id FROM GroupMember WHERE UserOrGroupId = '${id}'`)}`, referenceId: 'groups' }]
    const c = await cost(async () => await users.retrieveWith(id, reads, log))
    expect(c).toMatchObject({ calls: 1, composites: 1, result: { user: { Id: id } } })
    expect(c.result.bodies.get('groups')).toMatchObject({ totalSize: 0, records: [] })
    expect(await failure(users.retrieveWith('005000000000000AAA', reads, log))).toMatchObject({ kind: 'notFound' })
  })
})

describe('lists', () => {
  const marker = `List${Date.now().toString(36)}`
  const ids: string[] = []

  beforeAll(async () => {
    for (let i = 0; i < 5; i++) ids.push(String((await users.createAndRead(newUser(marker), log)).Id))
    ids.sort()
  })

  it('listPage: the total and one page in one API call, in the managed scope', async () => {
    const where = await users.where({ filter: eq('LastName', marker) })
    const c = await cost(async () => await users.listPage({ where, orderBy: [{ field: 'Id', dir: 'ASC' }], offset: 1, limit: 2 }, log))
    expect(c).toMatchObject({ calls: 1, composites: 1 })
    expect(c.result.total).toBe(5)
    expect(c.result.records.map((r) => r.Id)).toEqual(ids.slice(1, 3))
    expect(c.soql).toEqual([
      `SELECT COUNT() FROM User WHERE ${SCOPE()} AND LastName = '${marker}'`,
      `SELECT ${FIELDS.join(', ')} FROM User WHERE ${SCOPE()} AND LastName = '${marker}' ORDER BY Id ASC LIMIT 2 OFFSET 1`,
    ])
  })

  it('listPage after an id pages by keyset, the total unchanged', async () => {
    const where = await users.where({ filter: eq('LastName', marker) })
    const page = await users.listPage({ where, orderBy: [{ field: 'Id', dir: 'ASC' }], offset: 0, afterId: ids[2] as string, limit: 10 }, log)
    expect(page).toMatchObject({ total: 5 })
    expect(page.records.map((r) => r.Id)).toEqual(ids.slice(3))
  })

  it('where hides tombstoned users while they are inactive; count is one query', async () => {
    const [inactive, active] = ids as [string, string]
    emulator.org.update('User', inactive, { IsActive: false })
    const where = await users.where({ filter: eq('LastName', marker), hideInactive: [inactive, active] })
    const c = await cost(async () => await users.count(where, log))
    expect(c).toMatchObject({ calls: 1, result: 4 })
    emulator.org.update('User', inactive, { IsActive: true })
  })

  it('scanIds walks every matching id in order; readByIds returns records in the order asked', async () => {
    const where = await users.where({ filter: eq('LastName', marker) })
    const seen: string[] = []
    for await (const r of users.scanIds(where, [{ field: 'Id', dir: 'DESC' }], log)) seen.push(r.id)
    expect(seen).toEqual([...ids].reverse())
    const wanted = [ids[3], ids[0]] as string[]
    const c = await cost(async () => await users.readByIds(wanted, log))
    expect(c).toMatchObject({ calls: 1 })
    expect(c.result.map((r) => r.Id)).toEqual(wanted)
    expect(await cost(async () => await users.readByIds([], log))).toMatchObject({ calls: 0, result: [] })
  })
})

describe('composite results are checked', () => {
  /** A gateway whose composite answers 200 with a read-back that has no Id. */
  function answering (body: unknown): Gateway {
    return over((requests) => requests.map((r) => ({ referenceId: r.referenceId, httpStatusCode: r.method === 'GET' ? 200 : 204, httpHeaders: {}, body: r.method === 'GET' ? body : null })))
  }

  it('a read-back without an Id is an error of unknown outcome, never a record', async () => {
    const broken = createUserGateway(answering({ attributes: { type: 'User' } }), FIELDS, scope)
    expect(await failure(broken.updateAndRead('005000000000000AAA', { Title: 'x' }, log))).toMatchObject({ code: 'MISSING_READ_BACK', kind: 'unknownOutcome' })
    expect(await failure(broken.createAndRead(newUser(), log))).toMatchObject({ code: 'MISSING_READ_BACK' })
    expect(await failure(broken.deactivateAndRead('005000000000000AAA', 'deactivate', log))).toMatchObject({ code: 'MISSING_READ_BACK' })
  })
})
