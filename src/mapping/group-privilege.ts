// What makes a record a SCIM group could stand for admin-grade (issue 11): the admin permissions of profiles and
// permission sets, and the top of the role hierarchy. Pure; mapping/group.ts applies it to every record it names.

/**
 * The user permissions that make a profile or permission set admin-grade (issue 11; README.md#which-users-scim-can-reach-the-managed-scope, "The SCIM client is
 * trusted with the workforce, not with the org"): each reaches the whole org, not one user's work. Profile and
 * PermissionSet both carry these boolean fields (Object Reference, Profile and PermissionSet; docs/salesforce-behaviour.md#permission-fields).
 */
export const ADMIN_PERMISSIONS = [
  'PermissionsModifyAllData', 'PermissionsViewAllData', 'PermissionsManageUsers', 'PermissionsCustomizeApplication', 'PermissionsAuthorApex',
] as const

/**
 * Set (true) on a PermissionSetGroup record read through the groups gateway when the group is admin-grade
 * (salesforce/target-privilege.ts asks, in the same call as the read). `$` cannot start a Salesforce field name,
 * so it never shadows one.
 */
export const ADMIN_GRADE_FIELD = '$adminGrade'

/** The mapping key that lets a mapping stand for an admin-grade record. */
export const ALLOW_PRIVILEGED_KEY = 'allowPrivileged'

/**
 * Why a record a group would stand for is admin-grade, or undefined when it is not:
 * - a profile or permission set holding any ADMIN_PERMISSIONS;
 * - a permission set group marked ADMIN_GRADE_FIELD by the read that fetched it, or whose Id is in `adminGroups`
 *   (an admin permission on its aggregate permission set; the record itself says nothing);
 * - a role at the top of the hierarchy (no ParentRoleId). The role hierarchy opens every record owned by the users
 *   below a role to the users in it (Salesforce Help, "Role Hierarchy"; "Grant Access Using Hierarchies" is on for
 *   standard objects and cannot be turned off), so the top role reads nearly all data in the org. Lower roles
 *   see a branch, which an admin grants with the prefix a pattern names.
 * A field the record lacks counts as not granted: every read of a target asks for TARGETS[kind].fields.
 */
export function privilegeOf (kind: string, record: Record<string, unknown>, adminGroups?: ReadonlySet<string>): string | undefined {
  if (kind === 'profile' || kind === 'permissionSet') {
    const held = ADMIN_PERMISSIONS.filter((p) => record[p] === true).map((p) => p.slice('Permissions'.length))
    return held.length === 0 ? undefined : `grants ${held.join(', ')}`
  }
  if (kind === 'permissionSetGroup') {
    const id = typeof record.Id === 'string' ? record.Id.slice(0, 15) : ''
    const marked = record[ADMIN_GRADE_FIELD] === true || (adminGroups !== undefined && [...adminGroups].some((g) => g.slice(0, 15) === id))
    return marked ? 'holds a permission set that grants an admin permission' : undefined
  }
  if (kind === 'role') return record.ParentRoleId === null ? 'is at the top of the role hierarchy (it sees the records of every role below it)' : undefined
  return undefined
}
