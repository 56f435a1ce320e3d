// Membership changes are all-or-none per `/composite`: a fault leaves Salesforce (and the store) as before, a
// change too large for one composite reports how far it got, and sending the same request again converges.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { auth, expectScimError, SCIM, type Harness } from '../helper.js'
import { createGroup, groupMembers, groupsHarness, patchGroup, seedUser, sorted } from './groups-helpers.js'

let h: Harness
beforeEach(async () => { h = await groupsHarness() })
afterEach(async () => {
  h.emulator.faults.random = Math.random
  await h.close()
})

/**
 * From the `n`-th REST call on (1-based, counted from now), every call fails with 503 SERVER_UNAVAILABLE — the
 * gateway's retries included, so the failure sticks. The emulator asks its RNG once per REST call when one rate
 * is set, which makes the count exact.
 */
function failFromCall (n: number, fault: 'serverUnavailable' | 'dropAfterCommit' = 'serverUnavailable', only = false): void {
  let seen = 0
  h.emulator.faults.set({ rates: { [fault]: 0.5 } })
  h.emulator.faults.random = () => (++seen >= n && (!only || seen === n) ? 0 : 0.99)
}

function healFaults (): void {
  h.emulator.faults.reset()
  h.emulator.faults.random = Math.random
}

describe('one composite: all or nothing', () => {
  it('a fault on the write leaves the group, its members and the ownership marks as they were; the retry converges', async () => {
    const [u1, u2, u3] = [seedUser(h), seedUser(h), seedUser(h)]
    const g = await createGroup(h, { displayName: 'Atomic', members: [{ value: u1 }] })
    const id = String(g.id)
    const ops = [
      { op: 'add', path: 'members', value: [{ value: u2 }, { value: u3 }] },
      { op: 'remove', path: 'members', value: [{ value: u1 }] },
      { op: 'replace', path: 'displayName', value: 'Atomic Renamed' },
    ]
    failFromCall(2) // the read passes, the write (and its retries) fail
    const res = await patchGroup(h, id, ops)
    expectScimError(res, 503)
    expect(res.headers['retry-after']).toBeDefined()
    expect(groupMembers(h, id)).toEqual([u1])
    expect((h.emulator.org.get('Group', id) as Record<string, unknown>).Name).toBe('Atomic')
    expect(await h.store.membersOf(id)).toEqual([u1])
    healFaults()
    expect((await patchGroup(h, id, ops)).status).toBe(200)
    expect(groupMembers(h, id)).toEqual(sorted([u2, u3]))
    expect(sorted(await h.store.membersOf(id))).toEqual(sorted([u2, u3]))
    expect((h.emulator.org.get('Group', id) as Record<string, unknown>).Name).toBe('Atomic Renamed')
  })

  it('a connection lost after Salesforce committed keeps the ownership marks, so a later remove still removes', async () => {
    const u1 = seedUser(h)
    const g = await createGroup(h, { displayName: 'Dropped' })
    const id = String(g.id)
    // The one composite (read and insert) commits, then the connection drops (the answer is lost).
    failFromCall(1, 'dropAfterCommit', true)
    const res = await patchGroup(h, id, [{ op: 'add', path: 'members', value: [{ value: u1 }] }])
    expectScimError(res, 503)
    expect(groupMembers(h, id)).toEqual([u1])
    expect(await h.store.membersOf(id)).toEqual([u1])
    healFaults()
    expect((await patchGroup(h, id, [{ op: 'remove', path: 'members', value: [{ value: u1 }] }])).status).toBe(200)
    expect(groupMembers(h, id)).toEqual([])
  })

  // Inside an allOrNone `/composite`, a sObject Collections subrequest whose records fail rolls the whole composite
  // back, the rename included (docs/salesforce-behaviour.md#composite, #composite-allornone: the outer allOrNone overrides the inner one).
  it('a refused member in the same composite rolls the rename back too', async () => {
    const g = await createGroup(h, { displayName: 'Self Reference' })
    const id = String(g.id)
    const res = await patchGroup(h, id, [{ op: 'replace', path: 'displayName', value: 'Renamed' }, { op: 'add', path: 'members', value: [{ value: id, type: 'Group' }] }])
    expectScimError(res, 400)
    expect((h.emulator.org.get('Group', id) as Record<string, unknown>).Name).toBe('Self Reference')
  })
})

describe('a change larger than one composite', () => {
  it('commits composite by composite, says how far it got when one fails, and completes on the retry', async () => {
    const users = Array.from({ length: 1100 }, (_, i) => seedUser(h, `bulk${i}`))
    const g = await createGroup(h, { displayName: 'Big Change' })
    const id = String(g.id)
    const op = [{ op: 'add', path: 'members', value: users.map((value) => ({ value })) }]
    // 1,100 members: two reads (the target, 4 user and 4 member queries, 5 per composite), then two writes of
    // 5 and 1 collections of 200. The second write fails.
    failFromCall(4)
    const res = await patchGroup(h, id, op)
    expectScimError(res, 503)
    expect(String(res.body.detail)).toMatch(/1 of 2 parts of this change were applied in Salesforce before the failure; sending the same request again completes it/)
    expect(groupMembers(h, id)).toHaveLength(1000)
    expect(await h.store.membersOf(id)).toHaveLength(1000)
    healFaults()
    expect((await patchGroup(h, id, op)).status).toBe(200)
    expect(groupMembers(h, id)).toEqual(sorted(users))
    expect(await h.store.membersOf(id)).toHaveLength(1100)
    const read = await h.http.get(`${SCIM}/Groups/${id}`).set(auth).expect(200)
    expect(read.body.members).toHaveLength(1100)
  })
})
