// `npm run bench`: scimforce against the emulated org, beside the floor (the same Salesforce calls made directly
// with jsforce), driven by autocannon at several concurrency levels, with and without added Salesforce latency:
// both targets warmed up first, then every cell repeated (scimforce and the floor in alternating order) and shown
// as its median and spread. Then API calls per SCIM operation (calls.ts), memory over a sustained run, and an
// initial load of 10,000 users three ways: one call per user, coalesced single POSTs, and SCIM Bulk requests of
// 1,000 operations. `BENCH_QUICK=1` runs everything with tiny settings (a check that the bench works).
// Prints the tables and writes them, with the machine they came from, to bench/RESULTS.md. Figures, not tests:
// nothing here asserts a time. Everything listens on 127.0.0.1 and every run is bounded in time or count.
import { execSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon'
import { callsPerOperation, callsTable, type CallsResult } from './calls.js'
import { fresh, HEADERS, limited, PATCH_OP, scimUser, TOKEN } from './common.js'
import type { CounterDelta, EmulatorInfo, RecordedRequest } from './emulator-process.js'
import type { FloorInfo, FloorTemplate } from './floor-process.js'
import { startChild, type ChildHandle } from './ipc.js'
import type { ScimforceInfo } from './scimforce-process.js'
import { cell, fmt, spread, type Spread } from './stats.js'

/** `BENCH_QUICK=1`: every part with tiny settings, written to a scratch file rather than RESULTS.md. */
const QUICK = process.env.BENCH_QUICK === '1'
const setting = (name: string, full: number, quick: number): number => Number(process.env[name] ?? (QUICK ? quick : full))
/**
 * Seconds per measured run. Short runs, many of them: a 1 s run at +0 ms already holds hundreds of requests, and
 * repeats show how much a cell moves with the machine, which one long run hides.
 */
const SECONDS = setting('BENCH_SECONDS', 1, 0.3)
/** Runs per cell and target, scimforce first in repeats 1, 3, 5… and the floor in repeats 2, 4… (at least 5 in a real run). */
const REPEATS = setting('BENCH_REPEATS', 5, 2)
/** Seconds of warm-up per operation and target, at c=8, before a latency's first measured run (JIT, pools, caches). */
const WARMUP_SECONDS = setting('BENCH_WARMUP_SECONDS', 1, 0.2)
const CONCURRENCY = [1, 8, 32]
/** 0: scimforce's own cost shows; 50 ms: closer to a real org (a REST call to Salesforce takes 50–300 ms). */
const LATENCIES = QUICK ? [0] : [0, 50]
/** Users created and deleted before the filter measured past them: more than 600 (docs/salesforce-behaviour.md#uri-limit). */
const TOMBSTONES = setting('BENCH_TOMBSTONES', 650, 610)
// Quick: one Bulk request's worth (BULK_OPS), the fewest that fill the Bulk way's requests.
const LOAD_USERS = setting('BENCH_LOAD_USERS', 10_000, 1_000)
const LOAD_CLIENTS = 16
/** A realistic Salesforce round trip (issue 15: 50-300 ms); the three ways of the initial load run at it. */
const LOAD_LATENCY_MS = Number(process.env.BENCH_LOAD_LATENCY_MS ?? 150)
/** Operations per Bulk request (the advertised maxOperations). */
const BULK_OPS = 1000
/** Users the reads and updates are spread over (a PATCH storm on one record is not what an IdP sends). */
const POOL = QUICK ? 20 : 200
/** Sustained run for memory: slices of this many seconds at 16 connections, RSS measured after each. */
const SUSTAINED_SLICES = QUICK ? 2 : 4
const SUSTAINED_SECONDS = QUICK ? 1 : 5
const OPS = ['GET by id', 'filter', 'POST', 'PATCH', 'PUT', 'DELETE'] as const
type Op = typeof OPS[number]

interface Measure {
  rps: number
  p50: number
  p99: number
  /** Requests sent (the last ones of a timed run may be answered after autocannon stops listening). */
  sent: number
  failed: number
  /** CPU time of the server process per request sent, in ms: robust to other load on the machine. */
  cpuMs: number
  /** Salesforce API calls counted by the emulated org per request sent. */
  apiCalls: number
}
/** One cell: its REPEATS runs against each target (index r of one is paired with index r of the other). */
interface Row { latency: number, op: Op, c: number, scim: Measure[], floor: Measure[] }
interface PoolUser { id: string, local: string }

/** CPU time (user + system) a process has used, in ms, from /proc (Linux); 0 elsewhere. */
function cpuMs (pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    // utime and stime, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}

/** Waits until the emulated org has seen no API call for 200 ms: the requests a timed run left in flight are done. */
async function settled (p: Phase): Promise<CounterDelta> {
  let last = await counters(p)
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    const now = await counters(p)
    if (now.apiCalls === last.apiCalls) return now
    last = now
  }
  return last
}

/** One measured run against one target: autocannon's figures, the target's CPU and the Salesforce calls it made. */
async function measured (p: Phase, target: ChildHandle<{ url: string }>, c: number, load: Load): Promise<Measure> {
  // A DELETE run whose POST run created nothing (a stalled machine) has nothing to measure: a gap in the cell's
  // repeats (the summaries skip it) rather than the end of a long bench.
  if (load.amount === 0) return { rps: Number.NaN, p50: Number.NaN, p99: Number.NaN, sent: 0, failed: 0, cpuMs: Number.NaN, apiCalls: Number.NaN }
  // The run before this one ended settled (below), so the counters can be read at once.
  const before = await counters(p)
  const cpu0 = cpuMs(target.pid)
  const r = await cannon(target.info.url, c, load)
  const after = await settled(p)
  const sent = Math.max(1, r.requests.sent)
  return {
    rps: r['2xx'] / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    sent,
    failed: r.non2xx + r.errors + r.timeouts,
    cpuMs: (cpuMs(target.pid) - cpu0) / sent,
    apiCalls: (after.apiCalls - before.apiCalls) / sent,
  }
}

interface Load {
  method: string
  path: () => string
  body?: () => string
  onBody?: (body: string) => void
  amount?: number
}

async function cannon (url: string, c: number, load: Load, seconds = SECONDS): Promise<AutocannonResult> {
  const request: AutocannonRequest = {
    method: load.method,
    headers: HEADERS,
    setupRequest: (req) => ({ ...req, path: load.path(), ...(load.body !== undefined ? { body: load.body() } : {}) }),
    ...(load.onBody !== undefined ? { onResponse: (_s: number, body: string) => { load.onBody?.(body) } } : {}),
  }
  const amount = load.amount
  if (amount === 0) throw new Error('nothing to do: the POST run before it created no users')
  return await autocannon({
    url,
    connections: amount !== undefined ? Math.max(1, Math.min(c, amount)) : c,
    ...(amount !== undefined ? { amount } : { duration: seconds }),
    timeout: 30,
    requests: [request],
  })
}

async function post (base: string, local: string): Promise<string> {
  const res = await fetch(`${base}/scim/v2/Users`, { method: 'POST', headers: HEADERS, body: JSON.stringify(scimUser(local, 'Driver')) })
  const body = await res.json() as { id?: string }
  if (res.status !== 201 || body.id === undefined) throw new Error(`seeding failed: ${res.status} ${JSON.stringify(body)}`)
  return body.id
}

interface Phase {
  emulator: ChildHandle<EmulatorInfo>
  scimforce: ChildHandle<ScimforceInfo>
  floor: ChildHandle<FloorInfo>
}

async function startPhase (latencyMs: number): Promise<Phase> {
  const emulator = await startChild<EmulatorInfo>('emulator-process', { latencyMs })
  const scimforce = await startChild<ScimforceInfo>('scimforce-process', { salesforceUrl: emulator.info.url, profileId: emulator.info.profileId, token: TOKEN }, { exposeGc: true })
  const floor = await startChild<FloorInfo>('floor-process', { salesforceUrl: emulator.info.url })
  return { emulator, scimforce, floor }
}

async function stopPhase (p: Phase): Promise<void> {
  await Promise.all([p.floor.stop(), p.scimforce.stop()])
  await p.emulator.stop()
}

/** The Salesforce requests scimforce sends for one SCIM request, recorded at the emulated org. */
async function recordOne (p: Phase, fn: () => Promise<Response>): Promise<{ requests: RecordedRequest[], res: Response }> {
  await p.emulator.call('record')
  const res = await fn()
  const requests = await p.emulator.call<RecordedRequest[]>('recorded')
  if (res.status >= 300) throw new Error(`recording: scimforce answered ${res.status} ${await res.text()}`)
  return { requests, res }
}

/** Records, through scimforce, the Salesforce requests of each operation: the floor replays exactly those. */
async function templates (p: Phase, pool: PoolUser[]): Promise<Record<Op, FloorTemplate>> {
  const base = `${p.scimforce.info.url}/scim/v2/Users`
  const u = pool[0] as PoolUser
  const local = fresh()
  const one = async (method: string, url: string, body?: unknown): Promise<{ requests: RecordedRequest[], res: Response }> =>
    await recordOne(p, async () => await fetch(url, { method, headers: HEADERS, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }))
  const get = await one('GET', `${base}/${u.id}`)
  const filter = await one('GET', `${base}?filter=${encodeURIComponent(`userName eq "${u.local}@load.example"`)}&startIndex=1&count=1`)
  const created = await one('POST', base, scimUser(local, 'Driver'))
  const createdId = (await created.res.json() as { id: string }).id
  const patch = await one('PATCH', `${base}/${u.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Fleet Lead' }] })
  const put = await one('PUT', `${base}/${u.id}`, scimUser(u.local, 'Dispatcher'))
  const del = await one('DELETE', `${base}/${createdId}`)
  return {
    'GET by id': { requests: get.requests, id: u.id, token: u.local },
    filter: { requests: filter.requests },
    POST: { requests: created.requests, token: local },
    PATCH: { requests: patch.requests, id: u.id, token: u.local },
    PUT: { requests: put.requests, id: u.id, token: u.local },
    DELETE: { requests: del.requests, id: createdId },
  }
}

/** Load definitions for one operation, against scimforce and against the floor. */
/** Ids created by the POST runs of one concurrency level, which its DELETE runs then delete. */
interface Created { scim: string[], floor: string[] }

function loads (op: Op, pool: PoolUser[], created: Created = { scim: [], floor: [] }): { scim: Load, floor: Load } {
  let i = 0
  const next = (): PoolUser => pool[i++ % pool.length] as PoolUser
  let titles = 0
  const title = (): string => `Title ${titles++ % 7}`
  const idOf = (body: string): string | undefined => {
    try {
      const parsed = JSON.parse(body) as { id?: string, compositeResponse?: Array<{ body?: { id?: string } }> }
      return parsed.id ?? parsed.compositeResponse?.[0]?.body?.id
    } catch {
      return undefined
    }
  }
  const scimBase = '/scim/v2/Users'
  switch (op) {
    case 'GET by id':
      return {
        scim: { method: 'GET', path: () => `${scimBase}/${next().id}` },
        floor: { method: 'GET', path: () => { const u = next(); return `/${encodeURIComponent(op)}?id=${u.id}&token=${u.local}` } },
      }
    case 'filter':
      return {
        scim: { method: 'GET', path: () => `${scimBase}?filter=${encodeURIComponent(`userName eq "${next().local}@load.example"`)}&startIndex=1&count=1` },
        floor: { method: 'GET', path: () => `/${encodeURIComponent(op)}` },
      }
    case 'POST': {
      let body = ''
      return {
        scim: { method: 'POST', path: () => { body = JSON.stringify(scimUser(fresh(), 'Driver')); return scimBase }, body: () => body, onBody: (b) => { const id = idOf(b); if (id !== undefined) created.scim.push(id) } },
        floor: { method: 'POST', path: () => `/${encodeURIComponent(op)}?token=${fresh()}`, onBody: (b) => { const id = idOf(b); if (id !== undefined) created.floor.push(id) } },
      }
    }
    case 'PATCH':
      return {
        scim: { method: 'PATCH', path: () => `${scimBase}/${next().id}`, body: () => JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: title() }] }) },
        floor: { method: 'PATCH', path: () => { const u = next(); return `/${encodeURIComponent(op)}?id=${u.id}&token=${u.local}` } },
      }
    case 'PUT': {
      let body = ''
      return {
        scim: { method: 'PUT', path: () => { const u = next(); body = JSON.stringify(scimUser(u.local, title())); return `${scimBase}/${u.id}` }, body: () => body },
        floor: { method: 'PUT', path: () => { const u = next(); return `/${encodeURIComponent(op)}?id=${u.id}&token=${u.local}` } },
      }
    }
    case 'DELETE': {
      const s = created.scim.splice(0)
      const f = created.floor.splice(0)
      return {
        scim: { method: 'DELETE', path: () => `${scimBase}/${s.shift() ?? 'none'}`, amount: s.length },
        floor: { method: 'DELETE', path: () => `/${encodeURIComponent(op)}?id=${f.shift() ?? 'none'}`, amount: f.length },
      }
    }
  }
}

async function counters (p: Phase): Promise<CounterDelta> {
  return await p.emulator.call<CounterDelta>('counters')
}

/**
 * Unmeasured runs of every operation against both targets at c=8, so that neither is measured cold (JIT, HTTP
 * agents' sockets, SQLite's page cache, the emulated org's indexes); the DELETE run deletes what the POST run made.
 */
async function warmUp (p: Phase, pool: PoolUser[]): Promise<void> {
  const created: Created = { scim: [], floor: [] }
  for (const op of OPS) {
    const l = loads(op, pool, created)
    for (const [target, load] of [[p.scimforce, l.scim], [p.floor, l.floor]] as const) {
      if (load.amount !== 0) await cannon(target.info.url, 8, load, WARMUP_SECONDS)
    }
    await settled(p)
  }
}

async function matrix (latency: number, p: Phase, pool: PoolUser[], rows: Row[]): Promise<void> {
  await p.floor.call('templates', await templates(p, pool))
  await settled(p)
  await warmUp(p, pool)
  for (const c of CONCURRENCY) {
    const cells = OPS.map((op): Row => ({ latency, op, c, scim: [], floor: [] }))
    rows.push(...cells)
    for (let r = 0; r < REPEATS; r++) {
      // Each repeat's DELETE runs delete the users its POST runs created.
      const created: Created = { scim: [], floor: [] }
      for (const row of cells) {
        const l = loads(row.op, pool, created)
        // Whichever target runs second meets what the first left behind (a busier org, garbage to collect, a
        // warmer CPU cache): each goes first in half of the repeats.
        if (r % 2 === 0) {
          row.scim.push(await measured(p, p.scimforce, c, l.scim))
          row.floor.push(await measured(p, p.floor, c, l.floor))
        } else {
          row.floor.push(await measured(p, p.floor, c, l.floor))
          row.scim.push(await measured(p, p.scimforce, c, l.scim))
        }
      }
    }
    for (const row of cells) {
      const s = summary(row)
      process.stdout.write(`  +${latency} ms  c=${String(c).padStart(2)}  ${row.op.padEnd(9)}  scimforce ${cell(s.scim.rps).padStart(15)}/s p50 ${cell(s.scim.p50)}` +
        `  floor ${cell(s.floor.rps).padStart(15)}/s p50 ${cell(s.floor.p50)}  cpu ${fmt(s.scim.cpuMs.median, 2)}/${fmt(s.floor.cpuMs.median, 2)}  api/op ${fmt(s.scim.apiCalls.median, 2)}` +
        `${s.failed.scim + s.failed.floor > 0 ? `  FAILED ${s.failed.scim}/${s.failed.floor}` : ''}\n`)
    }
  }
}

type MeasureSpread = Record<'rps' | 'p50' | 'p99' | 'cpuMs' | 'apiCalls', Spread>
interface Summary {
  scim: MeasureSpread
  floor: MeasureSpread
  /** Per repeat, scimforce's figure over the floor's in the same repeat (paired), then summarised. */
  rpsRatio: Spread
  p50Ratio: Spread
  failed: { scim: number, floor: number }
}

function summary (row: Row): Summary {
  const of = (ms: Measure[]): MeasureSpread => ({
    rps: spread(ms.map((m) => m.rps)),
    p50: spread(ms.map((m) => m.p50)),
    p99: spread(ms.map((m) => m.p99)),
    cpuMs: spread(ms.map((m) => m.cpuMs)),
    apiCalls: spread(ms.map((m) => m.apiCalls)),
  })
  const paired = (f: (s: Measure, fl: Measure) => number): Spread => spread(row.scim.map((m, i) => f(m, row.floor[i] as Measure)))
  return {
    scim: of(row.scim),
    floor: of(row.floor),
    rpsRatio: paired((m, f) => m.rps / f.rps),
    // autocannon's latencies are whole milliseconds: a 0 ms floor counts as 1.
    p50Ratio: paired((m, f) => m.p50 / Math.max(f.p50, 1)),
    failed: { scim: row.scim.reduce((n, m) => n + m.failed, 0), floor: row.floor.reduce((n, m) => n + m.failed, 0) },
  }
}

interface Memory { rssMiB: number, peakRssMiB: number, heapUsedMiB: number }

async function sustained (p: Phase, pool: PoolUser[]): Promise<{ slices: Memory[], before: Memory, rps: number, ops: number }> {
  const before = await p.scimforce.call<Memory>('memory')
  const get = loads('GET by id', pool).scim
  // A mix of reads and writes, as an IdP's steady state sends them: two reads, a lookup, an update.
  const rotation = [get, get, loads('filter', pool).scim, loads('PATCH', pool).scim]
  let n = 0
  const slices: Memory[] = []
  let ops = 0
  let seconds = 0
  for (let s = 0; s < SUSTAINED_SLICES; s++) {
    const r = await autocannon({
      url: p.scimforce.info.url,
      connections: 16,
      duration: SUSTAINED_SECONDS,
      timeout: 30,
      requests: [{
        headers: HEADERS,
        setupRequest: (req) => {
          const l = rotation[n++ % rotation.length] as Load
          return { ...req, method: l.method, path: l.path(), body: l.body?.() }
        },
      }],
    })
    ops += r['2xx'] + r.non2xx
    seconds += r.duration
    slices.push(await p.scimforce.call<Memory>('memory'))
  }
  return { slices, before, rps: ops / seconds, ops }
}

/** The V8 flags the container runs with (the Dockerfile's NODE_OPTIONS), so that the load's RSS is the image's. */
const CONTAINER_V8_FLAGS = (/NODE_OPTIONS="([^"]*)"/.exec(readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8'))?.[1] ?? '').split(' ').filter((f) => f !== '')

type LoadWay = 'one call per user' | 'coalesced single POSTs' | `Bulk of ${number}`
const LOAD_WAYS: LoadWay[] = ['one call per user', 'coalesced single POSTs', `Bulk of ${BULK_OPS}`]
interface LoadResult { way: LoadWay, seconds: number, users: number, failed: number, apiCalls: number, tokens: number, idle: Memory, peak: Memory }

/**
 * One initial load of LOAD_USERS users into a fresh emulated org at +LOAD_LATENCY_MS: POST /Users from LOAD_CLIENTS
 * clients with coalescing off (one Salesforce call per user, as before issue 15) or on (the default), or Bulk
 * requests of BULK_OPS operations, LOAD_CLIENTS at a time. Idle RSS is taken after the first request (after a GC),
 * peak RSS is the process's high-water mark at the end.
 */
async function initialLoad (way: LoadWay): Promise<LoadResult> {
  const emulator = await startChild<EmulatorInfo>('emulator-process', { latencyMs: LOAD_LATENCY_MS })
  const scimforce = await startChild<ScimforceInfo>('scimforce-process', {
    salesforceUrl: emulator.info.url, profileId: emulator.info.profileId, token: TOKEN, coalesceWrites: way !== 'one call per user',
  }, { exposeGc: true, v8Flags: CONTAINER_V8_FLAGS })
  try {
    await fetch(`${scimforce.info.url}/scim/v2/Users?count=1`, { headers: HEADERS })
    const idle = await scimforce.call<Memory>('memory')
    const before = await emulator.call<CounterDelta>('counters')
    const usersBefore = await emulator.call<number>('users')
    let seconds: number
    let failed = 0
    if (way.startsWith('Bulk')) {
      const bodies = chunked(Array.from({ length: LOAD_USERS }, () => fresh()), BULK_OPS).map((locals) => JSON.stringify({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: locals.map((local, i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: scimUser(local, 'Driver') })),
      }))
      const t0 = performance.now()
      await limited(bodies, LOAD_CLIENTS, async (body) => {
        const res = await fetch(`${scimforce.info.url}/scim/v2/Bulk`, { method: 'POST', headers: HEADERS, body })
        const ops = res.ok ? ((await res.json()) as { Operations: Array<{ status: string }> }).Operations : []
        failed += BULK_OPS - ops.filter((o) => o.status === '201').length
      })
      seconds = (performance.now() - t0) / 1000
    } else {
      const r = await autocannon({
        url: scimforce.info.url,
        connections: LOAD_CLIENTS,
        amount: LOAD_USERS,
        timeout: 30,
        requests: [{
          method: 'POST',
          headers: HEADERS,
          setupRequest: (req) => ({ ...req, path: '/scim/v2/Users', body: JSON.stringify(scimUser(fresh(), 'Driver')) }),
        }],
      })
      seconds = r.duration
      failed = r.non2xx + r.errors + r.timeouts
    }
    const after = await emulator.call<CounterDelta>('counters')
    const users = await emulator.call<number>('users') - usersBefore
    return {
      way,
      seconds,
      users,
      failed,
      apiCalls: after.apiCalls - before.apiCalls,
      tokens: await scimforce.call<number>('tokens'),
      idle,
      peak: await scimforce.call<Memory>('memory'),
    }
  } finally {
    await scimforce.stop()
    await emulator.stop()
  }
}

function chunked<T> (items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** The three ways side by side (issue 15 targets: Bulk <= 25 calls and <= 15 s; coalesced <= 1,000 calls). */
function loadTable (results: LoadResult[]): string[] {
  return [
    `${LOAD_USERS.toLocaleString('en')} new users, ${LOAD_CLIENTS} concurrent clients, Salesforce latency +${LOAD_LATENCY_MS} ms; each way against a fresh emulated org and a fresh scimforce process.`,
    '',
    '| Way | Wall time (s) | Users/s | Users created | Failed | API calls | Calls/user | Token requests | RSS idle (MiB) | Peak RSS (MiB) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map((r) => `| ${r.way} | ${fmt(r.seconds)} | ${fmt(r.users / r.seconds, 0)} | ${r.users.toLocaleString('en')} | ${r.failed} | ` +
      `${r.apiCalls.toLocaleString('en')} | ${fmt(r.apiCalls / Math.max(1, r.users), 3)} | ${r.tokens} | ${r.idle.rssMiB} | ${r.peak.peakRssMiB} |`),
  ]
}

function machine (load: { start: number[], end: number[] }): string[] {
  const git = (cmd: string): string => { try { return execSync(cmd, { encoding: 'utf8' }).trim() } catch { return '?' } }
  const cpus = os.cpus()
  return [
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${os.availableParallelism()} CPUs (nproc) — ${cpus[0]?.model.trim() ?? '?'}; ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM; ${os.type()} ${os.release()} ${os.arch()}`,
    `- Node ${process.version}; @jsforce/jsforce-node 3.10.16; autocannon 8; scimforce at ${git('git rev-parse --short HEAD')}${git('git status --porcelain') !== '' ? ' (with uncommitted changes)' : ''}`,
    `- Processes: the emulated org, scimforce and the floor each in a child process of their own; autocannon in the parent. All on 127.0.0.1, sharing the ${os.availableParallelism()} CPUs.`,
    `- Load average (1/5/15 min) at the start ${load.start.map((x) => x.toFixed(2)).join('/')}, at the end ${load.end.map((x) => x.toFixed(2)).join('/')}: other work on the machine inflates latencies and deflates req/s; CPU ms per operation is the figure it disturbs least.`,
    `- Each latency: fresh processes; every operation run unmeasured against both targets first (${WARMUP_SECONDS} s each at c=8, the warm-up).`,
    `- Each cell: ${REPEATS} repeats, each an autocannon run of ${SECONDS} s against scimforce and one against the floor (DELETE: one request per user that repeat's POST run created), ` +
      'scimforce first in repeats 1, 3, 5… and the floor first in repeats 2, 4…; the repeats of the six operations are interleaved (repeat 1 of each, then repeat 2…).',
  ]
}

/** For each latency, three tables with one row per operation and c=1/8/32 side by side. */
function tables (rows: Row[]): string[] {
  const out: string[] = []
  const head = (perC: string[]): string[] => [
    `| operation | ${CONCURRENCY.flatMap((c) => perC.map((h) => `c=${c} ${h}`)).join(' | ')} |`,
    `| --- | ${CONCURRENCY.flatMap(() => perC.map(() => '---:')).join(' | ')} |`,
  ]
  const failures: string[] = []
  for (const latency of LATENCIES) {
    const at = rows.filter((x) => x.latency === latency)
    const line = (op: Op, fn: (s: Summary) => string[]): string =>
      `| ${op} | ${CONCURRENCY.flatMap((c) => { const row = at.find((x) => x.op === op && x.c === c); return row === undefined ? ['–'] : fn(summary(row)) }).join(' | ')} |`
    for (const row of at) {
      const s = summary(row)
      if (s.failed.scim + s.failed.floor > 0) failures.push(`- +${latency} ms, ${row.op}, c=${row.c}: ${s.failed.scim} scimforce and ${s.failed.floor} floor requests failed (non-2xx, errors or timeouts) over the ${REPEATS} repeats.`)
    }
    out.push('', `### Salesforce latency +${latency} ms`, '',
      'Throughput, 2xx answers per second:', '',
      ...head(['scimforce', 'floor', 'scimforce ÷ floor']),
      ...OPS.map((op) => line(op, (s) => [cell(s.scim.rps), cell(s.floor.rps), cell(s.rpsRatio, 2)])),
      '', 'Latency, ms (p50; p99 as median of the repeats\' p99):', '',
      ...head(['scimforce p50', 'floor p50', 'p50 × floor', 'p99 scimforce / floor']),
      ...OPS.map((op) => line(op, (s) => [cell(s.scim.p50), cell(s.floor.p50), cell(s.p50Ratio, 2), `${fmt(s.scim.p99.median, 0)} / ${fmt(s.floor.p99.median, 0)}`])),
      '', 'CPU ms per request sent, and Salesforce API calls per scimforce request:', '',
      ...head(['CPU scimforce', 'CPU floor', 'API calls / op']),
      ...OPS.map((op) => line(op, (s) => [cell(s.scim.cpuMs, 2), cell(s.floor.cpuMs, 2), cell(s.scim.apiCalls, 2)])))
  }
  out.push('', failures.length === 0 ? 'No request failed in any run.' : 'Failed requests:', ...failures)
  return out
}

/** `BENCH_ONLY=load`: only the three-way initial load, printed and not written to RESULTS.md (a quick look). */
const ONLY_LOAD = process.env.BENCH_ONLY === 'load'
/** `BENCH_ONLY=calls`: only the API calls per operation, printed (a quick look). */
const ONLY_CALLS = process.env.BENCH_ONLY === 'calls'
/** Where the results go: RESULTS.md, or with BENCH_QUICK a scratch file (quick figures must not pass for real ones). */
const OUT = process.env.BENCH_OUT ?? (QUICK ? join(os.tmpdir(), 'scimforce-bench-quick.md') : fileURLToPath(new URL('./RESULTS.md', import.meta.url)))

async function calls (): Promise<CallsResult> {
  return await callsPerOperation({ tombstones: TOMBSTONES, expiries: QUICK ? 2 : 5, opsPerExpiry: QUICK ? 16 : 40, clients: 8 })
}

async function main (): Promise<void> {
  if (ONLY_LOAD) {
    // BENCH_LOAD_WAYS=one,coalesced,bulk picks some of the ways (by the first word of each, case-insensitive).
    const picked = (process.env.BENCH_LOAD_WAYS ?? '').toLowerCase().split(',').filter((w) => w !== '')
    const ways = picked.length === 0 ? LOAD_WAYS : LOAD_WAYS.filter((w) => picked.some((p) => w.toLowerCase().startsWith(p)))
    const results: LoadResult[] = []
    for (const way of ways) results.push(await initialLoad(way))
    process.stdout.write(`${loadTable(results).join('\n')}\n`)
    return
  }
  if (ONLY_CALLS) {
    process.stdout.write(`${callsTable(await calls()).join('\n')}\n`)
    return
  }
  const started = Date.now()
  const loadStart = os.loadavg()
  const rows: Row[] = []
  const tokenLines: string[] = []
  let memoryLines: string[] = []
  process.stdout.write(`scimforce bench${QUICK ? ' (QUICK: tiny settings, figures meaningless)' : ''}: ${REPEATS} × ${SECONDS} s per cell and target after ${WARMUP_SECONDS} s of warm-up, ` +
    `concurrency ${CONCURRENCY.join('/')}, latency ${LATENCIES.join('/')} ms\n`)
  const elapsed = (): string => `${fmt((Date.now() - started) / 60_000)} min`
  for (const latency of LATENCIES) {
    process.stdout.write(`latency +${latency} ms (${elapsed()} so far)\n`)
    const p = await startPhase(latency)
    try {
      const pool: PoolUser[] = []
      const locals = Array.from({ length: POOL }, () => fresh())
      await limited(locals, 8, async (local) => { pool.push({ id: await post(p.scimforce.info.url, local), local }) })
      const tokensBefore = await p.scimforce.call<number>('tokens')
      const sentOf = (all: Row[]): number => all.reduce((s, r) => s + r.scim.reduce((n, m) => n + m.sent, 0), 0)
      const opsBefore = sentOf(rows)
      await matrix(latency, p, pool, rows)
      const ops = sentOf(rows) - opsBefore
      const tokens = await p.scimforce.call<number>('tokens') - tokensBefore
      tokenLines.push(`- +${latency} ms: ${tokens} token requests for ${ops} SCIM operations of the measured runs and the warm-up (${fmt(tokens / ops * 1000, 2)} per 1,000; the one before them fetched the first token).`)
      if (latency === 0) {
        const s = await sustained(p, pool)
        const last = s.slices[s.slices.length - 1] as Memory
        const first = s.slices[0] as Memory
        memoryLines = [
          `- Before the sustained run (after the matrix above): RSS ${s.before.rssMiB} MiB, heap ${s.before.heapUsedMiB} MiB.`,
          `- Sustained mixed load (GET, GET, filter, PATCH; 16 connections; ${SUSTAINED_SLICES} × ${SUSTAINED_SECONDS} s; ${s.ops} requests, ${fmt(s.rps, 0)} req/s): ` +
            `RSS after each slice (after a full GC) ${s.slices.map((m) => m.rssMiB).join(' → ')} MiB; heap ${s.slices.map((m) => m.heapUsedMiB).join(' → ')} MiB.`,
          `- Growth from the first slice to the last: RSS ${fmt(last.rssMiB - first.rssMiB)} MiB, heap ${fmt(last.heapUsedMiB - first.heapUsedMiB)} MiB. Peak RSS of the process: ${last.peakRssMiB} MiB.`,
        ]
        process.stdout.write(`${memoryLines.join('\n')}\n`)
      }
    } finally {
      await stopPhase(p)
    }
  }

  process.stdout.write(`API calls per SCIM operation (${elapsed()} so far)\n`)
  const callLines = callsTable(await calls())
  process.stdout.write(`${callLines.join('\n')}\n`)

  const results: LoadResult[] = []
  for (const way of LOAD_WAYS) {
    process.stdout.write(`initial load: ${LOAD_USERS} users, ${way}, +${LOAD_LATENCY_MS} ms (${elapsed()} so far)\n`)
    results.push(await initialLoad(way))
  }
  const loadLines = loadTable(results)

  const minutes = (Date.now() - started) / 60_000
  const doc = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/run.ts). Figures from one run on one machine: quote the **ratios** (scimforce beside',
    'the floor, measured in the same repeats) rather than the absolute numbers, which move with the machine and its load.',
    ...(QUICK ? ['', '**QUICK RUN (`BENCH_QUICK=1`): tiny settings to check that the bench works; these figures mean nothing.**'] : []),
    '',
    '## Machine and run',
    ...machine({ start: loadStart, end: os.loadavg() }),
    `- Whole bench: ${fmt(minutes)} minutes.`,
    '',
    '## How to read it',
    '- **scimforce**: the production server path (`startServer`: pino at info to /dev/null, a WAL store file, default retry',
    '  policy, breaker and timeouts), Bearer auth, against the emulated org.',
    '- **floor**: a bare `node:http` server that sends, through jsforce with the same settings, exactly the Salesforce',
    '  requests scimforce sent for the same operation (recorded at the emulated org just before the runs, with the id or',
    '  name swapped in) and answers with Salesforce\'s JSON: the least any IdP-to-Salesforce relay must do. No framework,',
    '  no auth, no SCIM, no mapping back.',
    '- **Method**: for each latency, fresh processes; a warm-up of every operation against both targets, unmeasured; then',
    `  each cell (operation × concurrency) is run ${REPEATS} times against each target, one ${SECONDS} s autocannon run per repeat and`,
    '  target, alternating which target goes first (scimforce in repeats 1, 3, 5…, the floor in 2, 4…), the repeats of the',
    '  six operations interleaved so that a slow spell of the machine spreads over all of them. Short runs, many repeats:',
    '  the spread says how far a figure can be trusted, which one long run cannot.',
    '- **Cells**: `median (min–max)` over the repeats (the median alone when every repeat gave the same figure).',
    '- **scimforce ÷ floor** (throughput) and **p50 × floor** (median latency as a multiple of the floor\'s) are paired:',
    '  computed within each repeat, from the two runs made back to back, then summarised. autocannon measures whole',
    '  milliseconds, so at +0 ms small latencies are coarse.',
    '- **CPU ms/op**: CPU time (user + system, from /proc) the scimforce process, or the floor process, spent per request',
    '  sent. Unlike latency and req/s it hardly moves with other load on the machine, so it is the fairest overhead figure.',
    '- **API calls / op**: Salesforce API calls counted by the emulated org during the scimforce run, per request sent',
    '  (counted once the requests a timed run left in flight are done). Under concurrency writes are coalesced, so it',
    '  falls below 1; the filter rises to 2 once the runs\' DELETEs have left more tombstones than a query can exclude',
    '  inline. The section after the tables counts each operation alone.',
    '- At +0 ms the emulated org answers at once, so the CPU is the limit and the three processes share two cores: this',
    '  column shows what scimforce itself costs. At +50 ms the Salesforce round trip dominates, as it does in production.',
    ...tables(rows),
    '',
    '## Salesforce API calls per SCIM operation',
    ...callLines,
    '',
    '## Tokens',
    ...tokenLines,
    '',
    '## Memory (scimforce process)',
    ...memoryLines,
    '',
    '## Initial load',
    ...loadLines,
    '',
  ]
  process.stdout.write(`${tables(rows).join('\n')}\n\n${tokenLines.join('\n')}\n${loadLines.join('\n')}\n`)
  writeFileSync(OUT, doc.join('\n'))
  process.stdout.write(`\nwritten to ${OUT} (${fmt(minutes)} minutes)\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
