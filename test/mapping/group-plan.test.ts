// The pure group-change planner: what a change writes to Salesforce and what it records in the store, for public
// groups, permission sets and profile/role groups (single-valued winners), from plain data (no org, no store).
import { describe, expect, it } from 'vitest'
import type { GroupsConfig } from '../../src/config/types.js'
import type { GroupChange } from '../../src/mapping/group.js'
import { planGroupChange, type ChangeState, type GroupPlan, type MarksView, type PlanInput, type StoreEffect } from '../../src/mapping/group-plan.js'
import type { GroupTarget } from '../../src/mapping/group-target.js'
import { MappingError } from '../../src/mapping/errors.js'
import type { Membership } from '../../src/store/store.js'

const ADA = '005Hu00000000GBIAY'
const GRACE = '005Hu00000000GAIAY'
const LIN = '005Hu00000000GCIAY'
const GONE = '005Hu00000000GDIAY'
const NESTED = '00GHu00000000GBIAY'
const DEFAULT_PROFILE = '00eHu00000000GZIAY'
const MARKETING = '00eHu00000000GAIAY'
const ADMINS = '00eHu00000000GBIAY'
const ROLE = '00EHu00000000GAIAY'

const config: GroupsConfig = {
  defaultTarget: 'publicGroup',
  mappings: [
    { displayName: 'Reporting', kind: 'permissionSet', target: 'Reporting', priority: 0 },
    { displayName: 'Marketing', kind: 'profile', target: 'Marketing User', priority: 10 },
    { displayName: 'Admins', kind: 'profile', target: ADMINS, priority: 20 },
    { displayName: 'Leads', kind: 'role', target: 'Lead', priority: 0 },
  ],
}

const PUBLIC: GroupTarget = { kind: 'group', id: '00GHu00000000GAIAY', record: { Id: '00GHu00000000GAIAY', Name: 'Sales', Type: 'Regular' }, displayName: 'Sales' }
const PERMSET: GroupTarget = { kind: 'permissionSet', id: '0PSHu00000000GAIAY', record: { Id: '0PSHu00000000GAIAY', Name: 'Reporting', Type: 'Regular' }, displayName: 'Reporting' }
const PROFILE: GroupTarget = { kind: 'profile', id: MARKETING, record: { Id: MARKETING, Name: 'Marketing User' }, displayName: 'Marketing' }
const ROLE_GROUP: GroupTarget = { kind: 'role', id: ROLE, record: { Id: ROLE, Name: 'Lead', DeveloperName: 'Lead' }, displayName: 'Leads' }

const user = (id: string, fields: Record<string, unknown> = {}): [string, Record<string, unknown>] =>
  [id, { Id: id, Username: `${id}@x.example`, ProfileId: DEFAULT_PROFILE, UserRoleId: null, ...fields }]

interface World {
  /** Membership row ids by member id (GroupMember / PermissionSetAssignment). */
  rows?: Record<string, string>
  users?: Array<[string, Record<string, unknown>]>
  names?: Record<string, string>
  /** The store's marks and claims. */
  marks?: Membership[]
  tombstoned?: string[]
  /** Public groups scimforce created. */
  created?: string[]
  managed?: Record<string, string | null>
}

/** A read-only store made of plain data. */
function marksOf (w: World): MarksView {
  const marks = w.marks ?? []
  const key = (id: string): string => id.slice(0, 15)
  return {
    isTombstoned: (id) => (w.tombstoned ?? []).includes(id),
    isGroupCreated: (id) => (w.created ?? []).includes(id),
    membersOf: (targetId, userIds) => marks
      .filter((m) => key(m.targetId) === key(targetId) && (userIds === undefined || userIds.some((u) => key(u) === key(m.userId))))
      .map((m) => m.userId),
    membershipsOfUser: (userId, kinds) => marks.filter((m) => key(m.userId) === key(userId) && (kinds === undefined || kinds.includes(m.kind))),
    managedField: (userId) => w.managed?.[userId],
  }
}

