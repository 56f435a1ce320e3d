// Feature licences as group targets (issue 13): a SCIM group mapped to a UserPermissions* field sets the flag on
// its members and clears it only where scimforce set it; a full licence answers 409 naming the field and its
// holders; the licence goes with a deactivation and comes back with the reactivation; and a user's `groups` show
// package licence, queue and feature licence groups as they show the other mapped targets. Read from the org.
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/loader.js'
import { changeOrgSettings } from '../../src/emulator/licences.js'
import { checkGroupMappings } from '../../src/scim/group-targets.js'
import { auth, expectScimError, SCIM, type Harness } from '../helper.js'
import { groupsHarness, PATCH_OP, patchGroup, seedUser, userField } from './groups-helpers.js'

let h: Harness | undefined
afterEach(async () => { await h?.close(); h = undefined })

type Rec = Record<string, unknown>
const FIELD = 'UserPermissionsMarketingUser'
const MARKETING = { displayName: 'Marketing Users', kind: 'featureLicence' as const, target: FIELD, priority: 0 }

async function findGroup (hh: Harness, name: string): Promise<Rec> {
  const res = await hh.http.get(`${SCIM}/Groups`).query({ filter: `displayName eq "${name}"` }).set(auth).expect(200)
  expect(res.body.totalResults, name).toBe(1)
  return res.body.Resources[0] as Rec
}

const add = async (hh: Harness, g: string, ids: string[]): ReturnType<typeof patchGroup> => await patchGroup(hh, g, [{ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }])
const remove = async (hh: Harness, g: string, ids: string[]): ReturnType<typeof patchGroup> => await patchGroup(hh, g, ids.map((id) => ({ op: 'remove', path: `members[value eq "${id}"]` })))

describe('a feature licence as a group target', () => {
  it('is listed under its field, sets the flag on members, and clears only the flags scimforce set', async () => {
    h = await groupsHarness({ mappings: [MARKETING] })
    const g = await findGroup(h, 'Marketing Users')
    expect(g.id).toBe(FIELD)
    const u = seedUser(h)
    const admins = seedUser(h, undefined, { [FIELD]: true })
    expect((await add(h, FIELD, [u])).status).toBeLessThan(300)
    expect(userField(h, u, FIELD)).toBe(true)
    const read = await h.http.get(`${SCIM}/Groups/${FIELD}`).set(auth).expect(200)
    expect(read.body.displayName).toBe('Marketing Users')
    expect((read.body.members as Rec[]).map((m) => m.value)).toEqual(expect.arrayContaining([u, admins]))
    expect((await remove(h, FIELD, [u, admins])).status).toBeLessThan(300)
    expect(userField(h, u, FIELD)).toBe(false)
    // The admin set this one by hand: it stays.
    expect(userField(h, admins, FIELD)).toBe(true)
  })

  it('an unmapped UserPermissions* name is no SCIM group, and never reaches Salesforce', async () => {
    h = await groupsHarness({ mappings: [MARKETING] })
    const before = h.emulator.counters.snapshot().apiCalls
    await h.http.get(`${SCIM}/Groups/UserPermissionsKnowledgeUser`).set(auth).expect(404)
    expect(h.emulator.counters.snapshot().apiCalls).toBe(before)
  })

  it('a full feature licence answers 409 naming the field and its holders, and sets nothing', async () => {
    h = await groupsHarness({ mappings: [MARKETING] })
    changeOrgSettings(h.emulator.org, { featureLicenseTotals: { [FIELD]: 1 } })
    const holders = (h.emulator.org.query(`SELECT Id FROM User WHERE ${FIELD} = true`) as unknown as Rec[]).length
    if (holders === 0) seedUser(h, undefined, { [FIELD]: true })
    const u = seedUser(h)
    const res = await add(h, FIELD, [u])
    expectScimError(res, 409)
    expect(String(res.body.detail)).toMatch(new RegExp(`feature licence ${FIELD}`))
    expect(String(res.body.detail)).toMatch(/1 users hold it/)
    expect(userField(h, u, FIELD)).toBe(false)
  })

  it('goes with a deactivation and comes back with the reactivation', async () => {
    h = await groupsHarness({ mappings: [MARKETING] })
    const created = await h.http.post(`${SCIM}/Users`).set(auth).send({ userName: 'marketer@pickup.example', name: { familyName: 'Marketer' } }).expect(201)
    const u = String(created.body.id)
    expect((await add(h, FIELD, [u])).status).toBeLessThan(300)
    const setActive = async (value: boolean): Promise<void> => {
      await h?.http.patch(`${SCIM}/Users/${u}`).set(auth).send({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value }] }).expect(200)
    }
    await setActive(false)
    expect([userField(h, u, 'IsActive'), userField(h, u, FIELD)]).toEqual([false, false])
    await setActive(true)
    expect([userField(h, u, 'IsActive'), userField(h, u, FIELD)]).toEqual([true, true])
  })

  it('DELETE of the group clears the flags scimforce set, and the group answers 404 after; another feature group is untouched', async () => {
    const KNOWLEDGE = 'UserPermissionsKnowledgeUser'
    h = await groupsHarness({ mappings: [MARKETING, { displayName: 'Knowledge Users', kind: 'featureLicence', target: KNOWLEDGE, priority: 0 }] })
    const u = seedUser(h)
    await add(h, FIELD, [u])
    await add(h, KNOWLEDGE, [u])
    await h.http.delete(`${SCIM}/Groups/${FIELD}`).set(auth).expect(204)
    expect([userField(h, u, FIELD), userField(h, u, KNOWLEDGE)]).toEqual([false, true])
    await h.http.get(`${SCIM}/Groups/${FIELD}`).set(auth).expect(404)
    await h.http.get(`${SCIM}/Groups/${KNOWLEDGE}`).set(auth).expect(200)
    expect((await remove(h, KNOWLEDGE, [u])).status).toBeLessThan(300)
    expect(userField(h, u, KNOWLEDGE)).toBe(false)
  })
})

