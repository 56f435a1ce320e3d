// Graceful shutdown of the real process (`scimforce serve` as a child): on SIGTERM a request already in flight
// still completes, its store write included, then the store is closed cleanly and the process exits 0.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, expect, it } from 'vitest'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { openStore } from '../../src/store/store.js'
import { cleanEnv, listeningPort, startChild, type Child } from './support.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const BEARER = 'shutdown-test-bearer-token-5a9c'
const SF_SECRET = 'shutdown-test-sf-secret-3e7b1d'

let emulator: Emulator | undefined
let child: Child | undefined
let dir: string | undefined
afterEach(async () => {
  if (child !== undefined && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL')
  await emulator?.close()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  emulator = child = dir = undefined
})

it('finishes the in-flight request, closes the store and exits 0 on SIGTERM', async () => {
  dir = mkdtempSync(join(tmpdir(), 'scimforce-shutdown-'))
  const dbPath = join(dir, 'data', 'scimforce.db')
  emulator = await createEmulator({ clientSecret: SF_SECRET })
  // A gate in front of the emulated org: the armed request waits there until the test lets it go, so it is
  // provably in flight when SIGTERM arrives, without guessing at timings.
  let gate: { arrived: () => void, release: Promise<void> } | undefined
  emulator.app.addHook('onRequest', async (req) => {
    if (gate === undefined || !req.url.startsWith('/services/data/v')) return
    const g = gate
    gate = undefined
    g.arrived()
    await g.release
  })
  await emulator.listen()

  child = startChild(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: ROOT,
    env: cleanEnv({
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      SF_LOGIN_URL: emulator.url,
      SF_CLIENT_ID: 'scimforce-demo',
      SF_CLIENT_SECRET: SF_SECRET,
      SF_PROFILE_ID: emulator.seed.profiles['Standard User'] as string,
      SCIM_BEARER_TOKEN: BEARER,
      STORE_PATH: dbPath,
    }),
  })
  const base = `http://127.0.0.1:${await listeningPort(child)}/scim/v2`
  const headers = { Authorization: `Bearer ${BEARER}`, 'Content-Type': 'application/scim+json' }
  const created = await fetch(`${base}/Users`, { method: 'POST', headers, body: JSON.stringify({ userName: 'ada@pickup.example', name: { familyName: 'Lovelace' } }) })
  expect(created.status).toBe(201)
  const id = (await created.json() as { id: string }).id

  let arrived!: () => void
  let release!: () => void
  const atSalesforce = new Promise<void>((resolve) => { arrived = resolve })
  gate = { arrived, release: new Promise<void>((resolve) => { release = resolve }) }
  // DELETE writes a tombstone after Salesforce answers: that store write happens after SIGTERM.
  const inFlight = fetch(`${base}/Users/${id}`, { method: 'DELETE', headers: { Authorization: headers.Authorization }, signal: AbortSignal.timeout(30_000) })
  await atSalesforce
  child.proc.kill('SIGTERM')
  await child.waitForLog((l) => l.msg === 'shutting down: finishing in-flight requests', 'that it is shutting down')
  release()

  expect((await inFlight).status).toBe(204)
  expect(await child.exited).toEqual({ code: 0, signal: null })
  const lines = child.stdout()
  expect(lines).toContain('"msg":"shut down cleanly"')
  // SQLite removes the WAL file when the last connection closes cleanly; a killed process leaves it behind.
  expect(existsSync(`${dbPath}-wal`)).toBe(false)
  const store = openStore(dbPath)
  try {
    expect(await store.isTombstoned(id)).toBe(true)
  } finally {
    store.close()
  }
  // The real process's log, startup configuration included, holds no secret.
  expect(lines).toContain('"msg":"scimforce started"')
  for (const secret of [BEARER, SF_SECRET]) expect(lines).not.toContain(secret)
}, 60_000)