function plan (target: GroupTarget, change: GroupChange, world: World = {}, full = change.base !== undefined): GroupPlan {
  const state: ChangeState = { rows: new Map(Object.entries(world.rows ?? {})), users: new Map(world.users ?? []), names: new Map(Object.entries(world.names ?? {})) }
  const input: PlanInput = { config, fallbackProfileId: DEFAULT_PROFILE, target: { ...target }, change, state, full, marks: marksOf(world) }
  return planGroupChange(input)
}

const mark = (target: GroupTarget, userId: string): Membership => ({ targetId: target.id, userId, kind: target.kind, displayName: target.displayName })
const add = (...ids: string[]): GroupChange => ({ ops: ids.map((id) => ({ ref: { id }, add: true })) })
const remove = (...ids: string[]): GroupChange => ({ ops: ids.map((id) => ({ ref: { id }, add: false })) })
const replaceWith = (...ids: string[]): GroupChange => ({ base: ids.map((id) => ({ id })), ops: [] })
const addMark = (target: GroupTarget, userId: string, displayName = target.displayName): StoreEffect => ({ type: 'addMembership', membership: { ...mark(target, userId), displayName } })
const dropMark = (target: GroupTarget, userId: string): StoreEffect => ({ type: 'removeMembership', targetId: target.id, userId })

/** The Salesforce writes of a plan, without their store effects. */
const writesOf = (p: GroupPlan): unknown[] => p.writes.map((w) => w.write)

