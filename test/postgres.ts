// A throwaway PostgreSQL for tests: TEST_STORE_URL when given (a server you run; each use gets a database of its
// own), otherwise a cluster initdb'd into a temp dir and started on a free port, unix socket in that dir, trust
// auth. PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user (Debian's package
// creates it). With no PostgreSQL to be had the tests skip and say how to run them, except in CI (CI=true).
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

export const HOW_TO_RUN = 'PostgreSQL tests skipped: no PostgreSQL found. Install it (Debian: apt-get install postgresql; ' +
  'initdb is then under /usr/lib/postgresql/*/bin) or set TEST_STORE_URL=postgres://user@host:port/db of a server you run. ' +
  'In CI (CI=true) these tests are required.'

export interface PgServer {
  /** A fresh, empty database on the server, as a postgres:// URL. */
  database (): Promise<string>
  stop (): Promise<void>
}

function findBin (): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin')
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => { resolve(port) })
    })
  })
}

let counter = 0

function onServer (adminUrl: string, stop: () => void): PgServer {
  const created: string[] = []
  return {
    async database () {
      const name = `scimforce_test_${process.pid}_${Date.now()}_${counter++}`
      const admin = new pg.Client({ connectionString: adminUrl })
      await admin.connect()
      try { await admin.query(`CREATE DATABASE ${name}`) } finally { await admin.end() }
      created.push(name)
      const u = new URL(adminUrl)
      u.pathname = `/${name}`
      return u.toString()
    },
    async stop () {
      if (process.env.TEST_STORE_URL !== undefined) {
        // A server we did not start: drop what we made, leave the rest.
        const admin = new pg.Client({ connectionString: adminUrl })
        await admin.connect().catch(() => {})
        for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {})
        await admin.end().catch(() => {})
      }
      stop()
    },
  }
}

/** A PostgreSQL server for this test file, or the reason there is none (the caller skips, or fails in CI). */
export async function startPostgres (): Promise<PgServer | { skip: string }> {
  const given = process.env.TEST_STORE_URL
  if (given !== undefined && given !== '') return onServer(given, () => {})
  const bin = findBin()
  if (bin === undefined) return { skip: HOW_TO_RUN }
  const root = userInfo().uid === 0
  // As root, every PostgreSQL command runs as `postgres`, which must own the data dir and reach the socket dir.
  const as = (cmd: string, args: string[]): string[] => root ? ['runuser', '-u', 'postgres', '--', cmd, ...args] : [cmd, ...args]
  const exec = (cmd: string, args: string[]): void => {
    const [file, ...rest] = as(join(bin, cmd), args)
    execFileSync(file as string, rest, { stdio: 'pipe', timeout: 60_000 })
  }
  const dir = mkdtempSync(join(tmpdir(), 'scimforce-pg-'))
  const data = join(dir, 'data')
  try {
    if (root) {
      chmodSync(dir, 0o755)
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
      chownSync(dir, uid, gid)
    }
    exec('initdb', ['-D', data, '--auth=trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'])
    const port = await freePort()
    // fsync off: a throwaway cluster, and the two cores this runs on are shared.
    exec('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=off -c max_connections=200`, 'start'])
    const stop = (): void => {
      try { exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']) } catch {}
      rmSync(dir, { recursive: true, force: true })
    }
    return onServer(`postgres://postgres@127.0.0.1:${port}/postgres`, stop)
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    const reason = err instanceof Error ? (err as Error & { stderr?: Buffer }).stderr?.toString().trim() ?? err.message : String(err)
    return { skip: `${HOW_TO_RUN} (starting one failed: ${reason.slice(0, 300)})` }
  }
}

/** In CI a missing PostgreSQL is a failure, elsewhere a skip with the reason printed once. */
export function requirePostgres (result: PgServer | { skip: string }): PgServer | undefined {
  if (!('skip' in result)) return result
  if (process.env.CI === 'true') throw new Error(result.skip)
  process.stderr.write(`${result.skip}\n`)
  return undefined
}
