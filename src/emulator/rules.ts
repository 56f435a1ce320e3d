// Object-specific Salesforce rules: User validation and licences, group and permission-set bookkeeping.

import { holdEmailChange } from './email.js'
import { SalesforceError } from './errors.js'
import { LICENCE_RULES, afterAssignmentDelete, checkDeactivation, checkFeatureLicenses, checkPermissionSetLicense, isPermissionSetLicenseId } from './licences.js'
import type { Org, WriteContext } from './org.js'
import { derivePermissionSetType, isAssignableType, isEditableType, permissionSetAfterUpdate, profileAfterUpdate } from './permissions.js'
import type { SRecord } from './schema.js'

export interface ObjectRules {
  /** Derives values before validation (Name, DeveloperName, defaults). `old` is undefined on insert. */
  prepare?: (org: Org, rec: SRecord, old: SRecord | undefined) => void
  /** Throws a SalesforceError; on insert may return the Id of an existing record to answer with instead. */
  validate?: (org: Org, rec: SRecord, old: SRecord | undefined, ctx: WriteContext) => string | undefined
  afterInsert?: (org: Org, rec: SRecord, ctx: WriteContext) => void
  afterUpdate?: (org: Org, old: SRecord, rec: SRecord, ctx: WriteContext) => void
  beforeDelete?: (org: Org, rec: SRecord, ctx: WriteContext) => void
  afterDelete?: (org: Org, rec: SRecord, ctx: WriteContext) => void
  /** Fills computed fields on read. */
  computed?: (org: Org, rec: SRecord) => void
}

// A pragmatic address check: one @, no spaces, a dotted domain. Salesforce's own rule is not documented.
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/
export function isEmail (text: string): boolean {
  return EMAIL.test(text) && !text.includes('..')
}

const lower = (v: unknown): string => typeof v === 'string' ? v.toLowerCase() : ''
const changed = (rec: SRecord, old: SRecord | undefined, field: string): boolean => old === undefined || old[field] !== rec[field]

// ---- developer names -------------------------------------------------------------------------------------

const API_NAME = /^[A-Za-z][A-Za-z0-9_]*$/

/** DeveloperName rules (docs/salesforce-behaviour.md#group-objects): letters, digits, underscores; starts with a letter; no `__`, no trailing `_`. */
function checkApiName (value: string, field: string, label: string): void {
  if (!API_NAME.test(value) || value.includes('__') || value.endsWith('_')) {
    // Assumption (docs/salesforce-behaviour.md#group-objects, UNVERIFIED errorCode): reported as FIELD_INTEGRITY_EXCEPTION with the Setup text.
    throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION',
      `The ${label} field can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores.`,
      { fields: [field] })
  }
}

/** The API name Salesforce derives from a label when none is given, made unique with a numeric suffix. */
function deriveApiName (label: string, taken: (candidate: string) => boolean): string {
  let base = label.replace(/[^A-Za-z0-9]+/g, '_').replace(/_+/g, '_').replace(/^_+|_+$/g, '')
  if (base === '') base = 'X'
  if (!/^[A-Za-z]/.test(base)) base = `X${base}`
  base = base.slice(0, 80).replace(/_+$/, '')
  // Assumption (docs/salesforce-behaviour.md#group-objects, UNVERIFIED): an auto-derived name that is taken gets _1, _2 ... appended.
  let candidate = base
  for (let n = 1; taken(candidate); n++) candidate = `${base.slice(0, 76)}_${n}`
  return candidate
}

function duplicateDeveloperName (field: string, id: string): SalesforceError {
  // Assumption (UNVERIFIED text): DUPLICATE_DEVELOPER_NAME is the code Salesforce uses for Group/queue API names.
  return new SalesforceError('DUPLICATE_DEVELOPER_NAME', `duplicate value found: ${field} duplicates value on record with id: ${id}`, { fields: [field] })
}

// ---- User ------------------------------------------------------------------------------------------------

function licenseOfProfile (org: Org, profileId: unknown): SRecord | undefined {
  if (typeof profileId !== 'string') return undefined
  const profile = org.get('Profile', profileId)
  const licenseId = profile?.UserLicenseId
  return typeof licenseId === 'string' ? org.get('UserLicense', licenseId) : undefined
}

