import { describe, expect, it, vi } from 'vitest'
import { BACKENDS } from './backends.js'

describe.each(BACKENDS)('store ($name)', (backend) => {
  it('keeps tombstones across a reopen, keyed on the 15-character id', async () => {
    const storage = await backend.fresh()
    const a = await storage.open()
    await a.addTombstone({ id: '005000000000001AAA', userName: 'ada@example.com', client: 'wso2' })
    await a.addTombstone({ id: '005000000000002AAA', userName: 'bob@example.com', client: 'entra' })
    await a.close()
    const b = await storage.open()
    expect(await b.isTombstoned('005000000000001AAA')).toBe(true)
    expect(await b.isTombstoned('005000000000001')).toBe(true)
    expect(await b.isTombstoned('005000000000003AAA')).toBe(false)
    expect(await b.tombstoneIds()).toEqual(['005000000000001AAA', '005000000000002AAA'])
    expect(await b.tombstoneCount()).toBe(2)
    await b.removeTombstone('005000000000001AAA')
    expect(await b.isTombstoned('005000000000001AAA')).toBe(false)
    expect(await b.tombstoneIds()).toEqual(['005000000000002AAA'])
    await b.probe()
    await b.close()
  })

  it('runs holders of one key one after another, in arrival order, and other keys meanwhile', async () => {
    const store = await (await backend.fresh()).open()
    const events: string[] = []
    let releaseFirst!: () => void
    const gate = new Promise<void>((resolve) => { releaseFirst = resolve })
    const first = store.withLock('user:1', async () => { events.push('1a start'); await gate; events.push('1a end') })
    // PostgreSQL takes its lock over the network: wait until the first holder is in before the others arrive.
    await vi.waitFor(() => { expect(events).toEqual(['1a start']) })
    const second = store.withLock('user:1', async () => { events.push('1b') })
    const other = store.withLock('user:2', async () => { events.push('2') })
    await other
    expect(events).toEqual(['1a start', '2'])
    releaseFirst()
    await Promise.all([first, second])
    expect(events).toEqual(['1a start', '2', '1a end', '1b'])
    // A holder that throws releases the key.
    await expect(store.withLock('user:1', async () => { throw new Error('boom') })).rejects.toThrow('boom')
    await expect(store.withLock('user:1', async () => 'next')).resolves.toBe('next')
    await store.close()
  })

  it('puts, inserts once, lists by exact prefix and deletes', async () => {
    const store = await (await backend.fresh()).open()
    expect(await store.insertDoc('ext', 'wso2|Ab', { id: '1' })).toBe(true)
    expect(await store.insertDoc('ext', 'wso2|Ab', { id: '2' })).toBe(false)
    expect((await store.getDoc('ext', 'wso2|Ab'))?.value).toEqual({ id: '1' })
    expect(await store.getDoc('ext', 'wso2|ab')).toBeUndefined()
    await store.putDoc('ext', 'wso2|Ab', { id: '3' })
    await store.putDoc('ext', 'wso2|A%', { id: '4' })
    await store.putDoc('ext', 'okta|Ab', { id: '5' })
    await store.putDoc('other', 'wso2|Ab', { id: '6' })
    expect((await store.listDocs('ext', { prefix: 'wso2|' })).map((d) => d.value)).toEqual([{ id: '4' }, { id: '3' }])
    expect((await store.listDocs('ext', { prefix: 'wso2|A%' })).map((d) => d.key)).toEqual(['wso2|A%'])
    expect(await store.listDocs('ext', { limit: 1 })).toHaveLength(1)
    expect(await store.deleteDoc('ext', 'wso2|Ab')).toBe(true)
    expect(await store.deleteDoc('ext', 'wso2|Ab')).toBe(false)
    // Inside a failed transaction nothing stays.
    await expect(store.transaction(async (tx) => { await tx.putDoc('ext', 'x', 1); throw new Error('no') })).rejects.toThrow('no')
    expect(await store.getDoc('ext', 'x')).toBeUndefined()
    await store.close()
  })
})
