// Test support for running scimforce as a real process and reading what it logs: child processes whose stdout
// lines can be awaited (no sleeping, no timers), and an in-memory pino destination.
import { spawn, type ChildProcess } from 'node:child_process'

export type LogLine = Record<string, unknown>

/** Every JSON line of `text`; other lines (npm's, tsx's) are skipped. */
export function jsonLines (text: string): LogLine[] {
  const out: LogLine[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try { out.push(JSON.parse(line) as LogLine) } catch {}
  }
  return out
}

/** A pino destination that keeps every line in memory. */
export class LogCapture {
  readonly chunks: string[] = []
  write (chunk: string): void { this.chunks.push(chunk) }
  get text (): string { return this.chunks.join('') }
  get lines (): LogLine[] { return jsonLines(this.text) }
}

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export interface Child {
  readonly proc: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves with the first stdout JSON line that `match` accepts, past or future; rejects if the process ends first. */
  readonly waitForLog: (match: (line: LogLine) => boolean, what: string) => Promise<LogLine>
  readonly exited: Promise<Exit>
}

export function startChild (command: string, args: string[], opts: { cwd: string, env: NodeJS.ProcessEnv }): Child {
  const proc = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  const waiters: Array<{ match: (line: LogLine) => boolean, resolve: (l: LogLine) => void }> = []
  const exited = new Promise<Exit>((resolve) => { proc.on('exit', (code, signal) => resolve({ code, signal })) })
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
    const lines = jsonLines(out)
    for (const w of [...waiters]) {
      const hit = lines.find(w.match)
      if (hit !== undefined) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(hit)
      }
    }
  })
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => { err += chunk })
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLog: async (match, what) => {
      const hit = jsonLines(out).find(match)
      if (hit !== undefined) return hit
      return await new Promise<LogLine>((resolve, reject) => {
        waiters.push({ match, resolve })
        exited.then((e) => reject(new Error(`process exited (${JSON.stringify(e)}) before logging ${what}\nstdout:\n${out}\nstderr:\n${err}`)), reject)
      })
    },
  }
}

/** The port from Fastify's "Server listening at http://127.0.0.1:PORT" line. */
export async function listeningPort (child: Child): Promise<number> {
  const line = await child.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1:'), 'that it is listening')
  return Number(/:(\d+)$/.exec(String(line.msg))?.[1])
}

/** The environment a child gets: PATH and HOME only, plus `vars`, so nothing of the test runner's leaks in. */
export function cleanEnv (vars: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    ...vars,
  }
}

/**
 * The environment of a `scimforce serve` child against an emulated org: its OAuth client (client credentials), its
 * Standard User profile and one Bearer client, plus `vars` (port, store, log level...).
 */
export function serveEnv (org: { url: string, seed: { profiles: Record<string, string> } }, bearer: string, vars: Record<string, string>): NodeJS.ProcessEnv {
  return cleanEnv({
    HOST: '127.0.0.1',
    SF_LOGIN_URL: org.url,
    SF_AUTH_FLOW: 'client_credentials',
    SF_CLIENT_ID: 'scimforce-demo',
    SF_CLIENT_SECRET: 'scimforce-demo-secret',
    SF_PROFILE_ID: String(org.seed.profiles['Standard User']),
    SCIM_BEARER_TOKEN: bearer,
    ...vars,
  })
}
