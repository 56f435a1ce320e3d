import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/store.js'

const dirs: string[] = []
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

describe('store', () => {
  it('keeps tombstones across a reopen, keyed on the 15-character id', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scimforce-store-'))
    dirs.push(dir)
    const path = join(dir, 'nested', 'scimforce.db')
    const a = openStore(path)
    a.addTombstone({ id: '005000000000001AAA', userName: 'ada@example.com', client: 'wso2' })
    a.addTombstone({ id: '005000000000002AAA', userName: 'bob@example.com', client: 'entra' })
    a.close()
    const b = openStore(path)
    expect(b.isTombstoned('005000000000001AAA')).toBe(true)
    expect(b.isTombstoned('005000000000001')).toBe(true)
    expect(b.isTombstoned('005000000000003AAA')).toBe(false)
    expect(b.tombstoneIds()).toEqual(['005000000000001AAA', '005000000000002AAA'])
    expect(b.tombstoneCount()).toBe(2)
    b.removeTombstone('005000000000001AAA')
    expect(b.isTombstoned('005000000000001AAA')).toBe(false)
    expect(b.tombstoneIds()).toEqual(['005000000000002AAA'])
    b.probe()
    b.close()
  })
})
