// Profiles and permission sets as one permission model: profile-owned sets, their Permissions* fields, Type.

import type { Org, WriteContext } from './org.js'
import { PERMISSION_FIELDS, type SRecord } from './schema.js'

/**
 * PermissionSet.Type (Object Reference, PermissionSet; docs/salesforce-behaviour.md#permission-set-types): Regular (custom), Standard (shipped by
 * Salesforce), Session (activated per session), Group (the aggregate set of a permission set group) and Profile
 * (owned by a profile). Old sets may have no Type; they behave as Regular.
 * Standard and Session sets are assignable like Regular ones; Profile and Group sets are not (their users come from
 * the profile or the group).
 */
const NOT_ASSIGNABLE = new Set(['Profile', 'Group'])
/** Assumption (UNVERIFIED): Standard sets belong to Salesforce, so like Profile and Group sets they cannot be renamed or deleted. */
const NOT_EDITABLE = new Set(['Profile', 'Group', 'Standard'])

export function isAssignableType (type: unknown): boolean {
  return !NOT_ASSIGNABLE.has(String(type))
}

export function isEditableType (type: unknown): boolean {
  return !NOT_EDITABLE.has(String(type))
}

/**
 * The Type of a set created through the API (Type itself is not createable).
 * Assumption (UNVERIFIED): "Session Activation Required" (HasActivationRequired) is what makes a custom set a
 * Session set, so Type follows it on create and on update; Standard/Profile/Group sets keep theirs.
 */
export function derivePermissionSetType (rec: SRecord, old: SRecord | undefined): void {
  if (old === undefined && rec.Type !== null && rec.Type !== undefined) return // set by the platform (seed, groups)
  // An old set without a Type keeps none.
  if (old !== undefined && old.Type !== 'Regular' && old.Type !== 'Session') return
  rec.Type = rec.HasActivationRequired === true ? 'Session' : 'Regular'
}

/** The hidden permission set a profile owns (IsOwnedByProfile = true), if any. */
export function ownedPermissionSet (org: Org, profileId: unknown): SRecord | undefined {
  if (typeof profileId !== 'string') return undefined
  return org.find('PermissionSet', p => p.IsOwnedByProfile === true && p.ProfileId === profileId)
}

function permissionChanges (from: SRecord, to: SRecord): SRecord {
  const out: SRecord = {}
  for (const name of PERMISSION_FIELDS) if (from[name] !== to[name]) out[name] = from[name] ?? false
  return out
}

/**
 * A profile's user permissions are held by the permission set it owns (docs/salesforce-behaviour.md#permission-fields; Object Reference,
 * PermissionSet: IsOwnedByProfile, ProfileId), and the Profile's own Permissions* fields show the same values.
 * A change on either side is copied to the other, so SOQL over either object and the PermissionSetAssignment
 * semi-join agree.
 */
export function profileAfterUpdate (org: Org, _old: SRecord, rec: SRecord, ctx: WriteContext): void {
  const ps = ownedPermissionSet(org, rec.Id)
  if (ps === undefined) return
  const changes = permissionChanges(rec, ps)
  if (Object.keys(changes).length > 0) org.systemUpdate('PermissionSet', ps.Id as string, changes, ctx)
}

export function permissionSetAfterUpdate (org: Org, _old: SRecord, rec: SRecord, ctx: WriteContext): void {
  if (rec.IsOwnedByProfile !== true || typeof rec.ProfileId !== 'string') return
  const profile = org.get('Profile', rec.ProfileId)
  if (profile === undefined) return
  const changes = permissionChanges(rec, profile)
  if (Object.keys(changes).length > 0) org.systemUpdate('Profile', rec.ProfileId, changes, ctx)
}
