// The start-up check (and the doctor's) that every configured group mapping names a Salesforce record that exists
// (permission sets, permission set groups, profiles, roles); the lookups are the Groups gateway's.
import type { Config, GroupTargetKind } from '../config/types.js'
import { DEFAULT_GROUPS_CONFIG, TARGETS, displayNameOf } from '../mapping/group.js'
import { sameTarget, targetKey } from '../mapping/group-target.js'
import type { Logger } from '../salesforce/connection.js'
import { SalesforceError } from '../salesforce/errors.js'
import type { Gateway, SfRecord } from '../salesforce/gateway.js'
import { createGroupsGateway } from '../salesforce/groups.js'
import { normalizeSalesforceId } from '../salesforce/ids.js'

const KIND_WORD: Record<GroupTargetKind, string> = {
  permissionSet: 'permission set (by its API name)',
  permissionSetGroup: 'permission set group (by its API name)',
  profile: 'profile (by its name)',
  role: 'role (by its API name)',
}

/**
 * The start-up check (and the doctor's): every exact mapping must name one existing record that a group can
 * stand for, and no two mappings may name the same record (their SCIM groups would share one id). Patterns
 * cannot be checked ahead (they name records by what the IdP sends) and are reported when a group arrives.
 * Costs one API call (the lookups travel in one composite request, split if there are more than five kinds to ask).
 * Returns one line per problem, worded for the admin; an empty list means all is well. A Salesforce outage is a
 * problem too ("could not check …"), not an exception, so that the caller decides whether to start.
 */
export async function checkGroupMappings (gateway: Gateway, config: Config, log: Logger): Promise<string[]> {
  const groups = config.groups ?? DEFAULT_GROUPS_CONFIG
  const exact = groups.mappings.map((m, i) => ({ m, i })).filter(({ m }) => !m.target.includes('*'))
  const problems: string[] = []
  const needsDefaultProfile = groups.mappings.some((m) => m.kind === 'profile')
  if (exact.length === 0 && !needsDefaultProfile) return problems
  let found: { records: SfRecord[][], profileFound: boolean }
  try {
    const lookups = exact.map(({ m }) => ({ kind: m.kind, key: targetKey(m.kind, m.target) }))
    const profileId = needsDefaultProfile ? normalizeSalesforceId(config.users.defaults.ProfileId) ?? config.users.defaults.ProfileId : undefined
    found = await createGroupsGateway({ gateway, objects: TARGETS }).lookupTargets(lookups, log, profileId)
  } catch (err) {
    const reason = err instanceof SalesforceError ? `${err.code}: ${err.message}` : String(err)
    return [`groups.mappings could not be checked against Salesforce (${reason}): scimforce checks them again when a group arrives`]
  }
  const seen = new Map<string, number>()
  for (const [n, { m, i }] of exact.entries()) {
    const key = `groups.mappings[${i}].${m.kind}`
    const record = found.records[n]?.[0]
    if (record === undefined) {
      problems.push(`${key} names "${m.target}", but Salesforce has no such ${KIND_WORD[m.kind as GroupTargetKind]}${m.kind === 'permissionSet' ? ' that can be assigned' : ''}: fix the name, or create it in Salesforce`)
      continue
    }
    const id = String(record.Id)
    const first = seen.get(id.slice(0, 15))
    if (first !== undefined) {
      problems.push(`${key} names the same ${TARGETS[m.kind].label} (${id}) as groups.mappings[${first}]: two SCIM groups cannot share one Salesforce record`)
      continue
    }
    seen.set(id.slice(0, 15), i)
    const shown = displayNameOf(groups, m.kind, record)
    if (shown === undefined || !sameTarget(groups, shown, m.kind, record)) {
      problems.push(`${key}: "${m.displayName}" is shadowed by an earlier mapping (groups reach ${id} under another name): reorder groups.mappings`)
    }
  }
  if (needsDefaultProfile && !found.profileFound) {
    problems.push(`users.defaults.ProfileId (${config.users.defaults.ProfileId}) does not exist in Salesforce: users who leave every profile group fall back to it`)
  }
  if (problems.length > 0) log.warn({ problems }, 'group mappings need attention')
  return problems
}
