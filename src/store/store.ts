// What Salesforce cannot hold for us: tombstones of SCIM-deleted users (RFC 7644 §3.6: a deleted resource is
// gone for the IdP, but Salesforce users can only be deactivated), and for groups which assignments scimforce
// made (so it never removes one an admin made by hand). Embedded SQLite; losing it loses no user, and a lost
// ownership mark only means scimforce leaves that assignment alone: the safe direction.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'

export interface Tombstone {
  id: string
  userName: string
  client: string
  deletedAt: string
}

/** The kinds of group target (mapping/group.ts); 'group' is a public group. */
export type MembershipKind = 'group' | 'permissionSet' | 'permissionSetGroup' | 'profile' | 'role'

/**
 * One membership scimforce is answerable for. For 'group', 'permissionSet' and 'permissionSetGroup' it is the
 * mark of a GroupMember / PermissionSetAssignment row scimforce created. For 'profile' and 'role' (single-valued
 * User fields) it is the IdP's claim that the user is in the group; the winner among a user's claims is what
 * scimforce writes to the User, and `displayName` lets the configured priority be looked up again.
 */
export interface Membership {
  targetId: string
  userId: string
  kind: MembershipKind
  displayName: string
}

export interface Store {
  isTombstoned (id: string): boolean
  addTombstone (t: Omit<Tombstone, 'deletedAt'>): void
  removeTombstone (id: string): void
  /** Every tombstoned id, oldest first. */
  tombstoneIds (): string[]
  tombstoneCount (): number
  /** Runs `fn` in one SQLite transaction (all of its store writes or none). */
  transaction<T> (fn: () => T): T
  /** Records memberships (idempotent; a second add of the same pair keeps one row). */
  addMemberships (rows: readonly Membership[], client: string): void
  removeMemberships (targetId: string, userIds: readonly string[]): void
  removeAllMemberships (targetId: string): void
  /** The users of `userIds` (all, if omitted) with a membership of this target, as stored (18-character ids). */
  membersOf (targetId: string, userIds?: readonly string[]): string[]
  membershipCount (targetId: string): number
  /** Every membership of a user, optionally of some kinds only. */
  membershipsOfUser (userId: string, kinds?: readonly MembershipKind[]): Membership[]
  /** The value scimforce last wrote to User.ProfileId / User.UserRoleId (null: cleared), undefined: never. */
  managedField (userId: string, field: 'ProfileId' | 'UserRoleId'): string | null | undefined
  setManagedField (userId: string, field: 'ProfileId' | 'UserRoleId', value: string | null): void
  clearManagedField (userId: string, field: 'ProfileId' | 'UserRoleId'): void
  /** Public groups scimforce itself created (DELETE deletes those; a group it only linked stays). */
  markGroupCreated (groupId: string): void
  isGroupCreated (groupId: string): boolean
  /** Group ids the IdP deleted while the Salesforce record stays (a linked target): 404 for SCIM until re-created. */
  addGroupTombstone (groupId: string): void
  removeGroupTombstone (groupId: string): void
  isGroupTombstoned (groupId: string): boolean
  groupTombstoneIds (): string[]
  /** SCIM externalId of a group (Salesforce has no field for it on these objects). */
  setGroupExternalId (groupId: string, externalId: string | null): void
  groupExternalId (groupId: string): string | undefined
  /** Every group externalId, for filters (`externalId eq …`, also `sw`, `co`: evaluated in memory). */
  groupExternalIds (): Array<{ groupId: string, externalId: string }>
  /** Forgets everything about a group (after DELETE), tombstone aside. */
  forgetGroup (groupId: string): void
  /** Proves the store can be written (readiness). */
  probe (): void
  close (): void
}

/** Salesforce ids are case-sensitive in 15 characters and carry a case checksum in 18; key on the 15. */
export function idKey (id: string): string {
  return id.slice(0, 15)
}

