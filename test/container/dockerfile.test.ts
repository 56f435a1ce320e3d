// The container, without a Docker engine: reads the Dockerfile, replays in a temporary directory what it copies and
// the npm commands it runs (npm ci, build, prune), starts the image's CMD against an emulated org, and checks what
// the image relies on: /healthz, its HEALTHCHECK command, /readyz, an authenticated SCIM call, SIGTERM. The commands
// come from the Dockerfile itself, so the test fails when the two drift apart.
//
// Runs in `npm test` and takes a minute or two (npm ci of the whole lockfile). better-sqlite3 is not compiled
// again here: its installer (prebuild-install) fetches a prebuilt binary, as it does in a Docker build, from a
// binary host on 127.0.0.1 that serves the binary this test run itself uses, when the Node ABI matches. Any other
// ABI or platform gets a 404, and the installer compiles from source, slower but the same result.
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { homedir, tmpdir } from 'node:os'
import { basename, delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createEmulator, type Emulator } from '../../src/emulator/index.js'
import { listeningPort, startChild, type Child } from '../app/support.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const BEARER = 'container-test-bearer-token-4b8e'
const COMMAND_BOUND_MS = 8 * 60_000

interface Instruction { op: string, args: string }
interface Stage { from: string, name: string | undefined, instructions: Instruction[] }

/** Dockerfile → stages of instructions: continuation lines joined, comments dropped (as Docker does). */
export function parseDockerfile (text: string): Stage[] {
  const logical: string[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('#') || (line === '' && pending === '')) continue
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `
      continue
    }
    logical.push(`${pending}${line}`.trim())
    pending = ''
  }
  const stages: Stage[] = []
  for (const l of logical.filter((x) => x !== '')) {
    const m = /^(\w+)\s+(.*)$/s.exec(l)
    if (m === null) throw new Error(`unreadable Dockerfile line: ${l}`)
    const op = (m[1] as string).toUpperCase()
    const args = m[2] as string
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      stages.push({ from: f?.[1] ?? args, name: f?.[2], instructions: [] })
    } else {
      const stage = stages[stages.length - 1]
      if (stage === undefined) throw new Error(`${op} before FROM`)
      stage.instructions.push({ op, args })
    }
  }
  return stages
}

/** The shell steps of a RUN, split on `&&`. */
function steps (run: string): string[] {
  return run.split('&&').map((s) => s.trim()).filter((s) => s !== '')
}

// RUN steps that prepare the OS of the image. The machines that run this test have them already (python3, make,
// g++) or they need root inside an image (the /data volume); anything else the Dockerfile runs must be npm.
const OS_STEPS = [/^apt-get /, /^rm -rf \/var\/lib\/apt\/lists\/\*$/, /^mkdir -p \/data$/, /^chown node:node \/data$/]

function parseEnv (args: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) out[m[1] as string] = (m[2] as string).replace(/^"(.*)"$/, '$1')
  return out
}

function execForm (args: string): string[] {
  const value: unknown = JSON.parse(args)
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`not an exec-form command: ${args}`)
  return value as string[]
}

/**
 * The environment npm gets: the machine's, minus what `npm test` adds for its own scripts (npm_* variables would
 * point the nested npm at this checkout) and minus the bins of this checkout; the running Node comes first, so
 * the image's commands run on the Node that runs this test (CI runs it under the container's Node major too).
 */
function npmEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_nodedir', 'npm_config_cache', 'npm_config_registry'])
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.toLowerCase().startsWith('npm_') && !keep.has(k.toLowerCase())) continue
    if (/^(SF_|SCIM|STORE_PATH|METRICS_TOKEN|PORT$|HOST$)/.test(k)) continue
    env[k] = v
  }
  const path = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes(`node_modules${'/'}.bin`) && !p.endsWith('node-gyp-bin'))
  env.PATH = [dirname(process.execPath), ...path].join(delimiter)
  return { ...env, ...extra }
}

async function run (cmd: string, cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('sh', ['-c', cmd], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: COMMAND_BOUND_MS, killSignal: 'SIGKILL' })
    let output = ''
    child.stdout.on('data', (d: Buffer) => { output += d.toString() })
    child.stderr.on('data', (d: Buffer) => { output += d.toString() })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (code === 0) resolve()
      else reject(new Error(`\`${cmd}\` failed (${code ?? signal ?? '?'}):\n${output.slice(-6000)}`))
    })
  })
}