function activeUsersOfLicense (org: Org, licenseId: string, exceptUserId?: unknown): number {
  let n = 0
  for (const p of org.filter('Profile', p => p.UserLicenseId === licenseId)) {
    const ids = org.lookup('User.activeByProfile', p.Id as string)
    n += ids.size - (typeof exceptUserId === 'string' && ids.has(exceptUserId) ? 1 : 0)
  }
  return n
}

/** True when another record than `selfId` holds the key in the index. */
function takenBy (ids: ReadonlySet<string>, selfId: unknown): boolean {
  for (const id of ids) if (id !== selfId) return true
  return false
}

const USERNAME_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

function nicknameTaken (org: Org, nickname: string, selfId: unknown): boolean {
  return takenBy(org.lookup('User.nickname', nickname.toLowerCase()), selfId)
}

/**
 * Assumption (docs/salesforce-behaviour.md#user-fields, UNVERIFIED algorithm): an omitted CommunityNickname is derived from the
 * local part of the Email, made unique with a numeric suffix (real orgs append a number too).
 */
function generateNickname (org: Org, rec: SRecord): string {
  const source = typeof rec.Email === 'string' ? rec.Email : String(rec.Username)
  const base = (source.split('@')[0] ?? 'user').slice(0, 32) || 'user'
  let candidate = base
  for (let n = 1; nicknameTaken(org, candidate, rec.Id); n++) candidate = `${base}${n}`
  return candidate
}

const userRules: ObjectRules = {
  prepare (org, rec) {
    rec.Name = [rec.FirstName, rec.LastName].filter(v => typeof v === 'string' && v !== '').join(' ') || null
    const license = licenseOfProfile(org, rec.ProfileId)
    // UserType follows the licence: Chatter Free users are CsnOnly, everyone else here is Standard.
    if (license !== undefined) rec.UserType = license.LicenseDefinitionKey === 'PID_Chatter' ? 'CsnOnly' : 'Standard'
  },
  validate (org, rec, old) {
    holdEmailChange(org, rec, old) // a changed Email may wait for the user's confirmation (email.ts)
    const username = rec.Username as string
    if (changed(rec, old, 'Username')) {
      if (!USERNAME_SHAPE.test(username) || !isEmail(username)) {
        // Assumption (docs/salesforce-behaviour.md#user-fields, errorCode UNVERIFIED): the text is the one seen through Okta.
        throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', 'Username must be in the form of an email address (for example, john@acme.com)', { fields: ['Username'] })
      }
      const key = username.toLowerCase()
      const taken = org.foreignUsernames.has(key) || takenBy(org.lookup('User.username', key), rec.Id)
      if (taken) {
        throw new SalesforceError('DUPLICATE_USERNAME',
          'Duplicate Username.<br>The username already exists in this or another Salesforce organization. Usernames must be unique across all Salesforce organizations. To resolve, use a different username (it doesn\'t need to match the user\'s email address). ',
          { fields: ['Username'] })
      }
    }
    if (rec.CommunityNickname === null) {
      if (old !== undefined) {
        throw new SalesforceError('REQUIRED_FIELD_MISSING', 'Required fields are missing: [CommunityNickname]', { fields: ['CommunityNickname'] })
      }
      rec.CommunityNickname = generateNickname(org, rec)
    } else if (changed(rec, old, 'CommunityNickname') && nicknameTaken(org, rec.CommunityNickname as string, rec.Id)) {
      // Assumption (docs/salesforce-behaviour.md#error-catalog, UNVERIFIED text).
      throw new SalesforceError('DUPLICATE_COMM_NICKNAME', 'Duplicate Nickname.<br>Another user has already selected this nickname.<br>Please select another.', { fields: ['CommunityNickname'] })
    }
    const fedId = rec.FederationIdentifier
    if (typeof fedId === 'string' && changed(rec, old, 'FederationIdentifier')) {
      // docs/salesforce-behaviour.md#user-fields, #federation-id: unique per org, compared case-sensitively (as SSO matches it). The text is the
      // documented one (Okta's KB); errorCode FIELD_INTEGRITY_EXCEPTION with fields [FederationIdentifier] rests on
      // a single real log (UNVERIFIED beyond it).
      if (takenBy(org.lookup('User.federationId', fedId), rec.Id)) {
        throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', 'This Federation ID is already in use. Use a different Federation ID.', { fields: ['FederationIdentifier'] })
      }
    }
    if (rec.ManagerId !== null && rec.ManagerId === rec.Id) {
      // Assumption (UNVERIFIED text and code): a user cannot manage themselves.
      throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', 'Manager: A user cannot be their own manager.', { fields: ['ManagerId'] })
    }
    checkDeactivation(org, rec, old)
    checkFeatureLicenses(org, rec, old)
    const license = licenseOfProfile(org, rec.ProfileId)
    const needsSeat = rec.IsActive === true &&
      (old === undefined || old.IsActive !== true || licenseOfProfile(org, old.ProfileId)?.Id !== license?.Id)
    if (needsSeat && license !== undefined) {
      const used = activeUsersOfLicense(org, license.Id as string, rec.Id)
      if (used >= (license.TotalLicenses as number)) {
        // docs/salesforce-behaviour.md#error-catalog: on create or re-activation beyond the licence's total.
        throw new SalesforceError('LICENSE_LIMIT_EXCEEDED', `License Limit Exceeded - ${String(license.Name)}`, { fields: [] })
      }
    }
    return undefined
  },
  afterInsert (org, rec, ctx) {
    org.systemInsert('UserLogin', { UserId: rec.Id as string, IsFrozen: false, IsPasswordLocked: false }, ctx)
    const ps = org.find('PermissionSet', p => p.IsOwnedByProfile === true && p.ProfileId === rec.ProfileId)
    if (ps !== undefined) {
      org.systemInsert('PermissionSetAssignment', { AssigneeId: rec.Id as string, PermissionSetId: ps.Id as string }, ctx)
    }
  },
  afterUpdate (org, old, rec, ctx) {
    if (old.ProfileId !== rec.ProfileId) {
      // The profile-owned assignment follows the user's profile.
      const oldPs = org.find('PermissionSet', p => p.IsOwnedByProfile === true && p.ProfileId === old.ProfileId)
      const newPs = org.find('PermissionSet', p => p.IsOwnedByProfile === true && p.ProfileId === rec.ProfileId)
      const [psa] = oldPs === undefined ? [] : org.lookup('PermissionSetAssignment.pair', `${String(rec.Id)}|${String(oldPs.Id)}`)
      if (psa !== undefined && newPs !== undefined) org.systemUpdate('PermissionSetAssignment', psa, { PermissionSetId: newPs.Id as string }, ctx)
    }
    // Assumption (UNVERIFIED): deactivation ends the user's sessions.
    if (old.IsActive === true && rec.IsActive !== true) org.onUserBlocked(rec.Id as string)
  },
}

