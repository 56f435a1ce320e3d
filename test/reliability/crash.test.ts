// Crash safety: scimforce runs as its own process (`cli.ts serve`) against an emulated org, is SIGKILLed in the
// middle of creates and deletes, and is restarted on the same SQLite store. Nothing answered 2xx is lost, the
// store opens cleanly (WAL), and after the IdP retries what went unanswered there are no duplicates. Then it is
// killed at chosen points (issue 16): after Salesforce committed a write and before scimforce wrote its store,
// for user POST, PATCH, PUT and DELETE and group POST, PATCH and DELETE, and the IdP's plain retries repair each.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { serveEnv } from '../app/support.js'
import { BEARER } from '../helper.js'

const REPO = new URL('../../', import.meta.url).pathname
/** Operations answered before the kill; the kill then lands with requests of every worker in flight. */
const KILL_AFTER = 120
const WORKERS = 6

let emulator: Emulator
let dir: string
let port: number
const children: ChildProcess[] = []

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port
      srv.close(() => { resolve(p) })
    })
  })
}

/**
 * `node --import tsx src/cli.ts serve`, not `npx tsx …`: npx and the tsx CLI each put a parent process in front
 * of the server, and a SIGKILL cannot be relayed, so it would kill the wrapper and leave scimforce running.
 */
/** `oneCallPerWrite`: coalescing off (users.coalesceWrites), so concurrent writes each reach Salesforce at once. */
function startScimforce (oneCallPerWrite = false): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: serveEnv(emulator, BEARER, {
      PORT: String(port),
      LOG_LEVEL: 'warn',
      STORE_PATH: join(dir, 'store.db'),
      ...(oneCallPerWrite ? { SCIMFORCE_CONFIG: oneCallConfig() } : {}),
    }),
  })
  children.push(child)
  return child
}

function oneCallConfig (): string {
  const path = join(dir, 'one-call.yaml')
  writeFileSync(path, 'users:\n  coalesceWrites: false\n')
  return path
}

const base = (): string => `http://127.0.0.1:${port}/scim/v2/Users`
const headers = { Authorization: `Bearer ${BEARER}`, 'Content-Type': 'application/scim+json' }

async function waitReady (child: ChildProcess): Promise<void> {
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const until = Date.now() + 30_000
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`scimforce exited with ${child.exitCode}: ${stderr}`)
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) })
      if (res.ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`scimforce did not start: ${stderr}`)
}

async function exited (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise((resolve) => child.once('exit', resolve))
}

/** Status 0: no answer (the process died with the request in flight). */
async function send (method: string, url: string, body?: unknown): Promise<{ status: number, body: Record<string, unknown> | undefined }> {
  try {
    const res = await fetch(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(15_000) })
    const text = await res.text()
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) as Record<string, unknown> }
  } catch {
    return { status: 0, body: undefined }
  }
}

beforeAll(async () => {
  emulator = await createEmulator({ licenseTotals: { Salesforce: 10_000 } })
  await emulator.listen()
  // A little latency, so that requests are still in Salesforce's hands when the process dies.
  emulator.faults.set({ latencyMs: 15 })
  dir = mkdtempSync(join(tmpdir(), 'scimforce-crash-'))
  port = await freePort()
})

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  await Promise.all(children.map(exited))
  await emulator.close()
  rmSync(dir, { recursive: true, force: true })
})

interface Life {
  userName: string
  id?: string
  /** What scimforce answered to the POST and to the DELETE (0: no answer). */
  created?: number
  deleted?: number
  wantDelete: boolean
}

