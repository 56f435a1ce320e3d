// Licences beyond the user licence (permission set, managed-package and feature licences) and the org settings
// that refuse a user's deactivation (default case owner, default workflow user ...).

import { SalesforceError } from './errors.js'
import { normalizeId, sobjectOfId } from './ids.js'
import type { Org } from './org.js'
import type { ObjectRules } from './rules.js'
import { fieldDef, objectDef, type SRecord } from './schema.js'

// ---- org settings ----------------------------------------------------------------------------------------

/**
 * Setup settings that name a user. They live in the Metadata API (CaseSettings, LeadConfigSettings,
 * WorkflowSettings ...), not in REST sObjects, so the emulator keeps them beside the records and lets tests
 * change them through `org.settings` or `PUT /__emulator/org-settings`.
 */
export interface OrgSettings {
  /** Support Settings: Default Case Owner. */
  defaultCaseOwnerId: string | null
  /** Lead Settings: Default Lead Owner. */
  defaultLeadOwnerId: string | null
  /** Web-to-Lead: Default Lead Creator. */
  webToLeadDefaultCreatorId: string | null
  /** Process Automation Settings: Default Workflow User. */
  defaultWorkflowUserId: string | null
  /**
   * Feature licences: how many users may hold each `UserPermissions*` flag (key = the User field). A flag
   * without an entry is not limited (UserPermissionsCallCenterAutoLogin, for one, is a setting, no licence).
   */
  featureLicenseTotals: Record<string, number>
  /**
   * Help "Remove a Permission Set License from a User": unassigning a permission set removes the permission
   * set licence assignments it needed "in most cases" (not when another assigned set still needs the licence;
   * not for 50 or more unassignments at once, which the emulator does not model). On by default; a test can
   * turn it off to play an org or a path where it does not happen.
   */
  autoRemovePermissionSetLicenses: boolean
}

export type UserSettingKey = 'defaultCaseOwnerId' | 'defaultLeadOwnerId' | 'webToLeadDefaultCreatorId' | 'defaultWorkflowUserId'

/** Feature licence totals of a new org; modest, like a small Enterprise org's allocation. */
export const DEFAULT_FEATURE_LICENSE_TOTALS: Readonly<Record<string, number>> = {
  UserPermissionsMarketingUser: 10,
  UserPermissionsOfflineUser: 10,
  UserPermissionsKnowledgeUser: 5,
  UserPermissionsSupportUser: 5,
  UserPermissionsInteractionUser: 10,
  UserPermissionsSFContentUser: 50,
}

export function defaultOrgSettings (): OrgSettings {
  return {
    defaultCaseOwnerId: null,
    defaultLeadOwnerId: null,
    webToLeadDefaultCreatorId: null,
    defaultWorkflowUserId: null,
    featureLicenseTotals: { ...DEFAULT_FEATURE_LICENSE_TOTALS },
    autoRemovePermissionSetLicenses: true,
  }
}

const USER_SETTINGS: UserSettingKey[] = ['defaultCaseOwnerId', 'defaultLeadOwnerId', 'webToLeadDefaultCreatorId', 'defaultWorkflowUserId']

/**
 * Applies a partial change of the settings after checking it (user settings name an existing user, totals are
 * whole numbers >= 0 on `UserPermissions*` fields). Throws RangeError with a message for the control API.
 */
