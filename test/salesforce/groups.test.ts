// The Groups gateway's layouts: which subrequests one read or write becomes (order, objects, fields), and how
// the answers come back as records, against a fake transport that records every composite call.
import { describe, expect, it } from 'vitest'
import { TARGETS } from '../../src/mapping/group.js'
import { RecordWriteError } from '../../src/salesforce/batch.js'
import { checkComposite, type CompositeSubrequest, type Gateway } from '../../src/salesforce/gateway.js'
import { SalesforceError } from '../../src/salesforce/errors.js'
import { createGroupsGateway, withId } from '../../src/salesforce/groups.js'
import { quietLog } from '../reliability/fakes.js'

const GROUP = '00GHu00000000GAIAY'
const PERMSET_GROUP = '0PGHu00000000GAIAY'
const ADA = '005Hu00000000GBIAY'
const GRACE = '005Hu00000000GAIAY'

/**
 * A transport that records each composite call and answers each subrequest with `answer(subrequest)`, checked as
 * the real gateway checks every composite answer (gateway.ts checkComposite).
 */
function fakeGateway (answer: (r: CompositeSubrequest) => unknown = () => ({ totalSize: 0, done: true, records: [] })) {
  const calls: CompositeSubrequest[][] = []
  const gateway = {
    apiVersion: '62.0',
    composite: async (requests: CompositeSubrequest[]) => {
      calls.push(requests)
      return checkComposite(requests, requests.map((r) => ({ referenceId: r.referenceId, body: answer(r), httpHeaders: {}, httpStatusCode: 200 })))
    },
  } as unknown as Gateway
  return { calls, sf: createGroupsGateway({ gateway, objects: TARGETS }) }
}

const soqlOf = (r: CompositeSubrequest): string => decodeURIComponent(r.url.replace(/^\/query\?q=/, ''))
const page = (records: unknown[]): unknown => ({ totalSize: records.length, done: true, records })

describe('Groups gateway: reads', () => {
  it('sends one read in as few composites as the limits allow, in a fixed order: target, names, users, rows, members, groups', async () => {
    const { calls, sf } = fakeGateway((r) => {
      if (r.referenceId === 'target') return { Id: GROUP, Name: 'Sales', Type: 'Regular' }
      if (r.referenceId.startsWith('rows')) return page([{ Id: '011A', UserOrGroupId: ADA }])
      if (r.referenceId === 'm0_u') return page([{ Id: GRACE, Username: 'grace@x.example' }])
      if (r.referenceId === 'm0_g') return page([{ Id: GROUP, Name: 'Nested' }])
      return page([])
    })
    const read = await sf.read({
      target: { kind: 'group', id: GROUP },
      userNames: ['ada@x.example'],
      userIds: [ADA, GROUP],
      rows: { kind: 'group', targetId: GROUP, userIds: [ADA] },
      members: [{ kind: 'group', id: GROUP }],
      publicGroupIds: [GROUP],
    }, quietLog)
    // Six queries: five fit one composite (docs/salesforce-behaviour.md#composite), the sixth goes in a second.
    expect(calls.map((c) => c.map((r) => r.referenceId))).toEqual([['target', 'names0', 'users0', 'rows0', 'm0_u', 'm0_g'], ['groups0']])
    expect(calls[0]?.[0]?.url).toBe(`/sobjects/Group/${GROUP}?fields=${TARGETS.group.fields.join(',')}`)
    // Only user ids are asked of User.
    expect(soqlOf(calls[0]?.[2] as CompositeSubrequest)).toContain(`Id IN ('${ADA}')`)
    expect(soqlOf(calls[0]?.[3] as CompositeSubrequest)).toBe(`SELECT Id, UserOrGroupId FROM GroupMember WHERE GroupId = '${GROUP}' AND UserOrGroupId IN ('${ADA}')`)
    expect(read.target?.Name).toBe('Sales')
    expect(read.rows).toEqual(new Map([[ADA, '011A']]))
    expect(read.members).toEqual([{ users: [{ Id: GRACE, Username: 'grace@x.example' }], groups: [{ Id: GROUP, Name: 'Nested' }] }])
  })

  it('reads all rows of a permission set group by PermissionSetGroupId, and asks nothing for an empty read', async () => {
    const { calls, sf } = fakeGateway((r) => r.referenceId === 'rows' ? page([{ Id: '0PaA', AssigneeId: ADA }]) : page([]))
    const read = await sf.read({ rows: { kind: 'permissionSetGroup', targetId: PERMSET_GROUP, userIds: undefined } }, quietLog)
    expect(soqlOf(calls[0]?.[0] as CompositeSubrequest)).toBe(`SELECT Id, AssigneeId FROM PermissionSetAssignment WHERE PermissionSetGroupId = '${PERMSET_GROUP}'`)
    expect(read.rows).toEqual(new Map([[ADA, '0PaA']]))
    await sf.read({ userIds: [], rows: { kind: 'group', targetId: GROUP, userIds: [] } }, quietLog)
    expect(calls).toHaveLength(1)
  })

  it('reads the members of a profile group from the claims it is given, in chunks', async () => {
    const { calls, sf } = fakeGateway()
    const claimed = Array.from({ length: 301 }, (_, i) => `005Hu0000000${String(i).padStart(3, '0')}AAA`)
    await sf.read({ members: [{ kind: 'profile', id: '00eHu00000000GAIAY', claimed }] }, quietLog)
    expect(calls[0]?.map((r) => r.referenceId)).toEqual(['m0_u0', 'm0_u1'])
  })
})

