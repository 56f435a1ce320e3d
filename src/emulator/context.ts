// What every part of the emulator shares: the org, sessions, faults, counters, API usage and settings.

import type { importSPKI } from 'jose'
import type { CounterStore } from './counters.js'
import type { FaultController } from './faults.js'
import type { Org } from './org.js'
import type { SeedIds } from './seed.js'
import type { Sessions } from './sessions.js'
import type { QueryRecord } from './soql.js'

export type JwtKey = Awaited<ReturnType<typeof importSPKI>>

export interface ResolvedOptions {
  clientId: string
  clientSecret: string
  integrationUsername: string
  integrationPassword: string
  securityToken: string
}

export interface QueryCursor {
  records: QueryRecord[]
  totalSize: number
  batchSize: number
  version: string
  lastUsed: number
}

export interface EmulatorContext {
  org: Org
  seed: SeedIds
  sessions: Sessions
  faults: FaultController
  counters: CounterStore
  /** DailyApiRequests: used so far and the maximum. */
  usage: { used: number, max: number }
  options: ResolvedOptions
  /** RS256 key that verifies JWT-bearer assertions; undefined when none is configured. */
  jwtKey: JwtKey | undefined
  /** Query locators (01g…) and their remaining records. */
  cursors: Map<string, QueryCursor>
  /** The "My Domain" base URL (the listening URL, else derived from the request's Host header). */
  baseUrl: (host?: string) => string
}

export const CONTENT_TYPE_JSON = 'application/json;charset=UTF-8'

/** API versions served: 31.0 (Summer '14) to 66.0 (Spring '26). */
export const MIN_VERSION = 31
export const MAX_VERSION = 66

export function versionList (): Array<{ label: string, url: string, version: string }> {
  const seasons = ['Summer', 'Winter', 'Spring']
  const out = []
  for (let v = MIN_VERSION; v <= MAX_VERSION; v++) {
    const k = v - MIN_VERSION
    const year = 14 + Math.floor((k + 2) / 3)
    out.push({ label: `${seasons[k % 3] as string} '${String(year).padStart(2, '0')}`, url: `/services/data/v${v}.0`, version: `${v}.0` })
  }
  return out
}

export function isSupportedVersion (text: string): boolean {
  const m = /^v(\d+)\.0$/.exec(text)
  if (m === null) return false
  const v = Number(m[1])
  return v >= MIN_VERSION && v <= MAX_VERSION
}

export function limitInfo (ctx: EmulatorContext): string {
  return `api-usage=${ctx.usage.used}/${ctx.usage.max}`
}