describe('planGroupChange: public groups and permission sets', () => {
  const cases: Array<{ name: string, target: GroupTarget, change: GroupChange, world: World, writes: unknown[], after?: StoreEffect[], kept?: string[], members?: string[] }> = [
    {
      name: 'adds a member who has no row, marking it as scimforce\'s',
      target: PUBLIC,
      change: add(ADA),
      world: { users: [user(ADA)] },
      writes: [{ op: 'addMember', userId: ADA }],
    },
    {
      name: 'adds nothing for a member whose row is there already (an IdP retry)',
      target: PUBLIC,
      change: add(ADA),
      world: { users: [user(ADA)], rows: { [ADA]: '011A' } },
      writes: [],
    },
    {
      name: 'lets a public group hold a public group',
      target: PUBLIC,
      change: add(NESTED),
      world: { created: [NESTED] },
      writes: [{ op: 'addMember', userId: NESTED }],
    },
    {
      name: 'removes a row scimforce made',
      target: PUBLIC,
      change: remove(ADA),
      world: { rows: { [ADA]: '011A' }, marks: [mark(PUBLIC, ADA)] },
      writes: [{ op: 'removeRow', userId: ADA, rowId: '011A' }],
    },
    {
      name: 'never removes a row an admin made',
      target: PUBLIC,
      change: remove(ADA),
      world: { rows: { [ADA]: '011A' } },
      writes: [],
      kept: [ADA],
    },
    {
      name: 'forgets its mark when the row is gone already',
      target: PUBLIC,
      change: remove(ADA),
      world: { marks: [mark(PUBLIC, ADA)] },
      writes: [],
      after: [dropMark(PUBLIC, ADA)],
    },
    {
      name: 'changes nothing when removing someone who is not a member',
      target: PUBLIC,
      change: remove(ADA),
      world: {},
      writes: [],
    },
    {
      name: 'replaces the member list: adds the new, removes its own, keeps the admin\'s, and knows the result',
      target: PUBLIC,
      change: replaceWith(ADA, LIN),
      world: { users: [user(ADA), user(LIN)], rows: { [ADA]: '011A', [GRACE]: '011G', [GONE]: '011X' }, marks: [mark(PUBLIC, GRACE)] },
      writes: [{ op: 'addMember', userId: LIN }, { op: 'removeRow', userId: GRACE, rowId: '011G' }],
      kept: [GONE],
      members: [ADA, LIN, GONE],
    },
    {
      name: 'resolves a member given by userName only',
      target: PERMSET,
      change: { ops: [{ ref: { userName: 'Ada@X.example' }, add: true }] },
      world: { users: [user(ADA)], names: { 'ada@x.example': ADA } },
      writes: [{ op: 'addMember', userId: ADA }],
    },
    {
      name: 'assigns a permission set and removes only its own assignment',
      target: PERMSET,
      change: { ops: [{ ref: { id: ADA }, add: true }, { ref: { id: GRACE }, add: false }, { ref: { id: LIN }, add: false }] },
      world: { users: [user(ADA)], rows: { [GRACE]: '0PaG', [LIN]: '0PaL' }, marks: [mark(PERMSET, GRACE)] },
      writes: [{ op: 'addMember', userId: ADA }, { op: 'removeRow', userId: GRACE, rowId: '0PaG' }],
      kept: [LIN],
    },
    {
      name: 'keeps only the last word on a member',
      target: PUBLIC,
      change: { ops: [{ ref: { id: ADA }, add: true }, { ref: { id: ADA }, add: false }] },
      world: { users: [user(ADA)] },
      writes: [],
    },
    {
      name: 'records an externalId without writing to Salesforce',
      target: PUBLIC,
      change: { ops: [], externalId: 'ext-1' },
      world: {},
      writes: [],
      after: [{ type: 'setGroupExternalId', groupId: PUBLIC.id, externalId: 'ext-1' }],
    },
    {
      name: 'plans nothing for an empty change',
      target: PERMSET,
      change: { ops: [] },
      world: {},
      writes: [],
    },
  ]

  for (const c of cases) {
    it(c.name, () => {
      const p = plan(c.target, c.change, c.world)
      expect(writesOf(p)).toEqual(c.writes)
      expect(p.after).toEqual(c.after ?? [])
      expect(p.kept.map((k) => k.userId)).toEqual(c.kept ?? [])
      expect(p.rename).toBeUndefined()
      if (c.members !== undefined) expect([...p.members ?? []].sort()).toEqual(c.members)
      else expect(p.members).toBeUndefined()
    })
  }

  it('records each write\'s store effect before it and its undo for when Salesforce surely did not apply it', () => {
    const p = plan(PUBLIC, { ops: [{ ref: { id: ADA }, add: true }, { ref: { id: GRACE }, add: false }] },
      { users: [user(ADA)], rows: { [GRACE]: '011G' }, marks: [mark(PUBLIC, GRACE)] })
    expect(p.writes.map((w) => [w.effects, w.undo])).toEqual([
      [[addMark(PUBLIC, ADA)], [dropMark(PUBLIC, ADA)]],
      [[dropMark(PUBLIC, GRACE)], [addMark(PUBLIC, GRACE)]],
    ])
  })

  it('renames a public group first, and marks new members under the new name', () => {
    const p = plan(PUBLIC, { ops: [{ ref: { id: ADA }, add: true }], displayName: 'Field Sales' }, { users: [user(ADA)] })
    expect(p.rename).toBe('Field Sales')
    expect(p.displayName).toBe('Field Sales')
    expect(p.writes[0]?.effects).toEqual([addMark(PUBLIC, ADA, 'Field Sales')])
  })

  it('writes no rename for a mapped group whose new name maps to it still (case only)', () => {
    const p = plan(PERMSET, { ops: [], displayName: 'REPORTING' })
    expect(p.rename).toBeUndefined()
    expect(p.writes).toEqual([])
  })

  const refusals: Array<{ name: string, target: GroupTarget, change: GroupChange, world: World, message: RegExp }> = [
    { name: 'an unknown user', target: PUBLIC, change: add(ADA), world: {}, message: new RegExp(`No such user in Salesforce: ${ADA}`) },
    { name: 'a SCIM-deleted user', target: PUBLIC, change: add(ADA), world: { users: [user(ADA)], tombstoned: [ADA] }, message: /No such user/ },
    { name: 'a userName nobody has', target: PUBLIC, change: { ops: [{ ref: { userName: 'nobody' }, add: true }] }, world: {}, message: /No such user in Salesforce: nobody/ },
    { name: 'a group scimforce did not create, nested into a public group', target: PUBLIC, change: add(NESTED), world: {}, message: /Only groups scimforce created can be members of a group; 00GHu00000000GBIAY was not created by scimforce/ },
    { name: 'a group in a permission set', target: PERMSET, change: add(NESTED), world: {}, message: /Members of a permission set are users; not 00G/ },
    { name: 'a rename that would turn a permission set into a public group', target: PERMSET, change: { ops: [], displayName: 'Sales' }, world: {}, message: /would turn permission set Reporting into a public group/ },
    { name: 'a rename of a public group to a mapped name', target: PUBLIC, change: { ops: [], displayName: 'Reporting' }, world: {}, message: /would turn a public group into permission set Reporting/ },
  ]
  for (const r of refusals) {
    it(`refuses ${r.name} with invalidValue, planning nothing`, () => {
      let thrown: unknown
      try { plan(r.target, r.change, r.world) } catch (err) { thrown = err }
      expect(thrown).toBeInstanceOf(MappingError)
      expect((thrown as MappingError).problem).toBe('invalidValue')
      expect((thrown as MappingError).message).toMatch(r.message)
    })
  }

  it('does not ask about a removed userName nobody has (nothing to remove)', () => {
    expect(plan(PUBLIC, { ops: [{ ref: { userName: 'nobody' }, add: false }] }).writes).toEqual([])
  })
})

