// The seed's licence and deprovisioning part: a permission set licence and the set that needs it, package
// licences, a user the org refuses to deactivate, and a queue. A contract for tests and the demo.

import { changeOrgSettings } from './licences.js'
import type { Org } from './org.js'
import type { SeedIds } from './seed.js'

export interface LifecycleSeedOptions {
  /** TotalLicenses per PermissionSetLicense DeveloperName; default SalesCloudEinsteinPsl 3. */
  permissionSetLicenseTotals?: Record<string, number>
  /** AllowedLicenses per PackageLicense NamespacePrefix (-1 = site licence); defaults dsfs 5, SBQQ 2. */
  packageLicenseTotals?: Record<string, number>
  /** Feature licence totals by User field (merged over DEFAULT_FEATURE_LICENSE_TOTALS; null removes a limit). */
  featureLicenseTotals?: Record<string, number | null>
}

export const CASE_OWNER_USERNAME = 'case.owner@scimforce.demo'

const PERMISSION_SET_LICENSES = [
  { developerName: 'SalesCloudEinsteinPsl', label: 'Sales Cloud Einstein', total: 3 },
]

// Namespaces of two well-known managed packages (DocuSign eSignature, Salesforce CPQ), for realism only.
const PACKAGE_LICENSES = [
  { namespace: 'dsfs', allowed: 5 },
  { namespace: 'SBQQ', allowed: 2 },
]

export function seedLifecycle (org: Org, ids: SeedIds, opts: LifecycleSeedOptions, common: Record<string, string>): void {
  for (const l of PERMISSION_SET_LICENSES) {
    ids.permissionSetLicenses[l.developerName] = org.systemInsert('PermissionSetLicense', {
      DeveloperName: l.developerName,
      MasterLabel: l.label,
      PermissionSetLicenseKey: l.developerName,
      Status: 'Active',
      TotalLicenses: opts.permissionSetLicenseTotals?.[l.developerName] ?? l.total,
      UsedLicenses: 0,
    })
  }
  // docs/salesforce-behaviour.md#licences: PermissionSet.LicenseId names the permission set licence the set needs.
  ids.permissionSets.Sales_Cloud_Einstein = org.insert('PermissionSet', {
    Name: 'Sales_Cloud_Einstein', Label: 'Sales Cloud Einstein', LicenseId: ids.permissionSetLicenses.SalesCloudEinsteinPsl,
  })
  for (const p of PACKAGE_LICENSES) {
    ids.packageLicenses[p.namespace] = org.systemInsert('PackageLicense', {
      NamespacePrefix: p.namespace, AllowedLicenses: opts.packageLicenseTotals?.[p.namespace] ?? p.allowed, UsedLicenses: 0, Status: 'Active', IsProvisioned: true,
    })
  }

  // Support Settings name this user Default Case Owner, so deactivating them is refused (KB 000384586).
  const caseOwner = org.insert('User', {
    ...common,
    Username: CASE_OWNER_USERNAME,
    FirstName: 'Casey',
    LastName: 'Owner',
    Email: CASE_OWNER_USERNAME,
    Alias: 'cowner',
    Title: 'Support Lead',
    Department: 'Support',
    UserRoleId: ids.roles['Support Agent'] as string,
    EmployeeNumber: 'E-1004',
  })
  ids.users[CASE_OWNER_USERNAME] = caseOwner
  changeOrgSettings(org, { defaultCaseOwnerId: caseOwner, ...(opts.featureLicenseTotals !== undefined ? { featureLicenseTotals: opts.featureLicenseTotals } : {}) })

  // docs/salesforce-behaviour.md#group-objects: queues are Group rows of Type 'Queue' with GroupMember rows, like public groups.
  ids.groups['Support Queue'] = org.insert('Group', { Name: 'Support Queue', DeveloperName: 'Support_Queue', Type: 'Queue' })
  org.insert('GroupMember', { GroupId: ids.groups['Support Queue'], UserOrGroupId: caseOwner })
}
