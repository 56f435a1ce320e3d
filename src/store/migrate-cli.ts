// `scimforce store migrate --from sqlite:PATH --to postgres://…`: copies every row of an embedded store into a
// PostgreSQL one (migrated first), in one transaction; rows the target already has are kept (ON CONFLICT DO NOTHING).
import Database from 'better-sqlite3'
import pg from 'pg'
import { UsageError } from '../audit-cli.js'
import { openPostgresStore } from './postgres.js'

const USAGE = 'usage: scimforce store migrate --from sqlite:PATH --to postgres://user:password@host:5432/database'

/** Source table → target insert; the SQLite columns come in this order. Booleans were 0/1, documents text. */
const COPIES: ReadonlyArray<{ table: string, select: string, insert: string }> = [
  {
    table: 'tombstones',
    select: 'SELECT id_key, id, user_name, client, deleted_at FROM tombstones',
    insert: 'INSERT INTO tombstones (id_key, id, user_name, client, deleted_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
  },
  {
    table: 'memberships',
    select: 'SELECT target_key, user_key, target_id, user_id, kind, display_name, client, created_at FROM memberships',
    insert: 'INSERT INTO memberships (target_key, user_key, target_id, user_id, kind, display_name, client, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING',
  },
  {
    table: 'managed_fields',
    select: 'SELECT user_key, field, value, set_at FROM managed_fields',
    insert: 'INSERT INTO managed_fields (user_key, field, value, set_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
  },
  {
    table: 'groups',
    select: 'SELECT group_key, group_id, created = 1, tombstoned = 1, external_id FROM groups',
    insert: 'INSERT INTO groups (group_key, group_id, created, tombstoned, external_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
  },
  {
    table: 'docs',
    select: 'SELECT ns, key, value, updated_at FROM docs',
    insert: 'INSERT INTO docs (ns, key, value, updated_at) VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT DO NOTHING',
  },
  {
    table: 'audit',
    select: 'SELECT at, client, resource_type, scim_id, salesforce_id, subject, entry FROM audit ORDER BY seq',
    // No key to conflict on: an entry already copied (a second run) is recognised by its whole content.
    insert: `INSERT INTO audit (at, client, resource_type, scim_id, salesforce_id, subject, entry) SELECT $1, $2, $3, $4, $5, $6, $7::jsonb
      WHERE NOT EXISTS (SELECT 1 FROM audit WHERE entry = $7::jsonb)`,
  },
]

/** Copies the SQLite store at `from` into the PostgreSQL database `to`; returns rows copied per table. */
export async function migrateSqliteToPostgres (from: string, to: string): Promise<Record<string, number>> {
  // Opening applies the PostgreSQL migrations, so the tables exist.
  await (await openPostgresStore(to)).close()
  const db = new Database(from, { readonly: true, fileMustExist: true })
  const client = new pg.Client({ connectionString: to })
  await client.connect()
  const copied: Record<string, number> = {}
  try {
    const tables = new Set(db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name))
    await client.query('BEGIN')
    for (const c of COPIES) {
      // An older file may lack a table added since (the audit journal): nothing to copy.
      if (!tables.has(c.table)) continue
      let n = 0
      for (const row of db.prepare(c.select).raw().iterate() as Iterable<unknown[]>) {
        await client.query(c.insert, row.map((v) => typeof v === 'number' && c.table === 'groups' ? v === 1 : v))
        n++
      }
      copied[c.table] = n
    }
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    db.close()
    await client.end()
  }
  return copied
}

export async function runStoreCommand (argv: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  if (argv[0] !== 'migrate') throw new UsageError(USAGE)
  let from: string | undefined
  let to: string | undefined
  for (let i = 1; i < argv.length; i += 2) {
    if (argv[i] === '--from') from = argv[i + 1]
    else if (argv[i] === '--to') to = argv[i + 1]
    else throw new UsageError(`unknown option ${String(argv[i])}\n${USAGE}`)
  }
  if (from === undefined || !from.startsWith('sqlite:') || to === undefined || !/^postgres(ql)?:\/\//.test(to)) throw new UsageError(USAGE)
  const copied = await migrateSqliteToPostgres(from.slice('sqlite:'.length), to)
  for (const [table, n] of Object.entries(copied)) out.write(`${table}: ${n} row(s) copied\n`)
  out.write('done: point STORE_URL at the database and restart scimforce (stop it during the copy, see README)\n')
  return 0
}
