// The start-up check (and the doctor's) that every configured group mapping names a Salesforce record that exists
// (permission sets, permission set groups, profiles, roles, package licences, queues; a feature licence's User
// field) and is not admin-grade unless the mapping allows it; the lookups are the Groups gateway's.
import type { Config, GroupTargetKind } from '../config/types.js'
import { DEFAULT_GROUPS_CONFIG, TARGETS, displayNameOf } from '../mapping/group.js'
import { privilegedRefusal, sameTarget, targetKey } from '../mapping/group-target.js'
import type { Logger } from '../salesforce/connection.js'
import { SalesforceError } from '../salesforce/errors.js'
import type { Gateway, SfRecord } from '../salesforce/gateway.js'
import { createGroupsGateway } from '../salesforce/groups.js'
import { createLicenceGateway } from '../salesforce/licences.js'
import { normalizeSalesforceId } from '../salesforce/ids.js'
import { idKey } from '../store/store.js'

const KIND_WORD: Record<GroupTargetKind, string> = {
  permissionSet: 'permission set (by its API name)',
  permissionSetGroup: 'permission set group (by its API name)',
  profile: 'profile (by its name)',
  role: 'role (by its API name)',
  packageLicence: 'package licence (by its namespace prefix)',
  queue: 'queue (by its API name)',
  featureLicence: 'feature licence (by its UserPermissions* field)',
}

/** What the check found: problems to fix, and admin-grade targets that stop the start. */
export interface GroupMappingFindings {
  /** One line per admin-grade target a mapping does not allow, naming the key and the fix. */
  refused: string[]
  /** One line per other problem (missing or shared records, shadowed names, Salesforce unreachable). */
  problems: string[]
}

/** Thrown at start-up when a group mapping names an admin-grade record without allowing it. */
export class PrivilegedTargetError extends Error {
  readonly refused: string[]

  constructor (refused: string[]) {
    super(`refusing to start: ${refused.length === 1 ? 'a group mapping names' : 'group mappings name'} an admin-grade Salesforce record:\n${refused.map((r) => `  ${r}`).join('\n')}\nmap the group to a less privileged record, or set allowPrivileged: true on that mapping if every member of the IdP group may hold it`)
    this.name = 'PrivilegedTargetError'
    this.refused = refused
  }
}

/**
 * The start-up check (and the doctor's): every exact mapping must name one existing record that a group can
 * stand for, not an admin-grade one unless the mapping says allowPrivileged, and no two mappings may name the same
 * record (their SCIM groups would share one id). Patterns cannot be checked ahead (they name records by what the
 * IdP sends) and are checked when a group arrives: mapping/group.ts displayNameOf refuses admin-grade records then
 * (permission set groups included: every read of them carries the admin-grade question, groups.ts).
 * Costs one API call (the lookups, and which permission set groups are admin-grade, travel in one composite
 * request, split if there are more than five queries). A Salesforce outage is a problem too
 * ("could not check …"), not an exception, so that the caller decides whether to start.
 */
export async function inspectGroupMappings (gateway: Gateway, config: Config, log: Logger): Promise<GroupMappingFindings> {
  const groups = config.groups ?? DEFAULT_GROUPS_CONFIG
  const exact = groups.mappings.map((m, i) => ({ m, i })).filter(({ m }) => !m.target.includes('*'))
  const out: GroupMappingFindings = { refused: [], problems: [] }
  const needsDefaultProfile = groups.mappings.some((m) => m.kind === 'profile')
  if (exact.length === 0 && !needsDefaultProfile) return out
  let found: { records: SfRecord[][], profileFound: boolean }
  try {
    const lookups = exact.map(({ m }) => ({ kind: m.kind, key: targetKey(m.kind, m.target) }))
    const profileId = needsDefaultProfile ? normalizeSalesforceId(config.users.defaults.ProfileId) ?? config.users.defaults.ProfileId : undefined
    // Permission set groups come back marked when admin-grade (groups.ts asks in the same call).
    found = await createGroupsGateway({ gateway, objects: TARGETS }).lookupTargets(lookups, log, profileId)
  } catch (err) {
    const reason = err instanceof SalesforceError ? `${err.code}: ${err.message}` : String(err)
    out.problems.push(`groups.mappings could not be checked against Salesforce (${reason}): scimforce checks them again when a group arrives`)
    return out
  }
  const { problems, refused } = out
  const seen = new Map<string, number>()
  for (const [n, { m, i }] of exact.entries()) {
    const key = `groups.mappings[${i}].${m.kind}`
    const record = found.records[n]?.[0]
    if (record === undefined) {
      problems.push(`${key} names "${m.target}", but Salesforce has no such ${KIND_WORD[m.kind as GroupTargetKind]}${m.kind === 'permissionSet' ? ' that can be assigned' : ''}: fix the name, or create it in Salesforce`)
      continue
    }
    const refusal = privilegedRefusal(m, i, record)
    if (refusal !== undefined) {
      refused.push(`${key} ("${m.displayName}"): ${refusal}`)
      continue
    }
    const id = String(record.Id)
    const first = seen.get(idKey(id))
    if (first !== undefined) {
      problems.push(`${key} names the same ${TARGETS[m.kind].label} (${id}) as groups.mappings[${first}]: two SCIM groups cannot share one Salesforce record`)
      continue
    }
    seen.set(idKey(id), i)
    const shown = displayNameOf(groups, m.kind, record)
    if (shown === undefined || !sameTarget(groups, shown, m.kind, record)) {
      problems.push(`${key}: "${m.displayName}" is shadowed by an earlier mapping (groups reach ${id} under another name): reorder groups.mappings`)
    }
  }
  // A feature licence has no record to look up: its field is counted instead, which fails when User has no such
  // field (INVALID_FIELD) — one call per feature licence mapping, at start-up and in doctor only.
  for (const { m, i } of exact.filter(({ m }) => m.kind === 'featureLicence')) {
    try {
      await createLicenceGateway(gateway).featureHolders(m.target, log)
    } catch (err) {
      const reason = err instanceof SalesforceError ? `${err.code}: ${err.message}` : String(err)
      problems.push(`groups.mappings[${i}].featureLicence names "${m.target}", but Salesforce could not count its holders (${reason}): name a UserPermissions* field of User (Setup → Company Information lists the feature licences)`)
    }
  }
  if (needsDefaultProfile && !found.profileFound) {
    problems.push(`users.defaults.ProfileId (${config.users.defaults.ProfileId}) does not exist in Salesforce: users who leave every profile group fall back to it`)
  }
  if (refused.length > 0) log.error({ refused }, 'group mappings name admin-grade records without allowPrivileged')
  if (problems.length > 0) log.warn({ problems }, 'group mappings need attention')
  return out
}

/** Every finding as one line per problem, refusals first (doctor); an empty list means all is well. */
export async function checkGroupMappings (gateway: Gateway, config: Config, log: Logger): Promise<string[]> {
  const { refused, problems } = await inspectGroupMappings(gateway, config, log)
  return [...refused, ...problems]
}

/**
 * The start-up gate: throws PrivilegedTargetError when a mapping names an admin-grade record it does not allow,
 * and otherwise returns the other problems for the log. They do not stop the start (Salesforce may just be
 * unreachable now; requests refuse admin-grade targets on their own), an admin-grade target does.
 */
export async function checkGroupMappingsAtStart (gateway: Gateway, config: Config, log: Logger): Promise<string[]> {
  const { refused, problems } = await inspectGroupMappings(gateway, config, log)
  if (refused.length > 0) throw new PrivilegedTargetError(refused)
  return problems
}
