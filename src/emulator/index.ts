// The emulated Salesforce org: createEmulator() builds the Fastify app, the seeded state and its controls.

import Fastify, { type FastifyInstance } from 'fastify'
import { importSPKI, importX509 } from 'jose'
import { registerAdmin } from './admin.js'
import { CONTENT_TYPE_JSON, type EmulatorContext, type JwtKey } from './context.js'
import { CounterStore, type Counters } from './counters.js'
import { FaultController, type Faults } from './faults.js'
import { registerOAuth } from './oauth.js'
import { clientErrorHandler } from './http.js'
import { Org } from './org.js'
import { registerDataRoutes } from './rest.js'
import { seedOrg, type SeedIds } from './seed.js'
import { Sessions } from './sessions.js'

export type { SeedIds } from './seed.js'
export type { Faults, FaultSettings, FaultSettingsChange, Fault, FaultName, CustomFault, FaultMatch, ErrorAfterCommitFault, DelayFault, LongTail, AfterCommitStatus } from './faults.js'
export type { Counters, CountersSnapshot } from './counters.js'
export type { QueryRecord } from './soql.js'
export type { SRecord, FieldValue } from './schema.js'
export { Org, type WriteContext } from './org.js'
export { SalesforceError } from './errors.js'
export { DEFAULT_FEATURE_LICENSE_TOTALS, changeOrgSettings, type OrgSettings } from './licences.js'
export { CASE_OWNER_USERNAME } from './seed-lifecycle.js'
export { to18, normalizeId, checksum, KEY_PREFIXES } from './ids.js'

export interface EmulatorOptions {
  /** default 'scimforce-demo' */
  clientId?: string
  /** default 'scimforce-demo-secret' */
  clientSecret?: string
  /** Sliding idle timeout of access tokens; default 2 h (docs/salesforce-behaviour.md#sessions, UNVERIFIED org default). */
  sessionIdleTimeoutMs?: number
  /** DailyApiRequests Max; default 15000. */
  dailyApiLimit?: number
  /** PEM public key or X.509 certificate that verifies JWT-bearer assertions; none => the jwt grant fails. */
  jwtPublicKeyPem?: string
  /** The run-as / integration user (System Administrator); default 'integration@scimforce.demo'. */
  integrationUsername?: string
  /** Password-flow password; default 'scimforce-demo-password'. */
  integrationPassword?: string
  /** default 'DEMOTOKEN123'; the password grant expects password + securityToken. */
  securityToken?: string
  /** Usernames "taken in another org"; default a couple such as 'taken@otherorg.example'. */
  foreignUsernames?: string[]
  /** Initial injected latency, before the org is touched ("before the commit"). */
  latencyMs?: number
  /** Initial latency after the org was touched, before the answer (a client may time out on a done write). */
  latencyAfterCommitMs?: number
  /** Fastify logger; default false. */
  logger?: boolean
  /** TotalLicenses per UserLicense name; defaults Salesforce 50, Salesforce Platform 10, Chatter Free 5000. */
  licenseTotals?: Record<string, number>
  /**
   * A changed User.Email waits for the user's confirmation, as in a real org (email.ts; help article 000385115).
   * Default true; false models an org where changes apply at once (none is documented, so tests only).
   */
  emailVerification?: boolean
  /** TotalLicenses per PermissionSetLicense DeveloperName; default SalesCloudEinsteinPsl 3. */
  permissionSetLicenseTotals?: Record<string, number>
  /** AllowedLicenses per PackageLicense NamespacePrefix (-1 = site licence); defaults dsfs 5, SBQQ 2. */
  packageLicenseTotals?: Record<string, number>
  /** Feature licence totals by User field, over DEFAULT_FEATURE_LICENSE_TOTALS (null = no limit). */
  featureLicenseTotals?: Record<string, number | null>
}

export interface Emulator {
  readonly app: FastifyInstance
  /** Default 127.0.0.1:0; returns the base URL 'http://127.0.0.1:PORT' (the "My Domain" / instance URL). */
  listen: (opts?: { port?: number, host?: string }) => Promise<string>
  /** Base URL once listening. */
  readonly url: string
  /** url + '/login': the emulated login.salesforce.com. */
  readonly loginUrl: string
  readonly seed: SeedIds
  /** Direct state access (no API accounting); writes run the same validation as the API. */
  readonly org: Org
  readonly faults: Faults
  readonly counters: Counters
  /** Every SOQL string received over the API, in order. */
  readonly queryLog: readonly string[]
  close: () => Promise<void>
}

export const DEFAULT_FOREIGN_USERNAMES = ['taken@otherorg.example', 'admin@acme.example', 'jane.doe@example.com']

