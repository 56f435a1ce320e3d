// The slice of newman's Node API the conformance runner uses (newman 6 ships no type declarations).
declare module 'newman' {
  import type { EventEmitter } from 'node:events'

  export interface NewmanVariable { key: string, value: string }

  export interface NewmanRunOptions {
    /** A Postman v2.1 collection (parsed JSON) or a path to one. */
    collection: object | string
    envVar?: NewmanVariable[]
    /** Reporter names; none keeps newman silent. */
    reporters?: string | string[]
    /** Milliseconds before a single request is given up. */
    timeoutRequest?: number
    timeoutScript?: number
    /** Keep the default: a colour-free run inside a test worker. */
    color?: 'on' | 'off' | 'auto'
  }

  export interface NewmanRunSummary {
    run: {
      stats: Record<string, { total: number, pending: number, failed: number }>
      error?: Error
    }
  }

  export function run (options: NewmanRunOptions, callback?: (err: Error | null, summary: NewmanRunSummary) => void): EventEmitter

  const newman: { run: typeof run }
  export default newman
}
