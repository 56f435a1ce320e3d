// The Users gateway's contract (users.ts implements it; user-coalesce.ts wraps it): what a write carries, how a
// page of users is asked for, the managed scope, and the operations. Types only.
import type { UsersConfig } from '../config/types.js'
import type { Logger } from './connection.js'
import type { CompositeSubrequest, SfRecord } from './gateway.js'
import type { SoqlFragment } from './soql.js'

/** Field values to write on a User; null clears a field. */
export type UserChanges = Record<string, string | number | boolean | null>

export type DeleteMode = UsersConfig['deleteMode']

export interface UserOrder { field: string, dir: 'ASC' | 'DESC' }

/** What a list asks for; the gateway turns it into one SOQL condition. */
export interface UserCriteria {
  /** A condition over User fields, from the filter translator. */
  filter?: SoqlFragment
  /** Tombstoned ids: those of them that are inactive are left out (an active one was revived by an admin). */
  hideInactive?: readonly string[]
}

export interface UserPageRequest {
  /** From `where()`. */
  where: SoqlFragment
  orderBy: readonly UserOrder[]
  /** Rows to skip, at most MAX_OFFSET. */
  offset: number
  /** Keyset paging past MAX_OFFSET: only users whose Id sorts after this one (with `offset` 0). */
  afterId?: string
  limit: number
}

/**
 * Which users SCIM may see and change (README.md#which-users-scim-can-reach-the-managed-scope, "The SCIM client is trusted with the workforce, not with the
 * org"). Outside it a user does not exist for SCIM.
 */
export interface UserScope {
  /** The integration user's Id, from the OAuth identity (gateway.integrationUserId): never in scope, whatever the config says. */
  integrationUserId: () => Promise<string>
  /** Users holding an admin-grade permission (PRIVILEGED_PERMISSIONS) are in scope only when this is true. */
  allowPrivileged: boolean
  /** When set, only users whose profile has one of these names are in scope. */
  profiles?: readonly string[]
}

/** Whether a user Salesforce knows by that Username lies inside the managed scope. */
export interface UsernameMatch { record: SfRecord, inScope: boolean }

export interface UserGateway {
  /** The User fields every read returns (the mapping's select list). */
  readonly fields: readonly string[]
  /** One user by (normalised) id; undefined when Salesforce has none inside the managed scope. */
  retrieve (id: string, log: Logger): Promise<SfRecord | undefined>
  /**
   * The user and other reads (e.g. its group memberships) in one `/composite`, one API call; `bodies` holds every
   * subrequest's answer by referenceId, the user's under 'user'. A failed subrequest throws.
   */
  retrieveWith (id: string, reads: readonly CompositeSubrequest[], log: Logger): Promise<{ user: SfRecord, bodies: ReadonlyMap<string, unknown> }>
  /** The user, active or not, whose Username is exactly this one, and whether it is in scope: one API call. */
  findByUsername (username: string, log: Logger): Promise<UsernameMatch | undefined>
  /**
   * POST the user and read it back: one API call, never replayed after an unknown outcome (two plain calls when a
   * value holds `@{`, which no composite can carry as data).
   */
  createAndRead (record: Record<string, unknown>, log: Logger): Promise<SfRecord>
  /**
   * PATCH the user and read it back: one API call, guarded (NOT_FOUND when the user is outside the scope at the
   * moment of the write). No changes is a plain read (NOT_FOUND when there is none). A value holding `@{` takes
   * three plain calls instead (guardedPlain).
   */
  updateAndRead (id: string, changes: UserChanges, log: Logger): Promise<SfRecord>
  /**
   * IsActive=false and the read-back, in one all-or-none call. `freeze` also freezes the user's UserLogin in the
   * same transaction; `rename` also frees the Username for reuse, which costs one more call to read it first.
   */
  deactivateAndRead (id: string, mode: DeleteMode, log: Logger): Promise<SfRecord>
  /**
   * The disable path of issue 13 (src/scim/deprovision.ts): `changes` (IsActive=false and whatever else the
   * request changes) written and read back in one call. With `freezeFirst` the UserLogin is frozen first in the
   * same call but in its own transaction (allOrNone false), so a refused deactivation cannot roll the freeze back.
   */
  disableAndRead (id: string, changes: UserChanges, opts: { freezeFirst: boolean }, log: Logger): Promise<SfRecord>
  /** Sets UserLogin.IsFrozen, guarded, in its own all-or-none call; answers the user's login row as read back. */
  setFrozen (id: string, frozen: boolean, log: Logger): Promise<{ IsFrozen: boolean }>
  /** `changes` (IsActive=true among them) and UserLogin.IsFrozen=false, read back, in one all-or-none call. */
  reactivateAndRead (id: string, changes: UserChanges, log: Logger): Promise<SfRecord>
  /** The condition a list runs under: the managed scope, the filter, the tombstone exclusion. */
  where (criteria: UserCriteria): Promise<SoqlFragment>
  /** Users matching `where`. */
  count (where: SoqlFragment, log: Logger): Promise<number>
  /** The total and one page, in one `/composite` (one API call). */
  listPage (page: UserPageRequest, log: Logger): Promise<{ total: number, records: SfRecord[] }>
  /** Every matching user's Id and IsActive, in order, a batch of up to 2,000 per API call. */
  scanIds (where: SoqlFragment, orderBy: readonly UserOrder[], log: Logger): AsyncGenerator<{ id: string, active: boolean }>
  /** The users with these ids, in the order given (ids Salesforce does not return are skipped). */
  readByIds (ids: readonly string[], log: Logger): Promise<SfRecord[]>
}
