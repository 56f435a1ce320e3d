// The store's marks a group change is planned on, read ahead of planning: mapping/group-plan.ts is pure and
// synchronous, while the store is asynchronous (it may be PostgreSQL). The snapshot holds exactly the ids the
// change can ask about and refuses any other, so a planner that starts asking about new ids fails in tests,
// not silently in production.
import { isSingleValued, mentionedMembers, type GroupChange, type GroupKind } from '../mapping/group.js'
import type { MarksView } from '../mapping/group-plan.js'
import { idKey, type Membership, type Store } from '../store/store.js'

type Field = 'ProfileId' | 'UserRoleId'

/** Every user and group id a plan over `change` on this target may look up. */
function idsOf (change: GroupChange, state: { users: ReadonlyMap<string, unknown>, rows: ReadonlyMap<string, string>, names: ReadonlyMap<string, string> }): string[] {
  const ids = new Set<string>([...state.users.keys(), ...state.rows.keys(), ...state.names.values()])
  for (const r of mentionedMembers(change)) if (r.id !== undefined) ids.add(r.id)
  return [...ids]
}

export async function loadMarks (store: Store, target: { id: string, kind: GroupKind }, change: GroupChange, state: Parameters<typeof idsOf>[1]): Promise<MarksView> {
  const members = await store.membersOf(target.id)
  const ids = [...new Set([...idsOf(change, state), ...members])]
  const known = new Set(ids.map(idKey))
  const tombstoned = new Set<string>()
  const created = new Set<string>()
  const memberships = new Map<string, Membership[]>()
  const fields = new Map<string, string | null | undefined>()
  const single = isSingleValued(target.kind)
  for (const id of ids) {
    const key = idKey(id)
    if (id.startsWith('00G')) {
      if (await store.isGroupCreated(id)) created.add(key)
      continue
    }
    if (await store.isTombstoned(id)) tombstoned.add(key)
    if (!single) continue
    memberships.set(key, await store.membershipsOfUser(id))
    for (const field of ['ProfileId', 'UserRoleId'] as const) fields.set(`${key}|${field}`, await store.managedField(id, field))
  }
  const check = (id: string): string => {
    const key = idKey(id)
    if (!known.has(key)) throw new Error(`group marks: ${id} was not loaded before planning`)
    return key
  }
  const byKey = new Map(members.map((m) => [idKey(m), m]))
  return {
    isTombstoned: (id) => tombstoned.has(check(id)),
    isGroupCreated: (id) => created.has(check(id)),
    membersOf (targetId, userIds) {
      if (idKey(targetId) !== idKey(target.id)) throw new Error(`group marks: ${targetId} is not the planned target`)
      if (userIds === undefined) return members
      return userIds.flatMap((u) => { const m = byKey.get(idKey(u)); return m === undefined ? [] : [m] })
    },
    membershipsOfUser (userId, kinds) {
      const rows = memberships.get(check(userId))
      if (rows === undefined) throw new Error(`group marks: memberships of ${userId} were not loaded`)
      return kinds === undefined ? rows : rows.filter((r) => kinds.includes(r.kind))
    },
    managedField: (userId, field: Field) => {
      const k = `${check(userId)}|${field}`
      if (!fields.has(k)) throw new Error(`group marks: ${field} of ${userId} was not loaded`)
      return fields.get(k)
    },
  }
}