export function changeOrgSettings (org: Org, patch: Record<string, unknown>): OrgSettings {
  const next: OrgSettings = { ...org.settings, featureLicenseTotals: { ...org.settings.featureLicenseTotals } }
  for (const [key, value] of Object.entries(patch)) {
    if ((USER_SETTINGS as string[]).includes(key)) {
      if (value === null) {
        next[key as UserSettingKey] = null
        continue
      }
      const id = typeof value === 'string' ? normalizeId(value) : undefined
      if (id === undefined || sobjectOfId(id) !== 'User' || org.get('User', id) === undefined) throw new RangeError(`${key} must be the Id of a user of this org, or null`)
      next[key as UserSettingKey] = id
    } else if (key === 'featureLicenseTotals') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RangeError('featureLicenseTotals must be an object')
      const userDef = objectDef('User')
      for (const [field, total] of Object.entries(value as Record<string, unknown>)) {
        const def = userDef === undefined ? undefined : fieldDef(userDef, field)
        if (def === undefined || !def.name.startsWith('UserPermissions')) throw new RangeError(`featureLicenseTotals: '${field}' is not a UserPermissions* field of User`)
        if (total === null) {
          delete next.featureLicenseTotals[def.name]
          continue
        }
        if (typeof total !== 'number' || !Number.isInteger(total) || total < 0) throw new RangeError(`featureLicenseTotals.${def.name} must be a whole number >= 0, or null for no limit`)
        next.featureLicenseTotals[def.name] = total
      }
    } else if (key === 'autoRemovePermissionSetLicenses') {
      if (typeof value !== 'boolean') throw new RangeError('autoRemovePermissionSetLicenses must be a boolean')
      next.autoRemovePermissionSetLicenses = value
    } else {
      throw new RangeError(`unknown org setting '${key}'`)
    }
  }
  Object.assign(org.settings, next)
  return org.settings
}

// ---- deactivation blockers -------------------------------------------------------------------------------

/**
 * What Salesforce says when a deactivation is refused because a setting names the user. Sources: KB 000384586
 * ("You cannot deactivate this user. You cannot deactivate a user who is the default owner of cases", "You
 * cannot deactivate the Default Workflow User"), KB 000003585 ("You cannot disable the Web to Lead Default
 * Creator"); docs/salesforce-behaviour.md#deactivation.
 */
const BLOCKER_MESSAGES: Record<UserSettingKey, string> = {
  defaultCaseOwnerId: 'You cannot deactivate this user. You cannot deactivate a user who is the default owner of cases',
  // Assumption (docs/salesforce-behaviour.md#deactivation, UNVERIFIED text): modelled on the case owner's message; no source quotes it.
  defaultLeadOwnerId: 'You cannot deactivate this user. You cannot deactivate a user who is the default owner of leads',
  webToLeadDefaultCreatorId: 'You cannot disable the Web to Lead Default Creator',
  defaultWorkflowUserId: 'You cannot deactivate the Default Workflow User',
}

/**
 * Refuses IsActive true → false for a user an org setting names. Assumption (docs/salesforce-behaviour.md#deactivation,
 * UNVERIFIED errorCode): FIELD_INTEGRITY_EXCEPTION with the UI text and no fields; the StatusCode list has no
 * CANNOT_DEACTIVATE_USER. The whole save fails, so a composite allOrNone that also freezes rolls the freeze back.
 */
export function checkDeactivation (org: Org, rec: SRecord, old: SRecord | undefined): void {
  if (old?.IsActive !== true || rec.IsActive === true) return
  for (const key of USER_SETTINGS) {
    if (org.settings[key] === rec.Id) throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', BLOCKER_MESSAGES[key], { fields: [] })
  }
}

// ---- feature licences ------------------------------------------------------------------------------------

/**
 * Feature licences are the `UserPermissions*` checkboxes on User (KB 000387847); granting one beyond the org's
 * allocation answers LICENSE_LIMIT_EXCEEDED (docs/salesforce-behaviour.md#licences).
 * Assumption (UNVERIFIED): every user holding the flag uses a licence, active or not (as package and permission
 * set licences stay with a deactivated user, KB 000386472); the message follows the user licence's
 * "License Limit Exceeded - <name>" with the feature's label, and names the field.
 */
export function checkFeatureLicenses (org: Org, rec: SRecord, old: SRecord | undefined): void {
  for (const [field, total] of Object.entries(org.settings.featureLicenseTotals)) {
    if (rec[field] !== true || old?.[field] === true) continue
    if (featureLicensesUsed(org, field, rec.Id) >= total) {
      const label = fieldDef(objectDef('User') as NonNullable<ReturnType<typeof objectDef>>, field)?.label ?? field
      throw new SalesforceError('LICENSE_LIMIT_EXCEEDED', `License Limit Exceeded - ${label}`, { fields: [field] })
    }
  }
}

