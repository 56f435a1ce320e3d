// What Salesforce cannot hold for us: tombstones of SCIM-deleted users (RFC 7644 §3.6: a deleted resource is
// gone for the IdP, but Salesforce users can only be deactivated). Embedded SQLite; losing it loses no user.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'

export interface Tombstone {
  id: string
  userName: string
  client: string
  deletedAt: string
}

export interface Store {
  isTombstoned (id: string): boolean
  addTombstone (t: Omit<Tombstone, 'deletedAt'>): void
  removeTombstone (id: string): void
  /** Every tombstoned id, oldest first. */
  tombstoneIds (): string[]
  tombstoneCount (): number
  /** Proves the store can be written (readiness). */
  probe (): void
  close (): void
}

/** Salesforce ids are case-sensitive in 15 characters and carry a case checksum in 18; key on the 15. */
export function idKey (id: string): string {
  return id.slice(0, 15)
}

export function openStore (path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path)
  // WAL: a crash loses no committed write and readers never block the writer; NORMAL sync is durable in WAL
  // mode except across a power loss of the host, which costs at most the last transactions (tombstones only).
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 5000')
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS tombstones (
      id_key TEXT PRIMARY KEY,
      id TEXT NOT NULL,
      user_name TEXT NOT NULL,
      client TEXT NOT NULL,
      deleted_at TEXT NOT NULL
    );
    INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
  `)
  const isStmt = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM tombstones WHERE id_key = ?')
  const addStmt = db.prepare('INSERT OR REPLACE INTO tombstones (id_key, id, user_name, client, deleted_at) VALUES (?, ?, ?, ?, ?)')
  const delStmt = db.prepare('DELETE FROM tombstones WHERE id_key = ?')
  const idsStmt = db.prepare<[], { id: string }>('SELECT id FROM tombstones ORDER BY deleted_at, id')
  const countStmt = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM tombstones')
  const probeStmt = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', ?)")

  let cache: string[] | undefined
  return {
    isTombstoned: (id) => isStmt.get(idKey(id)) !== undefined,
    addTombstone (t) {
      addStmt.run(idKey(t.id), t.id, t.userName, t.client, new Date().toISOString())
      cache = undefined
    },
    removeTombstone (id) {
      if (delStmt.run(idKey(id)).changes > 0) cache = undefined
    },
    tombstoneIds () {
      cache ??= idsStmt.all().map((r) => r.id)
      return cache
    },
    tombstoneCount: () => countStmt.get()?.n ?? 0,
    probe () { probeStmt.run(new Date().toISOString()) },
    close () { if (db.open) db.close() },
  }
}
