// Salesforce API calls per SCIM operation, counted by the emulated org: one request at a time against a fresh org
// and fresh scimforce processes (one per delete mode), for the user operations (PATCH's fast and slow paths, DELETE
// in each delete mode, rehire, a filter past 600 tombstones), the group operations, and a run across session
// expiries (token requests counted). Part of `npm run bench` (run.ts); figures, not tests.
import type { CounterDelta, EmulatorInfo } from './emulator-process.js'
import { fresh, HEADERS, limited, PATCH_OP, scimUser, TOKEN } from './common.js'
import { startChild, type ChildHandle } from './ipc.js'
import type { ScimforceInfo } from './scimforce-process.js'
import { fmt } from './stats.js'

type DeleteMode = 'deactivate' | 'freeze' | 'rename'

export interface CallRow { operation: string, status: number, api: number, tokens: number }
export interface ExpiryRun { ops: number, clients: number, expiries: number, failed: number, api: number, tokens: number, unauthorized: number }
export interface CallsResult { rows: CallRow[], expiry: ExpiryRun, tombstones: number }

interface Answer { status: number, body: Record<string, unknown> }

const PHONE = '+1 555 0100'

async function send (base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${base}/scim/v2${path}`, { method, headers: HEADERS, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
  const text = await res.text()
  return { status: res.status, body: text === '' ? {} : JSON.parse(text) as Record<string, unknown> }
}

const patch = (...ops: unknown[]): Record<string, unknown> => ({ schemas: [PATCH_OP], Operations: ops })
const eq = (attr: string, value: string): string => `?filter=${encodeURIComponent(`${attr} eq "${value}"`)}`

/**
 * `tombstones`: users created and deleted through SCIM before the filter that is measured past them (more than
 * 600, where the inline exclusions would pass Salesforce's URI limit: docs/salesforce-behaviour.md#uri-limit); `expiries` session expiries in the
 * last run, `opsPerExpiry` operations after each, from `clients` concurrent clients.
 */
export async function callsPerOperation (opts: { tombstones: number, expiries: number, opsPerExpiry: number, clients: number }): Promise<CallsResult> {
  const emulator = await startChild<EmulatorInfo>('emulator-process', { latencyMs: 0 })
  const targets: Partial<Record<DeleteMode, ChildHandle<ScimforceInfo>>> = {}
  try {
    for (const deleteMode of ['deactivate', 'freeze', 'rename'] as const) {
      targets[deleteMode] = await startChild<ScimforceInfo>('scimforce-process', { salesforceUrl: emulator.info.url, profileId: emulator.info.profileId, token: TOKEN, deleteMode })
    }
    const url = (mode: DeleteMode): string => (targets[mode] as ChildHandle<ScimforceInfo>).info.url
    const d = url('deactivate')
    // Each process's first request fetches its token: not part of any operation below.
    for (const mode of ['deactivate', 'freeze', 'rename'] as const) await send(url(mode), 'GET', '/Users?count=1')

    const rows: CallRow[] = []
    const counters = async (): Promise<CounterDelta> => await emulator.call<CounterDelta>('counters')
    async function count (operation: string, base: string, method: string, path: string, body?: unknown): Promise<Answer> {
      const before = await counters()
      const a = await send(base, method, path, body)
      const after = await counters()
      rows.push({ operation, status: a.status, api: after.apiCalls - before.apiCalls, tokens: after.tokenRequests - before.tokenRequests })
      return a
    }
    const idOf = (a: Answer): string => {
      if (typeof a.body.id !== 'string') throw new Error(`calls: expected a resource, got ${a.status} ${JSON.stringify(a.body)}`)
      return a.body.id
    }

    // Users.
    const local = fresh()
    const userName = `${local}@load.example`
    const withPhone = { ...scimUser(local, 'Driver'), phoneNumbers: [{ value: PHONE, type: 'work' }] }
    const id = idOf(await count('User POST', d, 'POST', '/Users', withPhone))
    await count('User GET by id', d, 'GET', `/Users/${id}`)
    await count('User filter `userName eq`', d, 'GET', `/Users${eq('userName', userName)}`)
    await count('User list, count=100', d, 'GET', '/Users?startIndex=1&count=100')
    await count('User PATCH, fast path (replace title)', d, 'PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'title', value: 'Fleet Lead' }))
    await count(`User PATCH, slow path (\`phoneNumbers[value eq "${PHONE}"].value\`: reads the user first)`, d, 'PATCH', `/Users/${id}`,
      patch({ op: 'replace', path: `phoneNumbers[value eq "${PHONE}"].value`, value: '+1 555 0199' }))
    await count('User PUT', d, 'PUT', `/Users/${id}`, scimUser(local, 'Dispatcher'))
    await count('User DELETE, deleteMode deactivate', d, 'DELETE', `/Users/${id}`)
    await count('User POST of a deleted user\'s userName (rehire)', d, 'POST', '/Users', scimUser(local, 'Driver'))
    for (const mode of ['freeze', 'rename'] as const) {
      const other = idOf(await send(url(mode), 'POST', '/Users', scimUser(fresh(), 'Driver')))
      await count(`User DELETE, deleteMode ${mode}`, url(mode), 'DELETE', `/Users/${other}`)
    }

    // Groups (public groups, the default target).
    const member = idOf(await send(d, 'POST', '/Users', scimUser(fresh(), 'Driver')))
    const second = idOf(await send(d, 'POST', '/Users', scimUser(fresh(), 'Driver')))
    const name = `bench-${fresh()}`
    const gid = idOf(await count('Group POST', d, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: name }))
    await count('Group POST with 2 members', d, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `${name}-m`, members: [{ value: member }, { value: second }] })
    await count('Group GET by id', d, 'GET', `/Groups/${gid}`)
    await count('Group filter `displayName eq`', d, 'GET', `/Groups${eq('displayName', name)}`)
    await count('Group PATCH rename (replace displayName)', d, 'PATCH', `/Groups/${gid}`, patch({ op: 'replace', path: 'displayName', value: `${name}-renamed` }))
    await count('Group PATCH member add', d, 'PATCH', `/Groups/${gid}`, patch({ op: 'add', path: 'members', value: [{ value: member }] }))
    await count('Group PATCH member remove', d, 'PATCH', `/Groups/${gid}`, patch({ op: 'remove', path: `members[value eq "${member}"]` }))
    await count('Group DELETE', d, 'DELETE', `/Groups/${gid}`)

    // Past the tombstones: the filter and the list can no longer exclude them inline.
    const doomed = Array.from({ length: opts.tombstones }, () => fresh())
    const ids: string[] = []
    await limited(doomed, 16, async (l) => { ids.push(idOf(await send(d, 'POST', '/Users', scimUser(l, 'Driver')))) })
    await limited([...ids], 16, async (x) => { await send(d, 'DELETE', `/Users/${x}`) })
    // At least: the deactivating DELETE above may have left one more (unless the rehire cleared it).
    const tombstones = opts.tombstones
    const kept = fresh()
    await send(d, 'POST', '/Users', scimUser(kept, 'Driver'))
    await count(`User filter \`userName eq\`, ≥ ${tombstones} tombstones`, d, 'GET', `/Users${eq('userName', `${kept}@load.example`)}`)
    await count(`User list, count=100, ≥ ${tombstones} tombstones`, d, 'GET', '/Users?startIndex=1&count=100')

    const expiry = await acrossExpiries(emulator, d, opts)
    return { rows, expiry, tombstones }
  } finally {
    await Promise.all(Object.values(targets).map(async (t) => { await t.stop() }))
    await emulator.stop()
  }
}

