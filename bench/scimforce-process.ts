// scimforce as a benchmark process: the production server path (startServer, pino at info, a WAL store file,
// the default retry policy and timeouts), configured against the benchmark's emulated org.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import type { Config } from '../src/config/types.js'
import { loggerOptions, startServer } from '../src/server.js'
import { entraClient, scimforceConfig } from '../test/fixtures/config.js'
import { childArgs, memory, serveCommands } from './ipc.js'

export interface ScimforceArgs {
  salesforceUrl: string
  profileId: string
  token: string
  /** users.coalesceWrites; default true, as in production. */
  coalesceWrites?: boolean
  /** users.deleteMode; default deactivate, as in production. */
  deleteMode?: 'deactivate' | 'freeze' | 'rename'
}
export interface ScimforceInfo { url: string }

const args = childArgs<ScimforceArgs>()
const dir = mkdtempSync(join(tmpdir(), 'scimforce-bench-'))
const config: Config = scimforceConfig({
  loginUrl: args.salesforceUrl,
  profileId: args.profileId,
  clients: [entraClient(args.token)],
  server: { logLevel: 'info' },
  // The production default (src/config/schema.ts), not the tests' shorter one.
  salesforce: { timeoutMs: 20_000 },
  store: { path: join(dir, 'store.db') },
  users: {
    ...(args.coalesceWrites === false ? { coalesceWrites: false } : {}),
    ...(args.deleteMode !== undefined ? { deleteMode: args.deleteMode } : {}),
  },
})

// Logging as in production (one line per request, secrets redacted), written to /dev/null: its cost is counted.
const app = await startServer(config, { logger: loggerOptions(config, pino.destination({ dest: '/dev/null', sync: true })) })
const { port } = app.server.address() as { port: number }
process.on('exit', () => { rmSync(dir, { recursive: true, force: true }) })

serveCommands({ url: `http://127.0.0.1:${port}` } satisfies ScimforceInfo, {
  memory: async () => await memory(),
  tokens: () => app.scimforce.session.tokenRequests,
})
