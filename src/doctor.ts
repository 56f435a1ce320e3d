// `scimforce doctor`: checks the configuration `serve` would use against its Salesforce org and store, before an
// IdP finds the problem, and prints a pass/fail table. Exit code 0 when every check passes, 1 otherwise.
// Never prints a secret: details are built from names, ids and counts, and scrubbed of every configured secret.
import { ConfigError, loadConfig } from './config/loader.js'
import type { Config } from './config/types.js'
import { createSalesforceSession, type Logger, type SalesforceSession } from './salesforce/connection.js'
import { classify, type SalesforceError } from './salesforce/errors.js'
import { createGateway, type Gateway, type SfRecord } from './salesforce/gateway.js'
import { checkGroupMappings } from './scim/group-targets.js'
import { isPermissionSetLicenseId, createLicenceGateway } from './salesforce/licences.js'
import { describeProxy, proxyFor } from './salesforce/proxy.js'
import { eq, inList, select } from './salesforce/soql.js'
import { describeStore, openStoreFromConfig } from './store/store.js'

export type CheckStatus = 'pass' | 'fail' | 'skip'

export interface CheckResult {
  name: string
  status: CheckStatus
  /** One or more lines an admin can act on. */
  detail: string
}

export interface Output { write: (text: string) => unknown }

/** Secret environment variables, scrubbed from the output even when the config cannot be loaded. */
const SECRET_ENV = ['SF_CLIENT_SECRET', 'SF_PASSWORD', 'SCIM_BEARER_TOKEN', 'SCIM_BASIC_PASSWORD', 'METRICS_TOKEN']

const quiet: Logger = { debug () {}, info () {}, warn () {}, error () {} }

const count = (n: number): string => n.toLocaleString('en-US')

/** Node's codes for a certificate chain it cannot verify: a TLS-inspecting proxy or a private CA in the way. */
const TLS_TRUST_CODES = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'])