describe('a user\'s groups', () => {
  it('show package licence, queue and feature licence groups beside permission sets and public groups', async () => {
    h = await groupsHarness({
      mappings: [
        MARKETING,
        { displayName: 'DocuSign Users', kind: 'packageLicence', target: 'dsfs', priority: 0 },
        { displayName: 'Support Queue', kind: 'queue', target: 'Support_Queue', priority: 0 },
        { displayName: 'Sales Ops', kind: 'permissionSet', target: 'Sales_Ops', priority: 0 },
        { displayName: 'Einstein Users', kind: 'permissionSet', target: 'Sales_Cloud_Einstein', priority: 0 },
      ],
    })
    const u = seedUser(h)
    const names = ['Marketing Users', 'DocuSign Users', 'Support Queue', 'Sales Ops', 'Einstein Users']
    for (const name of names) expect((await add(h, String((await findGroup(h, name)).id), [u])).status, name).toBeLessThan(300)
    const res = await h.http.get(`${SCIM}/Users/${u}`).set(auth).expect(200)
    expect((res.body.groups as Rec[]).map((g) => g.display).sort()).toEqual([...names].sort())
    expect((res.body.groups as Rec[]).find((g) => g.display === 'Marketing Users')?.value).toBe(FIELD)
    // And the members filter finds them by the user.
    const byMember = await h.http.get(`${SCIM}/Groups`).query({ filter: `members.value eq "${u}"` }).set(auth).expect(200)
    expect((byMember.body.Resources as Rec[]).map((g) => g.displayName).sort()).toEqual([...names].sort())
  })
})

describe('the start-up check of feature licence mappings', () => {
  it('counts the holders of each mapped field, and names a field User does not have', async () => {
    const ok = { ...MARKETING }
    const bad = { displayName: 'Nope', kind: 'featureLicence' as const, target: 'UserPermissionsNoSuchThing', priority: 0 }
    h = await groupsHarness({ mappings: [ok] })
    const silent = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} }
    expect(await checkGroupMappings(h.app.scimforce.gateway, { ...h.config, groups: { defaultTarget: 'publicGroup', mappings: [ok] } }, silent)).toEqual([])
    const problems = await checkGroupMappings(h.app.scimforce.gateway, { ...h.config, groups: { defaultTarget: 'publicGroup', mappings: [ok, bad] } }, silent)
    expect(problems, problems.join('\n')).toHaveLength(1)
    expect(problems[0]).toMatch(/groups\.mappings\[1\]\.featureLicence names "UserPermissionsNoSuchThing"/)
  })
})

describe('configuration of feature licence targets', () => {
  const load = (yaml: string): ReturnType<typeof loadConfig> => loadConfig({ SF_LOGIN_URL: 'https://x.my.salesforce.com', SF_CLIENT_ID: 'id', SF_CLIENT_SECRET: 'secret', SF_PROFILE_ID: '00e000000000001AAA', SCIM_BEARER_TOKEN: 'a-token-long-enough-0123456789' }, { configPath: '/c.yaml', readFile: () => yaml })
  it('groups.mappings[].featureLicence names one UserPermissions* field', () => {
    expect(load(`groups:\n  mappings:\n    - displayName: Marketing Users\n      featureLicence: ${FIELD}\n`).groups?.mappings[0]).toMatchObject({ kind: 'featureLicence', target: FIELD })
    expect(() => load('groups:\n  mappings:\n    - displayName: X\n      featureLicence: PermissionsModifyAllData\n')).toThrow(/UserPermissions\* field/)
    expect(() => load('groups:\n  mappings:\n    - displayName: "Feature *"\n      featureLicence: "UserPermissions*"\n')).toThrow(/not a pattern/)
  })
})
