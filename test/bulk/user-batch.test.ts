// user-batch.ts against a scripted gateway: the answers Salesforce's documentation leaves open (a whole
// subrequest failing, a read-back that misses a record) never become a false success or someone else's error.
import { describe, expect, it } from 'vitest'
import { SalesforceError } from '../../src/salesforce/errors.js'
import type { CompositeSubrequest, Gateway, SfRecord } from '../../src/salesforce/gateway.js'
import { ALWAYS_TRUE } from '../../src/salesforce/soql.js'
import { createBatch, updateBatch, type UpdateItem } from '../../src/salesforce/user-batch.js'

const log = { debug () {}, info () {}, warn () {}, error () {} } as never

type Answer = (requests: CompositeSubrequest[]) => Array<{ referenceId: string, httpStatusCode: number, body: unknown }>

function gateway (answers: Answer[]): Gateway & { sent: CompositeSubrequest[][] } {
  const sent: CompositeSubrequest[][] = []
  return {
    sent,
    apiVersion: '62.0',
    dataPath: (r: string) => r,
    breaker: { state: () => 'closed', snapshot: () => ({}) } as never,
    retrieve: async () => undefined,
    query: async () => ({ totalSize: 0, done: true, records: [] }),
    queryMore: async () => ({ totalSize: 0, done: true, records: [] }),
    write: async () => { throw new Error('unexpected plain write') },
    integrationUserId: async () => '005000000000000AAA',
    async composite (requests) {
      sent.push(requests)
      const answer = answers.shift()
      if (answer === undefined) throw new Error('unexpected call')
      return answer(requests).map((r) => ({ ...r, httpHeaders: {} }))
    },
  }
}

const items = (n: number): UpdateItem[] => Array.from({ length: n }, (_v, i) => ({ id: `005${String(i).padStart(15, '0')}`, changes: { Title: `t${i}` }, log }))

describe('updateBatch', () => {
  it('answers a refused record with its error and sends the others again; then reads them back', async () => {
    const gw = gateway([
      () => [
        { referenceId: 'guard', httpStatusCode: 400, body: [{ errorCode: 'PROCESSING_HALTED', message: 'rolled back' }] },
        { referenceId: 'check', httpStatusCode: 400, body: [{ errorCode: 'PROCESSING_HALTED', message: 'rolled back' }] },
        {
          referenceId: 'update',
          httpStatusCode: 200,
          body: [
            { success: false, errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK', message: 'x' }] },
            { success: false, errors: [{ statusCode: 'STRING_TOO_LONG', message: 'Title too long', fields: ['Title'] }] },
            { success: false, errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK', message: 'x' }] },
          ]
        },
        { referenceId: 'readBack', httpStatusCode: 400, body: [{ errorCode: 'PROCESSING_HALTED', message: 'rolled back' }] },
      ],
      (requests) => [
        { referenceId: 'guard', httpStatusCode: 200, body: { records: [] } },
        { referenceId: 'check', httpStatusCode: 200, body: { Id: 'x' } },
        { referenceId: 'update', httpStatusCode: 200, body: [{ success: true }, { success: true }] },
        // The read-back misses the second user: never a success for it.
        { referenceId: 'readBack', httpStatusCode: 200, body: { records: [{ Id: (requests[2]?.body as { records: Array<{ id: string }> }).records[0]?.id }] } },
      ],
    ])
    const r = await updateBatch({ gateway: gw, fields: ['Id'], inScope: async () => ALWAYS_TRUE, single: async () => { throw new Error('no single') } }, items(3))
    expect(r[0]).toMatchObject({ ok: true, value: { Id: items(3)[0]?.id } })
    expect(r[1]).toMatchObject({ ok: false, error: { code: 'STRING_TOO_LONG' } })
    expect(r[2]).toMatchObject({ ok: false, error: { code: 'MISSING_READ_BACK', kind: 'unknownOutcome' } })
    expect(gw.sent[1]?.[2]?.body).toMatchObject({ records: [{ id: items(3)[0]?.id }, { id: items(3)[2]?.id }] })
  })

  it('falls back to single writes when the guard misses a user or the composite fails as a whole', async () => {
    for (const answer of [
      (): ReturnType<Answer> => [{ referenceId: 'check', httpStatusCode: 400, body: [{ errorCode: 'PROCESSING_HALTED', message: 'Invalid reference specified. No value for guard.records[1].Id found in guard.' }] }],
      (): ReturnType<Answer> => { throw new SalesforceError('INVALID_FIELD', 'bad', 'validation') },
    ]) {
      const singles: string[] = []
      const gw = gateway([answer])
      const r = await updateBatch({
        gateway: gw,
        fields: ['Id'],
        inScope: async () => ALWAYS_TRUE,
        single: async (i) => {
          singles.push(i.id)
          if (i.id.endsWith('1')) throw new SalesforceError('NOT_FOUND', 'gone', 'notFound')
          return { Id: i.id } satisfies SfRecord
        },
      }, items(2))
      expect(singles.sort()).toEqual(items(2).map((i) => i.id).sort())
      expect(r.map((x) => x.ok)).toEqual([true, false])
    }
  })
})

describe('createBatch', () => {
  it('a composite that failed in part is an unknown outcome for every caller, never a refusal that was someone else\'s', async () => {
    const gw = gateway([() => { throw new SalesforceError('STRING_TOO_LONG', 'too long', 'validation') }])
    await expect(createBatch(gw, ['Id'], [{ record: { Username: 'a@x' }, log }, { record: { Username: 'b@x' }, log }]))
      .rejects.toMatchObject({ code: 'BATCH_SUBREQUEST_FAILED', kind: 'unknownOutcome' })
  })

  it('a record reported created but missing from the read-back is an unknown outcome', async () => {
    const gw = gateway([() => [
      { referenceId: 'c0', httpStatusCode: 200, body: [{ id: '005A', success: true, errors: [] }, { id: '005B', success: true, errors: [] }, { success: false, errors: [{ statusCode: 'DUPLICATE_USERNAME', message: 'dup' }] }] },
      { referenceId: 'r0', httpStatusCode: 200, body: { records: [{ Id: '005A' }] } },
    ]])
    const r = await createBatch(gw, ['Id'], ['a', 'b', 'c'].map((u) => ({ record: { Username: `${u}@x` }, log })))
    expect(r[0]).toMatchObject({ ok: true, value: { Id: '005A' } })
    expect(r[1]).toMatchObject({ ok: false, error: { code: 'MISSING_READ_BACK' } })
    expect(r[2]).toMatchObject({ ok: false, error: { code: 'DUPLICATE_USERNAME', kind: 'conflict' } })
  })
})
