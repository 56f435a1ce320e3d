// The pure part of Bulk: envelope checks, bulkId references in paths and data, the start order, cycles.
import { describe, expect, it } from 'vitest'
import { parseBulkRequest, planBulk, resolvePath, resolveReferences } from '../../src/scim/bulk-refs.js'
import { ScimError } from '../../src/scim/errors.js'

const ops = (...o: unknown[]): ReturnType<typeof parseBulkRequest> => parseBulkRequest({ Operations: o }, 1000)

describe('parseBulkRequest', () => {
  it('finds references in the path and anywhere in data, and refuses malformed operations one by one', () => {
    const p = ops(
      { method: 'post', path: '/Users', bulkId: 'a', data: { userName: 'a' } },
      { method: 'PATCH', path: '/Users/bulkId:a', data: { Operations: [{ value: { manager: { value: 'bulkId:b' } } }] } },
      { method: 'POST', path: '/Users', data: {} },
      { method: 'GET', path: '/Users/x' },
      { method: 'PUT', path: '/Users', data: {} },
      { method: 'DELETE', path: '/Users/1/2' }
    )
    expect(p.operations[0]).toMatchObject({ method: 'POST', refs: [] })
    expect(p.operations[1]?.refs.sort()).toEqual(['a', 'b'])
    expect(p.operations.slice(2).map((o) => o.invalid?.status)).toEqual([400, 400, 400, 400])
    expect(p.operations[2]?.invalid?.message).toContain('bulkId')
    expect(p.failOnErrors).toBe(0)
  })

  it('refuses the request as a whole: no operations, too many (413), duplicate bulkIds, a bad failOnErrors', () => {
    const status = (body: unknown, max = 1000): number | undefined => { try { parseBulkRequest(body, max) } catch (e) { return (e as ScimError).status } }
    expect(status({ Operations: [] })).toBe(400)
    expect(status({ Operations: [{}, {}] }, 1)).toBe(413)
    expect(status({ Operations: [{ method: 'POST', path: '/Users', bulkId: 'x', data: {} }, { method: 'POST', path: '/Groups', bulkId: 'x', data: {} }] })).toBe(400)
    expect(status({ failOnErrors: -1, Operations: [{}] })).toBe(400)
    expect(status({ schemas: ['urn:x'], Operations: [{}] })).toBe(400)
  })
})

describe('planBulk', () => {
  it('starts an operation after the POSTs it refers to and after the previous change to the same resource', () => {
    const p = ops(
      { method: 'POST', path: '/Groups', bulkId: 'g', data: { members: [{ value: 'bulkId:u1' }, { value: 'bulkId:u2' }] } },
      { method: 'POST', path: '/Users', bulkId: 'u1', data: {} },
      { method: 'DELETE', path: '/Users/005A' },
      { method: 'POST', path: '/Users', bulkId: 'u2', data: {} },
      { method: 'PATCH', path: '/Users/005a', data: {} }
    )
    const plan = planBulk(p.operations)
    expect(plan.order).toEqual([1, 3, 0, 2, 4])
    expect(plan.dependsOn.get(0)?.sort()).toEqual([1, 3])
    expect(plan.dependsOn.get(4)).toEqual([2])
    expect(plan.refused.size).toBe(0)
  })

  it('refuses cycles (and self-references) and unknown bulkIds with 409, and still places every operation', () => {
    const p = ops(
      { method: 'POST', path: '/Groups', bulkId: 'x', data: { members: [{ value: 'bulkId:y' }] } },
      { method: 'POST', path: '/Groups', bulkId: 'y', data: { members: [{ value: 'bulkId:x' }] } },
      { method: 'POST', path: '/Users', bulkId: 's', data: { title: 'bulkId:s' } },
      { method: 'POST', path: '/Groups', bulkId: 'z', data: { members: [{ value: 'bulkId:none' }] } },
      { method: 'POST', path: '/Groups', bulkId: 'w', data: { members: [{ value: 'bulkId:x' }] } }
    )
    const plan = planBulk(p.operations)
    expect([...plan.refused.keys()].sort()).toEqual([0, 1, 2, 3])
    for (const e of plan.refused.values()) expect(e).toMatchObject({ status: 409, scimType: 'invalidValue' })
    expect(plan.refused.get(0)?.message).toContain('Circular')
    expect(plan.order.sort()).toEqual([0, 1, 2, 3, 4])
  })

  it('handles a chain of 10,000 references without exhausting the stack', () => {
    const o = Array.from({ length: 10_000 }, (_v, i) => ({ method: 'POST', path: '/Groups', bulkId: `g${i}`, data: i === 0 ? {} : { members: [{ value: `bulkId:g${i - 1}` }] } }))
    const plan = planBulk(parseBulkRequest({ Operations: o }, 10_000).operations)
    expect(plan.order[0]).toBe(0)
    expect(plan.order[9999]).toBe(9999)
    expect(plan.refused.size).toBe(0)
  })
})

describe('resolution', () => {
  it('replaces whole bulkId values and path segments, and nothing else', () => {
    const ids = new Map([['a', '005A'], ['g', '00GG']])
    expect(resolvePath('/Groups/bulkId:g', ids)).toBe('/Groups/00GG')
    expect(resolveReferences({ members: [{ value: 'bulkId:a' }, { value: 'bulkId:zz' }], title: 'see bulkId:a' }, ids))
      .toEqual({ members: [{ value: '005A' }, { value: 'bulkId:zz' }], title: 'see bulkId:a' })
  })
})
