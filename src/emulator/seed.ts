// The seeded org: licences, profiles, permission sets, roles, groups and a few users, same Ids on every start.

import type { Org } from './org.js'
import { seedLifecycle, type LifecycleSeedOptions } from './seed-lifecycle.js'

export interface SeedIds {
  orgId: string
  licenses: Record<string, string>
  profiles: Record<string, string>
  /** Profile name → the hidden permission set the profile owns. */
  profilePermissionSets: Record<string, string>
  permissionSets: Record<string, string>
  permissionSetGroups: Record<string, string>
  roles: Record<string, string>
  groups: Record<string, string>
  users: Record<string, string>
  /** PermissionSetLicense DeveloperName → Id (seed-lifecycle.ts). */
  permissionSetLicenses: Record<string, string>
  /** PackageLicense NamespacePrefix → Id (seed-lifecycle.ts). */
  packageLicenses: Record<string, string>
}

export interface SeedOptions extends LifecycleSeedOptions {
  integrationUsername: string
  licenseTotals?: Record<string, number>
}

export const DEFAULT_LICENSE_TOTALS: Record<string, number> = {
  Salesforce: 50,
  'Salesforce Platform': 10,
  'Chatter Free': 5000,
}

const LICENSES: Array<{ name: string, key: string }> = [
  { name: 'Salesforce', key: 'SFDC' },
  { name: 'Salesforce Platform', key: 'AUL' },
  { name: 'Chatter Free', key: 'PID_Chatter' },
]

const PROFILES: Array<{ name: string, license: string, api: boolean }> = [
  { name: 'System Administrator', license: 'Salesforce', api: true },
  { name: 'Standard User', license: 'Salesforce', api: true },
  { name: 'Marketing User', license: 'Salesforce', api: true },
  { name: 'Read Only', license: 'Salesforce', api: true },
  { name: 'Standard Platform User', license: 'Salesforce Platform', api: true },
  { name: 'Chatter Free User', license: 'Chatter Free', api: false },
]