describe('crash safety', () => {
  it('loses nothing answered 2xx across a SIGKILL, reopens its store, and the IdP\'s retries leave no duplicates', async () => {
    const first = startScimforce()
    await waitReady(first)

    const lives: Life[] = []
    let answered = 0
    let killed = false
    let next = 0
    async function worker (): Promise<void> {
      while (!killed) {
        const n = next++
        const life: Life = { userName: `crash${n}@pickup.example`, wantDelete: n % 2 === 0 }
        lives.push(life)
        const c = await send('POST', base(), { userName: life.userName, name: { givenName: 'Crash', familyName: `Test${n}` } })
        life.created = c.status
        if (c.status === 201) life.id = c.body?.id as string
        if (c.status !== 0 && ++answered === KILL_AFTER) kill()
        if (c.status !== 201 || !life.wantDelete || killed) continue
        const d = await send('DELETE', `${base()}/${life.id ?? ''}`)
        life.deleted = d.status
        if (d.status !== 0 && ++answered === KILL_AFTER) kill()
      }
    }
    function kill (): void {
      killed = true
      first.kill('SIGKILL')
    }
    await Promise.all(Array.from({ length: WORKERS }, worker))
    await exited(first)
    expect(first.signalCode).toBe('SIGKILL')

    // Everything answered before the kill was a clean 201 or 204; some requests died with the process.
    const answers = lives.flatMap((l) => [l.created, l.deleted]).filter((s): s is number => s !== undefined)
    expect(answers.filter((s) => s !== 0 && s !== 201 && s !== 204)).toEqual([])
    expect(answers.filter((s) => s === 0).length).toBeGreaterThan(0)
    expect(lives.filter((l) => l.deleted === 204).length).toBeGreaterThan(0)
    // The tombstones written before the kill sit in the write-ahead log that the killed process left behind.
    expect(existsSync(join(dir, 'store.db-wal'))).toBe(true)

    const second = startScimforce()
    await waitReady(second)

    // Every 2xx answer holds after the restart: created users are readable, deleted ones stay 404.
    for (const l of lives) {
      if (l.created !== 201) continue
      const res = await send('GET', `${base()}/${l.id ?? ''}`)
      expect(res.status, `${l.userName} after restart`).toBe(l.deleted === 204 ? 404 : 200)
    }

    // The IdP retries what went unanswered, as Entra does: match by userName, create only if nothing matches.
    const lost = { creates: 0, createsThatLanded: 0, deletes: 0, deletesThatLanded: 0 }
    for (const l of lives) {
      if (l.created === 0) {
        const found = await send('GET', `${base()}?filter=${encodeURIComponent(`userName eq "${l.userName}"`)}`)
        expect(found.status).toBe(200)
        const resources = (found.body?.Resources as Array<{ id: string }> | undefined) ?? []
        expect(resources.length).toBeLessThanOrEqual(1)
        lost.creates++
        if (resources.length === 1) {
          lost.createsThatLanded++
          l.id = resources[0]?.id
        } else {
          const again = await send('POST', base(), { userName: l.userName, name: { givenName: 'Crash', familyName: 'Retry' } })
          expect(again.status, JSON.stringify(again.body)).toBe(201)
          l.id = again.body?.id as string
        }
        l.created = 201
      }
      if (l.wantDelete && l.deleted !== 204) {
        const again = await send('DELETE', `${base()}/${l.id ?? ''}`)
        // 404: the first DELETE had finished (tombstone written) when the process died, unanswered.
        expect([204, 404]).toContain(again.status)
        if (l.deleted === 0) lost.deletes++
        if (again.status === 404) lost.deletesThatLanded++
        l.deleted = 204
      }
    }

    console.log(`crash run: ${lives.length} users, killed after ${KILL_AFTER} answers; unanswered: ${lost.creates} creates ` +
      `(${lost.createsThatLanded} had reached Salesforce), ${lost.deletes} deletes (${lost.deletesThatLanded} had finished)`)
    for (const l of lives) {
      const users = emulator.org.filter('User', (r) => r.Username === l.userName)
      expect(users, `${l.userName} in Salesforce`).toHaveLength(1)
      expect(users[0]?.Id).toBe(l.id)
      expect(users[0]?.IsActive).toBe(!l.wantDelete)
      const res = await send('GET', `${base()}/${l.id ?? ''}`)
      expect(res.status).toBe(l.wantDelete ? 404 : 200)
    }

    // A graceful stop closes the store; it is intact, in WAL mode, and holds every tombstone.
    second.kill('SIGTERM')
    await exited(second)
    const db = new Database(join(dir, 'store.db'), { readonly: true })
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(db.prepare('SELECT COUNT(*) AS n FROM tombstones').get()).toEqual({ n: lives.filter((l) => l.wantDelete).length })
    } finally {
      db.close()
    }
  }, 120_000)
})

