// What Salesforce cannot hold for us: tombstones of SCIM-deleted users (RFC 7644 §3.6: a deleted resource is
// gone for the IdP, but Salesforce users can only be deactivated), and for groups which assignments scimforce
// made (so it never removes one an admin made by hand). The interface is asynchronous so that one replica can keep
// it in an embedded SQLite file and many replicas can share it in PostgreSQL. Losing it loses no user, and a lost
// ownership mark only means scimforce leaves that assignment alone: the safe direction.
import type { AuditStore } from './audit.js'

export interface Tombstone {
  id: string
  userName: string
  client: string
  deletedAt: string
}

/** The kinds of group target (mapping/group.ts); 'group' is a public group. */
export type MembershipKind = 'group' | 'permissionSet' | 'permissionSetGroup' | 'profile' | 'role' | 'packageLicence' | 'queue' | 'featureLicence'

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

/** A document of Store.getDoc / listDocs, with when it was last written (ISO 8601). */
export interface StoredDoc<T> {
  key: string
  value: T
  updatedAt: string
}

export interface Store extends AuditStore {
  isTombstoned (id: string): Promise<boolean>
  addTombstone (t: Omit<Tombstone, 'deletedAt'>): Promise<void>
  removeTombstone (id: string): Promise<void>
  /** Every tombstoned id, oldest first. */
  tombstoneIds (): Promise<string[]>
  tombstoneCount (): Promise<number>
  /**
   * Runs `fn` in one transaction: all of its writes through `tx` or none. `fn` may only call `tx` (no network, no
   * timers): the embedded back-end keeps one connection, so anything else that ran meanwhile would join it.
   */
  transaction<T> (fn: (tx: Store) => Promise<T>): Promise<T>
  /**
   * Runs `fn` while holding `key` exclusively against every other holder of the same key in every process that
   * shares this store (one process for the embedded file; every replica for PostgreSQL). Waiters run in order.
   */
  withLock<T> (key: string, fn: () => Promise<T>): Promise<T>
  /** Records memberships (idempotent; a second add of the same pair keeps one row). */
  addMemberships (rows: readonly Membership[], client: string): Promise<void>
  removeMemberships (targetId: string, userIds: readonly string[]): Promise<void>
  removeAllMemberships (targetId: string): Promise<void>
  /** The users of `userIds` (all, if omitted) with a membership of this target, as stored (18-character ids). */
  membersOf (targetId: string, userIds?: readonly string[]): Promise<string[]>
  membershipCount (targetId: string): Promise<number>
  /** Every membership of a user, optionally of some kinds only. */
  membershipsOfUser (userId: string, kinds?: readonly MembershipKind[]): Promise<Membership[]>
  /** The value scimforce last wrote to User.ProfileId / User.UserRoleId (null: cleared), undefined: never. */
  managedField (userId: string, field: 'ProfileId' | 'UserRoleId'): Promise<string | null | undefined>
  setManagedField (userId: string, field: 'ProfileId' | 'UserRoleId', value: string | null): Promise<void>
  clearManagedField (userId: string, field: 'ProfileId' | 'UserRoleId'): Promise<void>
  /** Public groups scimforce itself created (DELETE deletes those; a group it only linked stays). */
  markGroupCreated (groupId: string): Promise<void>
  isGroupCreated (groupId: string): Promise<boolean>
  /** Group ids the IdP deleted while the Salesforce record stays (a linked target): 404 for SCIM until re-created. */
  addGroupTombstone (groupId: string): Promise<void>
  removeGroupTombstone (groupId: string): Promise<void>
  isGroupTombstoned (groupId: string): Promise<boolean>
  groupTombstoneIds (): Promise<string[]>
  /** SCIM externalId of a group (Salesforce has no field for it on these objects). */
  setGroupExternalId (groupId: string, externalId: string | null): Promise<void>
  groupExternalId (groupId: string): Promise<string | undefined>
  /** Every group externalId, for filters (`externalId eq …`, also `sw`, `co`: evaluated in memory). */
  groupExternalIds (): Promise<Array<{ groupId: string, externalId: string }>>
  /** Forgets everything about a group (after DELETE), tombstone aside. */
  forgetGroup (groupId: string): Promise<void>
  /**
   * Small JSON documents keyed by (namespace, key): scimforce's own state beyond the tables above (externalIds,
   * pending emails, write intents…), kept the same way by every back-end. Keys are compared exactly.
   */
  getDoc<T = unknown> (ns: string, key: string): Promise<StoredDoc<T> | undefined>
  /** Writes a document, replacing any. */
  putDoc (ns: string, key: string, value: unknown): Promise<void>
  /** Writes a document only if none has this key; false when one exists (a unique constraint, not a read first). */
  insertDoc (ns: string, key: string, value: unknown): Promise<boolean>
  /** Deletes a document; false when there was none. */
  deleteDoc (ns: string, key: string): Promise<boolean>
  /** Documents of a namespace in key order, optionally those whose key starts with `prefix`. */
  listDocs<T = unknown> (ns: string, opts?: { prefix?: string, limit?: number }): Promise<Array<StoredDoc<T>>>
  /** Proves the store can be written (readiness). */
  probe (): Promise<void>
  close (): Promise<void>
}

/**
 * The store cannot be reached or failed (a lost PostgreSQL connection, a full disk): the request is answered 503
 * with Retry-After, never a 404 or a 2xx that the store's answer would have decided (scim/errors.ts).
 */
export class StoreUnavailableError extends Error {
  constructor (message: string, opts?: { cause?: unknown }) {
    super(message, opts)
    this.name = 'StoreUnavailableError'
  }
}

/** Salesforce ids are case-sensitive in 15 characters and carry a case checksum in 18; key on the 15. */
export function idKey (id: string): string {
  // Only an 18-character Salesforce Id has a 15-character key. A feature licence group's id is its User field
  // (UserPermissionsMarketingUser, issue 13), which must stay whole: its first 15 characters are all alike.
  return id.length === 18 && /^[A-Za-z0-9]+$/.test(id) ? id.slice(0, 15) : id
}
