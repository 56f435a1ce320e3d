// Schemas of the groups.* keys: the mappings from SCIM group names to Salesforce records (public groups,
// permission sets, permission set groups, profiles, roles, package licences, queues, feature licences) and their
// safety rules.
// Imported by schema.ts.
import { z } from 'zod'

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Key prefixes of the records a group mapping may name by Id (docs/salesforce-behaviour.md#ids). */
const GROUP_TARGET_PREFIX = { permissionSet: '0PS', permissionSetGroup: '0PG', profile: '00e', role: '00E', packageLicence: '050', queue: '00G' } as const
/** A feature licence has no record: the mapping names the User field (KB 000387847), e.g. UserPermissionsMarketingUser. */
export const FEATURE_LICENCE_FIELD = /^UserPermissions[A-Za-z0-9_]+$/
type TargetKind = keyof typeof GROUP_TARGET_PREFIX | 'featureLicence'
const GROUP_TARGET_KINDS: TargetKind[] = [...Object.keys(GROUP_TARGET_PREFIX) as Array<keyof typeof GROUP_TARGET_PREFIX>, 'featureLicence']
const GROUP_TARGET_WORDS = { permissionSet: 'permission set API name', permissionSetGroup: 'permission set group API name', profile: 'profile name', role: 'role API name', packageLicence: 'managed package namespace', queue: 'queue API name', featureLicence: 'feature licence field' }

const GroupMappingSchema = z.strictObject({
  displayName: z.string().trim().min(1),
  permissionSet: z.string().trim().min(1).optional(),
  permissionSetGroup: z.string().trim().min(1).optional(),
  profile: z.string().trim().min(1).optional(),
  role: z.string().trim().min(1).optional(),
  /** A managed package's licence (PackageLicense), by namespace prefix or Id: membership = UserPackageLicense (issue 13). */
  packageLicence: z.string().trim().min(1).optional(),
  /** A queue (Group of Type Queue), by DeveloperName or Id: membership = GroupMember, as for public groups (issue 13). */
  queue: z.string().trim().min(1).optional(),
  /**
   * A feature licence, by its User field (UserPermissionsMarketingUser, UserPermissionsKnowledgeUser, ...):
   * membership = the flag set on the user; removal clears it only where scimforce set it (issue 13).
   */
  featureLicence: z.string().trim().regex(FEATURE_LICENCE_FIELD, { error: 'must be a UserPermissions* field of User, such as UserPermissionsMarketingUser' }).optional(),
  priority: z.number().int().optional(),
  /**
   * The mapping may stand for an admin-grade record (a profile or permission set granting ModifyAllData,
   * ViewAllData, ManageUsers, CustomizeApplication or AuthorApex, a permission set group holding one, a role at
   * the top of the hierarchy). Off: start-up, doctor and every request refuse such a target (issue 11).
   */
  allowPrivileged: z.boolean().optional()
}).superRefine((m, ctx) => {
  const kinds = GROUP_TARGET_KINDS.filter((k) => m[k] !== undefined)
  if (kinds.length !== 1) {
    ctx.addIssue({ code: 'custom', message: `needs exactly one of ${GROUP_TARGET_KINDS.join(', ')} (the Salesforce record the group stands for)${kinds.length > 1 ? `, not ${kinds.join(' and ')}` : ''}` })
    return
  }
  const kind = kinds[0] as TargetKind
  const target = m[kind] as string
  const stars = (s: string): number => s.split('*').length - 1
  if (stars(m.displayName) > 1) ctx.addIssue({ code: 'custom', path: ['displayName'], message: 'may contain one * at most' })
  // A pattern that sent many groups to one record would give them one SCIM id, and leaving one group would take
  // away what the others still grant: the matched text must pick the record.
  if (stars(m.displayName) === 1 && stars(target) !== 1) {
    ctx.addIssue({ code: 'custom', path: [kind], message: `must contain one * when displayName is a pattern: the text the pattern matched names the ${GROUP_TARGET_WORDS[kind]} (e.g. displayName "SF *" with ${kind} "*"), so each group has its own Salesforce record` })
  }
  if (stars(m.displayName) === 0 && stars(target) > 0) ctx.addIssue({ code: 'custom', path: [kind], message: 'may contain * only when displayName is a pattern with *' })
  // A pattern lets whoever names groups in the IdP pick the record: it may only reach records whose name starts
  // with a prefix the Salesforce admin chose (e.g. SCIM_*), never any record of the kind (issue 11).
  if (stars(target) === 1) {
    if (kind === 'profile') {
      ctx.addIssue({ code: 'custom', path: [kind], message: 'must name one profile, not a pattern: a profile decides a user\'s licence and every base permission, so each profile group needs its own mapping' })
    } else if (kind === 'featureLicence') {
      ctx.addIssue({ code: 'custom', path: [kind], message: 'must name one UserPermissions* field, not a pattern: each feature licence group needs its own mapping' })
    } else if (!/^[A-Za-z][A-Za-z0-9_]*\*/.test(target)) {
      ctx.addIssue({ code: 'custom', path: [kind], message: `must start with a naming prefix before the * (e.g. "SCIM_*"), so that groups reach only the ${GROUP_TARGET_WORDS[kind]}s the Salesforce admin named for SCIM, not "${target}"` })
    }
  }
  if (kind !== 'featureLicence' && /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/.test(target) && /^0(?:PS|PG)|^00[eEG]|^050/.test(target) && !target.startsWith(GROUP_TARGET_PREFIX[kind])) {
    ctx.addIssue({ code: 'custom', path: [kind], message: `is an Id of another kind of record: a ${kind} Id starts with ${GROUP_TARGET_PREFIX[kind]}` })
  }
  if (m.priority !== undefined && kind !== 'profile' && kind !== 'role') {
    ctx.addIssue({ code: 'custom', path: ['priority'], message: 'applies to profile and role mappings only (a user holds one profile and one role; permission sets add up)' })
  }
}).transform((m) => {
  const kind = GROUP_TARGET_KINDS.find((k) => m[k] !== undefined) as TargetKind
  return {
    /** The SCIM displayName, matched case-insensitively: an exact name, or a pattern with one `*`. */
    displayName: m.displayName,
    /** What the SCIM group stands for in Salesforce. */
    kind,
    /**
     * The existing Salesforce record: PermissionSet Name, PermissionSetGroup DeveloperName, Profile Name, UserRole
     * DeveloperName, or its Id. With a pattern, `*` stands for the text the displayName's `*` matched.
     */
    target: m[kind] as string,
    /** profile and role: when a user is in several such groups, the highest priority wins. */
    priority: m.priority ?? 0,
    /** Present (true) only when the target may be admin-grade (see allowPrivileged above). */
    ...(m.allowPrivileged === true ? { allowPrivileged: true as const } : {})
  }
})

export const GroupsSchema = z.strictObject({
  /**
   * A group no mapping names becomes a Salesforce public group (Group, Type Regular, with GroupMember rows:
   * 'publicGroup'), or is refused ('none').
   */
  defaultTarget: z.enum(['publicGroup', 'none']).default('publicGroup'),
  mappings: z.array(GroupMappingSchema).default([]),
  // --- groups.manageExisting (issue 11): which admin-made public groups SCIM may write to ---
  /**
   * Public groups an admin made in Salesforce (not scimforce), by Name (case-insensitive) or Id, whose members
   * and displayName SCIM may change. Others are read-only to SCIM: every internal user may inherit a public
   * group's sharing, so widening one is the admin's call, made per group. Okta's and Entra's "link an existing
   * group" flows need the group listed here (README "Groups"). Groups scimforce created need no entry.
   */
  manageExisting: z.array(z.string().trim().min(1)).optional()
  // --- end groups.manageExisting ---
}).superRefine((g, ctx) => {
  if (!Array.isArray(g.mappings)) return
  const names = new Map<string, number>()
  const targets = new Map<string, number>()
  g.mappings.forEach((m, i) => {
    if (!isRecord(m) || typeof m.displayName !== 'string' || typeof m.target !== 'string') return
    const name = m.displayName.toLowerCase()
    const first = names.get(name)
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['mappings', i, 'displayName'], message: `is the same displayName as groups.mappings[${first}]'s: the first would always win` })
    else names.set(name, i)
    const target = `${String(m.kind)}:${m.target.toLowerCase()}`
    const firstTarget = targets.get(target)
    if (firstTarget !== undefined) ctx.addIssue({ code: 'custom', path: ['mappings', i, String(m.kind)], message: `names the same record as groups.mappings[${firstTarget}]: two SCIM groups cannot share one Salesforce record (its Id is their SCIM id)` })
    else targets.set(target, i)
  })
}, { when: (payload) => isRecord(payload.value) })