function causeCode (err: SalesforceError): string | undefined {
  const code = (err.cause as { code?: unknown } | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

/** What went wrong with a Salesforce call, in words, with the fix where one is known. */
function explain (err: SalesforceError, config: Config, env: NodeJS.ProcessEnv): string {
  const sf = config.salesforce
  const proxy = proxyFor(sf.loginUrl, env)
  switch (err.code) {
    case 'invalid_client_id':
      return `Salesforce does not know the consumer key (invalid_client_id): check SF_CLIENT_ID (${sf.clientId})`
    case 'invalid_client':
      return 'Salesforce refused the consumer secret (invalid_client): check SF_CLIENT_SECRET'
    case 'invalid_grant':
      if (/not supported on this domain/.test(err.message)) {
        return 'the client credentials flow needs the org\'s My Domain URL (invalid_grant: request not supported on this domain): set SF_LOGIN_URL'
      }
      return `Salesforce refused the grant (${err.message}): check the integration user, its password or key, and the app's policies`
    case 'REQUEST_LIMIT_EXCEEDED':
      return 'the org\'s daily API request limit is spent (REQUEST_LIMIT_EXCEEDED): SCIM calls answer 429 until Salesforce frees requests in its 24-hour window'
  }
  const tlsCode = causeCode(err)
  if (tlsCode !== undefined && TLS_TRUST_CODES.has(tlsCode)) {
    return `the TLS certificate of ${sf.loginUrl} is not trusted (${tlsCode}): when a proxy inspects TLS or a private CA signs it, point NODE_EXTRA_CA_CERTS at that CA's PEM file`
  }
  if (proxy !== undefined && err.kind === 'unknownOutcome') {
    // The call went to the proxy, not to Salesforce: a refused or unknown proxy, or a CONNECT it refused, which
    // https-proxy-agent hands on as an HTTP error (ERROR_HTTP_<status>) with the proxy's own page as its body.
    const status = /^ERROR_HTTP_(\d+)$/.exec(err.cause instanceof Error ? err.cause.name : '')?.[1]
    const what = status !== undefined ? `the proxy answered ${status}${status === '407' ? ', it wants credentials: http://user:password@host:port' : ''}` : err.code
    const variable = sf.loginUrl.startsWith('https:') ? 'HTTPS_PROXY' : 'HTTP_PROXY'
    return `cannot reach Salesforce at ${sf.loginUrl} through the proxy ${describeProxy(proxy)} (${what}): check ${variable}, that the proxy allows CONNECT to ${new URL(sf.loginUrl).host}, or exempt that host with NO_PROXY`
  }
  if (err.kind === 'unknownOutcome') {
    const hint = err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? '; if this network reaches the internet through a proxy, set HTTPS_PROXY (and NO_PROXY for hosts it must not handle)' : ''
    return `cannot reach Salesforce at ${sf.loginUrl} (${err.code}): check SF_LOGIN_URL and the network${hint}`
  }
  return `${err.message} (Salesforce ${err.code})`
}

interface Context {
  config: Config
  session: SalesforceSession
  gateway: Gateway
}

type Check = (ctx: Context) => Promise<{ status: CheckStatus, detail: string }>

async function tokenCheck ({ config, session }: Context): Promise<{ status: CheckStatus, detail: string }> {
  await session.ensureAuthorized()
  return { status: 'pass', detail: `${config.salesforce.authFlow} flow at ${config.salesforce.loginUrl}` }
}

async function apiVersionCheck ({ config, session }: Context): Promise<{ status: CheckStatus, detail: string }> {
  // The versions list needs no session and does not count toward the daily limit.
  const offered = await session.conn.request<Array<{ version: string }>>({ method: 'GET', url: '/services/data/' })
  const versions = offered.map((v) => v.version).sort((a, b) => Number(a) - Number(b))
  const wanted = config.salesforce.apiVersion
  const range = versions.length === 0 ? 'none' : `v${versions[0] as string} to v${versions[versions.length - 1] as string}`
  if (versions.includes(wanted)) return { status: 'pass', detail: `v${wanted} is offered (this org offers ${range})` }
  return { status: 'fail', detail: `v${wanted} is not offered by this org (it offers ${range}): set SF_API_VERSION to one of them` }
}

async function apiUsageCheck ({ gateway, session }: Context): Promise<{ status: CheckStatus, detail: string }> {
  const limits = await session.conn.request<Record<string, { Max: number, Remaining: number } | undefined>>({ method: 'GET', url: gateway.dataPath('/limits') })
  const daily = limits.DailyApiRequests
  if (daily === undefined) return { status: 'fail', detail: 'the org did not report DailyApiRequests in /limits' }
  const detail = `${count(daily.Remaining)} of ${count(daily.Max)} daily API requests left`
  if (daily.Remaining <= 0) return { status: 'fail', detail: `${detail}: SCIM calls answer 429 until Salesforce frees requests` }
  return { status: 'pass', detail }
}

async function queryOne (gateway: Gateway, fields: string[], from: string, id: string): Promise<SfRecord | undefined> {
  const res = await gateway.query(select({ fields, from, where: eq('Id', id), limit: 1 }), quiet)
  return res.records[0]
}

/** The default ProfileId and, when it exists, its licence: filled by the profile check for the licence check. */
interface ProfileFacts { licenseId?: string }

function profileCheck (facts: ProfileFacts): Check {
  return async ({ config, gateway }) => {
    const id = config.users.defaults.ProfileId
    // Querying the Profile object proves both that the record exists and that it is a Profile.
    const profile = await queryOne(gateway, ['Id', 'Name', 'UserLicenseId'], 'Profile', id)
    if (profile === undefined) {
      return { status: 'fail', detail: `SF_PROFILE_ID ${id} is not a Profile in this org: find the right Id with SELECT Id, Name FROM Profile` }
    }
    if (typeof profile.UserLicenseId === 'string') facts.licenseId = profile.UserLicenseId
    return { status: 'pass', detail: `${id} is the profile "${String(profile.Name)}"` }
  }
}

function licenseCheck (facts: ProfileFacts): Check {
  return async ({ gateway }) => {
    if (facts.licenseId === undefined) return { status: 'skip', detail: 'needs the default profile' }
    const license = await queryOne(gateway, ['Id', 'Name', 'TotalLicenses', 'UsedLicenses'], 'UserLicense', facts.licenseId)
    if (license === undefined) return { status: 'fail', detail: `the profile's user license ${facts.licenseId} cannot be read` }
    const total = Number(license.TotalLicenses)
    const free = total - Number(license.UsedLicenses)
    const detail = `${count(Math.max(0, free))} of ${count(total)} "${String(license.Name)}" licenses free`
    if (free <= 0) return { status: 'fail', detail: `${detail}: new users would fail with LICENSE_LIMIT_EXCEEDED; free a license or choose another profile` }
    return { status: 'pass', detail }
  }
}

async function storeCheck (config: Config): Promise<CheckResult> {
  const path = config.store.path
  if (config.store.url === undefined && path === ':memory:') return { name: 'store', status: 'pass', detail: 'in memory: tombstones are lost at every restart' }
  const what = describeStore(config.store)
  try {
    // Opening a PostgreSQL store also applies its pending migrations, as `serve` would at start-up.
    const store = await openStoreFromConfig(config)
    try { await store.probe() } finally { await store.close() }
    return { name: 'store', status: 'pass', detail: `${config.store.url === undefined ? path : what} is writable` }
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    if (config.store.url !== undefined) return { name: 'store', status: 'fail', detail: `${what} cannot be written (${reason}): check STORE_URL, the server and the role's rights` }
    return { name: 'store', status: 'fail', detail: `${path} cannot be written (${reason}): fix its directory's permissions or set STORE_PATH` }
  }
}

/** Every group mapping names a Salesforce record that exists and can be assigned (issue 4). */
async function groupMappingsCheck ({ config, gateway }: Context): Promise<{ status: CheckStatus, detail: string }> {
  const mappings = config.groups?.mappings ?? []
  if (mappings.length === 0) return { status: 'pass', detail: 'no mappings: every SCIM group is a public group' }
  const problems = await checkGroupMappings(gateway, config, quiet)
  if (problems.length > 0) return { status: 'fail', detail: problems.join('\n') }
  return { status: 'pass', detail: `${count(mappings.length)} mapping(s), every target found` }
}

/**
 * Seats of the licences scimforce grants besides the user licence (issue 13): permission set licences that a
 * mapped permission set needs fail the check when none is free (members added to that group would be refused);
 * every other permission set and package licence is listed for the admin. One call for the seats, one for the
 * mapped sets' LicenseId.
 */
async function headroomCheck ({ config, gateway }: Context): Promise<{ status: CheckStatus, detail: string }> {
  const seats = await createLicenceGateway(gateway).seats(quiet)
  const names = (config.groups?.mappings ?? []).filter((m) => m.kind === 'permissionSet' && !m.target.includes('*')).map((m) => m.target)
  const needed = new Map<string, string[]>()
  if (names.length > 0) {
    const sets = await gateway.query(select({ fields: ['Name', 'LicenseId'], from: 'PermissionSet', where: inList('Name', names) }), quiet)
    for (const ps of sets.records) {
      if (!isPermissionSetLicenseId(ps.LicenseId)) continue
      const key = String(ps.LicenseId).slice(0, 15)
      needed.set(key, [...needed.get(key) ?? [], String(ps.Name)])
    }
  }
  const lines: string[] = []
  let full = false
  for (const l of seats.permissionSetLicences) {
    const free = l.total - l.used
    const sets = needed.get(l.id.slice(0, 15))
    if (sets !== undefined && free <= 0) full = true
    lines.push(`permission set licence ${l.name}: ${count(Math.max(0, free))} of ${count(l.total)} free${sets !== undefined ? ` (needed by ${sets.join(', ')})` : ''}`)
  }
  for (const l of seats.packageLicences) {
    lines.push(`package licence ${l.name}: ${l.total < 0 ? 'site licence' : `${count(Math.max(0, l.total - l.used))} of ${count(l.total)} free`}`)
  }
  if (lines.length === 0) return { status: 'pass', detail: 'no permission set or package licences in this org' }
  if (full) lines.unshift('a permission set licence a mapped permission set needs has no free seat: members added to that group would be refused; free or buy seats')
  return { status: full ? 'fail' : 'pass', detail: lines.join('\n') }
}

/** Runs every check in order; a check whose prerequisite failed is skipped, not failed again. */
export async function runChecks (env: NodeJS.ProcessEnv): Promise<CheckResult[]> {
  const results: CheckResult[] = []
  let config: Config
  try {
    config = loadConfig(env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    results.push({ name: 'configuration', status: 'fail', detail: err.problems.join('\n') })
    for (const name of ['salesforce token', 'api version', 'api usage', 'default profile', 'licenses', 'group mappings', 'licence headroom', 'store']) {
      results.push({ name, status: 'skip', detail: 'needs a valid configuration' })
    }
    return results
  }
  const clients = config.clients.map((c) => `${c.name} (${c.auth.type})`).join(', ')
  const source = env.SCIMFORCE_CONFIG !== undefined && env.SCIMFORCE_CONFIG !== '' ? `file ${env.SCIMFORCE_CONFIG} and environment` : 'environment only'
  results.push({ name: 'configuration', status: 'pass', detail: `${source}; SCIM clients: ${clients}` })

  const session = createSalesforceSession(config.salesforce, quiet, env)
  const ctx: Context = { config, session, gateway: createGateway(session) }
  const facts: ProfileFacts = {}
  const salesforceChecks: Array<[string, Check]> = [
    ['salesforce token', tokenCheck],
    ['api version', apiVersionCheck],
    ['api usage', apiUsageCheck],
    ['default profile', profileCheck(facts)],
    ['licenses', licenseCheck(facts)],
    ['group mappings', groupMappingsCheck],
    ['licence headroom', headroomCheck],
  ]
  let tokenFailed = false
  for (const [name, check] of salesforceChecks) {
    if (tokenFailed) {
      results.push({ name, status: 'skip', detail: 'needs a Salesforce token' })
      continue
    }
    try {
      results.push({ name, ...await check(ctx) })
    } catch (err) {
      results.push({ name, status: 'fail', detail: explain(classify(err), config, env) })
      if (name === 'salesforce token') tokenFailed = true
    }
  }
  results.push(await storeCheck(config))
  return scrubbed(results, secretsOf(config, env, session))
}

function secretsOf (config: Config, env: NodeJS.ProcessEnv, session?: SalesforceSession): string[] {
  const sf = config.salesforce
  const values = [sf.clientSecret, sf.password, sf.jwtPrivateKey, config.server.metricsToken, session?.conn.accessToken ?? undefined]
  for (const c of config.clients) values.push(c.auth.type === 'basic' ? c.auth.password : c.auth.token)
  for (const name of SECRET_ENV) values.push(env[name])
  return values.filter((v): v is string => typeof v === 'string' && v.length >= 4)
}

/** Belt and braces: a detail quoting a server's message could, in principle, echo a secret back. */
function scrubbed (results: CheckResult[], secrets: string[]): CheckResult[] {
  return results.map((r) => ({ ...r, detail: secrets.reduce((d, s) => d.split(s).join('[redacted]'), r.detail) }))
}

const LABEL: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' }

export function formatReport (results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length), 'check'.length)
  const lines = ['scimforce doctor: the configuration `serve` would use, checked against Salesforce', '']
  lines.push(`  ${'CHECK'.padEnd(width)}  RESULT  DETAIL`)
  for (const r of results) {
    const [first = '', ...rest] = r.detail.split('\n')
    lines.push(`  ${r.name.padEnd(width)}  ${LABEL[r.status].padEnd(6)}  ${first}`)
    for (const more of rest) lines.push(`  ${' '.repeat(width)}          ${more}`)
  }
  const failed = results.filter((r) => r.status === 'fail').length
  lines.push('')
  lines.push(failed === 0
    ? `all ${results.length} checks passed`
    : `${failed} of ${results.length} checks failed: fix the FAIL rows above and run doctor again`)
  return `${lines.join('\n')}\n`
}

/** Prints the table; resolves to the process exit code (0: every check passed, 1: otherwise). */
export async function runDoctor (env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  let results: CheckResult[]
  try {
    results = await runChecks(env)
  } catch (err) {
    // A bug rather than a finding; say so without a stack, which could quote configuration.
    results = [{ name: 'doctor', status: 'fail', detail: `unexpected error: ${err instanceof Error ? err.message : String(err)}` }]
    results = scrubbed(results, SECRET_ENV.map((n) => env[n]).filter((v): v is string => typeof v === 'string' && v.length >= 4))
  }
  out.write(formatReport(results))
  return results.some((r) => r.status === 'fail') ? 1 : 0
}
