// Per-resource ordering (src/scim/ordering.ts) and create intents (src/scim/intents.ts), on the embedded store:
// a write keeps its key until what it left in flight settles, a write that cannot start in time is answered 503
// and never runs, a read is served after the writes queued before it; an intent explains only a record made
// after it, by no other client's create.
import { afterEach, describe, expect, it } from 'vitest'
import { trackingInFlight, stillInFlight } from '../../src/salesforce/in-flight.js'
import { createIntents, CLOCK_SKEW_MS, GROUP_INTENTS, INTENT_TTL_MS, USER_INTENTS } from '../../src/scim/intents.js'
import { createOrdering, equalityNames, idLockKey } from '../../src/scim/ordering.js'
import { parseFilter } from '../../src/protocol/filter.js'
import { ScimError } from '../../src/scim/errors.js'
import { openStore, type Store } from '../../src/store/store.js'

let store: Store
afterEach(async () => { await store?.close() })

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

function deferred (): { promise: Promise<void>, resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((_resolve) => { resolve = _resolve })
  return { promise, resolve }
}

describe('ordering', () => {
  it('keeps the key past the answer until the write\'s in-flight request settles; the next write runs after it', async () => {
    store = openStore(':memory:')
    const ordering = createOrdering(store, { waitMs: 2_000 })
    const late = deferred()
    const events: string[] = []
    const a = await ordering.write('user:x', async () => {
      // What the gateway does with a write that timed out: the answer goes, the request stays.
      stillInFlight(late.promise.then(() => { events.push('A lands') }))
      return 'A answered'
    })
    expect(a).toBe('A answered')
    const b = ordering.write('user:x', async () => { events.push('B runs'); return 'B' })
    await sleep(50)
    expect(events).toEqual([])
    late.resolve()
    expect(await b).toBe('B')
    expect(events).toEqual(['A lands', 'B runs'])
  })

  it('answers 503 to a write that cannot start within the wait, and never runs it', async () => {
    store = openStore(':memory:')
    const ordering = createOrdering(store, { waitMs: 100 })
    const late = deferred()
    await ordering.write('group:g', async () => { stillInFlight(late.promise) })
    let ran = false
    const err = await ordering.write('group:g', async () => { ran = true }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ScimError)
    expect(err).toMatchObject({ status: 503, retryAfter: 30 })
    late.resolve()
    await sleep(20)
    expect(ran).toBe(false)
    // Another key was never held.
    expect(await ordering.write('group:h', async () => 'free')).toBe('free')
  })

  it('serves a read after the writes queued before it, and 503 when they outlast the wait', async () => {
    store = openStore(':memory:')
    const ordering = createOrdering(store, { waitMs: 150 })
    const late = deferred()
    let value = 'old'
    await ordering.write('user:y', async () => { stillInFlight(late.promise.then(() => { value = 'new' })) })
    const read = ordering.read('user:y', async () => value)
    await sleep(30)
    late.resolve()
    expect(await read).toBe('new')
    const later = deferred()
    await ordering.write('user:y', async () => { stillInFlight(later.promise) })
    await expect(ordering.read('user:y', async () => value)).rejects.toMatchObject({ status: 503 })
    later.resolve()
  })

  it('serves a read on several keys after the writes queued on each of them', async () => {
    store = openStore(':memory:')
    const ordering = createOrdering(store, { waitMs: 2_000 })
    const late = deferred()
    let value = 'old'
    await ordering.write('userName:b', async () => { stillInFlight(late.promise.then(() => { value = 'new' })) })
    const read = ordering.read(['userName:a', 'userName:b'], async () => value)
    await sleep(30)
    late.resolve()
    expect(await read).toBe('new')
    expect(await ordering.read([], async () => 'no key')).toBe('no key')
  })

  it('finds the names a filter looks up by equality, never under not, and none in a long list', () => {
    const U = 'urn:ietf:params:scim:schemas:core:2.0:User'
    const names = (f: string): string[] => equalityNames(parseFilter(f), 'userName', U)
    expect(names('userName eq "Ann@x.example"')).toEqual(['Ann@x.example'])
    expect(names(`${U}:userName eq "a" and active eq true`)).toEqual(['a'])
    expect(names('userName eq "a" or username eq "b"')).toEqual(['a', 'b'])
    expect(names('not (userName eq "a")')).toEqual([])
    expect(names('userName co "a"')).toEqual([])
    expect(names('emails[value eq "a"]')).toEqual([])
    expect(names('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName eq "a"')).toEqual([])
    expect(equalityNames(undefined, 'userName', U)).toEqual([])
    expect(names(Array.from({ length: 21 }, (_, i) => `userName eq "u${i}"`).join(' or '))).toEqual([])
  })

  it('tracks nothing outside a scope, and one id spelt three ways is one key', async () => {
    store = openStore(':memory:')
    await trackingInFlight(new Set(), async () => {})
    expect(idLockKey('user', '005000000000001AAA')).toBe(idLockKey('user', '005000000000001'))
    expect(idLockKey('user', '005000000000001aaa')).toBe(idLockKey('user', '005000000000001'))
  })
})

