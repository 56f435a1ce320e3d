// Shared pieces of the Groups tests: users seeded straight into the emulated org (no API accounting), the rows
// that membership is made of, and the request shapes IdPs send.
import { expect } from 'vitest'
import type { GroupsConfig, UsersConfig } from '../../src/config/types.js'
import { auth, SCIM, startHarness, type Harness } from '../helper.js'

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

type Rec = Record<string, unknown>

/** A harness whose config carries these group settings (and licences enough for bulk users). */
export async function groupsHarness (groups?: Partial<GroupsConfig>, licenses = 6000, users?: Partial<UsersConfig>): Promise<Harness> {
  return await startHarness({
    emulator: { licenseTotals: { Salesforce: licenses, 'Salesforce Platform': 50 } },
    ...(users !== undefined ? { users } : {}),
    config: (c) => ({ ...c, groups: { defaultTarget: 'publicGroup', mappings: [], ...groups } }),
  })
}

let seq = 0

/** A Salesforce user made directly in the org (as if it existed before scimforce); returns its Id. */
export function seedUser (h: Pick<Harness, 'emulator' | 'config'>, name?: string, extra: Rec = {}): string {
  const n = name ?? `u${++seq}.${Date.now().toString(36)}`
  return h.emulator.org.insert('User', {
    Username: `${n}@groups.example`,
    LastName: n,
    Email: `${n}@groups.example`,
    Alias: n.replace(/[^a-z0-9]/gi, '').slice(0, 8) || 'u',
    CommunityNickname: n,
    TimeZoneSidKey: 'America/Los_Angeles',
    LocaleSidKey: 'en_US',
    EmailEncodingKey: 'UTF-8',
    LanguageLocaleKey: 'en_US',
    ProfileId: h.config.users.defaults.ProfileId,
    IsActive: true,
    ...extra,
  } as Record<string, string | boolean>)
}

export const usernameOf = (h: Harness, id: string): string => String((h.emulator.org.get('User', id) as Rec).Username)

/** The users (and groups) with a GroupMember row in this group, sorted. */
export function groupMembers (h: Harness, groupId: string): string[] {
  return (h.emulator.org.query(`SELECT UserOrGroupId FROM GroupMember WHERE GroupId = '${groupId}'`) as unknown as Rec[])
    .map((r) => String(r.UserOrGroupId)).sort()
}

/** The assignees of a permission set (or, with `group`, of a permission set group), sorted. */
export function assignees (h: Harness, targetId: string): string[] {
  const field = targetId.startsWith('0PG') ? 'PermissionSetGroupId' : 'PermissionSetId'
  return (h.emulator.org.query(`SELECT AssigneeId FROM PermissionSetAssignment WHERE ${field} = '${targetId}'`) as unknown as Rec[])
    .map((r) => String(r.AssigneeId)).sort()
}

export const userField = (h: Harness, id: string, field: string): unknown => (h.emulator.org.get('User', id) as Rec)[field]

export async function createGroup (h: Harness, body: Rec, headers: Record<string, string> = auth): Promise<Rec> {
  const res = await h.http.post(`${SCIM}/Groups`).set(headers).set('Content-Type', 'application/scim+json').send(body)
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body as Rec
}

export async function patchGroup (h: Harness, id: string, operations: Rec[], headers: Record<string, string> = auth, query = ''): Promise<{ status: number, body: Rec, headers: Record<string, string> }> {
  const res = await h.http.patch(`${SCIM}/Groups/${id}${query}`).set(headers).set('Content-Type', 'application/scim+json').send({ schemas: [PATCH_OP], Operations: operations })
  return { status: res.status, body: res.body as Rec, headers: res.headers as Record<string, string> }
}

/** API calls and token requests `fn` costs, as the emulated org counts them. */
export async function calls (h: Harness, fn: () => Promise<unknown>): Promise<number> {
  const before = h.emulator.counters.snapshot().apiCalls
  await fn()
  return h.emulator.counters.snapshot().apiCalls - before
}

export const sorted = (ids: string[]): string[] => [...ids].sort()
