// Salesforce lookups of the records SCIM groups stand for (public groups, permission sets, permission set
// groups, profiles, roles), and the start-up check that every configured mapping names a record that exists.
import type { Config, GroupTargetKind } from '../config/types.js'
import { DEFAULT_GROUPS_CONFIG, TARGETS, displayNameOf, mappedTargetsOf, resolveDisplayName, sameId, targetIsId, type GroupKind } from '../mapping/group.js'
import type { Logger } from '../salesforce/connection.js'
import { SalesforceError } from '../salesforce/errors.js'
import type { Gateway, SfRecord } from '../salesforce/gateway.js'
import { queryRequest, readAll, recordsOf } from '../salesforce/batch.js'
import { and, eq, inList, like, LIKE_ANY, or, select, type Soql, type SoqlFragment } from '../salesforce/soql.js'
import { normalizeSalesforceId } from '../salesforce/ids.js'

/** Only records a SCIM group can stand for: regular permission sets, not the hidden ones profiles and groups own. */
export function kindScope (kind: GroupKind): SoqlFragment | undefined {
  if (kind === 'group') return eq('Type', 'Regular')
  if (kind === 'permissionSet') return eq('Type', 'Regular')
  return undefined
}

/** The record a mapping target (a name, or an Id) names, as a query. */
export function targetLookup (kind: GroupTargetKind, target: string): Soql {
  const t = TARGETS[kind]
  const id = targetIsId(kind, target) ? normalizeSalesforceId(target) : undefined
  const where = id !== undefined ? eq('Id', id) : eq(t.nameField, target)
  return select({ fields: t.fields, from: t.sobject, where: and(where, ...optional(kindScope(kind))), limit: 2 })
}

/** Every record of a kind that some mapping may name (exact names and Ids, and the name patterns as LIKE). */
export function mappedTargetsQuery (config: Config['groups'] & object, kind: GroupTargetKind): Soql | undefined {
  const t = TARGETS[kind]
  const { names, ids, patterns } = mappedTargetsOf(config, kind)
  const conds: SoqlFragment[] = []
  if (names.length > 0) conds.push(inList(t.nameField, names))
  if (ids.length > 0) conds.push(inList('Id', ids))
  for (const [before, after] of patterns) conds.push(like(t.nameField, before, LIKE_ANY, after))
  if (conds.length === 0) return undefined
  return select({ fields: t.fields, from: t.sobject, where: and(or(...conds), ...optional(kindScope(kind))), orderBy: [{ field: 'Id' }] })
}

function optional<T> (v: T | undefined): T[] {
  return v === undefined ? [] : [v]
}

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
 * Costs one API call (the lookups travel in one `/composite`, split if there are more than five kinds to ask).
 * Returns one line per problem, worded for the admin; an empty list means all is well. A Salesforce outage is a
 * problem too ("could not check …"), not an exception, so that the caller decides whether to start.
 */
export async function checkGroupMappings (gateway: Gateway, config: Config, log: Logger): Promise<string[]> {
  const groups = config.groups ?? DEFAULT_GROUPS_CONFIG
  const exact = groups.mappings.map((m, i) => ({ m, i })).filter(({ m }) => !m.target.includes('*'))
  const problems: string[] = []
  const needsDefaultProfile = groups.mappings.some((m) => m.kind === 'profile')
  if (exact.length === 0 && !needsDefaultProfile) return problems
  const requests = exact.map(({ m, i }) => queryRequest(`m${i}`, targetLookup(m.kind as GroupTargetKind, m.target)))
  if (needsDefaultProfile) {
    requests.push(queryRequest('defaultProfile', select({ fields: ['Id'], from: 'Profile', where: eq('Id', normalizeSalesforceId(config.users.defaults.ProfileId) ?? config.users.defaults.ProfileId), limit: 1 })))
  }
  let bodies: Map<string, unknown>
  try {
    bodies = await readAll(gateway, requests, log)
  } catch (err) {
    const reason = err instanceof SalesforceError ? `${err.code}: ${err.message}` : String(err)
    return [`groups.mappings could not be checked against Salesforce (${reason}): scimforce checks them again when a group arrives`]
  }
  const seen = new Map<string, number>()
  for (const { m, i } of exact) {
    const key = `groups.mappings[${i}].${m.kind}`
    const records = recordsOf(bodies.get(`m${i}`))
    const record = records[0]
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
  if (needsDefaultProfile && recordsOf(bodies.get('defaultProfile')).length === 0) {
    problems.push(`users.defaults.ProfileId (${config.users.defaults.ProfileId}) does not exist in Salesforce: users who leave every profile group fall back to it`)
  }
  if (problems.length > 0) log.warn({ problems }, 'group mappings need attention')
  return problems
}

/** True when `displayName` resolves back to this very record (the round trip every SCIM group must survive). */
export function sameTarget (config: NonNullable<Config['groups']>, displayName: string, kind: GroupKind, record: SfRecord): boolean {
  const r = resolveDisplayName(config, displayName)
  if (r.kind !== kind) return false
  if (r.kind === 'group') return true
  if (r.byId) return sameId(r.target, String(record.Id))
  const name = record[TARGETS[kind].nameField]
  return typeof name === 'string' && name.toLowerCase() === r.target.toLowerCase()
}
