// Request URIs stay under Salesforce's 16,384 bytes (issue 12): a scanned page of 1000 users is read in parts, and
// tombstones go into the SOQL only while the list is short.
import { describe, expect, it } from 'vitest'
import pino from 'pino'
import { createUserMapping } from '../../src/mapping/user.js'
import { MAX_IDS_PER_QUERY } from '../../src/salesforce/batch.js'
import type { UserGateway } from '../../src/salesforce/users.js'
import { createUserExternalIds } from '../../src/scim/user-external-ids.js'
import { createUserLister, INLINE_TOMBSTONES } from '../../src/scim/user-list.js'
import { openStore } from '../../src/store/store.js'
import { userDefaults } from '../fixtures/config.js'

const id = (i: number): string => `005${String(i).padStart(12, '0')}AAA`

describe('user list URIs', () => {
  it('reads a page of 1000 scanned users in parts of at most MAX_IDS_PER_QUERY ids', async () => {
    const store = openStore(':memory:')
    for (let i = 0; i <= INLINE_TOMBSTONES; i++) await store.addTombstone({ id: id(100_000 + i), userName: `t${i}`, client: 'c' })
    const reads: number[] = []
    let hideInactive: readonly string[] | undefined
    const users = {
      where: async (o: { hideInactive?: readonly string[] }) => { hideInactive = o.hideInactive; return { text: 'x' } },
      async * scanIds () { for (let i = 0; i < 1500; i++) yield { id: id(i), active: true } },
      readByIds: async (ids: readonly string[]) => { reads.push(ids.length); return ids.map((Id) => ({ Id })) },
    } as unknown as UserGateway
    const mapping = createUserMapping({ defaults: userDefaults(), usernameSuffix: '', extraMappings: [] })
    const lister = createUserLister({ users, mapping, store, externalIds: createUserExternalIds(store) })
    const page = await lister.list({ startIndex: 1, count: 1000 }, pino({ level: 'silent' }), 'c')
    expect(hideInactive).toBeUndefined() // over INLINE_TOMBSTONES: not in the SOQL, the scan hides them
    expect(page.total).toBe(1500)
    expect(page.resources).toHaveLength(1000)
    expect(Math.max(...reads)).toBeLessThanOrEqual(MAX_IDS_PER_QUERY)
    // 300 quoted, encoded 18-character ids: far below 16,384 bytes.
    expect(encodeURIComponent(`Id IN (${Array.from({ length: MAX_IDS_PER_QUERY }, (_, i) => `'${id(i)}'`).join(',')})`).length).toBeLessThan(16_384)
    await store.close()
  })
})
