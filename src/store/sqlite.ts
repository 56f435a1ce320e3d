// The embedded back-end of the store (types.ts): one SQLite file, for a single replica.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { AuditEntry } from './audit.js'
import { idKey, type MembershipKind, type Store, type StoredDoc } from './types.js'

export function openSqliteStore (path: string): Store {
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
    CREATE TABLE IF NOT EXISTS memberships (
      target_key TEXT NOT NULL,
      user_key TEXT NOT NULL,
      target_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      display_name TEXT NOT NULL,
      client TEXT NOT NULL,
      created_at TEXT NOT NULL,
      PRIMARY KEY (target_key, user_key)
    );
    CREATE INDEX IF NOT EXISTS memberships_by_user ON memberships (user_key);
    CREATE TABLE IF NOT EXISTS managed_fields (
      user_key TEXT NOT NULL,
      field TEXT NOT NULL,
      value TEXT,
      set_at TEXT NOT NULL,
      PRIMARY KEY (user_key, field)
    );
    CREATE TABLE IF NOT EXISTS docs (
      ns TEXT NOT NULL,
      key TEXT NOT NULL,
      value TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (ns, key)
    );
    CREATE TABLE IF NOT EXISTS groups (
      group_key TEXT PRIMARY KEY,
      group_id TEXT NOT NULL,
      created INTEGER NOT NULL DEFAULT 0,
      tombstoned INTEGER NOT NULL DEFAULT 0,
      external_id TEXT
    );
    CREATE TABLE IF NOT EXISTS audit (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL,
      client TEXT NOT NULL,
      resource_type TEXT NOT NULL,
      scim_id TEXT,
      salesforce_id TEXT,
      subject TEXT,
      entry TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
  `)
  const isStmt = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM tombstones WHERE id_key = ?')
  const addStmt = db.prepare('INSERT OR REPLACE INTO tombstones (id_key, id, user_name, client, deleted_at) VALUES (?, ?, ?, ?, ?)')
  const delStmt = db.prepare('DELETE FROM tombstones WHERE id_key = ?')
  const idsStmt = db.prepare<[], { id: string }>('SELECT id FROM tombstones ORDER BY deleted_at, id')
  const countStmt = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM tombstones')
  const probeStmt = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', ?)")

  const addMember = db.prepare(`INSERT INTO memberships (target_key, user_key, target_id, user_id, kind, display_name, client, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target_key, user_key) DO UPDATE SET kind = excluded.kind, display_name = excluded.display_name`)
  const delMember = db.prepare('DELETE FROM memberships WHERE target_key = ? AND user_key = ?')
  const delMembers = db.prepare('DELETE FROM memberships WHERE target_key = ?')
  const membersStmt = db.prepare<[string], { user_id: string }>('SELECT user_id FROM memberships WHERE target_key = ? ORDER BY user_key')
  const memberStmt = db.prepare<[string, string], { user_id: string }>('SELECT user_id FROM memberships WHERE target_key = ? AND user_key = ?')
  const memberCount = db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM memberships WHERE target_key = ?')
  const ofUser = db.prepare<[string], { target_id: string, user_id: string, kind: MembershipKind, display_name: string }>(
    'SELECT target_id, user_id, kind, display_name FROM memberships WHERE user_key = ? ORDER BY created_at, target_key')
  const getField = db.prepare<[string, string], { value: string | null }>('SELECT value FROM managed_fields WHERE user_key = ? AND field = ?')
  const setField = db.prepare('INSERT OR REPLACE INTO managed_fields (user_key, field, value, set_at) VALUES (?, ?, ?, ?)')
  const delField = db.prepare('DELETE FROM managed_fields WHERE user_key = ? AND field = ?')
  const upsertGroup = (column: 'created' | 'tombstoned') => db.prepare(
    `INSERT INTO groups (group_key, group_id, ${column}) VALUES (?, ?, ?) ON CONFLICT (group_key) DO UPDATE SET ${column} = excluded.${column}`)
  const markCreated = upsertGroup('created')
  const setTombstone = upsertGroup('tombstoned')
  const unsetTombstone = db.prepare('UPDATE groups SET tombstoned = 0 WHERE group_key = ?')
  const groupRow = db.prepare<[string], { created: number, tombstoned: number, external_id: string | null }>('SELECT created, tombstoned, external_id FROM groups WHERE group_key = ?')
  const groupTombstones = db.prepare<[], { group_id: string }>('SELECT group_id FROM groups WHERE tombstoned = 1 ORDER BY group_key')
  const setExternal = db.prepare('INSERT INTO groups (group_key, group_id, external_id) VALUES (?, ?, ?) ON CONFLICT (group_key) DO UPDATE SET external_id = excluded.external_id')
  const externals = db.prepare<[], { group_id: string, external_id: string }>('SELECT group_id, external_id FROM groups WHERE external_id IS NOT NULL ORDER BY group_key')
  const forgetGroupRow = db.prepare('UPDATE groups SET created = 0, external_id = NULL WHERE group_key = ?')

  type DocRow = { key: string, value: string, updated_at: string }
  const docGet = db.prepare<[string, string], DocRow>('SELECT key, value, updated_at FROM docs WHERE ns = ? AND key = ?')
  const docPut = db.prepare('INSERT OR REPLACE INTO docs (ns, key, value, updated_at) VALUES (?, ?, ?, ?)')
  const docInsert = db.prepare('INSERT OR IGNORE INTO docs (ns, key, value, updated_at) VALUES (?, ?, ?, ?)')
  const docDelete = db.prepare('DELETE FROM docs WHERE ns = ? AND key = ?')
  // substr, not LIKE: a prefix may hold % or _, and keys compare exactly (case-sensitive).
  const docList = db.prepare<[string, string, string, number], DocRow>(
    'SELECT key, value, updated_at FROM docs WHERE ns = ? AND substr(key, 1, length(?)) = ? ORDER BY key LIMIT ?')
  const doc = <T>(r: DocRow): StoredDoc<T> => ({ key: r.key, value: JSON.parse(r.value) as T, updatedAt: r.updated_at })

  // The entry is kept whole as JSON; the columns are what `scimforce audit` filters on.
  const auditAdd = db.prepare('INSERT INTO audit (at, client, resource_type, scim_id, salesforce_id, subject, entry) VALUES (?, ?, ?, ?, ?, ?, ?)')
  const auditPurge = db.prepare('DELETE FROM audit WHERE at < ?')

  let cache: string[] | undefined
  const sync: SyncPart = {
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
    addMemberships (rows, client) {
      const now = new Date().toISOString()
      db.transaction(() => {
        for (const r of rows) addMember.run(idKey(r.targetId), idKey(r.userId), r.targetId, r.userId, r.kind, r.displayName, client, now)
      })()
    },
    removeMemberships (targetId, userIds) {
      db.transaction(() => { for (const u of userIds) delMember.run(idKey(targetId), idKey(u)) })()
    },
    removeAllMemberships (targetId) { delMembers.run(idKey(targetId)) },
    membersOf (targetId, userIds) {
      const key = idKey(targetId)
      if (userIds === undefined) return membersStmt.all(key).map((r) => r.user_id)
      return userIds.flatMap((u) => memberStmt.all(key, idKey(u)).map((r) => r.user_id))
    },
    membershipCount: (targetId) => memberCount.get(idKey(targetId))?.n ?? 0,
    membershipsOfUser (userId, kinds) {
      const rows = ofUser.all(idKey(userId)).map((r) => ({ targetId: r.target_id, userId: r.user_id, kind: r.kind, displayName: r.display_name }))
      return kinds === undefined ? rows : rows.filter((r) => kinds.includes(r.kind))
    },
    managedField (userId, field) {
      const row = getField.get(idKey(userId), field)
      return row === undefined ? undefined : row.value
    },
    setManagedField (userId, field, value) { setField.run(idKey(userId), field, value, new Date().toISOString()) },
    clearManagedField (userId, field) { delField.run(idKey(userId), field) },
    markGroupCreated (groupId) { markCreated.run(idKey(groupId), groupId, 1) },
    isGroupCreated: (groupId) => groupRow.get(idKey(groupId))?.created === 1,
    addGroupTombstone (groupId) { setTombstone.run(idKey(groupId), groupId, 1) },
    removeGroupTombstone (groupId) { unsetTombstone.run(idKey(groupId)) },
    isGroupTombstoned: (groupId) => groupRow.get(idKey(groupId))?.tombstoned === 1,
    groupTombstoneIds: () => groupTombstones.all().map((r) => r.group_id),
    setGroupExternalId (groupId, externalId) { setExternal.run(idKey(groupId), groupId, externalId) },
    groupExternalId: (groupId) => groupRow.get(idKey(groupId))?.external_id ?? undefined,
    groupExternalIds: () => externals.all().map((r) => ({ groupId: r.group_id, externalId: r.external_id })),
    forgetGroup (groupId) {
      db.transaction(() => {
        delMembers.run(idKey(groupId))
        forgetGroupRow.run(idKey(groupId))
      })()
    },
    getDoc<T> (ns: string, key: string) {
      const row = docGet.get(ns, key)
      return row === undefined ? undefined : doc<T>(row)
    },
    putDoc (ns, key, value) { docPut.run(ns, key, JSON.stringify(value), new Date().toISOString()) },
    insertDoc: (ns, key, value) => docInsert.run(ns, key, JSON.stringify(value), new Date().toISOString()).changes > 0,
    deleteDoc: (ns, key) => docDelete.run(ns, key).changes > 0,
    listDocs<T> (ns: string, opts?: { prefix?: string, limit?: number }) {
      const prefix = opts?.prefix ?? ''
      return docList.all(ns, prefix, prefix, opts?.limit ?? -1).map((r) => doc<T>(r))
    },
    appendAudit (e) {
      auditAdd.run(e.at, e.client, e.resourceType, e.scimId ?? null, e.salesforceId ?? null, auditSubject(e), JSON.stringify(e))
    },
    queryAudit (q) {
      const where: string[] = []
      const args: Array<string | number> = []
      if (q.subject !== undefined) {
        // By id, or by name: then also every entry on the records that name was written to (a DELETE has no body).
        where.push('(scim_id = ? OR salesforce_id = ? OR subject = ? OR salesforce_id IN (SELECT salesforce_id FROM audit WHERE subject = ?))')
        args.push(q.subject, q.subject, q.subject.toLowerCase(), q.subject.toLowerCase())
      }
      if (q.resourceType !== undefined) { where.push('resource_type = ?'); args.push(q.resourceType) }
      if (q.client !== undefined) { where.push('client = ?'); args.push(q.client) }
      if (q.since !== undefined) { where.push('at >= ?'); args.push(q.since) }
      if (q.until !== undefined) { where.push('at <= ?'); args.push(q.until) }
      args.push(q.limit ?? 1000)
      const sql = `SELECT entry FROM audit ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, seq DESC LIMIT ?`
      return db.prepare<Array<string | number>, { entry: string }>(sql).all(...args).map((r) => JSON.parse(r.entry) as AuditEntry)
    },
    purgeAudit: (before) => auditPurge.run(before).changes,
    probe () { probeStmt.run(new Date().toISOString()) },
    close () { if (db.open) db.close() },
  }

  const store = asyncStore(sync) as Store
  // better-sqlite3 is synchronous, so `fn` (which only calls the store) runs from BEGIN to COMMIT without another
  // request's code in between: every await inside it resolves in the microtask queue, before any I/O callback.
  // The writes that helpers make in their own db.transaction become savepoints inside this one.
  store.transaction = async (fn) => {
    if (db.inTransaction) return await fn(store)
    db.exec('BEGIN IMMEDIATE')
    try {
      const result = await fn(store)
      db.exec('COMMIT')
      return result
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK')
      throw err
    }
  }
  store.withLock = localLocks().withLock
  return store
}

type Special = 'transaction' | 'withLock'
/** The store's operations with their results unwrapped: the SQLite calls are synchronous. */
type SyncPart = { [K in Exclude<keyof Store, Special>]: Store[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : never }

function asyncStore (sync: SyncPart): Omit<Store, Special> {
  const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {}
  for (const [name, fn] of Object.entries(sync) as Array<[string, (...args: unknown[]) => unknown]>) {
    // A thrown SQLite error becomes a rejected promise, as the PostgreSQL back-end's would.
    out[name] = async (...args) => fn(...args)
  }
  return out as unknown as Omit<Store, Special>
}

/**
 * Keyed locks for one process: each key is a promise chain, so holders run one after another in arrival order.
 * Enough for the embedded store, which only one replica may open.
 */
export function localLocks (): Pick<Store, 'withLock'> {
  const tails = new Map<string, Promise<void>>()
  return {
    async withLock (key, fn) {
      const before = tails.get(key) ?? Promise.resolve()
      let release!: () => void
      const mine = new Promise<void>((resolve) => { release = resolve })
      const tail = before.then(async () => await mine)
      tails.set(key, tail)
      await before
      try {
        return await fn()
      } finally {
        release()
        if (tails.get(key) === tail) tails.delete(key)
      }
    },
  }
}

/** The name an entry is also found by: a user's userName or a group's displayName, lower-cased. */
export function auditSubject (e: AuditEntry): string | null {
  const name = e.details?.userName ?? e.details?.displayName
  return name === undefined ? null : name.toLowerCase()
}
