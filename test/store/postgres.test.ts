// What only the PostgreSQL back-end must show: migrations that replicas starting at once apply exactly once, a
// withLock that holds across two stores (two replicas) on one database, and a lost database that fails with
// StoreUnavailableError (a 503 for the IdP), never with an answer.
import pg from 'pg'
import { describe, expect, it, vi } from 'vitest'
import { MIGRATIONS, openPostgresStore } from '../../src/store/postgres.js'
import { StoreUnavailableError } from '../../src/store/store.js'
import { pgServer } from './backends.js'

describe.skipIf(pgServer === undefined)('store on PostgreSQL', () => {
  const server = pgServer as NonNullable<typeof pgServer>

  it('applies each migration once when replicas start together, and again is a no-op', async () => {
    const url = await server.database()
    const stores = await Promise.all([1, 2, 3, 4].map(async () => await openPostgresStore(url)))
    const again = await openPostgresStore(url)
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    const rows = (await c.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows
    await c.end()
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version))
    await Promise.all([...stores, again].map(async (s) => { await s.close() }))
  })

  it('holds withLock across two stores on one database; other keys pass', async () => {
    const url = await server.database()
    const [a, b] = [await openPostgresStore(url), await openPostgresStore(url)]
    const events: string[] = []
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const first = a.withLock('userName:ada@example.com', async () => { events.push('a in'); await gate; events.push('a out') })
    await vi.waitFor(() => { expect(events).toEqual(['a in']) })
    const second = b.withLock('userName:ada@example.com', async () => { events.push('b in') })
    await b.withLock('userName:bob@example.com', async () => { events.push('other') })
    // Give b's waiter time to be wrongly let in.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(events).toEqual(['a in', 'other'])
    release()
    await Promise.all([first, second])
    expect(events).toEqual(['a in', 'other', 'a out', 'b in'])
    // A holder that throws releases the lock for the other replica.
    await expect(a.withLock('k', async () => { throw new Error('boom') })).rejects.toThrow('boom')
    await expect(b.withLock('k', async () => 'next')).resolves.toBe('next')
    await a.close()
    await b.close()
  })

  it('commits a transaction whole or not at all, bound to one connection', async () => {
    const store = await openPostgresStore(await server.database())
    await store.transaction(async (tx) => {
      await tx.addTombstone({ id: '005000000000001AAA', userName: 'a', client: 'c' })
      await tx.putDoc('ns', 'k', { v: 1 })
    })
    expect(await store.isTombstoned('005000000000001')).toBe(true)
    await expect(store.transaction(async (tx) => {
      await tx.removeTombstone('005000000000001AAA')
      expect(await tx.isTombstoned('005000000000001AAA')).toBe(false)
      throw new Error('no')
    })).rejects.toThrow('no')
    expect(await store.isTombstoned('005000000000001AAA')).toBe(true)
    await store.close()
  })

  it('fails with StoreUnavailableError when the database is gone', async () => {
    const url = await server.database()
    const store = await openPostgresStore(url, { connectTimeoutMs: 2000 })
    await store.addTombstone({ id: '005000000000001AAA', userName: 'a', client: 'c' })
    const admin = new pg.Client({ connectionString: url.replace(/\/[^/]+$/, '/postgres') })
    await admin.connect()
    await admin.query(`DROP DATABASE ${new URL(url).pathname.slice(1)} WITH (FORCE)`)
    await admin.end()
    await expect(store.isTombstoned('005000000000001AAA')).rejects.toBeInstanceOf(StoreUnavailableError)
    await expect(store.probe()).rejects.toBeInstanceOf(StoreUnavailableError)
    await expect(store.withLock('k', async () => 1)).rejects.toBeInstanceOf(StoreUnavailableError)
    await store.close()
  })

  it('refuses to open on an unreachable server with StoreUnavailableError', async () => {
    await expect(openPostgresStore('postgres://postgres@127.0.0.1:1/none', { connectTimeoutMs: 1000 })).rejects.toBeInstanceOf(StoreUnavailableError)
  })
})
