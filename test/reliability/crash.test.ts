// Crash safety: scimforce runs as its own process (`cli.ts serve`) against an emulated org, is SIGKILLed in the
// middle of creates and deletes, and is restarted on the same SQLite store. Nothing answered 2xx is lost, the
// store opens cleanly (WAL), and after the IdP retries what went unanswered there are no duplicates.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
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
function startScimforce (): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      SF_LOGIN_URL: emulator.url,
      SF_AUTH_FLOW: 'client_credentials',
      SF_CLIENT_ID: 'scimforce-demo',
      SF_CLIENT_SECRET: 'scimforce-demo-secret',
      SF_PROFILE_ID: String(emulator.seed.profiles['Standard User']),
      SCIM_BEARER_TOKEN: BEARER,
      STORE_PATH: join(dir, 'store.db'),
    },
  })
  children.push(child)
  return child
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
