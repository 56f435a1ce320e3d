// Field-level description of the emulated sObjects: what exists, its type and length, what is writable.

import { KEY_PREFIXES } from './ids.js'
import { EMAIL_ENCODINGS, LANGUAGES, LOCALES, TIME_ZONES, type PicklistValue } from './picklists.js'

export type FieldValue = string | number | boolean | null
export type SRecord = Record<string, FieldValue>

export type FieldType = 'id' | 'string' | 'email' | 'phone' | 'textarea' | 'url' | 'boolean' | 'reference' | 'picklist' | 'datetime' | 'int'

export interface FieldDef {
  name: string
  label: string
  type: FieldType
  length: number
  nillable: boolean
  createable: boolean
  updateable: boolean
  referenceTo?: string[]
  relationshipName?: string
  picklist?: { values: PicklistValue[], restricted: boolean, defaultValue?: string }
  defaultValue?: FieldValue
  unique?: boolean
}

export interface ChildRelationship { relationshipName: string, childSObject: string, field: string }

export interface ObjectDef {
  name: string
  label: string
  labelPlural: string
  keyPrefix: string
  fields: FieldDef[]
  /** Fields REQUIRED_FIELD_MISSING lists, in Salesforce's order. */
  required: string[]
  createable: boolean
  updateable: boolean
  deletable: boolean
  childRelationships: ChildRelationship[]
  /** lower-case field name → definition */
  byLowerName: Map<string, FieldDef>
  /** lower-case relationship name → reference field */
  byRelationship: Map<string, FieldDef>
}

type FieldOpts = Partial<Omit<FieldDef, 'name' | 'label' | 'type'>>

function f (name: string, label: string, type: FieldType, opts: FieldOpts = {}): FieldDef {
  const writable = opts.createable ?? true
  return {
    name,
    label,
    type,
    length: opts.length ?? (type === 'picklist' ? 40 : type === 'id' || type === 'reference' ? 18 : 0),
    nillable: opts.nillable ?? (type !== 'boolean' && type !== 'id'),
    createable: writable,
    updateable: opts.updateable ?? writable,
    ...(opts.referenceTo !== undefined ? { referenceTo: opts.referenceTo } : {}),
    ...(opts.relationshipName !== undefined ? { relationshipName: opts.relationshipName } : {}),
    ...(opts.picklist !== undefined ? { picklist: opts.picklist } : {}),
    ...(opts.defaultValue !== undefined ? { defaultValue: opts.defaultValue } : {}),
    ...(opts.unique !== undefined ? { unique: opts.unique } : {}),
  }
}

const readOnly = { createable: false, updateable: false }
const str = (name: string, label: string, length: number, opts: FieldOpts = {}): FieldDef => f(name, label, 'string', { length, ...opts })
const bool = (name: string, label: string, opts: FieldOpts = {}): FieldDef => f(name, label, 'boolean', { defaultValue: false, ...opts })
const ref = (name: string, label: string, to: string[], relationshipName: string | undefined, opts: FieldOpts = {}): FieldDef =>
  f(name, label, 'reference', { referenceTo: to, ...(relationshipName !== undefined ? { relationshipName } : {}), ...opts })
const pick = (name: string, label: string, values: PicklistValue[], restricted: boolean, opts: FieldOpts = {}): FieldDef =>
  f(name, label, 'picklist', { picklist: { values, restricted }, ...opts })
const plain = (...values: string[]): PicklistValue[] => values.map(v => ({ value: v, label: v }))

function idField (): FieldDef {
  return f('Id', 'Record ID', 'id', { ...readOnly, nillable: false })
}

function auditFields (): FieldDef[] {
  return [
    f('CreatedDate', 'Created Date', 'datetime', { ...readOnly, nillable: false }),
    ref('CreatedById', 'Created By ID', ['User'], 'CreatedBy', { ...readOnly, nillable: false }),
    f('LastModifiedDate', 'Last Modified Date', 'datetime', { ...readOnly, nillable: false }),
    ref('LastModifiedById', 'Last Modified By ID', ['User'], 'LastModifiedBy', { ...readOnly, nillable: false }),
    systemModstamp(),
  ]
}

