// Which permission set groups are admin-grade (issue 11): the one question about a group-mapping target that its
// own record cannot answer. Used by the start-up and doctor checks of group mappings.
import { MAX_IDS_PER_QUERY, chunk, queryAll } from './batch.js'
import type { Logger } from './connection.js'
import type { Gateway } from './gateway.js'
import { and, eq, inList, or, select } from './soql.js'

/**
 * The ids (as stored in Salesforce) of those `groupIds` whose permission set group holds any of `permissions`.
 * A permission set group is backed by an aggregate PermissionSet (Type 'Group', PermissionSetGroupId = the
 * group), through which its assignments work (reference/salesforce.md §5). Assumption (UNVERIFIED; Object Reference,
 * PermissionSetGroup and PermissionSet): Salesforce keeps the aggregate's Permissions* fields at the union of the
 * group's sets minus its muted permissions, so asking the aggregate is asking "does any of its sets grant this".
 * The emulated org has no PermissionSetGroupComponent and its aggregates hold no permission, so there no group
 * is admin-grade. One query per 200 groups (none when there are none).
 */
export async function adminGradePermissionSetGroups (gateway: Gateway, groupIds: readonly string[], permissions: readonly string[], log: Logger): Promise<Set<string>> {
  const out = new Set<string>()
  if (groupIds.length === 0 || permissions.length === 0) return out
  for (const ids of chunk(groupIds, MAX_IDS_PER_QUERY)) {
    const q = select({
      fields: ['Id', 'PermissionSetGroupId'],
      from: 'PermissionSet',
      where: and(inList('PermissionSetGroupId', ids), or(...permissions.map((p) => eq(p, true)))),
    })
    for (const rec of await queryAll(gateway, q, log)) if (typeof rec.PermissionSetGroupId === 'string') out.add(rec.PermissionSetGroupId)
  }
  return out
}
