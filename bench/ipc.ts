// The benchmark's processes and how they talk: each server runs in a child process of its own (so that its CPU
// and memory are its own), started with tsx, and answers a few commands from bench/run.ts over Node's IPC channel.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

interface Request { id: number, cmd: string, arg: unknown }
type Reply = { id: number, ok: true, value: unknown } | { id: number, ok: false, error: string }

export interface ChildHandle<R> {
  /** What the child announced when it was ready (its URL, seeded ids…). */
  readonly info: R
  readonly pid: number
  call: <T>(cmd: string, arg?: unknown) => Promise<T>
  stop: () => Promise<void>
}

/** Starts `bench/<name>.ts` with `args` (JSON in BENCH_ARGS) and resolves once it says it is ready. */
export async function startChild<R> (name: string, args: unknown, opts: { exposeGc?: boolean, v8Flags?: string[] } = {}): Promise<ChildHandle<R>> {
  const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url))
  const child: ChildProcess = fork(script, [], {
    execArgv: ['--import', 'tsx', ...(opts.exposeGc === true ? ['--expose-gc'] : []), ...(opts.v8Flags ?? [])],
    // The benchmark must never send traffic elsewhere: no proxy variables reach the children.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', BENCH_ARGS: JSON.stringify(args) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  let seq = 0
  const info = await new Promise<R>((resolve, reject) => {
    child.once('exit', (code) => { reject(new Error(`bench/${name}.ts exited with ${String(code)} before it was ready`)) })
    child.on('message', (msg: { ready?: R } & Partial<Reply>) => {
      if (msg.ready !== undefined) { resolve(msg.ready); return }
      const p = pending.get(msg.id ?? -1)
      if (p === undefined) return
      pending.delete(msg.id ?? -1)
      if (msg.ok === true) p.resolve(msg.value)
      else p.reject(new Error(`${name}: ${String((msg as { error?: string }).error)}`))
    })
  })
  child.removeAllListeners('exit')
  return {
    info,
    pid: child.pid ?? 0,
    call: async <T>(cmd: string, arg?: unknown): Promise<T> => await new Promise<T>((resolve, reject) => {
      const id = ++seq
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      child.send({ id, cmd, arg } satisfies Request)
    }),
    stop: async () => {
      if (child.exitCode !== null) return
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await gone
    },
  }
}

/** Child side: the arguments run.ts passed. */
export function childArgs<T> (): T {
  return JSON.parse(process.env.BENCH_ARGS ?? '{}') as T
}

/** Child side: announce readiness and answer commands until the parent goes away. */
export function serveCommands (ready: unknown, handlers: Record<string, (arg: unknown) => unknown>): void {
  process.on('message', (msg: Request) => {
    Promise.resolve()
      .then(() => {
        const h = handlers[msg.cmd]
        if (h === undefined) throw new Error(`unknown command ${msg.cmd}`)
        return h(msg.arg)
      })
      .then((value) => { process.send?.({ id: msg.id, ok: true, value } satisfies Reply) },
        (err: unknown) => { process.send?.({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply) })
  })
  // The parent stopped or died: nothing left to serve.
  process.on('disconnect', () => { process.exit(0) })
  process.on('SIGTERM', () => { process.exit(0) })
  process.send?.({ ready })
}

/** RSS now and at its peak (Linux /proc; 0 elsewhere), in MiB, after a full GC when the process allows one. */
export async function memory (): Promise<{ rssMiB: number, peakRssMiB: number, heapUsedMiB: number }> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) gc()
  const { readFile } = await import('node:fs/promises')
  let peak = 0
  try {
    const status = await readFile('/proc/self/status', 'utf8')
    peak = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024
  } catch {}
  const mib = (n: number): number => Math.round(n / 1024 / 1024 * 10) / 10
  return { rssMiB: mib(process.memoryUsage.rss()), peakRssMiB: Math.round(peak * 10) / 10, heapUsedMiB: mib(process.memoryUsage().heapUsed) }
}
