// `scimforce store migrate`: every row of a SQLite store lands in PostgreSQL, and scimforce sees it there.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { migrateSqliteToPostgres } from '../../src/store/migrate-cli.js'
import { openPostgresStore } from '../../src/store/postgres.js'
import { openStore } from '../../src/store/store.js'
import { pgServer } from './backends.js'

const G = '00GHu00000000GKMAY'
const U = '005Hu00000000GAIAY'

describe.skipIf(pgServer === undefined)('store migrate (SQLite → PostgreSQL)', () => {
  it('copies tombstones, memberships, fields, groups, documents and the journal; a second run adds nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scimforce-migrate-'))
    try {
      const path = join(dir, 'scimforce.db')
      const src = openStore(path)
      await src.addTombstone({ id: '005000000000001AAA', userName: 'gone@example.com', client: 'entra' })
      await src.addMemberships([{ targetId: G, userId: U, kind: 'group', displayName: 'Sales' }], 'entra')
      await src.setManagedField(U, 'ProfileId', null)
      await src.markGroupCreated(G)
      await src.setGroupExternalId(G, 'ext-1')
      await src.putDoc('ext', 'entra|x', { id: U })
      await src.appendAudit({ at: '2026-01-01T00:00:00.000Z', client: 'entra', requestId: 'r', operation: 'create', resourceType: 'User', scimId: U, salesforceId: U, attributes: ['userName'], status: 201, apiCalls: 1 })
      await src.close()

      const url = await (pgServer as NonNullable<typeof pgServer>).database()
      const copied = await migrateSqliteToPostgres(path, url)
      expect(copied).toEqual({ tombstones: 1, memberships: 1, managed_fields: 1, groups: 1, docs: 1, audit: 1 })
      const dst = await openPostgresStore(url)
      expect(await dst.tombstoneIds()).toEqual(['005000000000001AAA'])
      expect(await dst.membersOf(G)).toEqual([U])
      expect(await dst.managedField(U, 'ProfileId')).toBeNull()
      expect(await dst.isGroupCreated(G)).toBe(true)
      expect(await dst.groupExternalId(G)).toBe('ext-1')
      expect((await dst.getDoc('ext', 'entra|x'))?.value).toEqual({ id: U })
      expect((await dst.queryAudit({})).map((e) => e.requestId)).toEqual(['r'])
      await dst.close()
      // Idempotent for state (ON CONFLICT DO NOTHING).
      await migrateSqliteToPostgres(path, url)
      const again = await openPostgresStore(url)
      expect(await again.tombstoneCount()).toBe(1)
      expect(await again.queryAudit({})).toHaveLength(1)
      await again.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
