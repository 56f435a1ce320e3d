// Runs Microsoft's SCIM Postman collection with newman against a fresh demo (the emulated org and scimforce with the
// demo's configuration, src/demo-config.ts), both in-process on free 127.0.0.1 ports, and compares every assertion
// with expected-failures.json. Used by microsoft.test.ts (npm test); also runnable alone:
// `npx tsx test/conformance/run.ts` (exit code 1 on any difference).
import { readFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import newman from 'newman'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import type { Config } from '../../src/config/types.js'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { openStore } from '../../src/store/store.js'
import { DEMO_DEFAULTS, demoConfig } from '../../src/demo-config.js'

/** The collection, kept byte-for-byte (shared/conformance/README.md); only a filtered copy is run. */
// shared/ sits beside the repository (on developer machines and in CI alike): ../shared from the repo root.
export const COLLECTION_PATH = process.env.SCIM_CONFORMANCE_COLLECTION ?? fileURLToPath(new URL('../../../shared/conformance/microsoft-scim.postman.json', import.meta.url))
export const EXPECTED_FAILURES_PATH = fileURLToPath(new URL('./expected-failures.json', import.meta.url))

const TOKEN = 'conformance-bearer-token-0123456789'
const API = 'scim/v2'

/** One `pm.test` outcome. `request` is "Folder/Request name", with " #2" for the second run of a same-named request. */
export interface AssertionResult {
  request: string
  assertion: string
  passed: boolean
  /** The assertion's message when it failed. */
  error?: string
  /** What scimforce answered to that request, for the diff. */
  response?: { method: string, url: string, status: number, body: string }
}

export interface ExpectedFailure {
  request: string
  assertion: string
  /** One line: why the assertion fails and why that is acceptable. */
  reason: string
}

export interface Comparison {
  ok: boolean
  /** Failed, and not listed. */
  newFailures: AssertionResult[]
  /** Listed, and passed: the list must shrink. */
  unexpectedPasses: Array<ExpectedFailure & { result: AssertionResult }>
  /** Listed, but no such assertion ran (renamed request, typo): the list must be fixed. */
  unknownEntries: ExpectedFailure[]
  /** Requests newman could not send or whose scripts threw, whatever the list says. */
  runErrors: string[]
  counts: { assertions: number, passed: number, failed: number, expected: number }
}

interface CollectionNode { name?: string, item?: CollectionNode[] }
interface PostmanCollection extends CollectionNode { info?: unknown }

/**
 * The collection as run: exactly as published, less the "Get Token" folder (it calls Microsoft's reference server's
 * own /Token endpoint). Placeholders are not rewritten: its literal `${__UUID}` gives every "garbage" user the same
 * externalId, which RFC 7643 §3.1 allows (externalId is the client's, not unique) and scimforce must accept.
 */
export function loadCollection (path = COLLECTION_PATH): PostmanCollection {
  const collection = JSON.parse(readFileSync(path, 'utf8')) as PostmanCollection
  collection.item = (collection.item ?? []).filter((i) => i.name !== 'Get Token')
  return collection
}

export function loadExpectedFailures (path = EXPECTED_FAILURES_PATH): ExpectedFailure[] {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as { failures?: unknown }
  if (!Array.isArray(raw.failures)) throw new Error(`${path}: expected { "failures": [ … ] }`)
  return raw.failures.map((e: unknown, i: number) => {
    const entry = e as Partial<ExpectedFailure>
    if (typeof entry.request !== 'string' || typeof entry.assertion !== 'string' || typeof entry.reason !== 'string' || entry.reason.trim() === '') {
      throw new Error(`${path}: entry ${i} needs request, assertion and a non-empty reason`)
    }
    return { request: entry.request, assertion: entry.assertion, reason: entry.reason }
  })
}

// ---------------------------------------------------------------------------------------------------------
// The system under test

export interface Target {
  baseUrl: string
  token: string
  emulator: Emulator
  app: FastifyInstance
  close: () => Promise<void>
}

/**
 * The demo's configuration (src/demo-config.ts: config/demo.yaml under the environment `npm run demo` sets), as the
 * demo serves it: nothing here is tuned for the suite. The collection plays Entra, the demo's Bearer client: PATCH
 * answers 204 (the demo's SCIM_BEARER_PATCH_RESPONSE); its plain userNames (UserName123, OMalley) become Salesforce
 * Usernames through users.usernameDomain and are answered as sent.
 */
function conformanceConfig (emulator: Emulator): Config {
  return demoConfig({ DEMO_TOKEN: TOKEN, LOG_LEVEL: 'silent' }, { url: emulator.url, profileId: String(emulator.seed.profiles['Standard User']) })
}

/**
 * A fresh demo: the emulated org and scimforce with the demo's configuration. The suite assumes an empty directory; a Salesforce org never is one. The
 * emulator's demo data (the seed users SCIM can see, the public groups) is SCIM-DELETEd first, through
 * scimforce itself, which leaves exactly the state an IdP that had deleted it would see. The integration user and
 * the seeded admin are outside the managed scope, so SCIM cannot see them: they stay (the integration user is the
 * run-as user of the OAuth flow, and deactivating it would lock scimforce out; see expected-failures.json).
 */
export async function startTarget (): Promise<Target> {
  // The demo's emulated org: its seat count as `npm run demo` sets it.
  const emulator = await createEmulator({ licenseTotals: { Salesforce: Number(DEMO_DEFAULTS.EMULATOR_SALESFORCE_LICENSES) } })
  await emulator.listen()
  const store = openStore(':memory:')
  const app = await buildApp(conformanceConfig(emulator), { store, retry: { attempts: 3, baseDelayMs: 5, budgetMs: 2000 } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const headers = { authorization: `Bearer ${TOKEN}` }
  // The seed's case.owner@scimforce.demo is the org's Default Case Owner, whom Salesforce refuses to deactivate;
  // an admin emptying the org would reassign that setting first.
  emulator.org.settings.defaultCaseOwnerId = null
  // Every seed user SCIM can see: the integration user and the privileged admin are outside the managed scope
  // (issue 11), so they do not exist for the suite and stay as they are.
  const demo: string[] = []
  const users = await app.inject({ method: 'GET', url: `/${API}/Users?count=1000&attributes=id`, headers })
  if (users.statusCode !== 200) throw new Error(`setup: GET Users answered ${users.statusCode} ${users.body}`)
  for (const u of (users.json() as { Resources: Array<{ id: string }> }).Resources) demo.push(`Users/${u.id}`)
  // The demo public groups (Sales Team, Support Team) too, as listed to a SCIM client.
  const groups = await app.inject({ method: 'GET', url: `/${API}/Groups?count=1000&attributes=id`, headers })
  if (groups.statusCode === 200) for (const g of (groups.json() as { Resources: Array<{ id: string }> }).Resources) demo.push(`Groups/${g.id}`)
  for (const path of demo) {
    const res = await app.inject({ method: 'DELETE', url: `/${API}/${path}`, headers })
    if (res.statusCode !== 204) throw new Error(`setup: DELETE ${path} answered ${res.statusCode} ${res.body}`)
  }
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    token: TOKEN,
    emulator,
    app,
    close: async () => {
      await app.close()
      store.close()
      await emulator.close()
    },
  }
}

// ---------------------------------------------------------------------------------------------------------
// newman

interface PostmanItemLike { name: string, parent?: () => PostmanItemLike | undefined }
interface RequestEventArgs {
  item: PostmanItemLike
  request?: { method?: string, url?: { toString: () => string } }
  response?: { code: number, stream?: Buffer }
}
interface AssertionEventArgs { item: PostmanItemLike, assertion: string, skipped?: boolean }

/** "Folder/Request": the collection itself (the root, which has no parent) is left out. */
function itemPath (item: PostmanItemLike): string {
  const names = [item.name]
  let parent = item.parent?.()
  while (parent !== undefined && parent.parent?.() !== undefined) {
    names.unshift(parent.name)
    parent = parent.parent?.()
  }
  return names.join('/')
}

/** Runs the collection against a target and returns every assertion in run order, plus requests that failed. */
export async function runCollection (target: { baseUrl: string, token: string }, collection = loadCollection()): Promise<{ results: AssertionResult[], runErrors: string[] }> {
  const url = new URL(target.baseUrl)
  const results: AssertionResult[] = []
  const runErrors: string[] = []
  const seen = new Map<string, number>()
  let current = ''
  let response: AssertionResult['response']

  await new Promise<void>((resolve, reject) => {
    const emitter = newman.run({
      collection,
      envVar: [
        { key: 'Protocol', value: url.protocol.replace(/:$/, '') },
        { key: 'Server', value: url.hostname },
        { key: 'Port', value: `:${url.port}` },
        { key: 'Api', value: API },
        { key: 'token', value: target.token },
      ],
      reporters: [],
      // Bounded: a hung request fails the run instead of the test worker.
      timeoutRequest: 10_000,
      timeoutScript: 5_000,
    }, (err) => { if (err !== null) reject(err); else resolve() })

    emitter.on('beforeItem', (_err: Error | null, args: { item: PostmanItemLike }) => {
      const path = itemPath(args.item)
      const n = (seen.get(path) ?? 0) + 1
      seen.set(path, n)
      current = n === 1 ? path : `${path} #${n}`
      response = undefined
    })
    emitter.on('request', (err: Error | null, args: RequestEventArgs) => {
      if (err !== null) {
        runErrors.push(`${current}: request failed: ${err.message}`)
        return
      }
      const body = args.response?.stream?.toString('utf8') ?? ''
      response = {
        method: args.request?.method ?? '?',
        url: args.request?.url?.toString() ?? '?',
        status: args.response?.code ?? 0,
        body: body.length > 400 ? `${body.slice(0, 400)}…` : body,
      }
    })
    emitter.on('exception', (err: Error | null) => { runErrors.push(`${current}: script exception: ${err?.message ?? 'unknown'}`) })
    emitter.on('assertion', (err: { message?: string } | null, args: AssertionEventArgs) => {
      if (args.skipped === true) return
      results.push({
        request: current,
        assertion: args.assertion,
        passed: err === null,
        ...(err !== null ? { error: err.message ?? 'failed' } : {}),
        ...(response !== undefined ? { response } : {}),
      })
    })
  })
  return { results, runErrors }
}

// ---------------------------------------------------------------------------------------------------------
// Comparison

const keyOf = (e: { request: string, assertion: string }): string => `${e.request}\u0000${e.assertion}`

export function compare (results: AssertionResult[], expected: ExpectedFailure[], runErrors: string[] = []): Comparison {
  const listed = new Map(expected.map((e) => [keyOf(e), e]))
  const ran = new Set(results.map(keyOf))
  const newFailures = results.filter((r) => !r.passed && !listed.has(keyOf(r)))
  const unexpectedPasses = results.flatMap((r) => {
    const entry = listed.get(keyOf(r))
    return r.passed && entry !== undefined ? [{ ...entry, result: r }] : []
  })
  const unknownEntries = expected.filter((e) => !ran.has(keyOf(e)))
  const failed = results.filter((r) => !r.passed).length
  return {
    ok: newFailures.length === 0 && unexpectedPasses.length === 0 && unknownEntries.length === 0 && runErrors.length === 0,
    newFailures,
    unexpectedPasses,
    unknownEntries,
    runErrors,
    counts: { assertions: results.length, passed: results.length - failed, failed, expected: expected.length },
  }
}

function describeResponse (r: AssertionResult): string {
  if (r.response === undefined) return ''
  return `\n      ← ${r.response.method} ${r.response.url} answered ${r.response.status} ${r.response.body}`
}

/** A diff a human can act on: what newly fails (and what scimforce answered), what now passes, what is stale. */
export function formatComparison (c: Comparison): string {
  const lines = [`Microsoft SCIM suite: ${c.counts.assertions} assertions, ${c.counts.passed} passed, ${c.counts.failed} failed (${c.counts.expected} expected to fail)`]
  if (c.newFailures.length > 0) {
    lines.push('', `+ ${c.newFailures.length} NEW FAILURE(S) (fix scimforce, or justify an entry in test/conformance/expected-failures.json):`)
    for (const r of c.newFailures) lines.push(`  + [${r.request}] "${r.assertion}": ${r.error ?? ''}${describeResponse(r)}`)
  }
  if (c.unexpectedPasses.length > 0) {
    lines.push('', `- ${c.unexpectedPasses.length} UNEXPECTED PASS(ES) (remove from test/conformance/expected-failures.json):`)
    for (const e of c.unexpectedPasses) lines.push(`  - [${e.request}] "${e.assertion}" (was: ${e.reason})`)
  }
  if (c.unknownEntries.length > 0) {
    lines.push('', `? ${c.unknownEntries.length} entr(y/ies) match no assertion that ran (renamed or mistyped):`)
    for (const e of c.unknownEntries) lines.push(`  ? [${e.request}] "${e.assertion}"`)
  }
  if (c.runErrors.length > 0) {
    lines.push('', `! ${c.runErrors.length} run error(s):`)
    for (const e of c.runErrors) lines.push(`  ! ${e}`)
  }
  if (c.ok) lines.push('OK: the failures are exactly the expected ones.')
  return lines.join('\n')
}

/** Boots a fresh target, runs the suite, compares, and shuts everything down. */
export async function runConformance (opts: { expected?: ExpectedFailure[] } = {}): Promise<{ comparison: Comparison, results: AssertionResult[] }> {
  const expected = opts.expected ?? loadExpectedFailures()
  const target = await startTarget()
  try {
    const { results, runErrors } = await runCollection(target)
    return { comparison: compare(results, expected, runErrors), results }
  } finally {
    await target.close()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { comparison } = await runConformance()
  console.log(formatComparison(comparison))
  process.exitCode = comparison.ok ? 0 : 1
}
