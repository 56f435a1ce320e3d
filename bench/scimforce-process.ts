// scimforce as a benchmark process: the production server path (startServer, pino at info, a WAL store file,
// the default retry policy and timeouts), configured against the benchmark's emulated org.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import type { Config } from '../src/config/types.js'
import { loggerOptions, startServer } from '../src/server.js'
import { childArgs, memory, serveCommands } from './ipc.js'

export interface ScimforceArgs { salesforceUrl: string, profileId: string, token: string }
export interface ScimforceInfo { url: string }

const args = childArgs<ScimforceArgs>()
const dir = mkdtempSync(join(tmpdir(), 'scimforce-bench-'))
const config: Config = {
  server: { host: '127.0.0.1', port: 0, bodyLimit: 1024 * 1024, logLevel: 'info' },
  clients: [{ name: 'entra', auth: { type: 'bearer', token: args.token }, putMode: 'replace' }],
  salesforce: {
    loginUrl: args.salesforceUrl,
    authFlow: 'client_credentials',
    clientId: 'scimforce-demo',
    clientSecret: 'scimforce-demo-secret',
    apiVersion: '62.0',
    timeoutMs: 20_000,
  },
  users: {
    defaults: {
      ProfileId: args.profileId,
      EmailEncodingKey: 'UTF-8',
      LanguageLocaleKey: 'en_US',
      LocaleSidKey: 'en_US',
      TimeZoneSidKey: 'America/Los_Angeles',
      UserPermissionsCallCenterAutoLogin: false,
      UserPermissionsMarketingUser: false,
      UserPermissionsOfflineUser: false,
    },
    usernameSuffix: '',
    deleteMode: 'deactivate',
    onActiveConflict: 'reject',
    extraMappings: [],
  },
  store: { path: join(dir, 'store.db') },
}

// Logging as in production (one line per request, secrets redacted), written to /dev/null: its cost is counted.
const app = await startServer(config, { logger: loggerOptions(config, pino.destination({ dest: '/dev/null', sync: true })) })
const { port } = app.server.address() as { port: number }
process.on('exit', () => { rmSync(dir, { recursive: true, force: true }) })

serveCommands({ url: `http://127.0.0.1:${port}` } satisfies ScimforceInfo, {
  memory: async () => await memory(),
  tokens: () => app.scimforce.session.tokenRequests,
})
