// The Users gateway with coalesced writes: creates, updates and plain deactivations that queue while one of their
// kind is in flight go to Salesforce together as sObject Collections (coalesce.ts, user-batch.ts). A lone write,
// and every write the batch path does not cover, is the single gateway's own call, unchanged.
import { createCoalescer, type Settled } from './coalesce.js'
import type { Gateway, SfRecord } from './gateway.js'
import type { SoqlFragment } from './soql.js'
import { createBatch, updateBatch, type CreateItem, type UpdateItem } from './user-batch.js'
import type { UserGateway } from './user-gateway.js'

export interface CoalesceDeps {
  gateway: Gateway
  fields: readonly string[]
  /** The managed scope as a SOQL condition, at the moment of the call (users.ts). */
  inScope: () => Promise<SoqlFragment>
}

/**
 * Most creates one batch carries: five collections of 200, one composite (batch.ts, docs/salesforce-behaviour.md#composite), read back
 * in one more. Updates carry their guard and read-back queries, so one collection of 200 a call.
 */
const MAX_COALESCED_CREATES = 1000
const MAX_COALESCED_UPDATES = 200

/**
 * Only canonical 18-character ids are batched (user-service normalises every path id to one): the read-back is
 * matched by the Id Salesforce returns, and a 15-character form of the same user would not match it. Anything else
 * is left to the single path.
 */
const SALESFORCE_ID = /^[a-zA-Z0-9]{18}$/

/**
 * Whether every value can travel inside a composite: a string with `@{` would be read as a reference
 * (docs/salesforce-behaviour.md#composite-references), so such a write takes the single path, whatever that does with it.
 */
function isLiteral (body: Record<string, unknown>): boolean {
  return !Object.values(body).some((v) => typeof v === 'string' && v.includes('@{'))
}

/** An update, or a plain deactivation (IsActive=false), whose lone path is the single gateway's own method. */
interface UpdateJob extends UpdateItem { deactivate: boolean }

/** A write's caller: its request's logger (one per HTTP request; a Bulk request's operations share theirs). */
const byRequest = (i: { log: unknown }): unknown => i.log

export function coalesceWrites (single: UserGateway, deps: CoalesceDeps): UserGateway {
  const settle = async (p: Promise<SfRecord>): Promise<Array<Settled<SfRecord>>> =>
    await p.then((value) => [{ ok: true as const, value }], (error: unknown) => [{ ok: false as const, error }])
  const alone = async (j: UpdateJob): Promise<SfRecord> => j.deactivate
    ? await single.deactivateAndRead(j.id, 'deactivate', j.log)
    : await single.updateAndRead(j.id, j.changes as Parameters<UserGateway['updateAndRead']>[1], j.log)

  // Keyed by the user they write (a new user by its Username), so two writes to one user never share a batch.
  const creates = createCoalescer<CreateItem, SfRecord>(async (items) => {
    const first = items[0] as CreateItem
    return items.length === 1 ? await settle(single.createAndRead(first.record, first.log)) : await createBatch(deps.gateway, deps.fields, items)
  }, { maxBatch: MAX_COALESCED_CREATES, key: (i) => String(i.record.Username).toLowerCase(), origin: byRequest })
  const updates = createCoalescer<UpdateJob, SfRecord>(async (jobs) => jobs.length === 1
    ? await settle(alone(jobs[0] as UpdateJob))
    : await updateBatch({ gateway: deps.gateway, fields: deps.fields, inScope: deps.inScope, single: async (i) => await alone(i as UpdateJob) }, jobs),
  { maxBatch: MAX_COALESCED_UPDATES, key: (j) => j.id, origin: byRequest })

  return {
    ...single,
    async createAndRead (record, log) {
      if (!isLiteral(record)) return await single.createAndRead(record, log)
      return await creates.submit({ record, log })
    },
    async updateAndRead (id, changes, log) {
      // No changes is a plain read; a bad id or a value with `@{` is the single path's to answer.
      if (Object.keys(changes).length === 0 || !SALESFORCE_ID.test(id) || !isLiteral(changes)) return await single.updateAndRead(id, changes, log)
      return await updates.submit({ id, changes, log, deactivate: false })
    },
    async deactivateAndRead (id, mode, log) {
      // A plain deactivation is IsActive=false, batched with the updates; freeze and rename keep their own call.
      if (mode !== 'deactivate' || !SALESFORCE_ID.test(id)) return await single.deactivateAndRead(id, mode, log)
      return await updates.submit({ id, changes: { IsActive: false }, log, deactivate: true })
    },
    async disableAndRead (id, changes, opts, log) {
      // Without freeze-first a disable is a guarded update (IsActive=false among the changes): batched with the
      // others, each refusal still its caller's own (the deprovisioner then freezes that user alone).
      if (opts.freezeFirst || !SALESFORCE_ID.test(id) || !isLiteral(changes)) return await single.disableAndRead(id, changes, opts, log)
      return await updates.submit({ id, changes, log, deactivate: false })
    },
  }
}