export function seedOrg (org: Org, opts: SeedOptions): SeedIds {
  const ids: SeedIds = { orgId: org.orgId, licenses: {}, profiles: {}, profilePermissionSets: {}, permissionSets: {}, permissionSetGroups: {}, roles: {}, groups: {}, users: {}, permissionSetLicenses: {}, packageLicenses: {} }
  const totals = { ...DEFAULT_LICENSE_TOTALS, ...opts.licenseTotals }

  org.systemInsert('Organization', {
    Id: org.orgId,
    Name: 'scimforce Demo Org',
    OrganizationType: 'Developer Edition',
    InstanceName: 'EMU1',
    IsSandbox: false,
    DefaultLocaleSidKey: 'en_US',
    LanguageLocaleKey: 'en_US',
    TimeZoneSidKey: 'America/Los_Angeles',
  })

  for (const l of LICENSES) {
    ids.licenses[l.name] = org.systemInsert('UserLicense', {
      Name: l.name, MasterLabel: l.name, LicenseDefinitionKey: l.key, Status: 'Active', TotalLicenses: totals[l.name] ?? 0, UsedLicenses: 0,
    })
  }
  for (const p of PROFILES) {
    const licenseId = ids.licenses[p.license] as string
    const permissions = profilePermissions(p.name, p.api)
    const profileId = org.systemInsert('Profile', {
      Name: p.name,
      UserLicenseId: licenseId,
      UserType: p.license === 'Chatter Free' ? 'CsnOnly' : 'Standard',
      ...permissions,
    })
    ids.profiles[p.name] = profileId
    // Every profile owns a hidden permission set (IsOwnedByProfile = true), named after the profile's Id.
    ids.profilePermissionSets[p.name] = org.systemInsert('PermissionSet', {
      Name: `X${profileId.slice(0, 15)}`,
      Label: profileId.slice(0, 15),
      IsOwnedByProfile: true,
      IsCustom: false,
      ProfileId: profileId,
      Type: 'Profile',
      LicenseId: licenseId,
      ...permissions,
    })
  }

  // The integration (run-as) user first: it is the creator of everything after it.
  const integrationId = org.insert('User', {
    Username: opts.integrationUsername,
    FirstName: 'Integration',
    LastName: 'User',
    Email: emailFor(opts.integrationUsername),
    Alias: 'integ',
    CommunityNickname: 'integration',
    TimeZoneSidKey: 'America/Los_Angeles',
    LocaleSidKey: 'en_US',
    EmailEncodingKey: 'UTF-8',
    LanguageLocaleKey: 'en_US',
    ProfileId: ids.profiles['System Administrator'],
    Title: 'Integration User',
  })
  org.defaultActorId = integrationId
  ids.users[opts.integrationUsername] = integrationId
  org.systemUpdate('User', integrationId, { CreatedById: integrationId, LastModifiedById: integrationId })

  org.systemInsert('Group', { Name: 'All Internal Users', DeveloperName: 'AllInternalUsers', Type: 'Organization', DoesIncludeBosses: false })

  const ceo = org.insert('UserRole', { Name: 'CEO', DeveloperName: 'CEO' })
  const vpSales = org.insert('UserRole', { Name: 'VP Sales', DeveloperName: 'VP_Sales', ParentRoleId: ceo })
  const salesRep = org.insert('UserRole', { Name: 'Sales Rep', DeveloperName: 'Sales_Rep', ParentRoleId: vpSales })
  const support = org.insert('UserRole', { Name: 'Support Agent', DeveloperName: 'Support_Agent', ParentRoleId: ceo })
  Object.assign(ids.roles, { CEO: ceo, 'VP Sales': vpSales, 'Sales Rep': salesRep, 'Support Agent': support })

  const permissionSets: Array<[string, string, Record<string, string | boolean>]> = [
    ['Sales_Ops', 'Sales Operations', {}],
    ['Service_Console', 'Service Console', {}],
    ['API_Enabled', 'API Enabled', { PermissionsApiEnabled: true }],
    // Bound to the Salesforce Platform licence: assigning it to a full Salesforce user fails.
    ['Platform_Apps', 'Platform Apps', { LicenseId: ids.licenses['Salesforce Platform'] as string }],
  ]
  for (const [name, label, extra] of permissionSets) {
    ids.permissionSets[name] = org.insert('PermissionSet', { Name: name, Label: label, ...extra })
  }
  ids.permissionSetGroups.Sales_Bundle = org.insert('PermissionSetGroup', { DeveloperName: 'Sales_Bundle', MasterLabel: 'Sales Bundle' })
  ids.permissionSetGroups.Support_Bundle = org.insert('PermissionSetGroup', { DeveloperName: 'Support_Bundle', MasterLabel: 'Support Bundle' })

  ids.groups['All Internal Users'] = org.find('Group', g => g.Type === 'Organization')?.Id as string
  ids.groups['Sales Team'] = org.insert('Group', { Name: 'Sales Team', DeveloperName: 'Sales_Team', Type: 'Regular' })
  ids.groups['Support Team'] = org.insert('Group', { Name: 'Support Team', DeveloperName: 'Support_Team', Type: 'Regular' })

  const common = { TimeZoneSidKey: 'America/Los_Angeles', LocaleSidKey: 'en_US', EmailEncodingKey: 'UTF-8', LanguageLocaleKey: 'en_US', ProfileId: ids.profiles['Standard User'] }
  const grace = org.insert('User', {
    ...common,
    Username: 'grace.hopper@scimforce.demo',
    FirstName: 'Grace',
    LastName: 'Hopper',
    Email: 'grace.hopper@scimforce.demo',
    Alias: 'ghopper',
    Title: 'VP Sales',
    Department: 'Sales',
    UserRoleId: vpSales,
    FederationIdentifier: 'grace.hopper',
    EmployeeNumber: 'E-1001',
  })
  const ada = org.insert('User', {
    ...common,
    Username: 'ada.lovelace@scimforce.demo',
    FirstName: 'Ada',
    LastName: 'Lovelace',
    Email: 'ada.lovelace@scimforce.demo',
    Alias: 'alovelac',
    Title: 'Account Executive',
    Department: 'Sales',
    UserRoleId: salesRep,
    ManagerId: grace,
    FederationIdentifier: 'ada.lovelace',
    EmployeeNumber: 'E-1002',
  })
  const alan = org.insert('User', {
    ...common,
    Username: 'alan.turing@scimforce.demo',
    FirstName: 'Alan',
    LastName: 'Turing',
    Email: 'alan.turing@scimforce.demo',
    Alias: 'aturing',
    Title: 'Support Engineer',
    Department: 'Support',
    UserRoleId: support,
    IsActive: false,
    EmployeeNumber: 'E-1003',
  })
  Object.assign(ids.users, { 'grace.hopper@scimforce.demo': grace, 'ada.lovelace@scimforce.demo': ada, 'alan.turing@scimforce.demo': alan })

  org.insert('GroupMember', { GroupId: ids.groups['Sales Team'], UserOrGroupId: ada })
  org.insert('GroupMember', { GroupId: ids.groups['Sales Team'], UserOrGroupId: grace })
  org.insert('PermissionSetAssignment', { AssigneeId: ada, PermissionSetId: ids.permissionSets.Sales_Ops })
  org.insert('PermissionSetAssignment', { AssigneeId: grace, PermissionSetGroupId: ids.permissionSetGroups.Sales_Bundle })
  org.insert('PermissionSetAssignment', { AssigneeId: integrationId, PermissionSetId: ids.permissionSets.API_Enabled })

  // Privileged principals besides the integration user (issue 11): an active System Administrator, a custom set
  // granting Manage Users (assigned to nobody) and a Session-type set (HasActivationRequired).
  ids.users['admin@scimforce.demo'] = org.insert('User', {
    ...common,
    ProfileId: ids.profiles['System Administrator'],
    Username: 'admin@scimforce.demo',
    FirstName: 'Org',
    LastName: 'Admin',
    Email: 'admin@scimforce.demo',
    Alias: 'oadmin',
    Title: 'Salesforce Administrator',
  })
  ids.permissionSets.User_Admin = org.insert('PermissionSet', { Name: 'User_Admin', Label: 'User Admin', PermissionsManageUsers: true, PermissionsViewSetup: true, PermissionsApiEnabled: true })
  ids.permissionSets.Session_Support = org.insert('PermissionSet', { Name: 'Session_Support', Label: 'Session Support', HasActivationRequired: true })
  seedLifecycle(org, ids, opts, common as Record<string, string>)
  return ids
}

/** The seeded profiles' user permissions: System Administrator holds the admin-grade ones, the others do not. */
function profilePermissions (profile: string, api: boolean): Record<string, boolean> {
  const admin = profile === 'System Administrator'
  return {
    PermissionsApiEnabled: api,
    PermissionsRunReports: profile !== 'Chatter Free User',
    PermissionsEditTask: profile !== 'Chatter Free User' && profile !== 'Read Only',
    PermissionsViewSetup: admin,
    PermissionsManageUsers: admin,
    PermissionsModifyAllData: admin,
    PermissionsViewAllData: admin,
    PermissionsCustomizeApplication: admin,
    PermissionsAuthorApex: admin,
  }
}

function emailFor (username: string): string {
  return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(username) ? username : 'integration@scimforce.demo'
}