function systemModstamp (): FieldDef {
  return f('SystemModstamp', 'System Modstamp', 'datetime', { ...readOnly, nillable: false })
}

/**
 * User permissions: one boolean `Permissions<Name>` field per permission, on PermissionSet and Profile alike
 * (Object Reference, PermissionSet "PermissionsPermissionName": Create, Filter, Update; docs/salesforce-behaviour.md#permission-fields). A real
 * org has hundreds; these are the admin-grade ones scimforce must recognise plus a few harmless ones.
 */
const PERMISSIONS: Array<[string, string]> = [
  ['PermissionsApiEnabled', 'API Enabled'],
  ['PermissionsViewSetup', 'View Setup and Configuration'],
  ['PermissionsManageUsers', 'Manage Users'],
  ['PermissionsModifyAllData', 'Modify All Data'],
  ['PermissionsViewAllData', 'View All Data'],
  ['PermissionsCustomizeApplication', 'Customize Application'],
  ['PermissionsAuthorApex', 'Author Apex'],
  ['PermissionsRunReports', 'Run Reports'],
  ['PermissionsEditTask', 'Edit Tasks'],
]
export const PERMISSION_FIELDS: readonly string[] = PERMISSIONS.map(([name]) => name)
const permissionFields = (): FieldDef[] => PERMISSIONS.map(([name, label]) => bool(name, label))

const USER_TYPES = plain('Standard', 'PowerPartner', 'PowerCustomerSuccess', 'CustomerSuccess', 'Guest', 'CspLitePortal', 'CsnOnly', 'SelfService')

const userFields: FieldDef[] = [
  idField(),
  str('Username', 'Username', 80, { unique: true }),
  str('LastName', 'Last Name', 80),
  str('FirstName', 'First Name', 40),
  str('MiddleName', 'Middle Name', 40),
  str('Suffix', 'Suffix', 40),
  str('Name', 'Full Name', 121, readOnly),
  str('CompanyName', 'Company Name', 80),
  str('Division', 'Division', 80),
  str('Department', 'Department', 80),
  str('Title', 'Title', 80),
  f('Street', 'Street', 'textarea', { length: 255 }),
  str('City', 'City', 40),
  str('State', 'State/Province', 80),
  str('PostalCode', 'Zip/Postal Code', 20),
  str('Country', 'Country', 80),
  f('Email', 'Email', 'email', { length: 128 }),
  f('SenderEmail', 'Email Sender Address', 'email', { length: 80 }),
  str('SenderName', 'Email Sender Name', 80),
  f('Signature', 'Email Signature', 'textarea', { length: 1333 }),
  f('Phone', 'Phone', 'phone', { length: 40 }),
  f('Fax', 'Fax', 'phone', { length: 40 }),
  f('MobilePhone', 'Mobile', 'phone', { length: 40 }),
  str('Extension', 'Extension', 40),
  str('Alias', 'Alias', 8),
  str('CommunityNickname', 'Nickname', 40, { unique: true }),
  bool('IsActive', 'Active', { defaultValue: true }),
  pick('TimeZoneSidKey', 'Time Zone', TIME_ZONES, true),
  ref('UserRoleId', 'Role ID', ['UserRole'], 'UserRole'),
  pick('LocaleSidKey', 'Locale', LOCALES, true),
  bool('ReceivesInfoEmails', 'Info Emails'),
  bool('ReceivesAdminInfoEmails', 'Admin Info Emails'),
  pick('EmailEncodingKey', 'Email Encoding', EMAIL_ENCODINGS, true),
  ref('ProfileId', 'Profile ID', ['Profile'], 'Profile'),
  pick('UserType', 'User Type', USER_TYPES, true, readOnly),
  pick('LanguageLocaleKey', 'Language', LANGUAGES, true),
  str('EmployeeNumber', 'Employee Number', 20),
  ref('DelegatedApproverId', 'Delegated Approver ID', ['User'], undefined),
  ref('ManagerId', 'Manager ID', ['User'], 'Manager'),
  f('LastLoginDate', 'Last Login', 'datetime', readOnly),
  f('LastPasswordChangeDate', 'Last Password Change or Reset', 'datetime', readOnly),
  str('FederationIdentifier', 'SAML Federation ID', 512),
  f('AboutMe', 'About Me', 'textarea', { length: 1000 }),
  bool('ForecastEnabled', 'Allow Forecasting'),
  bool('UserPermissionsMarketingUser', 'Marketing User'),
  bool('UserPermissionsOfflineUser', 'Offline User'),
  bool('UserPermissionsCallCenterAutoLogin', 'Auto-login To Call Center'),
  bool('UserPermissionsSFContentUser', 'Salesforce CRM Content User'),
  bool('UserPermissionsKnowledgeUser', 'Knowledge User'),
  bool('UserPermissionsInteractionUser', 'Flow User'),
  bool('UserPermissionsSupportUser', 'Service Cloud User'),
  ...auditFields(),
]