export function openStore (path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path)
  // WAL: a crash loses no committed write and readers never block the writer; NORMAL sync is durable in WAL
  // mode except across a power loss of the host, which costs at most the last transactions (tombstones only).
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 5000')
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS tombstones (
      id_key TEXT PRIMARY KEY,
      id TEXT NOT NULL,
      user_name TEXT NOT NULL,
      client TEXT NOT NULL,
      deleted_at TEXT NOT NULL
    );
    INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
    CREATE TABLE IF NOT EXISTS memberships (
      target_key TEXT NOT NULL,
      user_key TEXT NOT NULL,
      target_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      display_name TEXT NOT NULL,
      client TEXT NOT NULL,
      created_at TEXT NOT NULL,
      PRIMARY KEY (target_key, user_key)
    );
    CREATE INDEX IF NOT EXISTS memberships_by_user ON memberships (user_key);
    CREATE TABLE IF NOT EXISTS managed_fields (
      user_key TEXT NOT NULL,
      field TEXT NOT NULL,
      value TEXT,
      set_at TEXT NOT NULL,
      PRIMARY KEY (user_key, field)
    );
    CREATE TABLE IF NOT EXISTS groups (
      group_key TEXT PRIMARY KEY,
      group_id TEXT NOT NULL,
      created INTEGER NOT NULL DEFAULT 0,
      tombstoned INTEGER NOT NULL DEFAULT 0,
      external_id TEXT
    );
  `)
  const isStmt = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM tombstones WHERE id_key = ?')
  const addStmt = db.prepare('INSERT OR REPLACE INTO tombstones (id_key, id, user_name, client, deleted_at) VALUES (?, ?, ?, ?, ?)')
  const delStmt = db.prepare('DELETE FROM tombstones WHERE id_key = ?')
  const idsStmt = db.prepare<[], { id: string }>('SELECT id FROM tombstones ORDER BY deleted_at, id')
  const countStmt = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM tombstones')
  const probeStmt = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', ?)")

  const addMember = db.prepare(`INSERT INTO memberships (target_key, user_key, target_id, user_id, kind, display_name, client, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target_key, user_key) DO UPDATE SET kind = excluded.kind, display_name = excluded.display_name`)
  const delMember = db.prepare('DELETE FROM memberships WHERE target_key = ? AND user_key = ?')
  const delMembers = db.prepare('DELETE FROM memberships WHERE target_key = ?')
  const membersStmt = db.prepare<[string], { user_id: string }>('SELECT user_id FROM memberships WHERE target_key = ? ORDER BY user_key')
  const memberStmt = db.prepare<[string, string], { user_id: string }>('SELECT user_id FROM memberships WHERE target_key = ? AND user_key = ?')
  const memberCount = db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM memberships WHERE target_key = ?')
  const ofUser = db.prepare<[string], { target_id: string, user_id: string, kind: MembershipKind, display_name: string }>(
    'SELECT target_id, user_id, kind, display_name FROM memberships WHERE user_key = ? ORDER BY created_at, target_key')
  const getField = db.prepare<[string, string], { value: string | null }>('SELECT value FROM managed_fields WHERE user_key = ? AND field = ?')
  const setField = db.prepare('INSERT OR REPLACE INTO managed_fields (user_key, field, value, set_at) VALUES (?, ?, ?, ?)')
  const delField = db.prepare('DELETE FROM managed_fields WHERE user_key = ? AND field = ?')
  const upsertGroup = (column: 'created' | 'tombstoned') => db.prepare(
    `INSERT INTO groups (group_key, group_id, ${column}) VALUES (?, ?, ?) ON CONFLICT (group_key) DO UPDATE SET ${column} = excluded.${column}`)
  const markCreated = upsertGroup('created')
  const setTombstone = upsertGroup('tombstoned')
  const unsetTombstone = db.prepare('UPDATE groups SET tombstoned = 0 WHERE group_key = ?')
  const groupRow = db.prepare<[string], { created: number, tombstoned: number, external_id: string | null }>('SELECT created, tombstoned, external_id FROM groups WHERE group_key = ?')
  const groupTombstones = db.prepare<[], { group_id: string }>('SELECT group_id FROM groups WHERE tombstoned = 1 ORDER BY group_key')
  const setExternal = db.prepare('INSERT INTO groups (group_key, group_id, external_id) VALUES (?, ?, ?) ON CONFLICT (group_key) DO UPDATE SET external_id = excluded.external_id')
  const externals = db.prepare<[], { group_id: string, external_id: string }>('SELECT group_id, external_id FROM groups WHERE external_id IS NOT NULL ORDER BY group_key')
  const forgetGroupRow = db.prepare('UPDATE groups SET created = 0, external_id = NULL WHERE group_key = ?')

  let cache: string[] | undefined
  return {
    isTombstoned: (id) => isStmt.get(idKey(id)) !== undefined,
    addTombstone (t) {
      addStmt.run(idKey(t.id), t.id, t.userName, t.client, new Date().toISOString())
      cache = undefined
    },
    removeTombstone (id) {
      if (delStmt.run(idKey(id)).changes > 0) cache = undefined
    },
    tombstoneIds () {
      cache ??= idsStmt.all().map((r) => r.id)
      return cache
    },
    tombstoneCount: () => countStmt.get()?.n ?? 0,
    transaction: (fn) => db.transaction(fn)(),
    addMemberships (rows, client) {
      const now = new Date().toISOString()
      db.transaction(() => {
        for (const r of rows) addMember.run(idKey(r.targetId), idKey(r.userId), r.targetId, r.userId, r.kind, r.displayName, client, now)
      })()
    },
    removeMemberships (targetId, userIds) {
      db.transaction(() => { for (const u of userIds) delMember.run(idKey(targetId), idKey(u)) })()
    },
    removeAllMemberships (targetId) { delMembers.run(idKey(targetId)) },
    membersOf (targetId, userIds) {
      const key = idKey(targetId)
      if (userIds === undefined) return membersStmt.all(key).map((r) => r.user_id)
      return userIds.flatMap((u) => memberStmt.all(key, idKey(u)).map((r) => r.user_id))
    },
    membershipCount: (targetId) => memberCount.get(idKey(targetId))?.n ?? 0,
    membershipsOfUser (userId, kinds) {
      const rows = ofUser.all(idKey(userId)).map((r) => ({ targetId: r.target_id, userId: r.user_id, kind: r.kind, displayName: r.display_name }))
      return kinds === undefined ? rows : rows.filter((r) => kinds.includes(r.kind))
    },
    managedField (userId, field) {
      const row = getField.get(idKey(userId), field)
      return row === undefined ? undefined : row.value
    },
    setManagedField (userId, field, value) { setField.run(idKey(userId), field, value, new Date().toISOString()) },
    clearManagedField (userId, field) { delField.run(idKey(userId), field) },
    markGroupCreated (groupId) { markCreated.run(idKey(groupId), groupId, 1) },
    isGroupCreated: (groupId) => groupRow.get(idKey(groupId))?.created === 1,
    addGroupTombstone (groupId) { setTombstone.run(idKey(groupId), groupId, 1) },
    removeGroupTombstone (groupId) { unsetTombstone.run(idKey(groupId)) },
    isGroupTombstoned: (groupId) => groupRow.get(idKey(groupId))?.tombstoned === 1,
    groupTombstoneIds: () => groupTombstones.all().map((r) => r.group_id),
    setGroupExternalId (groupId, externalId) { setExternal.run(idKey(groupId), groupId, externalId) },
    groupExternalId: (groupId) => groupRow.get(idKey(groupId))?.external_id ?? undefined,
    groupExternalIds: () => externals.all().map((r) => ({ groupId: r.group_id, externalId: r.external_id })),
    forgetGroup (groupId) {
      db.transaction(() => {
        delMembers.run(idKey(groupId))
        forgetGroupRow.run(idKey(groupId))
      })()
    },
    probe () { probeStmt.run(new Date().toISOString()) },
    close () { if (db.open) db.close() },
  }
}
