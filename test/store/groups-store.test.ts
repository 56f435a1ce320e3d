// The store's group bookkeeping: ownership marks and claims, the User fields scimforce wrote, groups it created,
// group tombstones and externalIds; all kept across a reopen and keyed on 15-character ids.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/store.js'

const dirs: string[] = []
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

const G = '00GHu00000000GKMAY'
const PS = '0PSHu00000000GFOAY'
const P = '00eHu00000000GAIAY'
const U1 = '005Hu00000000GAIAY'
const U2 = '005Hu00000000GBIAY'

describe('store: groups', () => {
  it('keeps memberships, managed fields, created marks, tombstones and externalIds across a reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scimforce-store-groups-'))
    dirs.push(dir)
    const path = join(dir, 'scimforce.db')
    const a = openStore(path)
    a.addMemberships([
      { targetId: G, userId: U1, kind: 'group', displayName: 'Field Sales' },
      { targetId: G, userId: U2, kind: 'group', displayName: 'Field Sales' },
      { targetId: PS, userId: U1, kind: 'permissionSet', displayName: 'Sales Ops' },
      { targetId: P, userId: U1, kind: 'profile', displayName: 'Marketing' },
    ], 'entra')
    // Idempotent: the same pair again is one row.
    a.addMemberships([{ targetId: G, userId: U1, kind: 'group', displayName: 'Field Sales' }], 'entra')
    a.setManagedField(U1, 'ProfileId', P)
    a.setManagedField(U2, 'UserRoleId', null)
    a.markGroupCreated(G)
    a.addGroupTombstone(PS)
    a.setGroupExternalId(G, 'ext-1')
    a.close()

    const b = openStore(path)
    expect(b.membersOf(G)).toEqual([U1, U2])
    expect(b.membersOf(G.slice(0, 15), [U2.slice(0, 15), '005Hu00000000ZZZIAY'])).toEqual([U2])
    expect(b.membershipCount(G)).toBe(2)
    expect(b.membershipsOfUser(U1).map((m) => m.kind).sort()).toEqual(['group', 'permissionSet', 'profile'])
    expect(b.membershipsOfUser(U1, ['profile'])).toEqual([{ targetId: P, userId: U1, kind: 'profile', displayName: 'Marketing' }])
    expect(b.managedField(U1, 'ProfileId')).toBe(P)
    expect(b.managedField(U2, 'UserRoleId')).toBeNull()
    expect(b.managedField(U2, 'ProfileId')).toBeUndefined()
    expect(b.isGroupCreated(G)).toBe(true)
    expect(b.isGroupCreated(PS)).toBe(false)
    expect(b.isGroupTombstoned(PS)).toBe(true)
    expect(b.groupTombstoneIds()).toEqual([PS])
    expect(b.groupExternalId(G)).toBe('ext-1')
    expect(b.groupExternalIds()).toEqual([{ groupId: G, externalId: 'ext-1' }])

    b.removeMemberships(G, [U1])
    expect(b.membersOf(G)).toEqual([U2])
    b.clearManagedField(U1, 'ProfileId')
    expect(b.managedField(U1, 'ProfileId')).toBeUndefined()
    b.removeGroupTombstone(PS)
    expect(b.isGroupTombstoned(PS)).toBe(false)
    b.forgetGroup(G)
    expect(b.membersOf(G)).toEqual([])
    expect(b.isGroupCreated(G)).toBe(false)
    expect(b.groupExternalId(G)).toBeUndefined()
    // Forgetting a group leaves the user's other memberships.
    expect(b.membershipsOfUser(U1).map((m) => m.targetId).sort()).toEqual([PS, P].sort())
    b.removeAllMemberships(PS)
    expect(b.membersOf(PS)).toEqual([])
    b.close()
  })

  it('rolls back every write of a failed transaction', () => {
    const s = openStore(':memory:')
    expect(() => s.transaction(() => {
      s.addMemberships([{ targetId: G, userId: U1, kind: 'group', displayName: 'x' }], 'c')
      s.markGroupCreated(G)
      throw new Error('boom')
    })).toThrow('boom')
    expect(s.membersOf(G)).toEqual([])
    expect(s.isGroupCreated(G)).toBe(false)
    s.close()
  })
})