describe('Groups gateway: writes', () => {
  it('lays out a rename first, then collections of adds and removes in the order given', async () => {
    const { calls, sf } = fakeGateway((r) => r.url.startsWith('/composite/sobjects') ? [{ success: true }] : null)
    await sf.writeMembership({ kind: 'group', id: GROUP }, 'Field Sales', [
      { op: 'addMember', userId: ADA },
      { op: 'removeRow', userId: GRACE, rowId: '011G' },
    ], quietLog)
    expect(calls).toHaveLength(1)
    expect(calls[0]).toEqual([
      { method: 'PATCH', url: `/sobjects/Group/${GROUP}`, referenceId: 'w0', body: { Name: 'Field Sales' } },
      { method: 'POST', url: '/composite/sobjects', referenceId: 'c0', body: { allOrNone: true, records: [{ attributes: { type: 'GroupMember' }, GroupId: GROUP, UserOrGroupId: ADA }] } },
      { method: 'DELETE', url: '/composite/sobjects?ids=011G&allOrNone=true', referenceId: 'c1' },
    ])
  })

  it('assigns a permission set group through PermissionSetGroupId, and writes profile/role winners to the User', async () => {
    const { calls, sf } = fakeGateway(() => [{ success: true }])
    await sf.writeMembership({ kind: 'permissionSetGroup', id: PERMSET_GROUP }, undefined, [{ op: 'addMember', userId: ADA }], quietLog)
    await sf.writeMembership({ kind: 'role', id: '00EHu00000000GAIAY' }, undefined, [{ op: 'setUserField', userId: ADA, field: 'UserRoleId', value: null }], quietLog)
    expect(calls.map((c) => (c[0]?.body as { records: unknown[] }).records)).toEqual([
      [{ attributes: { type: 'PermissionSetAssignment' }, AssigneeId: ADA, PermissionSetGroupId: PERMSET_GROUP }],
      [{ attributes: { type: 'User' }, UserRoleId: null, id: ADA }],
    ])
  })

  it('adds to a public group in one call and names the member Salesforce refused', async () => {
    const ok = fakeGateway((r) => r.referenceId === 'target' ? { Id: GROUP } : r.referenceId === 'rows' ? page([{ Id: '011A', UserOrGroupId: ADA }]) : [{ success: true }, { success: true }])
    expect(await ok.sf.addToPublicGroup(GROUP, [ADA, GRACE], quietLog)).toEqual({ record: { Id: GROUP }, existing: [ADA] })
    expect(ok.calls[0]?.map((r) => r.referenceId)).toEqual(['target', 'rows', 'c0'])

    const refused = fakeGateway((r) => r.referenceId === 'c0'
      ? [{ success: false, errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK' }] }, { success: false, errors: [{ statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'bad id' }] }]
      : r.referenceId === 'target' ? { Id: GROUP } : page([]))
    const err = await refused.sf.addToPublicGroup(GROUP, [ADA, GRACE], quietLog).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RecordWriteError)
    expect(err).toMatchObject({ code: 'INVALID_CROSS_REFERENCE_KEY', label: GRACE })
  })
})

describe('no false success (gateway checkComposite, groups withId)', () => {
  const sub = (referenceId: string, extra: Partial<CompositeSubrequest> = {}): CompositeSubrequest => ({ method: 'GET', url: `/sobjects/Group/${GROUP}`, referenceId, ...extra })
  const result = (referenceId: string, httpStatusCode: number, body: unknown) => ({ referenceId, httpStatusCode, body, httpHeaders: {} })
  const halted = [{ errorCode: 'PROCESSING_HALTED', message: 'The transaction was rolled back since another operation in the same transaction failed.' }]

  it('turns a halted request into an error with its real cause, not the echo', () => {
    const reqs = [sub('w0', { method: 'POST', url: '/sobjects/Group' }), sub('w1')]
    const cause = [{ errorCode: 'PROCESSING_HALTED', message: 'Invalid reference specified. No value for update.id found in update.' }]
    expect(() => checkComposite(reqs, [result('w0', 400, cause), result('w1', 400, halted)])).toThrow(/Invalid reference specified/)
    expect(() => checkComposite(reqs, [result('w0', 400, halted), result('w1', 400, halted)])).toThrow(SalesforceError)
    expect(() => checkComposite(reqs, [result('w0', 201, { id: GROUP, success: true }), result('w1', 400, [{ errorCode: 'NOT_FOUND', message: 'gone' }])])).toThrow(/gone/)
    expect(() => checkComposite(reqs, [result('w0', 201, { id: GROUP, success: true })])).toThrow(/1 of 2/)
  })

  it('wants the fate of every record of a collection', () => {
    const create = sub('c0', { method: 'POST', url: '/composite/sobjects', body: { allOrNone: true, records: [{}, {}] } })
    expect(() => checkComposite([create], [result('c0', 200, [{ id: 'a', success: true }])])).toThrow(/2 records/)
    expect(() => checkComposite([create], [result('c0', 200, { ok: true })])).toThrow(SalesforceError)
    expect(() => checkComposite([create], [result('c0', 200, [{ id: 'a', success: true }, { id: 'b', success: true }])])).not.toThrow()
    const del = sub('c1', { method: 'DELETE', url: '/composite/sobjects?ids=0GMa,0GMb&allOrNone=true' })
    expect(() => checkComposite([del], [result('c1', 200, [{ id: '0GMa', success: true }])])).toThrow(/2 records/)
    expect(() => checkComposite([del], [result('c1', 200, [{ id: '0GMa', success: true }, { id: '0GMb', success: false, errors: [] }])])).not.toThrow()
  })

  it('refuses a read-back without an Id', () => {
    expect(() => withId(halted, 'the new group')).toThrow(/carries no Id/)
    expect(() => withId({ Name: 'x' }, 'the new group')).toThrow(SalesforceError)
    expect(withId({ Id: GROUP }, 'g')).toEqual({ Id: GROUP })
  })

  it('fails a write whose composite halted, instead of reporting it applied', async () => {
    const gateway = {
      apiVersion: '62.0',
      // As the real gateway answers it: checked (gateway.ts checkComposite).
      composite: async (requests: CompositeSubrequest[]) => checkComposite(requests, requests.map((r) => result(r.referenceId, 400, halted))),
    } as unknown as Gateway
    const sf = createGroupsGateway({ gateway, objects: TARGETS })
    await expect(sf.writeMembership({ kind: 'group', id: GROUP }, 'New Name', [{ op: 'addMember', userId: ADA }], quietLog)).rejects.toThrow(SalesforceError)
    let committed = false
    await expect(sf.createPublicGroup('G', 'G', [ADA], quietLog, () => { committed = true })).rejects.toThrow(SalesforceError)
    expect(committed).toBe(false)
    await expect(sf.addToPublicGroup(GROUP, [ADA], quietLog)).rejects.toThrow(SalesforceError)
  })
})