/** A prebuilt-binary host for better-sqlite3 on 127.0.0.1, serving the binary of the running tree. */
async function binaryHost (dir: string): Promise<{ server: Server, url: string, requested: string[] }> {
  const tarball = join(dir, 'better-sqlite3-prebuilt.tar.gz')
  execFileSync('tar', ['-czf', tarball, '-C', join(ROOT, 'node_modules', 'better-sqlite3'), 'build/Release/better_sqlite3.node'])
  const body = readFileSync(tarball)
  const wanted = `-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`
  const requested: string[] = []
  const server = createServer((req, res) => {
    requested.push(req.url ?? '')
    // The running tree's binary only fits this ABI and platform (glibc: no libc tag in the name).
    if (req.method !== 'GET' || !(req.url ?? '').endsWith(wanted)) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(body.length) }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return { server, url: `http://127.0.0.1:${port}`, requested }
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
const build = dockerfile.find((s) => s.name === 'build') ?? dockerfile[0]
const final = dockerfile[dockerfile.length - 1]

describe('Dockerfile', () => {
  it('builds on and runs on the same Node LTS image, newer than 20, as a non-root user with a HEALTHCHECK', () => {
    expect(build).toBeDefined()
    expect(final).toBeDefined()
    expect(dockerfile.length).toBeGreaterThanOrEqual(2)
    // The native addon compiled (or fetched) in the build stage must load in the final one: same image.
    expect(final?.from).toBe(build?.from)
    const major = Number(/^node:(\d+)/.exec(final?.from ?? '')?.[1])
    expect(major).toBeGreaterThan(20)
    expect(major % 2).toBe(0) // even majors are the LTS lines
    const ops = (s: Stage | undefined, op: string): string[] => (s?.instructions ?? []).filter((i) => i.op === op).map((i) => i.args)
    expect(ops(final, 'USER')).toEqual(['node'])
    expect(ops(final, 'HEALTHCHECK')).toHaveLength(1)
    expect(ops(final, 'CMD')).toHaveLength(1)
    // Production dependencies only: the final stage takes node_modules from the build stage, after a prune.
    expect(ops(build, 'RUN').flatMap(steps)).toContain('npm prune --omit=dev --no-audit --no-fund')
    expect(ops(final, 'COPY').filter((a) => /node_modules/.test(a))).toEqual(['--from=build /app/node_modules ./node_modules'])
  })

  // .ci/run sets EXPECT_NODE_MAJOR when it runs the suite again on the container's Node: prove it did.
  it.skipIf(process.env.EXPECT_NODE_MAJOR === undefined)('runs on the Node major CI asked for', () => {
    expect(process.versions.node.split('.')[0]).toBe(process.env.EXPECT_NODE_MAJOR)
  })

  it('lets npm 10 (the image) and npm 11 (here) run the same install scripts', () => {
    // node:22 ships npm 10, which ignores package.json allowScripts and runs every install script; npm 11 runs only
    // the allowed ones. The two builds agree as long as every package with an install script is allowed.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> }
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> }
    const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript === true).map(([path]) => path.replace(/^.*node_modules\//, ''))
    expect(withScripts.filter((name) => pkg.allowScripts?.[name] !== true)).toEqual([])
  })

  describe('replayed without Docker', () => {
    let dir: string | undefined
    let emulator: Emulator | undefined
    let child: Child | undefined
    let host: Awaited<ReturnType<typeof binaryHost>> | undefined
    afterAll(async () => {
      if (child !== undefined && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL')
      await emulator?.close()
      host?.server.close()
      // prebuild-install caches what it fetched, keyed by the URL (our port changes every run): do not leave it.
      for (const url of host?.requested ?? []) {
        const full = `${host?.url ?? ''}${url}`
        const cache = join(process.env.npm_config_cache ?? join(homedir(), '.npm'), '_prebuilds')
        const name = `${createHash('sha512').update(full).digest('hex').slice(0, 6)}-${basename(full).replace(/[^a-zA-Z0-9.]+/g, '-')}`
        rmSync(join(cache, name), { force: true })
      }
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
      // Removing a whole node_modules is slow on a busy machine.
    }, 5 * 60_000)

    it('installs, builds and prunes as the Dockerfile does, then starts its CMD, serves, and stops on SIGTERM', async () => {
      dir = mkdtempSync(join(tmpdir(), 'scimforce-image-'))
      const app = join(dir, 'app')
      mkdirSync(app)
      host = await binaryHost(dir)
      // prefer-offline: the lockfile pins every version and integrity, so npm's cache can answer without asking the
      // registry about each of some 600 packages again; the commands themselves are the Dockerfile's.
      const env = npmEnv({ npm_config_better_sqlite3_binary_host: host.url, npm_config_update_notifier: 'false', npm_config_prefer_offline: 'true' })

      /** COPY from the build context into WORKDIR (/app); COPY --from=<stage> is already in place here. */
      const copy = (args: string): void => {
        if (args.startsWith('--from=')) return
        const parts = args.split(/\s+/)
        const dest = join(app, parts.pop() as string)
        for (const src of parts) {
          const target = parts.length > 1 || dest.endsWith('/') ? join(dest, basename(src)) : dest
          cpSync(join(ROOT, src), target, { recursive: true })
        }
      }
      const ran: string[] = []
      for (const stage of [build, final]) {
        for (const { op, args } of stage?.instructions ?? []) {
          if (op === 'COPY') copy(args)
          if (op !== 'RUN') continue
          for (const step of steps(args)) {
            if (OS_STEPS.some((re) => re.test(step))) continue
            expect(step, 'a RUN step this test cannot replay: teach it, or keep the Dockerfile to npm').toMatch(/^npm /)
            await run(step, app, env)
            ran.push(step)
          }
        }
      }
      expect(ran.map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual(['npm ci', 'npm run', 'npm prune'])
      // What the final stage copies from the build stage exists, and the prune left production dependencies only.
      for (const path of ['package.json', 'dist/cli.js', 'node_modules/better-sqlite3/build/Release/better_sqlite3.node']) expect(existsSync(join(app, path)), path).toBe(true)
      for (const dev of ['typescript', 'vitest', 'eslint', 'tsx', 'supertest']) expect(existsSync(join(app, 'node_modules', dev)), `dev dependency ${dev}`).toBe(false)

      emulator = await createEmulator()
      await emulator.listen()
      const finalEnv = Object.assign({}, ...(final?.instructions ?? []).filter((i) => i.op === 'ENV').map((i) => parseEnv(i.args))) as Record<string, string>
      expect(finalEnv).toMatchObject({ NODE_ENV: 'production', PORT: '8080' })
      const [command, ...args] = execForm(final?.instructions.find((i) => i.op === 'CMD')?.args ?? '[]')
      expect(command).toBe('node')
      child = startChild(process.execPath, args, {
        cwd: app,
        env: {
          PATH: env.PATH,
          HOME: env.HOME,
          ...finalEnv,
          // Where the image would take its volume, port and secrets from the orchestrator.
          HOST: '127.0.0.1',
          PORT: '0',
          STORE_PATH: join(dir, 'data', 'scimforce.db'),
          SF_LOGIN_URL: emulator.url,
          SF_CLIENT_ID: 'scimforce-demo',
          SF_CLIENT_SECRET: 'scimforce-demo-secret',
          SF_PROFILE_ID: emulator.seed.profiles['Standard User'] as string,
          SCIM_BEARER_TOKEN: BEARER,
        },
      })
      const port = await listeningPort(child)
      const base = `http://127.0.0.1:${port}`
      expect((await fetch(`${base}/healthz`)).status).toBe(200)

      // The image's HEALTHCHECK command, as Docker would run it inside the container.
      const health = execForm(/CMD\s+(\[.*\])$/s.exec(final?.instructions.find((i) => i.op === 'HEALTHCHECK')?.args ?? '')?.[1] ?? '[]')
      expect(health[0]).toBe('node')
      await run([process.execPath, ...health.slice(1)].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' '), app, { ...env, PORT: String(port) })

      expect((await fetch(`${base}/readyz`)).status).toBe(200)
      const created = await fetch(`${base}/scim/v2/Users`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${BEARER}`, 'Content-Type': 'application/scim+json' },
        body: JSON.stringify({ userName: 'ada@pickup.example', name: { givenName: 'Ada', familyName: 'Lovelace' } }),
      })
      expect(created.status).toBe(201)
      expect((await fetch(`${base}/scim/v2/Users`)).status).toBe(401)

      child.proc.kill('SIGTERM')
      expect(await child.exited).toEqual({ code: 0, signal: null })
    }, 15 * 60_000)
  })
})