const groupTypes = plain('Regular', 'Queue', 'Role', 'RoleAndSubordinates', 'RoleAndSubordinatesInternal', 'Manager',
  'ManagerAndSubordinatesInternal', 'Organization', 'PRMOrganization', 'AllCustomerPortal', 'CollaborationGroup')

interface ObjectSpec {
  name: keyof typeof KEY_PREFIXES
  label: string
  labelPlural: string
  fields: FieldDef[]
  required?: string[]
  createable: boolean
  updateable: boolean
  deletable: boolean
  childRelationships?: ChildRelationship[]
}

/**
 * Permission set, managed-package licences and their assignments (docs/salesforce-behaviour.md#group-objects, #licences; Object Reference:
 * PermissionSetLicense, PermissionSetLicenseAssign, PackageLicense, UserPackageLicense). The licences are
 * read-only through the API [DOC]; their seat counts come from the seed or the emulator's options.
 * Assumption (docs/salesforce-behaviour.md#group-objects, UNVERIFIED): the assignments support create, delete and query, not update.
 */
function licenceSpecs (): ObjectSpec[] {
  const int = (name: string, label: string): FieldDef => f(name, label, 'int', { ...readOnly, nillable: false })
  return [
    {
      name: 'PermissionSetLicense',
      label: 'Permission Set License',
      labelPlural: 'Permission Set Licenses',
      fields: [
        idField(),
        str('DeveloperName', 'Developer Name', 80, readOnly),
        str('MasterLabel', 'Permission Set License Label', 80, readOnly),
        str('PermissionSetLicenseKey', 'Permission Set License Key', 255, readOnly),
        pick('Status', 'Status', plain('Active', 'Disabled', 'Expired'), true, readOnly),
        int('TotalLicenses', 'Total Licenses'),
        int('UsedLicenses', 'Used Licenses'),
        f('ExpirationDate', 'Expiration Date', 'datetime', readOnly),
        ...auditFields(),
      ],
      createable: false,
      updateable: false,
      deletable: false,
      childRelationships: [{ relationshipName: 'PermissionSetLicenseAssignments', childSObject: 'PermissionSetLicenseAssign', field: 'PermissionSetLicenseId' }],
    },
    {
      name: 'PermissionSetLicenseAssign',
      label: 'Permission Set License Assignment',
      labelPlural: 'Permission Set License Assignments',
      fields: [
        idField(),
        ref('AssigneeId', 'Assignee ID', ['User'], 'Assignee', { updateable: false }),
        ref('PermissionSetLicenseId', 'Permission Set License ID', ['PermissionSetLicense'], 'PermissionSetLicense', { updateable: false }),
        ...auditFields(),
      ],
      required: ['AssigneeId', 'PermissionSetLicenseId'],
      createable: true,
      updateable: false,
      deletable: true,
    },
    {
      name: 'PackageLicense',
      label: 'Package License',
      labelPlural: 'Package Licenses',
      fields: [
        idField(),
        str('NamespacePrefix', 'Namespace Prefix', 15, readOnly),
        // -1 = a site licence: every user may use the package (Object Reference, PackageLicense).
        int('AllowedLicenses', 'Allowed Licenses'),
        int('UsedLicenses', 'Used Licenses'),
        pick('Status', 'Status', plain('Active', 'Trial', 'Expired', 'Free'), true, readOnly),
        bool('IsProvisioned', 'Is Provisioned', readOnly),
        f('ExpirationDate', 'Expiration Date', 'datetime', readOnly),
        ...auditFields(),
      ],
      createable: false,
      updateable: false,
      deletable: false,
    },
    {
      name: 'UserPackageLicense',
      label: 'User Package License',
      labelPlural: 'User Package Licenses',
      fields: [
        idField(),
        ref('UserId', 'User ID', ['User'], undefined, { updateable: false }),
        ref('PackageLicenseId', 'Package License ID', ['PackageLicense'], 'PackageLicense', { updateable: false }),
        ...auditFields(),
      ],
      required: ['UserId', 'PackageLicenseId'],
      createable: true,
      updateable: false,
      deletable: true,
    },
  ]
}

