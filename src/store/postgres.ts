// The shared back-end of the store (types.ts): PostgreSQL through node-postgres, for any number of replicas.
import pg from 'pg'
import type { AuditEntry } from './audit.js'
import { auditSubject, localLocks } from './sqlite.js'
import { idKey, StoreUnavailableError, type MembershipKind, type Store, type StoredDoc } from './types.js'

/**
 * Versioned migrations, applied in order at start-up; each runs once per database (schema_migrations). Never edit
 * one that has shipped: add the next.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number, name: string, sql: string }> = [
  {
    version: 1,
    name: 'tombstones, memberships, managed fields, groups, documents, audit journal',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE tombstones (
        id_key TEXT PRIMARY KEY, id TEXT NOT NULL, user_name TEXT NOT NULL, client TEXT NOT NULL,
        deleted_at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE TABLE memberships (
        target_key TEXT NOT NULL, user_key TEXT NOT NULL, target_id TEXT NOT NULL, user_id TEXT NOT NULL,
        kind TEXT NOT NULL, display_name TEXT NOT NULL, client TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (target_key, user_key)
      );
      CREATE INDEX memberships_by_user ON memberships (user_key);
      CREATE TABLE managed_fields (
        user_key TEXT NOT NULL, field TEXT NOT NULL, value TEXT, set_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (user_key, field)
      );
      CREATE TABLE groups (
        group_key TEXT PRIMARY KEY, group_id TEXT NOT NULL, created BOOLEAN NOT NULL DEFAULT false,
        tombstoned BOOLEAN NOT NULL DEFAULT false, external_id TEXT
      );
      CREATE TABLE docs (
        ns TEXT NOT NULL, key TEXT NOT NULL, value JSONB NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (ns, key)
      );
      CREATE TABLE audit (
        seq BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, client TEXT NOT NULL, resource_type TEXT NOT NULL,
        scim_id TEXT, salesforce_id TEXT, subject TEXT, entry JSONB NOT NULL
      );
      CREATE INDEX audit_by_time ON audit (at);
      CREATE INDEX audit_by_subject ON audit (salesforce_id);
    `,
  },
]

/** Any fixed number: the advisory lock key that serialises migrations of replicas starting at once. */
const MIGRATION_LOCK = 7_263_104_911

export interface PostgresOptions {
  /** Connections for queries and transactions (default 10). */
  poolSize?: number
  /** Connections that hold withLock's advisory locks (default 20): a separate pool, see withLock. */
  lockPoolSize?: number
  /** How long a query may wait for a connection before the request fails with 503 (default 5000 ms). */
  connectTimeoutMs?: number
}

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient

/**
 * Connection-level failures (class 08, the server shutting down 57P01-03, too many connections 53300, a pool
 * timeout, a socket error, a missing database or refused login) become StoreUnavailableError; anything else is a defect and stays what it is (a 500).
 */
function wrap (err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err
  const e = err as { code?: unknown, message?: unknown }
  const code = typeof e.code === 'string' ? e.code : ''
  const message = typeof e.message === 'string' ? e.message : String(err)
  // 3D000 and class 28: the database is gone or the role may no longer log in; unreachable as far as we can tell.
  const connection = code.startsWith('08') || code.startsWith('57P') || code === '53300' || code === '3D000' || code.startsWith('28') ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH'].includes(code) ||
    /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|not queryable|Connection ended/i.test(message)
  return connection ? new StoreUnavailableError(`PostgreSQL store unavailable: ${message}`, { cause: err }) : err
}

async function run<R extends pg.QueryResultRow> (db: Queryable, sql: string, args: unknown[] = []): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>(sql, args)
  } catch (err) {
    throw wrap(err)
  }
}

/** Applies the migrations this database lacks, under an advisory lock so that replicas starting together take turns. */
export async function migrate (pool: pg.Pool): Promise<number[]> {
  const client = await pool.connect().catch((err: unknown) => { throw wrap(err) })
  const applied: number[] = []
  try {
    await run(client, 'SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    try {
      await run(client, 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())')
      const done = new Set((await run<{ version: number }>(client, 'SELECT version FROM schema_migrations')).rows.map((r) => r.version))
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue
        await run(client, 'BEGIN')
        try {
          await run(client, m.sql)
          await run(client, 'INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name])
          await run(client, 'COMMIT')
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {})
          throw err
        }
        applied.push(m.version)
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {})
    }
  } finally {
    client.release()
  }
  return applied
}

