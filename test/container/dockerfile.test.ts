// The container, without a Docker engine: reads the Dockerfile, replays in a temporary directory what it copies and
// the commands it runs (npm ci, build, prune, the addon's rebuild, the clean-up), checks that only what production
// runs is left (no emulator, no SQLite sources or objects, no config files, no dev dependencies), starts the image's
// CMD against an emulated org, and checks what the image relies on: /healthz, its HEALTHCHECK command, /readyz, an
// authenticated SCIM call, doctor, SIGTERM. The commands come from the Dockerfile itself, so the test fails when the
// two drift apart.
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
// g++) or they need root inside an image (the /data volume); anything else the Dockerfile runs must be npm, or a
// `cd` / `rm -rf` of paths inside the app directory (relative, no `..`), which the replay runs too.
const OS_STEPS = [/^apt-get /, /^rm -rf \/var\/lib\/apt\/lists\/\*$/, /^mkdir -p \/data$/, /^chown 1000:1000 \/data$/]
const APP_STEP = /^(npm .*|cd [\w./-]+|rm -rf( [\w./*-]+)+)$/
const insideApp = (step: string): boolean => !/^(cd|rm) /.test(step) || step.split(' ').slice(step.startsWith('rm') ? 2 : 1).every((p) => !p.startsWith('/') && !p.split('/').includes('..'))

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
  it('builds on and runs on the same pinned Node LTS image, newer than 20, as a numeric non-root user with a HEALTHCHECK', () => {
    expect(build).toBeDefined()
    expect(final).toBeDefined()
    expect(dockerfile.length).toBeGreaterThanOrEqual(2)
    // The native addon compiled (or fetched) in the build stage must load in the final one: same image.
    expect(final?.from).toBe(build?.from)
    // Pinned to an exact release (node:<major>.<minor>.<patch>-<variant>), and .ci/run's sed still reads the major.
    expect(final?.from).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim$/)
    const major = Number(/^node:(\d+)/.exec(final?.from ?? '')?.[1])
    expect(major).toBeGreaterThan(20)
    expect(major % 2).toBe(0) // even majors are the LTS lines
    const ops = (s: Stage | undefined, op: string): string[] => (s?.instructions ?? []).filter((i) => i.op === op).map((i) => i.args)
    // By number: Kubernetes' runAsNonRoot cannot check a user name.
    expect(ops(final, 'USER')).toEqual(['1000:1000'])
    expect(ops(final, 'HEALTHCHECK')).toHaveLength(1)
    expect(ops(final, 'CMD')).toHaveLength(1)
    // Production dependencies only: the final stage takes node_modules from the build stage, after a prune.
    expect(ops(build, 'RUN').flatMap(steps)).toContain('npm prune --omit=dev --no-audit --no-fund')
    expect(ops(final, 'COPY').filter((a) => /node_modules/.test(a))).toEqual(['--from=build /app/node_modules ./node_modules'])
    // Nothing from the checkout but the build's inputs and the licence: no config/ (nor any local config file).
    expect([...ops(build, 'COPY'), ...ops(final, 'COPY')].filter((a) => !a.startsWith('--from=')).flatMap((a) => a.split(/\s+/).slice(0, -1)).sort())
      .toEqual(['LICENSE', 'package-lock.json', 'package.json', 'src', 'tsconfig.build.json', 'tsconfig.json'])
  })

  it('sends the build only what the Dockerfile copies (.dockerignore is an allow-list)', () => {
    const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
    expect(lines[0]).toBe('*')
    expect(lines.slice(1).sort()).toEqual(['!LICENSE', '!package-lock.json', '!package.json', '!src', '!tsconfig.build.json', '!tsconfig.json'])
  })

  it('runs a Node the package supports (engines), and the README states the same versions', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }
    const min = /^>=(\d+)\.(\d+)$/.exec(pkg.engines.node)
    expect(min, pkg.engines.node).not.toBeNull()
    const major = Number(/^node:(\d+)/.exec(final?.from ?? '')?.[1])
    expect(major).toBeGreaterThanOrEqual(Number(min?.[1]))
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    expect(readme).toContain(`Node.js ${min?.[1] ?? '?'}.${min?.[2] ?? '?'} or newer`)
    expect(readme).toContain(`the image runs Node ${major}`)
  })

  it('runs the same command as `npm start`', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    expect(execForm(final?.instructions.find((i) => i.op === 'CMD')?.args ?? '[]').join(' ')).toBe(pkg.scripts.start)
  })

  // .ci/run sets EXPECT_NODE_MAJOR when it runs the suite again on the container's Node: prove it did.
  it.skipIf(process.env.EXPECT_NODE_MAJOR === undefined)('runs on the Node major CI asked for', () => {
    expect(process.versions.node.split('.')[0]).toBe(process.env.EXPECT_NODE_MAJOR)
  })

  it('runs no install script but those production needs, each named in the Dockerfile and allowed in package.json', () => {
    // `npm ci --ignore-scripts`, then `npm rebuild <name>` for each production package with an install script: the
    // same scripts run on every npm version, whatever it makes of package.json allowScripts (npm 10 ignores it).
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean, dev?: boolean }> }
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> }
    const named = (path: string): string => path.replace(/^.*node_modules\//, '')
    const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript === true)
    expect(withScripts.map(([path]) => named(path)).filter((name) => pkg.allowScripts?.[name] !== true)).toEqual([])
    const production = withScripts.filter(([, p]) => p.dev !== true).map(([path]) => named(path)).sort()
    const runSteps = (build?.instructions ?? []).filter((i) => i.op === 'RUN').flatMap((i) => steps(i.args))
    expect(runSteps.filter((x) => x.startsWith('npm ci'))).toEqual(['npm ci --ignore-scripts --no-audit --no-fund'])
    expect(runSteps.filter((x) => x.startsWith('npm rebuild')).map((x) => x.replace(/^npm rebuild /, '')).sort()).toEqual(production)
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
          // The steps of one RUN share a shell, as in Docker (a `cd` holds for the steps after it).
          const replayed = steps(args).filter((step) => !OS_STEPS.some((re) => re.test(step)))
          for (const step of replayed) {
            expect(step, 'a RUN step this test cannot replay: teach it, or keep the Dockerfile to npm, cd and rm -rf').toMatch(APP_STEP)
            expect(insideApp(step), `${step}: only paths inside the app directory`).toBe(true)
          }
          if (replayed.length > 0) await run(replayed.join(' && '), app, env)
          ran.push(...replayed)
        }
      }
      expect(ran.filter((s) => s.startsWith('npm ')).map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual(['npm ci', 'npm run', 'npm prune', 'npm rebuild'])
      // What the final stage copies from the build stage exists, and the prune left production dependencies only.
      for (const path of ['package.json', 'dist/cli.js', 'LICENSE', 'node_modules/better-sqlite3/build/Release/better_sqlite3.node']) expect(existsSync(join(app, path)), path).toBe(true)
      for (const dev of ['typescript', 'vitest', 'eslint', 'tsx', 'supertest', 'soql-parser-js']) expect(existsSync(join(app, 'node_modules', dev)), `dev dependency ${dev}`).toBe(false)
      // Only what production runs: no emulated org, no SQLite sources or compile leftovers, no config files.
      for (const gone of ['dist/emulator', 'config', 'node_modules/better-sqlite3/deps', 'node_modules/better-sqlite3/src', 'node_modules/better-sqlite3/build/Release/obj.target', 'node_modules/better-sqlite3/build/Release/sqlite3.a']) {
        expect(existsSync(join(app, gone)), gone).toBe(false)
      }

      emulator = await createEmulator()
      await emulator.listen()
      const finalEnv = Object.assign({}, ...(final?.instructions ?? []).filter((i) => i.op === 'ENV').map((i) => parseEnv(i.args))) as Record<string, string>
      expect(finalEnv).toMatchObject({ NODE_ENV: 'production', PORT: '8080' })
      const [command, ...args] = execForm(final?.instructions.find((i) => i.op === 'CMD')?.args ?? '[]')
      expect(command).toBe('node')
      const serveEnv: NodeJS.ProcessEnv = {
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
      }
      child = startChild(process.execPath, args, { cwd: app, env: serveEnv })
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

      // doctor runs in the image too (it needs no emulated org): every check passes against this one.
      const doctor = startChild(process.execPath, ['dist/cli.js', 'doctor'], { cwd: app, env: serveEnv })
      expect(await doctor.exited, doctor.stdout()).toEqual({ code: 0, signal: null })
      expect(doctor.stdout()).toContain('checks passed')

      child.proc.kill('SIGTERM')
      expect(await child.exited).toEqual({ code: 0, signal: null })
    }, 15 * 60_000)
  })
})