const specs: ObjectSpec[] = [
  {
    name: 'User',
    label: 'User',
    labelPlural: 'Users',
    fields: userFields,
    // Salesforce's own list and order (docs/salesforce-behaviour.md#user-fields).
    required: ['Username', 'LastName', 'Email', 'Alias', 'TimeZoneSidKey', 'LocaleSidKey', 'EmailEncodingKey', 'ProfileId', 'LanguageLocaleKey'],
    createable: true,
    updateable: true,
    deletable: false,
    childRelationships: [
      { relationshipName: 'PermissionSetAssignments', childSObject: 'PermissionSetAssignment', field: 'AssigneeId' },
      { relationshipName: 'ManagedUsers', childSObject: 'User', field: 'ManagerId' },
      { relationshipName: 'GroupMembers', childSObject: 'GroupMember', field: 'UserOrGroupId' },
      { relationshipName: 'PermissionSetLicenseAssignments', childSObject: 'PermissionSetLicenseAssign', field: 'AssigneeId' },
    ],
  },
  {
    name: 'Profile',
    label: 'Profile',
    labelPlural: 'Profiles',
    fields: [
      idField(),
      str('Name', 'Name', 255),
      ref('UserLicenseId', 'User License ID', ['UserLicense'], 'UserLicense', readOnly),
      pick('UserType', 'User Type', USER_TYPES, true, readOnly),
      f('Description', 'Description', 'textarea', { length: 255 }),
      ...permissionFields(),
      ...auditFields(),
    ],
    required: ['Name'],
    // Assumption (docs/salesforce-behaviour.md#group-objects): treated like the older docs, Profile supports update but not create/delete.
    createable: false,
    updateable: true,
    deletable: false,
    childRelationships: [{ relationshipName: 'Users', childSObject: 'User', field: 'ProfileId' }],
  },
  {
    name: 'UserRole',
    label: 'Role',
    labelPlural: 'Roles',
    fields: [
      idField(),
      str('Name', 'Name', 80),
      str('DeveloperName', 'Developer Name', 80),
      ref('ParentRoleId', 'Parent Role ID', ['UserRole'], undefined),
      str('RollupDescription', 'Description', 80),
      pick('OpportunityAccessForAccountOwner', 'Opportunity Access Level', plain('None', 'Read', 'Edit'), true, { defaultValue: 'None' }),
      pick('CaseAccessForAccountOwner', 'Case Access Level', plain('None', 'Read', 'Edit'), true, { defaultValue: 'None' }),
      pick('PortalType', 'Portal Type', plain('None', 'CustomerPortal', 'Partner'), true, { ...readOnly, defaultValue: 'None' }),
      ...auditFields(),
    ],
    required: ['Name'],
    createable: true,
    updateable: true,
    deletable: true,
    childRelationships: [{ relationshipName: 'Users', childSObject: 'User', field: 'UserRoleId' }],
  },
  {
    name: 'UserLicense',
    label: 'User License',
    labelPlural: 'User Licenses',
    fields: [
      idField(),
      str('Name', 'Name', 40, readOnly),
      str('MasterLabel', 'Master Label', 40, readOnly),
      str('LicenseDefinitionKey', 'License Definition Key', 40, readOnly),
      pick('Status', 'Status', plain('Active', 'Disabled'), true, readOnly),
      f('TotalLicenses', 'Total Licenses', 'int', { ...readOnly, nillable: false }),
      f('UsedLicenses', 'Used Licenses', 'int', { ...readOnly, nillable: false }),
      f('UsedLicensesLastUpdated', 'Used Licenses Last Updated', 'datetime', readOnly),
      ...auditFields(),
    ],
    createable: false,
    updateable: false,
    deletable: false,
  },
  {
    name: 'PermissionSet',
    label: 'Permission Set',
    labelPlural: 'Permission Sets',
    fields: [
      idField(),
      str('Name', 'Name', 80),
      str('Label', 'Label', 80),
      f('Description', 'Description', 'textarea', { length: 255 }),
      bool('IsOwnedByProfile', 'Is Owned By Profile', readOnly),
      bool('IsCustom', 'Custom', readOnly),
      ref('ProfileId', 'Profile ID', ['Profile'], 'Profile', readOnly),
      pick('Type', 'Type', plain('Regular', 'Profile', 'Group', 'Session', 'Standard'), true, readOnly),
      // Object Reference, PermissionSet: the UserLicense or PermissionSetLicense the set needs (docs/salesforce-behaviour.md#licences).
      // UserLicense first, so a SOQL path License.Name keeps resolving as before.
      ref('LicenseId', 'License ID', ['UserLicense', 'PermissionSetLicense'], 'License'),
      ref('PermissionSetGroupId', 'Permission Set Group ID', ['PermissionSetGroup'], 'PermissionSetGroup', readOnly),
      str('NamespacePrefix', 'Namespace Prefix', 15, readOnly),
      bool('HasActivationRequired', 'Session Activation Required'),
      ...permissionFields(),
      ...auditFields(),
    ],
    required: ['Name', 'Label'],
    createable: true,
    updateable: true,
    deletable: true,
    childRelationships: [{ relationshipName: 'Assignments', childSObject: 'PermissionSetAssignment', field: 'PermissionSetId' }],
  },
  {
    name: 'PermissionSetGroup',
    label: 'Permission Set Group',
    labelPlural: 'Permission Set Groups',
    fields: [
      idField(),
      str('DeveloperName', 'Developer Name', 80),
      str('MasterLabel', 'Label', 80),
      f('Description', 'Description', 'textarea', { length: 255 }),
      pick('Status', 'Status', plain('Updated', 'Outdated', 'Updating', 'Failed'), true, readOnly),
      str('NamespacePrefix', 'Namespace Prefix', 15, readOnly),
      bool('HasActivationRequired', 'Session Activation Required'),
      ...auditFields(),
    ],
    required: ['DeveloperName', 'MasterLabel'],
    createable: true,
    updateable: true,
    deletable: true,
  },
  {
    name: 'PermissionSetAssignment',
    label: 'Permission Set Assignment',
    labelPlural: 'Permission Set Assignments',
    fields: [
      idField(),
      ref('AssigneeId', 'Assignee ID', ['User'], 'Assignee', { updateable: false }),
      ref('PermissionSetId', 'Permission Set ID', ['PermissionSet'], 'PermissionSet', { updateable: false }),
      ref('PermissionSetGroupId', 'Permission Set Group ID', ['PermissionSetGroup'], 'PermissionSetGroup', { updateable: false }),
      f('ExpirationDate', 'Expiration Date', 'datetime'),
      bool('IsActive', 'Active', { ...readOnly, defaultValue: true }),
      bool('IsRevoked', 'Is Revoked', readOnly),
      systemModstamp(),
    ],
    required: ['AssigneeId'],
    createable: true,
    updateable: true,
    deletable: true,
  },
  {
    name: 'Group',
    label: 'Group',
    labelPlural: 'Groups',
    fields: [
      idField(),
      str('Name', 'Name', 40),
      str('DeveloperName', 'Developer Name', 80),
      ref('RelatedId', 'Related ID', ['User', 'UserRole'], 'Related', readOnly),
      pick('Type', 'Type', groupTypes, false, { updateable: false, defaultValue: 'Regular' }),
      f('Email', 'Email', 'email', { length: 255 }),
      ref('OwnerId', 'Owner ID', ['User', 'Organization'], 'Owner', readOnly),
      bool('DoesSendEmailToMembers', 'Send Email to Members'),
      bool('DoesIncludeBosses', 'Include Bosses', { defaultValue: true }),
      f('Description', 'Description', 'textarea', { length: 255 }),
      ...auditFields(),
    ],
    required: ['Name'],
    createable: true,
    updateable: true,
    deletable: true,
    childRelationships: [{ relationshipName: 'GroupMembers', childSObject: 'GroupMember', field: 'GroupId' }],
  },
  {
    name: 'GroupMember',
    label: 'Group Member',
    labelPlural: 'Group Members',
    fields: [
      idField(),
      ref('GroupId', 'Group ID', ['Group'], 'Group', { updateable: false }),
      ref('UserOrGroupId', 'User/Group ID', ['User', 'Group'], undefined, { updateable: false }),
      systemModstamp(),
    ],
    required: ['GroupId', 'UserOrGroupId'],
    createable: true,
    updateable: false,
    deletable: true,
  },
  {
    name: 'UserLogin',
    label: 'User Login',
    labelPlural: 'User Logins',
    fields: [
      idField(),
      ref('UserId', 'User ID', ['User'], undefined, readOnly),
      bool('IsFrozen', 'Is Frozen'),
      bool('IsPasswordLocked', 'Is Password Locked'),
      f('LastModifiedDate', 'Last Modified Date', 'datetime', { ...readOnly, nillable: false }),
      ref('LastModifiedById', 'Last Modified By ID', ['User'], 'LastModifiedBy', { ...readOnly, nillable: false }),
    ],
    createable: false,
    updateable: true,
    deletable: false,
  },
  {
    name: 'Organization',
    label: 'Organization',
    labelPlural: 'Organizations',
    fields: [
      idField(),
      str('Name', 'Name', 80, readOnly),
      str('Division', 'Division', 80, readOnly),
      pick('OrganizationType', 'Edition', plain('Developer Edition', 'Enterprise Edition', 'Unlimited Edition'), true, readOnly),
      str('InstanceName', 'Instance Name', 5, readOnly),
      bool('IsSandbox', 'Is Sandbox', readOnly),
      pick('DefaultLocaleSidKey', 'Locale', LOCALES, true, readOnly),
      pick('LanguageLocaleKey', 'Language', LANGUAGES, true, readOnly),
      pick('TimeZoneSidKey', 'Time Zone', TIME_ZONES, true, readOnly),
      ...auditFields(),
    ],
    createable: false,
    updateable: false,
    deletable: false,
  },
  ...licenceSpecs(),
]