// ---- UserLogin -------------------------------------------------------------------------------------------

const userLoginRules: ObjectRules = {
  validate (_org, rec, old) {
    // docs/salesforce-behaviour.md#deactivation: IsPasswordLocked can be cleared, not set.
    if (rec.IsPasswordLocked === true && old?.IsPasswordLocked !== true) {
      throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', 'IsPasswordLocked can only be set to false', { fields: ['IsPasswordLocked'] })
    }
    return undefined
  },
  afterUpdate (org, old, rec) {
    // Assumption (UNVERIFIED): freezing a user ends their sessions, as deactivation does.
    if (old.IsFrozen !== true && rec.IsFrozen === true) org.onUserBlocked(rec.UserId as string)
  },
}

// ---- UserLicense -----------------------------------------------------------------------------------------

const userLicenseRules: ObjectRules = {
  computed (org, rec) {
    rec.UsedLicenses = activeUsersOfLicense(org, rec.Id as string)
  },
}

// ---- Group / GroupMember ---------------------------------------------------------------------------------

const SYSTEM_GROUP_TYPES = new Set(['Role', 'RoleAndSubordinates', 'RoleAndSubordinatesInternal', 'Manager', 'ManagerAndSubordinatesInternal', 'Organization', 'PRMOrganization', 'AllCustomerPortal'])

