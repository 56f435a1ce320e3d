// Two scimforce processes (`cli.ts serve`, each from its own folder) on one PostgreSQL (STORE_URL) and one emulated
// org behave as one: a DELETE on one makes the id 404 on the other; 20 concurrent POSTs of one userName split
// across both give exactly one Salesforce user and no 5xx; `scimforce audit --json` lists each operation with its
// client and Salesforce Id. Issue 14's acceptance, as a test. Needs PostgreSQL (test/postgres.ts).
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAudit } from '../../src/audit-cli.js'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import type { AuditEntry } from '../../src/store/store.js'
import { cleanEnv, listeningPort, serveEnv, startChild, type Child } from '../app/support.js'
import { BEARER } from '../helper.js'
import { requirePostgres, startPostgres, type PgServer } from '../postgres.js'

const REPO = new URL('../../', import.meta.url).pathname
const CLI = join(REPO, 'src', 'cli.ts')
/** tsx's loader by path: each replica runs in a folder of its own, where `--import tsx` would not resolve. */
const TSX = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href

const server = requirePostgres(await startPostgres())

describe.skipIf(server === undefined)('two replicas on one PostgreSQL', () => {
  const pgServer = server as PgServer
  let emulator: Emulator
  let storeUrl: string
  const dirs: string[] = []
  const replicas: Child[] = []
  const bases: string[] = []

  const env = (): NodeJS.ProcessEnv => serveEnv(emulator, BEARER, { PORT: '0', LOG_LEVEL: 'info', STORE_URL: storeUrl })

  beforeAll(async () => {
    emulator = await createEmulator({ licenseTotals: { Salesforce: 10_000 } })
    await emulator.listen()
    storeUrl = await pgServer.database()
    // Both start at once: their migrations take turns under the advisory lock.
    const started = ['a', 'b'].map((name) => {
      const cwd = mkdtempSync(join(tmpdir(), `scimforce-replica-${name}-`))
      dirs.push(cwd)
      // `node --import tsx`, as `npm start` runs node on the built file: one process, no wrapper in front.
      const child = startChild(process.execPath, ['--import', TSX, CLI, 'serve'], { cwd, env: env() })
      replicas.push(child)
      return child
    })
    for (const child of started) bases.push(`http://127.0.0.1:${await listeningPort(child)}/scim/v2`)
  }, 90_000)

  afterAll(async () => {
    for (const r of replicas) { r.proc.kill('SIGTERM'); await r.exited }
    await emulator?.close()
    await pgServer.stop()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  const scim = async (base: string, method: string, path: string, body?: unknown): Promise<{ status: number, body: Record<string, unknown> }> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${BEARER}`, 'content-type': 'application/scim+json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await res.text()
    return { status: res.status, body: text === '' ? {} : JSON.parse(text) as Record<string, unknown> }
  }
  const user = (userName: string): Record<string, unknown> =>
    ({ userName, name: { givenName: 'R', familyName: 'Ep' }, emails: [{ value: userName, primary: true }] })

  it('a DELETE on one replica makes the id 404 on the other', async () => {
    const [a, b] = bases as [string, string]
    const created = await scim(a, 'POST', '/Users', user('rep@pickup.example'))
    expect(created.status).toBe(201)
    const id = String(created.body.id)
    expect((await scim(b, 'GET', `/Users/${id}`)).status).toBe(200)
    expect((await scim(a, 'DELETE', `/Users/${id}`)).status).toBe(204)
    expect((await scim(b, 'GET', `/Users/${id}`)).status).toBe(404)
    // And the list on the other replica no longer shows it.
    const list = await scim(b, 'GET', `/Users?filter=${encodeURIComponent('userName eq "rep@pickup.example"')}`)
    expect(list.body.totalResults).toBe(0)
  })

  it('20 concurrent POSTs of one userName across both replicas: one Salesforce user, no 5xx', async () => {
    const userName = 'race@pickup.example'
    const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) => await scim(bases[i % 2] as string, 'POST', '/Users', user(userName))))
    const statuses = answers.map((r) => r.status)
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    // The others were told the user exists (the default onActiveConflict: 409 uniqueness).
    expect(statuses.filter((s) => s === 409)).toHaveLength(19)
    expect(emulator.org.filter('User', (r) => r.Username === userName)).toHaveLength(1)
  })

  it('10 concurrent POSTs of one group displayName across both replicas: one Salesforce group, no 5xx', async () => {
    // The create holds the `groupName:` lock of the store (ordering.ts), a PostgreSQL advisory lock shared by the
    // replicas: the creates take turns, and each one after the first finds the group the first one made and links
    // it (Group.DeveloperName is unique per type, so Salesforce itself refuses a second group of that name).
    const displayName = 'Race Team'
    const answers = await Promise.all(Array.from({ length: 10 }, async (_, i) => await scim(bases[i % 2] as string, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName, members: [] })))
    const statuses = answers.map((r) => r.status)
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    // Each POST after the first links the group scimforce made (as a POST of an existing group does): 201, same id.
    expect(statuses).toEqual(Array.from({ length: 10 }, () => 201))
    const groups = emulator.org.filter('Group', (r) => r.Type === 'Regular' && r.Name === displayName)
    expect(groups).toHaveLength(1)
    expect(new Set(answers.map((r) => r.body.id))).toEqual(new Set([groups[0]?.Id]))
    const list = await scim(bases[1] as string, 'GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${displayName}"`)}`)
    expect(list.body.totalResults).toBe(1)
  })

  it('`scimforce audit --json` lists each operation with its client and Salesforce Id', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', TSX, CLI, 'audit', '--json'], {
      cwd: REPO, env: cleanEnv({ STORE_URL: storeUrl }), timeout: 60_000,
    })
    const entries = stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditEntry)
    const rep = emulator.org.filter('User', (r) => r.Username === 'rep@pickup.example')[0]
    const repId = String(rep?.Id)
    const ofRep = entries.filter((e) => e.salesforceId === repId)
    expect(ofRep.map((e) => [e.operation, e.status, e.client])).toEqual([['create', 201, 'bearer'], ['delete', 204, 'bearer']])
    expect(ofRep[0]?.attributes).toEqual(['emails', 'name', 'userName'])
    expect(ofRep[0]?.apiCalls).toBeGreaterThan(0)
    const race = entries.filter((e) => e.details?.userName === 'race@pickup.example')
    expect(race).toHaveLength(20)
    expect(race.filter((e) => e.status === 409).every((e) => e.salesforceCode === 'DUPLICATE_USERNAME')).toBe(true)
    // Filters reach the same journal: by user, by client.
    // (in-process: the CLI's start-up was paid once above)
    let byUser = ''
    await runAudit(['--user', 'rep@pickup.example', '--client', 'bearer'], { STORE_URL: storeUrl }, { write: (s: string) => { byUser += s; return true } } as unknown as NodeJS.WritableStream)
    expect(byUser.trim().split('\n')).toHaveLength(2)
    expect(byUser).toContain(repId)
  }, 90_000)
})