/** A mixed run (GET, filter, PATCH, PUT) from concurrent clients while the org ends every session now and then. */
async function acrossExpiries (emulator: ChildHandle<EmulatorInfo>, base: string, opts: { expiries: number, opsPerExpiry: number, clients: number }): Promise<ExpiryRun> {
  const pool = await Promise.all(Array.from({ length: opts.clients }, async () => {
    const local = fresh()
    const a = await send(base, 'POST', '/Users', scimUser(local, 'Driver'))
    return { id: String(a.body.id), local }
  }))
  const before = await emulator.call<CounterDelta>('counters')
  let failed = 0
  let n = 0
  for (let e = 0; e < opts.expiries; e++) {
    await emulator.call('expireSessions')
    await limited(Array.from({ length: opts.opsPerExpiry }, (_, i) => i), opts.clients, async () => {
      const i = n++
      const u = pool[i % pool.length] as { id: string, local: string }
      const a = [
        async () => await send(base, 'GET', `/Users/${u.id}`),
        async () => await send(base, 'GET', `/Users${eq('userName', `${u.local}@load.example`)}`),
        async () => await send(base, 'PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: 'title', value: `Title ${i % 5}` })),
        async () => await send(base, 'PUT', `/Users/${u.id}`, scimUser(u.local, `Title ${i % 3}`)),
      ][i % 4] as () => Promise<Answer>
      if ((await a()).status >= 300) failed++
    })
  }
  const after = await emulator.call<CounterDelta>('counters')
  return {
    ops: n,
    clients: opts.clients,
    expiries: opts.expiries,
    failed,
    api: after.apiCalls - before.apiCalls,
    tokens: after.tokenRequests - before.tokenRequests,
    unauthorized: (after.byStatus['401'] ?? 0) - (before.byStatus['401'] ?? 0),
  }
}

export function callsTable (r: CallsResult): string[] {
  const e = r.expiry
  return [
    'One SCIM request at a time (c=1, +0 ms), against a fresh emulated org and fresh scimforce processes, one per',
    '`users.deleteMode`; API calls and token requests as the emulated org counted them for that one request. The',
    'user of each row was made by the rows above it (the rehire POSTs the userName the deactivating DELETE left).',
    '',
    '| SCIM operation | answer | API calls | token requests |',
    '| --- | ---: | ---: | ---: |',
    ...r.rows.map((x) => `| ${x.operation} | ${x.status} | ${x.api} | ${x.tokens} |`),
    '',
    `Across session expiries: ${e.ops} SCIM operations (GET by id, filter, PATCH, PUT in turn) from ${e.clients} concurrent clients, ` +
      `the org ending every session ${e.expiries} times (before each ${e.ops / Math.max(1, e.expiries)} operations): ${e.tokens} token requests ` +
      `(${fmt(e.tokens / Math.max(1, e.expiries), 2)} per expiry), ${e.unauthorized} calls answered 401 INVALID_SESSION_ID and replayed, ` +
      `${e.api} API calls (${fmt(e.api / Math.max(1, e.ops), 2)} per operation; the emulated org counts a call only past its session check, so the 401s are not among them), ${e.failed} failed.`,
  ]
}