const groupRules: ObjectRules = {
  prepare (org, rec, old) {
    if (old === undefined && rec.Type === null) rec.Type = 'Regular'
    if (rec.DeveloperName === null && typeof rec.Name === 'string') {
      rec.DeveloperName = deriveApiName(rec.Name, c => takenBy(org.lookup('Group.developerName', `${String(rec.Type)}|${c.toLowerCase()}`), rec.Id))
    }
  },
  validate (org, rec, old) {
    if (old === undefined && SYSTEM_GROUP_TYPES.has(String(rec.Type))) {
      // Assumption (UNVERIFIED code/text): role, organization ... groups are system-managed.
      throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', `Type: you can't create a group of type ${String(rec.Type)}`, { fields: ['Type'] })
    }
    if (old !== undefined && SYSTEM_GROUP_TYPES.has(String(old.Type)) && (changed(rec, old, 'Name') || changed(rec, old, 'DeveloperName'))) {
      throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', `You can't rename a group of type ${String(old.Type)}`, { fields: [] })
    }
    if (typeof rec.DeveloperName === 'string' && changed(rec, old, 'DeveloperName')) {
      checkApiName(rec.DeveloperName, 'DeveloperName', 'Group Name')
      // docs/salesforce-behaviour.md#group-objects: DeveloperName is unique by group type.
      const dup = [...org.lookup('Group.developerName', `${String(rec.Type)}|${rec.DeveloperName.toLowerCase()}`)].find(id => id !== rec.Id)
      if (dup !== undefined) throw duplicateDeveloperName('DeveloperName', dup)
    }
    return undefined
  },
  beforeDelete (_org, rec) {
    if (SYSTEM_GROUP_TYPES.has(String(rec.Type))) {
      throw new SalesforceError('DELETE_FAILED', `You can't delete a group of type ${String(rec.Type)}`, { fields: [] })
    }
  },
  afterDelete (org, rec) {
    for (const m of org.filter('GroupMember', m => m.GroupId === rec.Id || m.UserOrGroupId === rec.Id)) {
      org.systemDelete('GroupMember', m.Id as string)
    }
  },
}

const MEMBER_GROUP_TYPES = new Set(['Regular', 'Queue'])