describe('create intents', () => {
  const at = Date.parse('2026-01-01T12:00:00Z')
  const rec = (id: string, offsetMs: number): Record<string, unknown> => ({ Id: id, CreatedDate: new Date(at + offsetMs).toISOString() })

  it('explain a record made after the intent (within the clock skew), never one made before it', async () => {
    store = openStore(':memory:')
    const intents = createIntents(store, () => at)
    const { prior, intent } = await intents.begin(USER_INTENTS, 'Ann@x.example', 'entra')
    expect(prior).toBeUndefined()
    expect(await intents.explains(USER_INTENTS, intent, rec('005000000000001AAA', 2_000))).toBe(true)
    expect(await intents.explains(USER_INTENTS, intent, rec('005000000000001AAA', -CLOCK_SKEW_MS + 1_000))).toBe(true)
    expect(await intents.explains(USER_INTENTS, intent, rec('005000000000001AAA', -CLOCK_SKEW_MS - 1_000))).toBe(false)
    expect(await intents.explains(USER_INTENTS, intent, { Id: '005000000000001AAA' })).toBe(false)
    // A second attempt finds the first one's intent, and keeps its time.
    const again = await intents.begin(USER_INTENTS, 'ann@x.example', 'entra')
    expect(again.prior?.at).toBe(intent.at)
  })

  it('once the id is known, explain that record only', async () => {
    store = openStore(':memory:')
    const intents = createIntents(store, () => at)
    await intents.begin(USER_INTENTS, 'bo@x.example', 'okta')
    await intents.created(USER_INTENTS, 'bo@x.example', 'okta', '005000000000002AAA')
    const { prior } = await intents.begin(USER_INTENTS, 'bo@x.example', 'okta')
    expect(prior?.id).toBe('005000000000002AAA')
    expect(await intents.explains(USER_INTENTS, prior!, rec('005000000000002', 0))).toBe(true)
    expect(await intents.explains(USER_INTENTS, prior!, rec('005000000000003AAA', 0))).toBe(false)
  })

  it('do not explain a record that another client\'s create may have made', async () => {
    store = openStore(':memory:')
    const intents = createIntents(store, () => at)
    const { intent } = await intents.begin(USER_INTENTS, 'cy@x.example', 'entra')
    await intents.begin(USER_INTENTS, 'cy@x.example', 'wso2')
    expect(await intents.explains(USER_INTENTS, intent, rec('005000000000004AAA', 1_000))).toBe(false)
  })

  it('tell which client\'s intent explains a record, with the first members a group was created with', async () => {
    store = openStore(':memory:')
    const intents = createIntents(store, () => at)
    await intents.begin(GROUP_INTENTS, 'Sales', 'okta', ['005000000000005AAA'])
    const by = await intents.explainedBy(GROUP_INTENTS, 'sales', rec('00G000000000001AAA', 500))
    expect([by?.client, by?.members]).toEqual(['okta', ['005000000000005AAA']])
    expect(await intents.explainedBy(GROUP_INTENTS, 'sales', rec('00G000000000001AAA', -10 * CLOCK_SKEW_MS))).toBeUndefined()
    expect(await intents.explainedBy(GROUP_INTENTS, 'other', rec('00G000000000001AAA', 500))).toBeUndefined()
  })

  it('expire after a day; clear forgets', async () => {
    store = openStore(':memory:')
    let now = at
    const intents = createIntents(store, () => now)
    await intents.begin(USER_INTENTS, 'di@x.example', 'entra')
    now = at + INTENT_TTL_MS + 1
    expect(await intents.pending(USER_INTENTS, 'di@x.example', 'entra')).toBeUndefined()
    expect(await store.getDoc(USER_INTENTS, 'di@x.example|entra')).toBeUndefined()
    await intents.begin(USER_INTENTS, 'di@x.example', 'entra')
    await intents.clear(USER_INTENTS, 'di@x.example', 'entra')
    expect(await intents.pending(USER_INTENTS, 'di@x.example', 'entra')).toBeUndefined()
  })
})
