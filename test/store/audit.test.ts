// The audit journal in the store: appended entries come back newest first, filtered by subject, type, client and
// time, and a purge removes only what is past retention; on every back-end.
import { describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/store/store.js'
import { BACKENDS } from './backends.js'

const entry = (at: string, over: Partial<AuditEntry> = {}): AuditEntry => ({
  at,
  client: 'entra',
  requestId: `req-${at}`,
  operation: 'create',
  resourceType: 'User',
  scimId: '005Hu00000000GAIAY',
  salesforceId: '005Hu00000000GAIAY',
  attributes: ['emails', 'userName'],
  status: 201,
  apiCalls: 1,
  details: { userName: 'Ada@Example.com' },
  ...over,
})

describe.each(BACKENDS)('audit journal ($name)', (backend) => {
  it('lists newest first, filters, and purges past retention', async () => {
    const store = await (await backend.fresh()).open()
    await store.appendAudit(entry('2026-01-01T00:00:00.000Z'))
    await store.appendAudit(entry('2026-02-01T00:00:00.000Z', { operation: 'delete', status: 204, attributes: [], client: 'wso2' }))
    await store.appendAudit(entry('2026-03-01T00:00:00.000Z', {
      resourceType: 'Group', scimId: '00GHu00000000GKMAY', salesforceId: '00GHu00000000GKMAY', details: { displayName: 'Sales' }, status: 409, salesforceCode: 'DUPLICATE_VALUE',
    }))
    const all = await store.queryAudit({})
    expect(all.map((e) => e.at)).toEqual(['2026-03-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'])
    expect(all[0]).toEqual(entry('2026-03-01T00:00:00.000Z', {
      resourceType: 'Group', scimId: '00GHu00000000GKMAY', salesforceId: '00GHu00000000GKMAY', details: { displayName: 'Sales' }, status: 409, salesforceCode: 'DUPLICATE_VALUE',
    }))
    expect((await store.queryAudit({ subject: 'ada@example.com' })).length).toBe(2)
    // A DELETE names no userName; found by the name through its record.
    await store.appendAudit(entry('2026-02-02T00:00:00.000Z', { operation: 'delete', status: 204, attributes: [], details: undefined }))
    expect((await store.queryAudit({ subject: 'ada@example.com' })).map((e) => e.operation)).toEqual(['delete', 'delete', 'create'])
    expect((await store.queryAudit({ subject: '005Hu00000000GAIAY' })).length).toBe(3)
    expect((await store.queryAudit({ subject: 'sales' })).map((e) => e.resourceType)).toEqual(['Group'])
    expect((await store.queryAudit({ resourceType: 'User', client: 'wso2' })).map((e) => e.operation)).toEqual(['delete'])
    expect((await store.queryAudit({ since: '2026-01-15T00:00:00.000Z', until: '2026-02-15T00:00:00.000Z' })).length).toBe(2)
    expect(await store.queryAudit({ limit: 1 })).toHaveLength(1)
    expect(await store.purgeAudit('2026-02-15T00:00:00.000Z')).toBe(3)
    expect((await store.queryAudit({})).map((e) => e.at)).toEqual(['2026-03-01T00:00:00.000Z'])
    await store.close()
  })
})
