// `scimforce audit`: reads the audit journal (store/audit.ts) of the configured store, filtered by user, group,
// client and time, as a table or as JSON lines (--json).
import { ConfigError, loadConfig } from './config/loader.js'
import type { AuditEntry, AuditQuery } from './store/store.js'
import { openStoreFromConfig, type StoreConfig } from './store/open.js'

export const AUDIT_USAGE = `usage: scimforce audit [--user ID|userName] [--group ID|displayName] [--client NAME]
                       [--since TIME] [--until TIME] [--limit N] [--json]
  TIME: an ISO 8601 date or time (2026-05-01, 2026-05-01T12:00:00Z) or an age (30m, 24h, 7d).
  The store is the one scimforce serve uses: STORE_URL, else STORE_PATH (or SCIMFORCE_CONFIG's store:).`

export class UsageError extends Error {}

const AGE = /^(\d+)([mhd])$/
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 }

/** An ISO time, or an age before `now`, as ISO 8601. */
export function parseTime (text: string, now = Date.now()): string {
  const age = AGE.exec(text)
  if (age !== null) return new Date(now - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS]).toISOString()
  const t = Date.parse(text)
  if (Number.isNaN(t)) throw new UsageError(`not a time: ${text} (use 2026-05-01, 2026-05-01T12:00:00Z, 30m, 24h or 7d)`)
  return new Date(t).toISOString()
}

export function parseAuditArgs (argv: readonly string[]): { query: AuditQuery, json: boolean } {
  const query: AuditQuery = {}
  let json = false
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string
    if (flag === '--json') { json = true; continue }
    const value = argv[i + 1]
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value\n${AUDIT_USAGE}`)
    i++
    switch (flag) {
      case '--user': query.subject = value; query.resourceType = 'User'; break
      case '--group': query.subject = value; query.resourceType = 'Group'; break
      case '--client': query.client = value; break
      case '--since': query.since = parseTime(value); break
      case '--until': query.until = parseTime(value); break
      case '--limit': {
        const n = Number(value)
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit must be a positive whole number, not ${value}`)
        query.limit = n
        break
      }
      default: throw new UsageError(`unknown option ${flag}\n${AUDIT_USAGE}`)
    }
  }
  return { query, json }
}

/** The store settings: from the full configuration, or (when the rest of it is incomplete) from STORE_* alone. */
function storeConfig (env: NodeJS.ProcessEnv): { store: StoreConfig } {
  try {
    return loadConfig(env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    const url = env.STORE_URL !== undefined && env.STORE_URL !== '' ? env.STORE_URL : undefined
    return { store: { path: env.STORE_PATH ?? './data/scimforce.db', ...(url !== undefined ? { url } : {}) } }
  }
}

function line (e: AuditEntry): string {
  const name = e.details?.userName ?? e.details?.displayName ?? ''
  const outcome = `${e.status}${e.salesforceCode !== undefined ? ` ${e.salesforceCode}` : ''}`
  return [e.at, e.client, e.operation, e.resourceType, e.salesforceId ?? '-', name, outcome, `${e.apiCalls} call(s)`, e.attributes.join(',')].join('  ')
}

export async function runAudit (argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<number> {
  const { query, json } = parseAuditArgs(argv)
  const store = await openStoreFromConfig(storeConfig(env))
  try {
    const entries = await store.queryAudit(query)
    // Oldest first on the screen, as a log reads; the store answers newest first so that --limit keeps the latest.
    for (const e of entries.reverse()) out.write(`${json ? JSON.stringify(e) : line(e)}\n`)
    if (!json && entries.length === 0) out.write('no audit entries match\n')
  } finally {
    await store.close()
  }
  return 0
}