/** Opens (and migrates) the store in the database `url` names: postgres://user:password@host:port/database. */
export async function openPostgresStore (url: string, opts: PostgresOptions = {}): Promise<Store> {
  const connectionTimeoutMillis = opts.connectTimeoutMs ?? 5000
  // TCP keep-alive finds a peer that vanished without a word (a partition, a failed-over host); a query that gets
  // no answer for 15 s fails (503) rather than hold the IdP's request. Lock waits are legitimately long: no timeout.
  const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10, connectionTimeoutMillis, query_timeout: 15_000, keepAlive: true, application_name: 'scimforce' })
  const lockPool = new pg.Pool({ connectionString: url, max: opts.lockPoolSize ?? 20, connectionTimeoutMillis, keepAlive: true, application_name: 'scimforce-locks' })
  // An idle connection that the server drops emits 'error' on the pool; unhandled, it would end the process. The
  // next query opens a fresh connection (or fails with 503 while the database is away).
  pool.on('error', () => {})
  lockPool.on('error', () => {})
  try {
    await migrate(pool)
  } catch (err) {
    await Promise.allSettled([pool.end(), lockPool.end()])
    throw err
  }
  const local = localLocks()

  /**
   * withLock across replicas: a session-level advisory lock (pg_advisory_lock on the key hashed to a bigint by
   * PostgreSQL's hashtextextended), held on a connection of its own for the duration of `fn`. Rather than a lease
   * table: no expiry to tune against slow Salesforce calls, nothing to clean up, and a replica that dies (or loses
   * its connection) releases its locks at once, because the server ends the session. Two different keys may share
   * a hash: they then wait for each other, which is slower, never wrong.
   * Within a process the key is taken in-process first, so one replica's waiters queue in memory and hold at most
   * one lock connection per key; and the lock connections come from their own pool, so waiters can never take
   * the connections that the holder's `fn` needs for its queries.
   */
  async function withLock<T> (key: string, fn: () => Promise<T>): Promise<T> {
    return await local.withLock(key, async () => {
      const client = await lockPool.connect().catch((err: unknown) => { throw wrap(err) })
      let broken: unknown
      try {
        await run(client, 'SELECT pg_advisory_lock(hashtextextended($1, 0))', [key])
      } catch (err) {
        client.release(true)
        throw err
      }
      try {
        return await fn()
      } finally {
        try {
          await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key])
        } catch (err) {
          // The session is gone, and its locks with it: drop the connection rather than return it to the pool.
          broken = err
        }
        client.release(broken !== undefined ? true : undefined)
      }
    })
  }

  /** BEGIN … COMMIT on a connection of its own; ROLLBACK (or, if that fails too, the connection dropped) on error. */
  async function inNewTransaction<T> (fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect().catch((err: unknown) => { throw wrap(err) })
    try {
      await run(client, 'BEGIN')
      const result = await fn(client)
      await run(client, 'COMMIT')
      client.release()
      return result
    } catch (err) {
      const rolledBack = await client.query('ROLLBACK').then(() => true, () => false)
      client.release(rolledBack ? undefined : true)
      throw wrap(err)
    }
  }

  function build (db: Queryable, inTransaction: boolean): Store {
    const q = async <R extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<R[]> => (await run<R>(db, sql, args)).rows
    const count = async (sql: string, args: unknown[]): Promise<number> => (await run(db, sql, args)).rowCount ?? 0
    const group = async (groupId: string): Promise<{ created: boolean, tombstoned: boolean, external_id: string | null } | undefined> =>
      (await q<{ created: boolean, tombstoned: boolean, external_id: string | null }>('SELECT created, tombstoned, external_id FROM groups WHERE group_key = $1', [idKey(groupId)]))[0]
    const doc = <T>(r: { key: string, value: unknown, updated_at: Date }): StoredDoc<T> => ({ key: r.key, value: r.value as T, updatedAt: r.updated_at.toISOString() })
    // Several statements that must land together: in the surrounding transaction, or in one of their own.
    const atomically = async (fn: (tx: Queryable) => Promise<void>): Promise<void> => {
      if (inTransaction) await fn(db)
      else await inNewTransaction(fn)
    }

    const store: Store = {
      isTombstoned: async (id) => (await q('SELECT 1 FROM tombstones WHERE id_key = $1', [idKey(id)])).length > 0,
      async addTombstone (t) {
        await q(`INSERT INTO tombstones (id_key, id, user_name, client, deleted_at) VALUES ($1, $2, $3, $4, clock_timestamp())
          ON CONFLICT (id_key) DO UPDATE SET id = excluded.id, user_name = excluded.user_name, client = excluded.client, deleted_at = excluded.deleted_at`,
        [idKey(t.id), t.id, t.userName, t.client])
      },
      async removeTombstone (id) { await q('DELETE FROM tombstones WHERE id_key = $1', [idKey(id)]) },
      // No cache, unlike the embedded store's: another replica may add or remove one at any moment, and a list
      // that hid a user this replica's cache had not yet seen deleted would be a wrong answer, not a slow one.
      tombstoneIds: async () => (await q<{ id: string }>('SELECT id FROM tombstones ORDER BY deleted_at, id')).map((r) => r.id),
      tombstoneCount: async () => Number((await q<{ n: string }>('SELECT COUNT(*) AS n FROM tombstones'))[0]?.n ?? 0),
      transaction: async (fn) => inTransaction ? await fn(store) : await inNewTransaction(async (client) => await fn(build(client, true))),
      withLock,
      async addMemberships (rows, client) {
        if (rows.length === 0) return
        await atomically(async (tx) => {
          for (const r of rows) {
            await run(tx, `INSERT INTO memberships (target_key, user_key, target_id, user_id, kind, display_name, client) VALUES ($1, $2, $3, $4, $5, $6, $7)
              ON CONFLICT (target_key, user_key) DO UPDATE SET kind = excluded.kind, display_name = excluded.display_name`,
            [idKey(r.targetId), idKey(r.userId), r.targetId, r.userId, r.kind, r.displayName, client])
          }
        })
      },
      async removeMemberships (targetId, userIds) {
        if (userIds.length === 0) return
        await q('DELETE FROM memberships WHERE target_key = $1 AND user_key = ANY($2::text[])', [idKey(targetId), userIds.map(idKey)])
      },
      async removeAllMemberships (targetId) { await q('DELETE FROM memberships WHERE target_key = $1', [idKey(targetId)]) },
      async membersOf (targetId, userIds) {
        const key = idKey(targetId)
        if (userIds === undefined) return (await q<{ user_id: string }>('SELECT user_id FROM memberships WHERE target_key = $1 ORDER BY user_key', [key])).map((r) => r.user_id)
        const rows = await q<{ user_key: string, user_id: string }>('SELECT user_key, user_id FROM memberships WHERE target_key = $1 AND user_key = ANY($2::text[])', [key, userIds.map(idKey)])
        const byKey = new Map(rows.map((r) => [r.user_key, r.user_id]))
        // In the order asked, as the embedded store answers.
        return userIds.flatMap((u) => { const id = byKey.get(idKey(u)); return id === undefined ? [] : [id] })
      },
      membershipCount: async (targetId) => Number((await q<{ n: string }>('SELECT COUNT(*) AS n FROM memberships WHERE target_key = $1', [idKey(targetId)]))[0]?.n ?? 0),
      async membershipsOfUser (userId, kinds) {
        const rows = await q<{ target_id: string, user_id: string, kind: MembershipKind, display_name: string }>(
          'SELECT target_id, user_id, kind, display_name FROM memberships WHERE user_key = $1 ORDER BY created_at, target_key', [idKey(userId)])
        const all = rows.map((r) => ({ targetId: r.target_id, userId: r.user_id, kind: r.kind, displayName: r.display_name }))
        return kinds === undefined ? all : all.filter((r) => kinds.includes(r.kind))
      },
      async managedField (userId, field) {
        const row = (await q<{ value: string | null }>('SELECT value FROM managed_fields WHERE user_key = $1 AND field = $2', [idKey(userId), field]))[0]
        return row === undefined ? undefined : row.value
      },
      async setManagedField (userId, field, value) {
        await q(`INSERT INTO managed_fields (user_key, field, value, set_at) VALUES ($1, $2, $3, now())
          ON CONFLICT (user_key, field) DO UPDATE SET value = excluded.value, set_at = excluded.set_at`, [idKey(userId), field, value])
      },
      async clearManagedField (userId, field) { await q('DELETE FROM managed_fields WHERE user_key = $1 AND field = $2', [idKey(userId), field]) },
      async markGroupCreated (groupId) {
        await q('INSERT INTO groups (group_key, group_id, created) VALUES ($1, $2, true) ON CONFLICT (group_key) DO UPDATE SET created = true', [idKey(groupId), groupId])
      },
      isGroupCreated: async (groupId) => (await group(groupId))?.created === true,
      async addGroupTombstone (groupId) {
        await q('INSERT INTO groups (group_key, group_id, tombstoned) VALUES ($1, $2, true) ON CONFLICT (group_key) DO UPDATE SET tombstoned = true', [idKey(groupId), groupId])
      },
      async removeGroupTombstone (groupId) { await q('UPDATE groups SET tombstoned = false WHERE group_key = $1', [idKey(groupId)]) },
      isGroupTombstoned: async (groupId) => (await group(groupId))?.tombstoned === true,
      groupTombstoneIds: async () => (await q<{ group_id: string }>('SELECT group_id FROM groups WHERE tombstoned ORDER BY group_key')).map((r) => r.group_id),
      async setGroupExternalId (groupId, externalId) {
        await q('INSERT INTO groups (group_key, group_id, external_id) VALUES ($1, $2, $3) ON CONFLICT (group_key) DO UPDATE SET external_id = excluded.external_id', [idKey(groupId), groupId, externalId])
      },
      groupExternalId: async (groupId) => (await group(groupId))?.external_id ?? undefined,
      groupExternalIds: async () => (await q<{ group_id: string, external_id: string }>('SELECT group_id, external_id FROM groups WHERE external_id IS NOT NULL ORDER BY group_key'))
        .map((r) => ({ groupId: r.group_id, externalId: r.external_id })),
      async forgetGroup (groupId) {
        await atomically(async (tx) => {
          await run(tx, 'DELETE FROM memberships WHERE target_key = $1', [idKey(groupId)])
          await run(tx, 'UPDATE groups SET created = false, external_id = NULL WHERE group_key = $1', [idKey(groupId)])
        })
      },
      async getDoc<T> (ns: string, key: string) {
        const row = (await q<{ key: string, value: unknown, updated_at: Date }>('SELECT key, value, updated_at FROM docs WHERE ns = $1 AND key = $2', [ns, key]))[0]
        return row === undefined ? undefined : doc<T>(row)
      },
      async putDoc (ns, key, value) {
        await q(`INSERT INTO docs (ns, key, value, updated_at) VALUES ($1, $2, $3::jsonb, clock_timestamp())
          ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, [ns, key, JSON.stringify(value)])
      },
      insertDoc: async (ns, key, value) =>
        await count('INSERT INTO docs (ns, key, value, updated_at) VALUES ($1, $2, $3::jsonb, clock_timestamp()) ON CONFLICT (ns, key) DO NOTHING', [ns, key, JSON.stringify(value)]) > 0,
      deleteDoc: async (ns, key) => await count('DELETE FROM docs WHERE ns = $1 AND key = $2', [ns, key]) > 0,
      async listDocs<T> (ns: string, opts?: { prefix?: string, limit?: number }) {
        const prefix = opts?.prefix ?? ''
        // left(), not LIKE: a prefix may hold % or _; COLLATE "C" orders keys bytewise, as the embedded store does.
        const rows = await q<{ key: string, value: unknown, updated_at: Date }>(
          'SELECT key, value, updated_at FROM docs WHERE ns = $1 AND left(key, length($2)) = $2 ORDER BY key COLLATE "C" LIMIT $3',
          [ns, prefix, opts?.limit ?? null])
        return rows.map((r) => doc<T>(r))
      },
      async appendAudit (e) {
        await q('INSERT INTO audit (at, client, resource_type, scim_id, salesforce_id, subject, entry) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)',
          [e.at, e.client, e.resourceType, e.scimId ?? null, e.salesforceId ?? null, auditSubject(e), JSON.stringify(e)])
      },
      async queryAudit (qy) {
        const where: string[] = []
        const args: unknown[] = []
        const arg = (v: unknown): string => { args.push(v); return `$${args.length}` }
        if (qy.subject !== undefined) {
          // By id, or by name: then also every entry on the records that name was written to (a DELETE has no body).
          const id = arg(qy.subject)
          const name = arg(qy.subject.toLowerCase())
          where.push(`(scim_id = ${id} OR salesforce_id = ${id} OR subject = ${name} OR salesforce_id IN (SELECT salesforce_id FROM audit WHERE subject = ${name}))`)
        }
        if (qy.resourceType !== undefined) where.push(`resource_type = ${arg(qy.resourceType)}`)
        if (qy.client !== undefined) where.push(`client = ${arg(qy.client)}`)
        if (qy.since !== undefined) where.push(`at >= ${arg(qy.since)}`)
        if (qy.until !== undefined) where.push(`at <= ${arg(qy.until)}`)
        const sql = `SELECT entry FROM audit ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, seq DESC LIMIT ${arg(qy.limit ?? 1000)}`
        return (await q<{ entry: AuditEntry }>(sql, args)).map((r) => r.entry)
      },
      purgeAudit: async (before) => await count('DELETE FROM audit WHERE at < $1', [before]),
      async probe () {
        await q("INSERT INTO meta (key, value) VALUES ('probe', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [new Date().toISOString()])
      },
      async close () { await Promise.allSettled([pool.end(), lockPool.end()]) },
    }
    return store
  }

  return build(pool, false)
}
