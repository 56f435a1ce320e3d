// The record a SCIM group stands for, as the mapping sees it: the round trip displayName → record → displayName
// every SCIM group must survive, and how a mapping target names its record for a lookup. No I/O.
import type { GroupMapping, GroupsConfig, GroupTargetKind } from '../config/types.js'
import { normalizeSalesforceId } from '../salesforce/ids.js'
import { ALLOW_PRIVILEGED_KEY, privilegeOf } from './group-privilege.js'
import { TARGETS, resolveDisplayName, sameId, targetIsId, type GroupKind } from './group.js'

/** A SCIM group as found in Salesforce: its kind, its record and the displayName it answers to. */
export interface GroupTarget {
  kind: GroupKind
  id: string
  record: Record<string, unknown>
  displayName: string
}

/** True when `displayName` resolves back to this very record (the round trip every SCIM group must survive). */
export function sameTarget (config: GroupsConfig, displayName: string, kind: GroupKind, record: Record<string, unknown>): boolean {
  const r = resolveDisplayName(config, displayName)
  if (r.kind !== kind) return false
  if (r.kind === 'group') return true
  if (r.byId) return sameId(r.target, String(record.Id))
  const name = record[TARGETS[kind].nameField]
  return typeof name === 'string' && name.toLowerCase() === r.target.toLowerCase()
}

/** How a mapping target names its record, for a lookup: by Id, or by name. */
export function targetKey (kind: GroupTargetKind, target: string): { id: string } | { name: string } {
  const id = targetIsId(kind, target) ? normalizeSalesforceId(target) : undefined
  return id !== undefined ? { id } : { name: target }
}

/** The refusal of an admin-grade record for a mapping that does not allow it, in words; undefined when allowed. */
export function privilegedRefusal (mapping: GroupMapping, index: number, record: Record<string, unknown>, adminGroups?: ReadonlySet<string>): string | undefined {
  if (mapping.allowPrivileged === true) return undefined
  const why = privilegeOf(mapping.kind, record, adminGroups)
  if (why === undefined) return undefined
  const name = record[TARGETS[mapping.kind].nameField]
  return `the ${TARGETS[mapping.kind].label} ${typeof name === 'string' ? `'${name}'` : String(record.Id)} ${why}: scimforce assigns admin-grade targets only when groups.mappings[${index}] says ${ALLOW_PRIVILEGED_KEY}: true`
}
