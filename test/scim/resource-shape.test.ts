// The compiled renderer answers exactly what SCIMMY's outgoing coercion answered (same attributes, names, values
// and key order), for the shapes the mapping layer builds and a few it never builds.
import SCIMMY from 'scimmy'
import { beforeAll, describe, expect, it } from 'vitest'
import { createUserMapping, toScimUser } from '../../src/mapping/user.js'
import { toScimGroup } from '../../src/mapping/group.js'
import { CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA as E } from '../../src/protocol/constants.js'
import { coerceIncoming, rendererOf, type Renderer } from '../../src/scim/resource-shape.js'

const BASE = 'https://scim.example/scim/v2'
let user: Renderer
let group: Renderer

beforeAll(() => {
  // As the routes declare them (SCIMMY keeps declarations process-wide; declaring twice is refused).
  if (!SCIMMY.Resources.declared(SCIMMY.Resources.User)) {
    SCIMMY.Resources.declare(SCIMMY.Resources.User, { extensions: [{ schema: SCIMMY.Schemas.EnterpriseUser, required: false }] })
  }
  if (!SCIMMY.Resources.declared(SCIMMY.Resources.Group)) SCIMMY.Resources.declare(SCIMMY.Resources.Group)
  user = rendererOf(SCIMMY.Resources.User)
  group = rendererOf(SCIMMY.Resources.Group)
})

const viaScimmy = (Schema: typeof SCIMMY.Schemas.User | typeof SCIMMY.Schemas.Group, r: Record<string, unknown>, path: string): string =>
  JSON.stringify(new Schema(r, 'out', `${BASE}/${path}`))

const mapping = createUserMapping({ defaults: {} as never, usernameSuffix: '.sbx', extraMappings: [{ scim: `${E}:CostCenter`, salesforce: 'CostCenter__c' }, { scim: 'urn:acme:ext:User:badge', salesforce: 'Badge__c' }] })
const record = {
  Id: '005000000000001AAA',
  Username: 'kim@pickup.example.sbx',
  FirstName: 'Kim',
  LastName: 'Lee',
  Name: 'Kim Lee',
  Email: 'kim@pickup.example',
  Phone: '+1 555',
  MobilePhone: '+1 556',
  Fax: '+1 557',
  Street: '1 Main St',
  City: 'Paris',
  State: 'IDF',
  PostalCode: '75001',
  Country: 'FR',
  Title: 'Driver',
  UserType: 'Standard',
  IsActive: false,
  LocaleSidKey: 'fr_FR',
  LanguageLocaleKey: 'fr',
  TimeZoneSidKey: 'Europe/Paris',
  CommunityNickname: 'kim',
  EmployeeNumber: '42',
  Department: 'Ops',
  Division: 'EU',
  CompanyName: 'Pickup',
  ManagerId: '005000000000002AAA',
  CostCenter__c: 'CC1',
  Badge__c: 'B7',
  CreatedDate: '2026-11-28T03:22:13.000+0000',
  LastModifiedDate: '2026-11-29T03:22:13.000+0200',
  SystemModstamp: '2026-11-29T03:22:13.000+0000',
}

describe('compiled renderer', () => {
  it.each([
    ['a full user, with an extension, an unknown URN and a miscased extension attribute', toScimUser(mapping, record)],
    ['a user with groups', { ...toScimUser(mapping, record), groups: [{ value: '00G000000000001AAA', display: 'Sales', $ref: `${BASE}/Groups/00G000000000001AAA`, type: 'direct' }] }],
    ['a user with no groups', { ...toScimUser(mapping, record), groups: [] }],
    ['a bare user', toScimUser(mapping, { Id: '005000000000003AAA', Username: 'x@y.sbx' })],
    ['a user with miscased names and unknown attributes', { schemas: [CORE_USER_SCHEMA], id: '005000000000004AAA', UserName: 'a', NAME: { GivenName: 'A' }, extra: 1, meta: { resourceType: 'User' } }],
    ['a user whose extension holds only unknown attributes', { schemas: [CORE_USER_SCHEMA, E], id: '005000000000005AAA', userName: 'b', [E]: { nope: 1 }, meta: { resourceType: 'User' } }],
  ])('renders %s as SCIMMY did', (_name, r) => {
    expect(JSON.stringify(user(r, `${BASE}/Users`))).toBe(viaScimmy(SCIMMY.Schemas.User, r, 'Users'))
  })

  const g = { Id: '00G000000000001AAA', CreatedDate: '2026-11-28T03:22:13.000+0000', LastModifiedDate: '2026-11-28T03:22:13.000+0000' }
  it.each([
    ['a group with members', toScimGroup(g, 'Sales', { externalId: 'ext-1', members: [{ value: '005000000000001AAA', display: 'kim', type: 'User', $ref: `${BASE}/Users/005000000000001AAA` }] })],
    ['a group with no members', toScimGroup(g, 'Sales', { members: [] })],
    ['a group whose members were not read', toScimGroup({ Id: '0PS000000000001AAA' }, 'Admins', {})],
  ])('renders %s as SCIMMY did', (_name, r) => {
    expect(JSON.stringify(group(r as unknown as Record<string, unknown>, `${BASE}/Groups`))).toBe(viaScimmy(SCIMMY.Schemas.Group, r as unknown as Record<string, unknown>, 'Groups'))
  })

  it('leaves the resource it renders unchanged', () => {
    const r = toScimUser(mapping, record)
    const before = JSON.stringify(r)
    user(r, `${BASE}/Users`)
    expect(JSON.stringify(r)).toBe(before)
  })
})

describe('coerceIncoming', () => {
  it('returns SCIMMY\'s canonical plain object, and its errors for invalid bodies', () => {
    expect(coerceIncoming(SCIMMY.Schemas.User, { UserName: 'a', Active: true, password: 'p' })).toEqual({ schemas: [CORE_USER_SCHEMA], userName: 'a', active: true, meta: { resourceType: 'User' } })
    expect(() => coerceIncoming(SCIMMY.Schemas.User, { userName: 'a', active: 'yes' })).toThrow(/expected value type 'boolean'/)
  })
})