function build (spec: ObjectSpec): ObjectDef {
  const byLowerName = new Map<string, FieldDef>()
  const byRelationship = new Map<string, FieldDef>()
  for (const field of spec.fields) {
    byLowerName.set(field.name.toLowerCase(), field)
    if (field.relationshipName !== undefined) byRelationship.set(field.relationshipName.toLowerCase(), field)
  }
  return {
    name: spec.name,
    label: spec.label,
    labelPlural: spec.labelPlural,
    keyPrefix: KEY_PREFIXES[spec.name],
    fields: spec.fields,
    required: spec.required ?? [],
    createable: spec.createable,
    updateable: spec.updateable,
    deletable: spec.deletable,
    childRelationships: spec.childRelationships ?? [],
    byLowerName,
    byRelationship,
  }
}

export const OBJECTS: ReadonlyMap<string, ObjectDef> = new Map(specs.map(s => [s.name.toLowerCase(), build(s)]))

/** Case-insensitive lookup: URLs such as `sobjects/user/` (WSO2) must work. */
export function objectDef (name: string): ObjectDef | undefined {
  return OBJECTS.get(name.toLowerCase())
}

export function fieldDef (def: ObjectDef, name: string): FieldDef | undefined {
  return def.byLowerName.get(name.toLowerCase())
}