const TWO_HOURS = 2 * 60 * 60 * 1000

async function importJwtKey (pem: string | undefined): Promise<JwtKey | undefined> {
  if (pem === undefined || pem.trim() === '') return undefined
  return pem.includes('BEGIN CERTIFICATE') ? await importX509(pem, 'RS256') : await importSPKI(pem, 'RS256')
}

export async function createEmulator (opts: EmulatorOptions = {}): Promise<Emulator> {
  const options = {
    clientId: opts.clientId ?? 'scimforce-demo',
    clientSecret: opts.clientSecret ?? 'scimforce-demo-secret',
    integrationUsername: opts.integrationUsername ?? 'integration@scimforce.demo',
    integrationPassword: opts.integrationPassword ?? 'scimforce-demo-password',
    securityToken: opts.securityToken ?? 'DEMOTOKEN123',
  }
  const org = new Org({ foreignUsernames: opts.foreignUsernames ?? DEFAULT_FOREIGN_USERNAMES })
  const seed = seedOrg(org, {
    integrationUsername: options.integrationUsername,
    ...(opts.licenseTotals !== undefined ? { licenseTotals: opts.licenseTotals } : {}),
    ...(opts.permissionSetLicenseTotals !== undefined ? { permissionSetLicenseTotals: opts.permissionSetLicenseTotals } : {}),
    ...(opts.packageLicenseTotals !== undefined ? { packageLicenseTotals: opts.packageLicenseTotals } : {}),
    ...(opts.featureLicenseTotals !== undefined ? { featureLicenseTotals: opts.featureLicenseTotals } : {}),
  })
  const sessions = new Sessions(org.orgId.slice(0, 15), opts.sessionIdleTimeoutMs ?? TWO_HOURS, () => org.now())
  org.onUserBlocked = userId => sessions.endUser(userId)
  org.emailVerification = opts.emailVerification ?? true
  const counters = new CounterStore()
  const faults = new FaultController({ latencyMs: opts.latencyMs ?? 0, latencyAfterCommitMs: opts.latencyAfterCommitMs ?? 0 }, () => sessions.expireAll())
  let listeningUrl: string | undefined

  // Node refuses request heads over 16 KiB before Fastify sees them; clientErrorHandler answers those as
  // Salesforce does (414 for a long URI, 431 for URI + headers; http.ts). forceCloseConnections: close() must not
  // wait for a client's keep-alive socket (after a client gave up on a slow call, undici's can stay busy for
  // seconds), as a test double is closed right after its test.
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 50 * 1024 * 1024, clientErrorHandler, forceCloseConnections: true })
  const ctx: EmulatorContext = {
    org,
    seed,
    sessions,
    faults,
    counters,
    usage: { used: 0, max: opts.dailyApiLimit ?? 15000 },
    options,
    jwtKey: await importJwtKey(opts.jwtPublicKeyPem),
    cursors: new Map(),
    baseUrl: host => listeningUrl ?? `http://${host ?? '127.0.0.1'}`,
  }

  // Every body reaches the handlers as a string: they parse JSON or forms themselves and answer parse errors in
  // Salesforce's shapes, and an empty body with a JSON content type is fine.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => { done(null, body) })
  app.setNotFoundHandler(async (_req, reply) => await reply.code(404).header('content-type', CONTENT_TYPE_JSON)
    .send(JSON.stringify([{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }])))
  app.setErrorHandler(async (err: { statusCode?: number, message: string }, _req, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500
    const errorCode = status === 413 ? 'REQUEST_ENTITY_TOO_LARGE' : status < 500 ? 'INVALID_INPUT' : 'UNKNOWN_EXCEPTION'
    return await reply.code(status).header('content-type', CONTENT_TYPE_JSON).send(JSON.stringify([{ errorCode, message: err.message }]))
  })
  registerOAuth(app, ctx)
  registerDataRoutes(app, ctx)
  registerAdmin(app, ctx)

  const requireUrl = (): string => {
    if (listeningUrl === undefined) throw new Error('the emulator is not listening yet: call listen() first')
    return listeningUrl
  }

  return {
    app,
    async listen (listenOpts = {}) {
      const host = listenOpts.host ?? '127.0.0.1'
      await app.listen({ port: listenOpts.port ?? 0, host })
      const address = app.server.address()
      const port = typeof address === 'object' && address !== null ? address.port : listenOpts.port ?? 0
      const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
      listeningUrl = `http://${shown}:${port}`
      return listeningUrl
    },
    get url () { return requireUrl() },
    get loginUrl () { return `${requireUrl()}/login` },
    seed,
    org,
    faults,
    counters,
    get queryLog () { return counters.queryLog },
    async close () {
      await app.close()
    },
  }
}