describe('planGroupChange: profile and role groups (single-valued winners)', () => {
  const claim = (target: GroupTarget, userId: string): Membership => mark(target, userId)
  const ADMINS_GROUP: GroupTarget = { kind: 'profile', id: ADMINS, record: { Id: ADMINS, Name: 'System Administrator' }, displayName: 'Admins' }

  const cases: Array<{ name: string, target: GroupTarget, change: GroupChange, world: World, writes: unknown[], effects?: StoreEffect[], after?: StoreEffect[] }> = [
    {
      name: 'claims the profile for a user and writes it as the winner',
      target: PROFILE,
      change: add(ADA),
      world: { users: [user(ADA)] },
      writes: [{ op: 'setUserField', userId: ADA, field: 'ProfileId', value: MARKETING }],
      effects: [addMark(PROFILE, ADA), { type: 'setManagedField', userId: ADA, field: 'ProfileId', value: MARKETING }],
    },
    {
      name: 'records the claim but leaves the field when a higher-priority claim wins',
      target: PROFILE,
      change: add(ADA),
      world: { users: [user(ADA, { ProfileId: ADMINS })], marks: [claim(ADMINS_GROUP, ADA)], managed: { [ADA]: ADMINS } },
      writes: [],
      after: [addMark(PROFILE, ADA), { type: 'setManagedField', userId: ADA, field: 'ProfileId', value: ADMINS }],
    },
    {
      name: 'writes nothing when the field holds the winner already (a retry converges)',
      target: PROFILE,
      change: add(ADA),
      world: { users: [user(ADA, { ProfileId: MARKETING })], marks: [claim(PROFILE, ADA)], managed: { [ADA]: MARKETING } },
      writes: [],
      after: [addMark(PROFILE, ADA), { type: 'setManagedField', userId: ADA, field: 'ProfileId', value: MARKETING }],
    },
    {
      name: 'falls back to the next claim when the winning one goes',
      target: ADMINS_GROUP,
      change: remove(ADA),
      world: { users: [user(ADA, { ProfileId: ADMINS })], marks: [claim(ADMINS_GROUP, ADA), claim(PROFILE, ADA)], managed: { [ADA]: ADMINS } },
      writes: [{ op: 'setUserField', userId: ADA, field: 'ProfileId', value: MARKETING }],
      effects: [dropMark(ADMINS_GROUP, ADA), { type: 'setManagedField', userId: ADA, field: 'ProfileId', value: MARKETING }],
    },
    {
      name: 'falls back to users.defaults.ProfileId when the last claim goes and the field is still scimforce\'s',
      target: PROFILE,
      change: remove(ADA),
      world: { users: [user(ADA, { ProfileId: MARKETING })], marks: [claim(PROFILE, ADA)], managed: { [ADA]: MARKETING } },
      writes: [{ op: 'setUserField', userId: ADA, field: 'ProfileId', value: DEFAULT_PROFILE }],
      effects: [dropMark(PROFILE, ADA), { type: 'clearManagedField', userId: ADA, field: 'ProfileId' }],
    },
    {
      name: 'leaves a profile an admin set by hand since',
      target: PROFILE,
      change: remove(ADA),
      world: { users: [user(ADA, { ProfileId: '00eHu00000000GQIAY' })], marks: [claim(PROFILE, ADA)], managed: { [ADA]: MARKETING } },
      writes: [],
      after: [dropMark(PROFILE, ADA), { type: 'clearManagedField', userId: ADA, field: 'ProfileId' }],
    },
    {
      name: 'changes nothing when removing a claim that is not there',
      target: PROFILE,
      change: remove(ADA),
      world: { users: [user(ADA)] },
      writes: [],
    },
    {
      name: 'clears the role (no fallback) when the last role claim goes',
      target: ROLE_GROUP,
      change: remove(ADA),
      world: { users: [user(ADA, { UserRoleId: ROLE })], marks: [claim(ROLE_GROUP, ADA)], managed: { [ADA]: ROLE } },
      writes: [{ op: 'setUserField', userId: ADA, field: 'UserRoleId', value: null }],
      effects: [dropMark(ROLE_GROUP, ADA), { type: 'clearManagedField', userId: ADA, field: 'UserRoleId' }],
    },
    {
      name: 'drops, on a full replace, the claims the new list leaves out',
      target: ROLE_GROUP,
      change: replaceWith(GRACE),
      world: { users: [user(ADA, { UserRoleId: ROLE }), user(GRACE)], marks: [claim(ROLE_GROUP, ADA)], managed: { [ADA]: ROLE } },
      writes: [{ op: 'setUserField', userId: GRACE, field: 'UserRoleId', value: ROLE }, { op: 'setUserField', userId: ADA, field: 'UserRoleId', value: null }],
    },
  ]

  for (const c of cases) {
    it(c.name, () => {
      const p = plan(c.target, c.change, c.world)
      expect(writesOf(p)).toEqual(c.writes)
      if (c.effects !== undefined) expect(p.writes[0]?.effects).toEqual(c.effects)
      expect(p.after).toEqual(c.after ?? [])
      // The member set of a profile or role group is the store's claims, read after the change, not planned.
      expect(p.members).toBeUndefined()
    })
  }

  it('undoes a write by restoring the claim and the managed value it found', () => {
    const p = plan(PROFILE, remove(ADA), { users: [user(ADA, { ProfileId: MARKETING })], marks: [claim(PROFILE, ADA)], managed: { [ADA]: MARKETING } })
    expect(p.writes[0]?.undo).toEqual([addMark(PROFILE, ADA), { type: 'setManagedField', userId: ADA, field: 'ProfileId', value: MARKETING }])
    const q = plan(PROFILE, add(ADA), { users: [user(ADA)] })
    expect(q.writes[0]?.undo).toEqual([dropMark(PROFILE, ADA), { type: 'clearManagedField', userId: ADA, field: 'ProfileId' }])
  })
})