/** Polls until `test` holds, at most `ms`. */
async function until (test: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (test()) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return test()
}

/** The store as the killed process left it (read-only; WAL included). */
function storeRows<T> (sql: string, ...params: unknown[]): T[] {
  const db = new Database(join(dir, 'store.db'), { readonly: true })
  try {
    return db.prepare(sql).all(...params) as T[]
  } finally {
    db.close()
  }
}

describe('crash at chosen points', () => {
  it('kills between Salesforce\'s commit and the store write, for users and groups, and the IdP\'s plain retries leave Salesforce and the store in agreement', async () => {
    const scimBase = (): string => `http://127.0.0.1:${port}/scim/v2`
    const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
    const org = emulator.org
    // Coalescing off: a write queued behind another's call (held 3 s after its commit below) would commit only after
    // the others were answered, and the kill must come when all seven committed and none was answered.
    let proc = startScimforce(true)
    await waitReady(proc)

    const user = (u: string, givenName = 'Kill'): Record<string, unknown> => ({ userName: u, name: { givenName, familyName: 'Point' }, emails: [{ value: u, primary: true }] })
    const byName = (u: string): Array<Record<string, unknown>> => org.filter('User', (r) => r.Username === u)
    const groupsNamed = (name: string): Array<Record<string, unknown>> => org.filter('Group', (r) => r.Name === name)
    const idOf = async (method: string, path: string, body: unknown): Promise<string> => {
      const res = await send(method, `${scimBase()}${path}`, body)
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      return String(res.body?.id)
    }
    // What the writes act on, made beforehand.
    const patched = await idOf('POST', '/Users', user('kp.patch@pickup.example'))
    const replaced = await idOf('POST', '/Users', user('kp.put@pickup.example'))
    const deleted = await idOf('POST', '/Users', user('kp.delete@pickup.example'))
    const member = await idOf('POST', '/Users', user('kp.member@pickup.example'))
    const grown = await idOf('POST', '/Groups', { displayName: 'kp-grown' })
    const dropped = await idOf('POST', '/Groups', { displayName: 'kp-dropped' })
    const rows = (gid: string): unknown[] => org.filter('GroupMember', (r) => r.GroupId === gid)
    const title = async (value: string): Promise<{ status: number }> =>
      await send('PATCH', `${scimBase()}/Users/${patched}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value }] })
    const membership = async (op: 'add' | 'remove'): Promise<{ status: number }> =>
      await send('PATCH', `${scimBase()}/Groups/${grown}`, { schemas: [PATCH], Operations: [op === 'add' ? { op, path: 'members', value: [{ value: member }] } : { op, path: `members[value eq "${member}"]` }] })

    // Seven writes at once while Salesforce holds every answer back for 3 s after committing
    // (latencyAfterCommitMs); scimforce is killed as soon as all seven are visible in the org: after the commits,
    // before anything scimforce writes on an answer. The window was hit when each change is in Salesforce and
    // its request got no answer.
    const windows: Record<string, () => boolean> = {
      'user POST': () => byName('kp.post@pickup.example').length === 1,
      'user PATCH': () => org.get('User', patched)?.Title === 'Killed',
      'user PUT': () => org.get('User', replaced)?.FirstName === 'Killed',
      'user DELETE': () => org.get('User', deleted)?.IsActive === false,
      'group POST': () => groupsNamed('kp-created').length === 1,
      'group PATCH': () => rows(grown).length === 1,
      'group DELETE': () => groupsNamed('kp-dropped').length === 0,
    }
    emulator.faults.set({ latencyAfterCommitMs: 3_000 })
    const answers = await Promise.all([
      send('POST', `${scimBase()}/Users`, user('kp.post@pickup.example')),
      title('Killed'),
      send('PUT', `${scimBase()}/Users/${replaced}`, user('kp.put@pickup.example', 'Killed')),
      send('DELETE', `${scimBase()}/Users/${deleted}`),
      send('POST', `${scimBase()}/Groups`, { displayName: 'kp-created' }),
      membership('add'),
      send('DELETE', `${scimBase()}/Groups/${dropped}`),
      (async () => {
        const hit = await until(() => Object.values(windows).every((w) => w()), 8_000)
        proc.kill('SIGKILL')
        await exited(proc)
        return { status: hit ? -1 : -2, body: undefined }
      })(),
    ])
    emulator.faults.set({ latencyAfterCommitMs: 0 })
    expect(answers.at(-1)?.status, `every write committed before the kill: ${JSON.stringify(Object.entries(windows).map(([k, w]) => [k, w()]))}`).toBe(-1)
    expect(answers.slice(0, -1).map((a) => a.status), 'no write was answered').toEqual([0, 0, 0, 0, 0, 0, 0])
    // Before the store write: no tombstone for the deactivated user, no created mark for the new group, an intent
    // without an id for the new user.
    expect(storeRows('SELECT id FROM tombstones WHERE id = ?', deleted)).toEqual([])
    const createdGroup = String(groupsNamed('kp-created')[0]?.Id)
    expect(storeRows('SELECT group_id FROM groups WHERE group_key = ? AND created = 1', createdGroup.slice(0, 15))).toEqual([])
    expect(storeRows<{ value: string }>("SELECT value FROM docs WHERE ns = 'create-intent' AND key LIKE 'kp.post@%'").map((r) => JSON.parse(r.value).id)).toEqual([undefined])

    proc = startScimforce()
    await waitReady(proc)
    // The IdP's retries, plain (no look-up first), then its next changes.
    const reposted = await send('POST', `${scimBase()}/Users`, user('kp.post@pickup.example'))
    expect([reposted.status, reposted.body?.id]).toEqual([201, byName('kp.post@pickup.example')[0]?.Id])
    expect(byName('kp.post@pickup.example')).toHaveLength(1)
    expect((await title('After')).status).toBe(200)
    expect(org.get('User', patched)?.Title).toBe('After')
    const again = await send('PUT', `${scimBase()}/Users/${replaced}`, user('kp.put@pickup.example', 'Again'))
    expect([again.status, org.get('User', replaced)?.FirstName]).toEqual([200, 'Again'])
    expect([204, 404]).toContain((await send('DELETE', `${scimBase()}/Users/${deleted}`)).status)
    expect((await send('GET', `${scimBase()}/Users/${deleted}`)).status).toBe(404)
    const regroup = await send('POST', `${scimBase()}/Groups`, { displayName: 'kp-created' })
    expect([regroup.status, regroup.body?.id]).toEqual([201, createdGroup])
    expect((await send('DELETE', `${scimBase()}/Groups/${createdGroup}`)).status).toBe(204)
    expect(groupsNamed('kp-created')).toHaveLength(0)
    // The member's mark was written before the call: the row the killed PATCH added is scimforce's to remove.
    expect((await membership('add')).status).toBeLessThan(300)
    expect((await membership('remove')).status).toBeLessThan(300)
    expect(rows(grown)).toHaveLength(0)
    expect([204, 404]).toContain((await send('DELETE', `${scimBase()}/Groups/${dropped}`)).status)
    expect((await send('GET', `${scimBase()}/Groups/${dropped}`)).status).toBe(404)
    expect(groupsNamed('kp-dropped')).toHaveLength(0)

    proc.kill('SIGTERM')
    await exited(proc)
  }, 120_000)
})
