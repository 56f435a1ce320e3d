// The emulated org's writable state as one string, so a test can prove that a refused request changed nothing in
// Salesforce: compare the snapshot before and after.
import { expect } from 'vitest'
import type { Emulator } from '../../src/emulator/index.js'

/** The objects a SCIM request can write: users, their logins (freeze), group memberships, assignments, groups. */
const WRITABLE = ['User', 'UserLogin', 'Group', 'GroupMember', 'PermissionSetAssignment']

export function orgState (emulator: Emulator): string {
  return JSON.stringify(WRITABLE.map((sobject) => [sobject, [...emulator.org.scan(sobject)]]))
}

/**
 * The one write a refused request may leave: a disable (active:false) that Salesforce refused freezes the leaver so
 * they cannot log in meanwhile, and the error says so (issue 13; src/scim/deprovision.ts). Everything else must be
 * as it was, and the user's login must now be frozen.
 */
export function expectOnlyFrozen (before: string, after: string, userId: string): void {
  type Rows = Array<[string, Array<Record<string, unknown>>]>
  const b = JSON.parse(before) as Rows
  const a = JSON.parse(after) as Rows
  const login = a.find(([o]) => o === 'UserLogin')?.[1].find((r) => r.UserId === userId)
  expect(login?.IsFrozen).toBe(true)
  const others = (state: Rows): Rows => state.map(([o, rows]) => [o, o === 'UserLogin' ? rows.filter((r) => r.UserId !== userId) : rows])
  expect(others(a)).toEqual(others(b))
}
