// The emulated org's writable state as one string, so a test can prove that a refused request changed nothing in
// Salesforce: compare the snapshot before and after.
import type { Emulator } from '../../src/emulator/index.js'

/** The objects a SCIM request can write: users, their logins (freeze), group memberships, assignments, groups. */
const WRITABLE = ['User', 'UserLogin', 'Group', 'GroupMember', 'PermissionSetAssignment']

export function orgState (emulator: Emulator): string {
  return JSON.stringify(WRITABLE.map((sobject) => [sobject, [...emulator.org.scan(sobject)]]))
}
