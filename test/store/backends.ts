// The store's back-ends for contract tests: every test/store/*.test.ts that uses BACKENDS runs on the embedded
// SQLite file and on PostgreSQL (test/postgres.ts: skipped with a note outside CI when no PostgreSQL can run).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach } from 'vitest'
import { openPostgresStore } from '../../src/store/postgres.js'
import { openStore, type Store } from '../../src/store/store.js'
import { requirePostgres, startPostgres } from '../postgres.js'

export interface Backend {
  name: string
  /** New, empty storage; `open` opens a store on it (again: a reopen sees what the last one wrote). */
  fresh (): Promise<{ open: () => Promise<Store> }>
}

export const pgServer = requirePostgres(await startPostgres())
afterAll(async () => { await pgServer?.stop() })

const dirs: string[] = []
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

const sqlite: Backend = {
  name: 'sqlite',
  async fresh () {
    const dir = mkdtempSync(join(tmpdir(), 'scimforce-store-'))
    dirs.push(dir)
    const path = join(dir, 'nested', 'scimforce.db')
    return { open: async () => openStore(path) }
  },
}

const postgres: Backend = {
  name: 'postgres',
  async fresh () {
    const url = await (pgServer as NonNullable<typeof pgServer>).database()
    return { open: async () => await openPostgresStore(url) }
  },
}

export const BACKENDS: Backend[] = pgServer === undefined ? [sqlite] : [sqlite, postgres]
