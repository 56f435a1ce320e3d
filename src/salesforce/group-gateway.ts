// The Groups gateway's contract (groups.ts implements it): which Salesforce object each kind of SCIM group stands
// for, what one read or list asks for and gets, and the membership writes. Types, and the made-up record of a
// feature licence.
import type { GroupTargetKind } from '../config/types.js'
import type { Gateway, SfRecord } from './gateway.js'
import type { SoqlFragment } from './soql.js'

/** 'group' is a public group; the others are the records configuration maps groups to. */
export type GroupObjectKind = 'group' | GroupTargetKind

/** The Salesforce object behind a kind: its name, the field it is named by, and the fields read with it. */
export interface GroupObject { sobject: string, nameField: string, fields: readonly string[] }

export type GroupObjects = Readonly<Record<GroupObjectKind, GroupObject>>

/** How a mapping names its record: by Id, or by its name (API name, or Name for profiles). */
export type TargetKey = { id: string } | { name: string }

/** Kinds whose membership is a row (GroupMember, PermissionSetAssignment) rather than a User field. */
export type RowKind = 'group' | 'permissionSet' | 'permissionSetGroup' | 'packageLicence' | 'queue' | 'featureLicence'

/** What one read asks for; everything in it travels in one call where the composite limits allow. */
export interface GroupRead {
  /** The target record by id (a missing one fails the read with NOT_FOUND). */
  target?: { kind: GroupObjectKind, id: string }
  /** Users by Username. */
  userNames?: readonly string[]
  /** Users by id (ids that are not user ids are skipped). */
  userIds?: readonly string[]
  /** Membership rows of a target: of these users, or all of them when `userIds` is undefined. */
  rows?: { kind: RowKind, targetId: string, userIds?: readonly string[] | undefined }
  /** The members of these targets (for profiles and roles: the users the store says claim it). */
  members?: ReadonlyArray<{ kind: GroupObjectKind, id: string, claimed?: readonly string[] }>
  /** Which of these ids are public groups. */
  publicGroupIds?: readonly string[]
}

export interface GroupReadResult {
  target?: SfRecord | undefined
  /** Users found by Username. */
  byName: SfRecord[]
  /** Users found by id. */
  users: SfRecord[]
  /** Membership row id by member id. */
  rows: Map<string, string>
  /** Per `members` entry, in order: member users, then (public groups) member groups. */
  members: Array<{ users: SfRecord[], groups: SfRecord[] }>
  publicGroups: SfRecord[]
}

/** One membership change; `userId` also names it in errors and in the progress of a multi-step write. */
export type MembershipWrite =
  | { op: 'addMember', userId: string }
  | { op: 'removeRow', userId: string, rowId: string }
  | { op: 'setUserField', userId: string, field: 'ProfileId' | 'UserRoleId', value: string | null }

/** Which of a user's memberships to read (kinds that configuration uses; feature licences: the mapped fields). */
export interface UserGroupKinds { group: boolean, permissionSet: boolean, permissionSetGroup: boolean, packageLicence?: boolean, queue?: boolean, featureLicences?: readonly string[] }

/**
 * The record a feature licence group stands for (issue 13): Salesforce has none (a feature licence is a
 * UserPermissions* flag on User, KB 000387847; no sObject holds its allocation), so it is made from the field's
 * name, which is also the group's id. The mapping and the start-up check (scim/group-targets.ts) vouch for the field.
 */
export const featureRecord = (field: string): SfRecord => ({ Id: field, Name: field })

/** A page of public groups and every candidate of the mapped kinds asked for. */
export interface GroupListRead {
  /** Undefined when no public group can match. */
  publicGroups?: {
    /** The filter, as SOQL on Group. */
    filter?: SoqlFragment | undefined
    /** Names (and name patterns) a mapping claims: such public groups are not SCIM groups. */
    claimed: { names: readonly string[], patterns: ReadonlyArray<[string, string]> }
    /** Public group ids the IdP deleted. */
    tombstones: readonly string[]
    offset: number
    count: number
  }
  mapped: ReadonlyArray<{ kind: GroupTargetKind, key?: TargetKey | undefined, all?: MappedTargets | undefined }>
}

/** What mappings of one kind name: exact names, Ids, and name patterns (the text before and after `*`). */
export interface MappedTargets { names: readonly string[], ids: readonly string[], patterns: ReadonlyArray<[string, string]> }

export interface GroupListResult {
  publicTotal: number
  publicPage: SfRecord[]
  mapped: Map<GroupTargetKind, SfRecord[]>
}

export interface GroupsGatewayDeps {
  gateway: Gateway
  /** The objects behind each kind (mapping/group.ts TARGETS). */
  objects: GroupObjects
  /**
   * The Users path's managed scope (users.ts scopeCondition): a member is looked up only among the users SCIM may
   * reach, so a group cannot add the integration user or an admin to a public group, a permission set, a profile
   * or a role. Without it (start-up checks, which read no users) lookups are unscoped.
   */
  userScope?: () => Promise<SoqlFragment>
}