/** Users other than `exceptId` that hold the feature flag. */
export function featureLicensesUsed (org: Org, field: string, exceptId?: unknown): number {
  let n = 0
  for (const u of org.scan('User')) if (u[field] === true && u.Id !== exceptId) n++
  return n
}

// ---- permission set licences -----------------------------------------------------------------------------

export function isPermissionSetLicenseId (id: unknown): id is string {
  return typeof id === 'string' && sobjectOfId(id) === 'PermissionSetLicense'
}

function pslAssignment (org: Org, assigneeId: unknown, licenseId: unknown): SRecord | undefined {
  return org.find('PermissionSetLicenseAssign', a => a.AssigneeId === assigneeId && a.PermissionSetLicenseId === licenseId)
}

/**
 * docs/salesforce-behaviour.md#licences (PermissionSet.LicenseId, Object Reference): a set that needs a permission set licence can
 * only be assigned to a user who holds it. The text is the one quoted from real orgs ("The user license doesn't
 * allow the permission: X", X = a permission of the set); the emulator's sets carry no per-licence permission,
 * so X is the licence's label. Assumption (UNVERIFIED): fields lists PermissionSetId.
 */
export function checkPermissionSetLicense (org: Org, assigneeId: unknown, ps: SRecord): void {
  if (!isPermissionSetLicenseId(ps.LicenseId)) return
  if (pslAssignment(org, assigneeId, ps.LicenseId) !== undefined) return
  const psl = org.get('PermissionSetLicense', ps.LicenseId)
  throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', `The user license doesn't allow the permission: ${String(psl?.MasterLabel ?? ps.Label)}`, { fields: ['PermissionSetId'] })
}

/** Assignments of `assigneeId` whose permission set needs the licence, the one being removed excepted. */
function setsNeeding (org: Org, assigneeId: unknown, licenseId: unknown, exceptAssignmentId?: unknown): SRecord[] {
  const out: SRecord[] = []
  for (const a of org.scan('PermissionSetAssignment')) {
    if (a.AssigneeId !== assigneeId || a.Id === exceptAssignmentId) continue
    const ps = org.peek('PermissionSet', a.PermissionSetId as string)
    if (ps !== undefined && ps.LicenseId === licenseId) out.push(ps)
  }
  return out
}

/**
 * After a PermissionSetAssignment is deleted: the licence assignments it needed go too, unless another
 * assigned set still needs them (Help "Remove a Permission Set License from a User"; see OrgSettings).
 */
export function afterAssignmentDelete (org: Org, assignment: SRecord): void {
  if (!org.settings.autoRemovePermissionSetLicenses) return
  const ps = org.peek('PermissionSet', assignment.PermissionSetId as string)
  if (ps === undefined || !isPermissionSetLicenseId(ps.LicenseId)) return
  if (setsNeeding(org, assignment.AssigneeId, ps.LicenseId, assignment.Id).length > 0) return
  const psla = pslAssignment(org, assignment.AssigneeId, ps.LicenseId)
  if (psla !== undefined) org.systemDelete('PermissionSetLicenseAssign', psla.Id as string)
}

function licenseLimit (label: unknown): SalesforceError {
  // docs/salesforce-behaviour.md#error-catalog "License Limit Exceeded - <license name>". Assumption (UNVERIFIED): the same text and code
  // for permission set and package licences, with the licence's label.
  return new SalesforceError('LICENSE_LIMIT_EXCEEDED', `License Limit Exceeded - ${String(label)}`, { fields: [] })
}

function duplicateAssignment (field: string, id: unknown): SalesforceError {
  // Assumption (UNVERIFIED text): the generic duplicate message of docs/salesforce-behaviour.md#error-catalog.
  return new SalesforceError('DUPLICATE_VALUE', `duplicate value found: ${field} duplicates value on record with id: ${String(id)}`, { fields: [] })
}

function count (org: Org, sobject: string, field: string, value: unknown): number {
  let n = 0
  for (const r of org.scan(sobject)) if (r[field] === value) n++
  return n
}

const permissionSetLicenseRules: ObjectRules = {
  computed (org, rec) {
    // Assignments of deactivated users still count (KB 000386472 for packages; the PSL rows stay likewise).
    rec.UsedLicenses = count(org, 'PermissionSetLicenseAssign', 'PermissionSetLicenseId', rec.Id)
  },
}

const permissionSetLicenseAssignRules: ObjectRules = {
  validate (org, rec) {
    const psl = org.get('PermissionSetLicense', rec.PermissionSetLicenseId as string)
    if (psl === undefined) throw new SalesforceError('REQUIRED_FIELD_MISSING', 'Required fields are missing: [PermissionSetLicenseId]', { fields: ['PermissionSetLicenseId'] })
    const dup = pslAssignment(org, rec.AssigneeId, rec.PermissionSetLicenseId)
    if (dup !== undefined) throw duplicateAssignment('PermissionSetLicenseId', dup.Id)
    if (psl.Status !== 'Active') {
      // Assumption (UNVERIFIED code/text): a disabled or expired licence cannot be assigned.
      throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', `The permission set license ${String(psl.MasterLabel)} is not active`, { fields: ['PermissionSetLicenseId'] })
    }
    if ((psl.UsedLicenses as number) >= (psl.TotalLicenses as number)) throw licenseLimit(psl.MasterLabel)
    return undefined
  },
  beforeDelete (org, rec) {
    // SailPoint's connector notes "PSLs cannot be removed until associated permission sets are removed"; Help
    // "Remove a Permission Set License from a User" says the same. Assumption (UNVERIFIED code/text): refused
    // with DELETE_FAILED, as the emulator's other refused deletes, naming the sets.
    const needing = setsNeeding(org, rec.AssigneeId, rec.PermissionSetLicenseId)
    if (needing.length > 0) {
      const psl = org.get('PermissionSetLicense', rec.PermissionSetLicenseId as string)
      throw new SalesforceError('DELETE_FAILED',
        `You can't remove the permission set license ${String(psl?.MasterLabel)} because the user is assigned permission sets that require it: ${needing.map(p => String(p.Name)).join(', ')}`,
        { fields: [] })
    }
  },
}

