// The store's group bookkeeping: ownership marks and claims, the User fields scimforce wrote, groups it created,
// group tombstones and externalIds; all kept across a reopen and keyed on 15-character ids.
import { describe, expect, it } from 'vitest'
import { BACKENDS } from './backends.js'

const G = '00GHu00000000GKMAY'
const PS = '0PSHu00000000GFOAY'
const P = '00eHu00000000GAIAY'
const U1 = '005Hu00000000GAIAY'
const U2 = '005Hu00000000GBIAY'

describe.each(BACKENDS)('store: groups ($name)', (backend) => {
  it('keeps memberships, managed fields, created marks, tombstones and externalIds across a reopen', async () => {
    const storage = await backend.fresh()
    const a = await storage.open()
    await a.addMemberships([
      { targetId: G, userId: U1, kind: 'group', displayName: 'Field Sales' },
      { targetId: G, userId: U2, kind: 'group', displayName: 'Field Sales' },
      { targetId: PS, userId: U1, kind: 'permissionSet', displayName: 'Sales Ops' },
      { targetId: P, userId: U1, kind: 'profile', displayName: 'Marketing' },
    ], 'entra')
    // Idempotent: the same pair again is one row.
    await a.addMemberships([{ targetId: G, userId: U1, kind: 'group', displayName: 'Field Sales' }], 'entra')
    await a.setManagedField(U1, 'ProfileId', P)
    await a.setManagedField(U2, 'UserRoleId', null)
    await a.markGroupCreated(G)
    await a.addGroupTombstone(PS)
    await a.setGroupExternalId(G, 'ext-1')
    await a.close()

    const b = await storage.open()
    expect(await b.membersOf(G)).toEqual([U1, U2])
    expect(await b.membersOf(G.slice(0, 15), [U2.slice(0, 15), '005Hu00000000ZZZIAY'])).toEqual([U2])
    expect(await b.membershipCount(G)).toBe(2)
    expect((await b.membershipsOfUser(U1)).map((m) => m.kind).sort()).toEqual(['group', 'permissionSet', 'profile'])
    expect(await b.membershipsOfUser(U1, ['profile'])).toEqual([{ targetId: P, userId: U1, kind: 'profile', displayName: 'Marketing' }])
    expect(await b.managedField(U1, 'ProfileId')).toBe(P)
    expect(await b.managedField(U2, 'UserRoleId')).toBeNull()
    expect(await b.managedField(U2, 'ProfileId')).toBeUndefined()
    expect(await b.isGroupCreated(G)).toBe(true)
    expect(await b.isGroupCreated(PS)).toBe(false)
    expect(await b.isGroupTombstoned(PS)).toBe(true)
    expect(await b.groupTombstoneIds()).toEqual([PS])
    expect(await b.groupExternalId(G)).toBe('ext-1')
    expect(await b.groupExternalIds()).toEqual([{ groupId: G, externalId: 'ext-1' }])

    await b.removeMemberships(G, [U1])
    expect(await b.membersOf(G)).toEqual([U2])
    await b.clearManagedField(U1, 'ProfileId')
    expect(await b.managedField(U1, 'ProfileId')).toBeUndefined()
    await b.removeGroupTombstone(PS)
    expect(await b.isGroupTombstoned(PS)).toBe(false)
    await b.forgetGroup(G)
    expect(await b.membersOf(G)).toEqual([])
    expect(await b.isGroupCreated(G)).toBe(false)
    expect(await b.groupExternalId(G)).toBeUndefined()
    // Forgetting a group leaves the user's other memberships.
    expect((await b.membershipsOfUser(U1)).map((m) => m.targetId).sort()).toEqual([PS, P].sort())
    await b.removeAllMemberships(PS)
    expect(await b.membersOf(PS)).toEqual([])
    await b.close()
  })

  it('rolls back every write of a failed transaction', async () => {
    const s = await (await backend.fresh()).open()
    await expect(s.transaction(async (tx) => {
      await tx.addMemberships([{ targetId: G, userId: U1, kind: 'group', displayName: 'x' }], 'c')
      await tx.markGroupCreated(G)
      throw new Error('boom')
    })).rejects.toThrow('boom')
    expect(await s.membersOf(G)).toEqual([])
    expect(await s.isGroupCreated(G)).toBe(false)
    await s.close()
  })
})
