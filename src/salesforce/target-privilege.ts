// Which permission set groups are admin-grade (issue 11): the one question about a group-mapping target that its
// own record cannot answer. Asked in the same composite as every read of permission set groups (groups.ts), so a
// group made admin-grade after start-up is refused at the next request, and by the start-up and doctor checks.
import { ADMIN_GRADE_FIELD } from '../mapping/group-privilege.js'
import { queryRequest, recordsOf } from './batch.js'
import type { CompositeSubrequest, SfRecord } from './gateway.js'
import { and, eq, or, select, soql } from './soql.js'

/**
 * The aggregate permission sets that hold any of `permissions`, as a subrequest: every permission set group is
 * backed by an aggregate PermissionSet (Type 'Group', PermissionSetGroupId = the group), through which its
 * assignments work (docs/salesforce-behaviour.md#group-objects). Assumption (UNVERIFIED; Object Reference, PermissionSetGroup and
 * PermissionSet): Salesforce keeps the aggregate's Permissions* fields at the union of the group's sets minus its
 * muted permissions, so asking the aggregate is asking "does any of its sets grant this". Admin-grade groups are
 * few in any org, so one query for all of them is cheaper than one per group read. The emulated org keeps the
 * aggregates' fields as they are written (no PermissionSetGroupComponent), so a test grants a permission on one.
 */
export function adminGradeGroupsRequest (referenceId: string, permissions: readonly string[]): CompositeSubrequest {
  return queryRequest(referenceId, select({
    fields: ['PermissionSetGroupId'],
    from: 'PermissionSet',
    where: and(soql`PermissionSetGroupId != null`, or(...permissions.map((p) => eq(p, true)))),
  }))
}

/**
 * Marks the permission set group records among `records` that the answer to adminGradeGroupsRequest names
 * (ADMIN_GRADE_FIELD), and returns them. Ids compare on their first 15 characters.
 */
export function markAdminGrade (records: SfRecord[], answer: unknown): SfRecord[] {
  const admin = new Set(recordsOf(answer).map((r) => String(r.PermissionSetGroupId).slice(0, 15)))
  for (const r of records) if (typeof r.Id === 'string' && admin.has(r.Id.slice(0, 15))) r[ADMIN_GRADE_FIELD] = true
  return records
}