// ---- managed-package licences ----------------------------------------------------------------------------

const packageLicenseRules: ObjectRules = {
  computed (org, rec) {
    // KB 000386472: "Inactive users assigned package licenses show up as active users of the package".
    rec.UsedLicenses = count(org, 'UserPackageLicense', 'PackageLicenseId', rec.Id)
  },
}

const userPackageLicenseRules: ObjectRules = {
  validate (org, rec) {
    const pkg = org.get('PackageLicense', rec.PackageLicenseId as string)
    if (pkg === undefined) throw new SalesforceError('REQUIRED_FIELD_MISSING', 'Required fields are missing: [PackageLicenseId]', { fields: ['PackageLicenseId'] })
    const dup = org.find('UserPackageLicense', u => u.UserId === rec.UserId && u.PackageLicenseId === rec.PackageLicenseId)
    if (dup !== undefined) throw duplicateAssignment('PackageLicenseId', dup.Id)
    if (pkg.Status !== 'Active' && pkg.Status !== 'Trial') {
      // Assumption (UNVERIFIED code/text): an expired package licence cannot be assigned.
      throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', `The package license ${String(pkg.NamespacePrefix)} is ${String(pkg.Status)}`, { fields: ['PackageLicenseId'] })
    }
    // Object Reference, PackageLicense: AllowedLicenses is -1 for a site licence (unlimited).
    const allowed = pkg.AllowedLicenses as number
    if (allowed >= 0 && (pkg.UsedLicenses as number) >= allowed) throw licenseLimit(pkg.NamespacePrefix)
    return undefined
  },
}

export const LICENCE_RULES: Record<string, ObjectRules> = {
  PermissionSetLicense: permissionSetLicenseRules,
  PermissionSetLicenseAssign: permissionSetLicenseAssignRules,
  PackageLicense: packageLicenseRules,
  UserPackageLicense: userPackageLicenseRules,
}