const groupMemberRules: ObjectRules = {
  validate (org, rec) {
    const group = org.get('Group', rec.GroupId as string)
    if (group !== undefined && !MEMBER_GROUP_TYPES.has(String(group.Type))) {
      // Assumption (UNVERIFIED): members of system groups (roles, organization) are managed by the platform.
      throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', `You can't add members to a group of type ${String(group.Type)}`, { fields: ['GroupId'] })
    }
    if (rec.GroupId === rec.UserOrGroupId) {
      throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', 'A group cannot be a member of itself', { fields: ['UserOrGroupId'] })
    }
    // docs/salesforce-behaviour.md#group-objects [DOC]: creating a duplicate member returns the existing record, no error.
    const [dup] = org.lookup('GroupMember.pair', `${String(rec.GroupId)}|${String(rec.UserOrGroupId)}`)
    return dup
  },
}

// ---- PermissionSet / PermissionSetGroup / PermissionSetAssignment ----------------------------------------

const permissionSetRules: ObjectRules = {
  prepare (_org, rec, old) {
    derivePermissionSetType(rec, old)
    if (old === undefined) rec.IsCustom = true
  },
  validate (org, rec, old) {
    if (old !== undefined && !isEditableType(old.Type) && (changed(rec, old, 'Name') || changed(rec, old, 'Label'))) {
      throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', 'You can\'t edit this permission set because it\'s owned by a profile or a permission set group', { fields: [] })
    }
    if (typeof rec.Name === 'string' && changed(rec, old, 'Name')) {
      checkApiName(rec.Name, 'Name', 'API Name')
      const key = rec.Name.toLowerCase()
      const dup = org.find('PermissionSet', p => p.Id !== rec.Id && lower(p.Name) === key)
      if (dup !== undefined) throw duplicateDeveloperName('Name', dup.Id as string)
    }
    return undefined
  },
  beforeDelete (_org, rec) {
    if (!isEditableType(rec.Type)) {
      // Assumption (UNVERIFIED code/text): profile- and group-owned permission sets go with their owner.
      throw new SalesforceError('DELETE_FAILED', 'You can\'t delete a permission set that is owned by a profile or a permission set group', { fields: [] })
    }
  },
  afterUpdate: permissionSetAfterUpdate,
  afterDelete (org, rec) {
    // Assumption (UNVERIFIED): deleting a permission set removes its assignments rather than failing.
    for (const a of org.filter('PermissionSetAssignment', a => a.PermissionSetId === rec.Id)) {
      org.systemDelete('PermissionSetAssignment', a.Id as string)
    }
  },
}

const permissionSetGroupRules: ObjectRules = {
  prepare (_org, rec, old) {
    if (old === undefined) rec.Status = 'Updated'
  },
  validate (org, rec, old) {
    if (typeof rec.DeveloperName === 'string' && changed(rec, old, 'DeveloperName')) {
      checkApiName(rec.DeveloperName, 'DeveloperName', 'API Name')
      const key = rec.DeveloperName.toLowerCase()
      const dup = org.find('PermissionSetGroup', g => g.Id !== rec.Id && lower(g.DeveloperName) === key)
      if (dup !== undefined) throw duplicateDeveloperName('DeveloperName', dup.Id as string)
    }
    return undefined
  },
  afterInsert (org, rec, ctx) {
    // Each permission set group is backed by an aggregate permission set of Type 'Group'; assignments of the
    // group point at it through PermissionSetId (as in real orgs).
    org.systemInsert('PermissionSet', {
      Name: `PSG_${(rec.Id as string).slice(0, 15)}`,
      Label: rec.MasterLabel as string,
      Type: 'Group',
      PermissionSetGroupId: rec.Id as string,
    }, ctx)
  },
  beforeDelete (org, rec) {
    if (org.find('PermissionSetAssignment', a => a.PermissionSetGroupId === rec.Id) !== undefined) {
      // Assumption (UNVERIFIED code/text): a group still assigned to users cannot be deleted.
      throw new SalesforceError('DELETE_FAILED', 'You can\'t delete a permission set group that is assigned to users', { fields: [] })
    }
  },
  afterDelete (org, rec) {
    for (const p of org.filter('PermissionSet', p => p.PermissionSetGroupId === rec.Id)) org.systemDelete('PermissionSet', p.Id as string)
  },
}

const assignmentRules: ObjectRules = {
  prepare (org, rec, old) {
    if (old === undefined && rec.PermissionSetGroupId !== null && rec.PermissionSetId === null) {
      const aggregate = org.find('PermissionSet', p => p.PermissionSetGroupId === rec.PermissionSetGroupId)
      if (aggregate !== undefined) rec.PermissionSetId = aggregate.Id as string
    }
  },
  validate (org, rec, old) {
    if (old !== undefined) return undefined // only ExpirationDate is updatable
    if (rec.PermissionSetId === null) {
      throw new SalesforceError('REQUIRED_FIELD_MISSING', 'Required fields are missing: [PermissionSetId]', { fields: ['PermissionSetId'] })
    }
    const ps = org.get('PermissionSet', rec.PermissionSetId as string)
    if (ps === undefined) throw new SalesforceError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', { fields: [] })
    if (rec.PermissionSetGroupId === null && !isAssignableType(ps.Type)) {
      // docs/salesforce-behaviour.md#permission-set-types: Regular, Standard and Session sets are assignable; profile-owned and group aggregate
      // sets are not. Assumption (UNVERIFIED code and text): FIELD_INTEGRITY_EXCEPTION on PermissionSetId.
      throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', 'You can\'t assign or unassign this permission set because it\'s associated with a profile or a permission set group.', { fields: ['PermissionSetId'] })
    }
    if (rec.PermissionSetGroupId !== null && ps.PermissionSetGroupId !== rec.PermissionSetGroupId) {
      throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', 'Specify either PermissionSetId or PermissionSetGroupId, not both.', { fields: ['PermissionSetId', 'PermissionSetGroupId'] })
    }
    if (isPermissionSetLicenseId(ps.LicenseId)) {
      checkPermissionSetLicense(org, rec.AssigneeId, ps)
    } else if (typeof ps.LicenseId === 'string') {
      const userLicense = licenseOfProfile(org, org.get('User', rec.AssigneeId as string)?.ProfileId)
      if (userLicense?.Id !== ps.LicenseId) {
        // docs/salesforce-behaviour.md#group-objects: the permission set's licence must match the user's; text UNVERIFIED.
        throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', 'The user license doesn\'t match the user license of the permission set.', { fields: ['PermissionSetId'] })
      }
    }
    if (org.lookup('PermissionSetAssignment.pair', `${String(rec.AssigneeId)}|${String(rec.PermissionSetId)}`).size > 0) {
      // docs/salesforce-behaviour.md#error-catalog (SECONDARY): no fields listed.
      const target = rec.PermissionSetGroupId !== null ? `Permission Set Group: ${String(rec.PermissionSetGroupId)}` : `Permission Set: ${String(rec.PermissionSetId)}`
      throw new SalesforceError('DUPLICATE_VALUE', `Duplicate PermissionSetAssignment. Assignee: ${String(rec.AssigneeId)}; ${target}`, { fields: [] })
    }
    return undefined
  },
  beforeDelete (org, rec) {
    const ps = org.get('PermissionSet', rec.PermissionSetId as string)
    if (ps?.IsOwnedByProfile === true) {
      // docs/salesforce-behaviour.md#group-objects (UNVERIFIED): profile-owned assignments exist for every user and can't be deleted.
      throw new SalesforceError('DELETE_FAILED', 'You can\'t delete a permission set assignment that is owned by a profile', { fields: [] })
    }
  },
  afterDelete (org, rec) {
    afterAssignmentDelete(org, rec)
  },
}

// ---- UserRole --------------------------------------------------------------------------------------------

const userRoleRules: ObjectRules = {
  prepare (org, rec) {
    if (rec.DeveloperName === null && typeof rec.Name === 'string') {
      rec.DeveloperName = deriveApiName(rec.Name, c => org.find('UserRole', r => lower(r.DeveloperName) === c.toLowerCase() && r.Id !== rec.Id) !== undefined)
    }
  },
  validate (org, rec, old) {
    if (typeof rec.DeveloperName === 'string' && changed(rec, old, 'DeveloperName')) {
      checkApiName(rec.DeveloperName, 'DeveloperName', 'Role Name')
      const key = rec.DeveloperName.toLowerCase()
      const dup = org.find('UserRole', r => r.Id !== rec.Id && lower(r.DeveloperName) === key)
      if (dup !== undefined) throw duplicateDeveloperName('DeveloperName', dup.Id as string)
    }
    // The hierarchy must stay a tree.
    let parent = rec.ParentRoleId
    for (let depth = 0; typeof parent === 'string' && depth < 1000; depth++) {
      if (parent === rec.Id) {
        throw new SalesforceError('FIELD_INTEGRITY_EXCEPTION', 'Parent Role ID: a role cannot report to itself or to one of its subordinates', { fields: ['ParentRoleId'] })
      }
      parent = org.get('UserRole', parent)?.ParentRoleId ?? null
    }
    return undefined
  },
  afterInsert (org, rec, ctx) {
    // Salesforce keeps a Role and a RoleAndSubordinates group per role, for sharing.
    for (const type of ['Role', 'RoleAndSubordinates']) {
      org.systemInsert('Group', { Name: null, DeveloperName: rec.DeveloperName as string, Type: type, RelatedId: rec.Id as string, DoesIncludeBosses: false }, ctx)
    }
  },
  afterUpdate (org, old, rec, ctx) {
    if (old.DeveloperName !== rec.DeveloperName) {
      for (const g of org.filter('Group', g => g.RelatedId === rec.Id)) org.systemUpdate('Group', g.Id as string, { DeveloperName: rec.DeveloperName as string }, ctx)
    }
  },
  beforeDelete (org, rec) {
    if (org.find('User', u => u.UserRoleId === rec.Id) !== undefined || org.find('UserRole', r => r.ParentRoleId === rec.Id) !== undefined) {
      // Assumption (UNVERIFIED code/text).
      throw new SalesforceError('DELETE_FAILED', 'Cannot delete a role that has users or subordinate roles assigned', { fields: [] })
    }
  },
  afterDelete (org, rec) {
    for (const g of org.filter('Group', g => g.RelatedId === rec.Id)) {
      for (const m of org.filter('GroupMember', m => m.UserOrGroupId === g.Id)) org.systemDelete('GroupMember', m.Id as string)
      org.systemDelete('Group', g.Id as string)
    }
  },
}

export const RULES: Record<string, ObjectRules | undefined> = {
  User: userRules,
  Profile: { afterUpdate: profileAfterUpdate },
  UserLogin: userLoginRules,
  UserLicense: userLicenseRules,
  Group: groupRules,
  GroupMember: groupMemberRules,
  PermissionSet: permissionSetRules,
  PermissionSetGroup: permissionSetGroupRules,
  PermissionSetAssignment: assignmentRules,
  UserRole: userRoleRules,
  ...LICENCE_RULES,
}
