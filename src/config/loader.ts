// Builds the Config once at boot from built-in defaults, an optional YAML file, environment variables and secret
// files, and reports every problem at once in words that name the key and the fix.
//
// Precedence, lowest to highest:
//   1. defaults, in schema.ts;
//   2. the YAML file named by opts.configPath or SCIMFORCE_CONFIG (unset: no file; named but absent: an error);
//   3. environment variables (an empty variable counts as unset).
// Secrets come from NAME or NAME_FILE (Docker/Kubernetes secrets; a trailing newline is trimmed), never both.
// In the YAML file a secret is either a string or `{ file: /run/secrets/x }` (a relative path is relative to the
// YAML file). There is deliberately no `${VAR}` interpolation: the environment already overrides every key.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseDocument } from 'yaml'
import type { z } from 'zod'
import { configErrorMap } from './error-map.js'
import { ConfigSchema, isRecord, IS_REQUIRED, type ConfigIssueParams } from './schema.js'
import type { Config, ScimClientConfig } from './types.js'

export interface LoadConfigOptions {
  /** Overrides SCIMFORCE_CONFIG. */
  configPath?: string
  /** Reads the YAML file and every secret file; tests hand in a fake. */
  readFile?: (path: string) => string
}

/** Every configuration problem found, one per line in `message` and one per entry in `problems`. */
export class ConfigError extends Error {
  readonly problems: readonly string[]

  constructor (problems: readonly string[]) {
    super(problems.join('\n'))
    this.name = 'ConfigError'
    this.problems = problems
  }
}

type Path = ReadonlyArray<string | number>

/**
 * The environment contract. `secret`: also NAME_FILE; `file`: the variable holds a path whose contents are the
 * value (SF_JWT_KEY_FILE); `int`: digits become a number (anything else is left for the schema to refuse).
 */
interface EnvBinding { readonly name: string, readonly path: Path, readonly kind: 'text' | 'int' | 'secret' | 'file' }

const ENV_BINDINGS: readonly EnvBinding[] = [
  { name: 'HOST', path: ['server', 'host'], kind: 'text' },
  { name: 'PORT', path: ['server', 'port'], kind: 'int' },
  { name: 'PUBLIC_URL', path: ['server', 'publicUrl'], kind: 'text' },
  { name: 'LOG_LEVEL', path: ['server', 'logLevel'], kind: 'text' },
  { name: 'METRICS_TOKEN', path: ['server', 'metricsToken'], kind: 'secret' },
  { name: 'TRUST_PROXY', path: ['server', 'trustProxy'], kind: 'text' },
  { name: 'SF_LOGIN_URL', path: ['salesforce', 'loginUrl'], kind: 'text' },
  { name: 'SF_AUTH_FLOW', path: ['salesforce', 'authFlow'], kind: 'text' },
  { name: 'SF_CLIENT_ID', path: ['salesforce', 'clientId'], kind: 'text' },
  { name: 'SF_CLIENT_SECRET', path: ['salesforce', 'clientSecret'], kind: 'secret' },
  { name: 'SF_USERNAME', path: ['salesforce', 'username'], kind: 'text' },
  { name: 'SF_PASSWORD', path: ['salesforce', 'password'], kind: 'secret' },
  { name: 'SF_JWT_KEY_FILE', path: ['salesforce', 'jwtPrivateKey'], kind: 'file' },
  { name: 'SF_API_VERSION', path: ['salesforce', 'apiVersion'], kind: 'text' },
  { name: 'SF_TIMEOUT_MS', path: ['salesforce', 'timeoutMs'], kind: 'int' },
  { name: 'SF_ORDER_WAIT_MS', path: ['salesforce', 'orderWaitMs'], kind: 'int' },
  { name: 'SF_SETTLE_CAP_MS', path: ['salesforce', 'settleCapMs'], kind: 'int' },
  { name: 'SF_PROFILE_ID', path: ['users', 'defaults', 'ProfileId'], kind: 'text' },
  { name: 'SF_USERNAME_SUFFIX', path: ['users', 'usernameSuffix'], kind: 'text' },
  { name: 'SF_USERNAME_DOMAIN', path: ['users', 'usernameDomain'], kind: 'text' },
  { name: 'STORE_PATH', path: ['store', 'path'], kind: 'text' },
  { name: 'STORE_URL', path: ['store', 'url'], kind: 'secret' },
  { name: 'AUDIT_RETENTION_DAYS', path: ['store', 'auditRetentionDays'], kind: 'int' }
]

const BINDING_BY_KEY = new Map(ENV_BINDINGS.map((b) => [b.path.join('.'), b]))

/**
 * Every environment variable the configuration reads, `NAME_FILE` forms included: deployment files are checked
 * against it (test/deploy) so that they cannot set a variable nothing reads.
 */
export const CONFIG_ENV_NAMES: readonly string[] = [
  'SCIMFORCE_CONFIG',
  ...ENV_BINDINGS.flatMap((b) => b.kind === 'secret' ? [b.name, `${b.name}_FILE`] : [b.name]),
  'SCIM_BEARER_TOKEN', 'SCIM_BEARER_TOKEN_FILE', 'SCIM_BEARER_PATCH_RESPONSE', 'SCIM_BASIC_USER', 'SCIM_BASIC_PASSWORD', 'SCIM_BASIC_PASSWORD_FILE'
]

/** Where a client came from, so problems name the variable the admin actually set. */
type ClientOrigin = 'file' | 'SCIM_BEARER_TOKEN' | 'SCIM_BASIC_USER'

const ENV_CLIENT_KEYS: Record<Exclude<ClientOrigin, 'file'>, Record<string, string>> = {
  SCIM_BEARER_TOKEN: { 'auth.token': 'SCIM_BEARER_TOKEN', patchResponse: 'SCIM_BEARER_PATCH_RESPONSE' },
  SCIM_BASIC_USER: { 'auth.username': 'SCIM_BASIC_USER', 'auth.password': 'SCIM_BASIC_PASSWORD' }
}

const SECRET_ENV = new Set(['SF_CLIENT_SECRET', 'SF_PASSWORD', 'SCIM_BEARER_TOKEN', 'SCIM_BASIC_PASSWORD', 'METRICS_TOKEN', 'STORE_URL'])

function keyOf (path: Path): string {
  return path.reduce<string>((acc, seg) => typeof seg === 'number' ? `${acc}[${seg}]` : acc === '' ? seg : `${acc}.${seg}`, '')
}

function trimNewline (s: string): string {
  return s.replace(/\r?\n$/, '')
}

/** Sets `value` at `path`, creating missing sections; a section of the wrong type is left for the schema to report. */
function setPath (root: Record<string, unknown>, path: Path, value: unknown): void {
  let node: Record<string, unknown> = root
  for (const seg of path.slice(0, -1)) {
    const key = String(seg)
    const next = node[key] ?? {}
    if (!isRecord(next)) return
    node[key] = next
    node = next
  }
  node[String(path[path.length - 1])] = value
}

function describeReadError (err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  if (code === 'ENOENT') return 'does not exist'
  if (code === 'EACCES') return 'cannot be read (permission denied)'
  if (code === 'EISDIR') return 'is a directory'
  return `cannot be read (${err instanceof Error ? err.message : String(err)})`
}

export function loadConfig (env: NodeJS.ProcessEnv, opts: LoadConfigOptions = {}): Config {
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'))
  const problems: string[] = []
  const get = (name: string): string | undefined => {
    const v = env[name]
    return v === undefined || v === '' ? undefined : v
  }
  const read = (path: string, describe: (reason: string) => string): string | undefined => {
    try {
      return readFile(path)
    } catch (err) {
      problems.push(describe(describeReadError(err)))
      return undefined
    }
  }
  /** NAME or the contents of NAME_FILE. */
  const secretEnv = (name: string): string | undefined => {
    const value = get(name)
    const file = get(`${name}_FILE`)
    if (value !== undefined && file !== undefined) {
      problems.push(`${name} and ${name}_FILE are both set: keep only one of them`)
      return undefined
    }
    if (file === undefined) return value
    const contents = read(file, (reason) => `${name}_FILE points to "${file}", which ${reason}: fix the path or set ${name} instead`)
    return contents === undefined ? undefined : trimNewline(contents)
  }

  // 2. The YAML file.
  const configPath = opts.configPath ?? get('SCIMFORCE_CONFIG')
  const raw = configPath === undefined ? {} : loadYaml(configPath, opts.configPath === undefined, read, problems)
  // Without the file most keys would be reported missing, falsely: then report only what stopped the reading.
  const fileFailed = problems.length > 0

  // 3. The environment, over the file.
  for (const binding of ENV_BINDINGS) {
    let value: unknown
    if (binding.kind === 'secret') {
      value = secretEnv(binding.name)
    } else if (binding.kind === 'file') {
      const file = get(binding.name)
      value = file === undefined ? undefined : read(file, (reason) => `${binding.name} points to "${file}", which ${reason}: fix the path`)
    } else {
      value = get(binding.name)
      if (binding.kind === 'int' && typeof value === 'string' && /^\s*\d+\s*$/.test(value)) value = Number(value)
    }
    if (value !== undefined) setPath(raw, binding.path, value)
  }

  // SCIM clients: the file's, then one per client the environment describes.
  const envClients: Array<{ client: ScimClientConfig, origin: ClientOrigin }> = []
  const token = secretEnv('SCIM_BEARER_TOKEN')
  if (token !== undefined) {
    // SCIM_BEARER_PATCH_RESPONSE=noContent: PATCH answers 204, as Entra's endpoints do (clients[].patchResponse).
    const patchResponse = get('SCIM_BEARER_PATCH_RESPONSE')
    envClients.push({ client: { name: 'bearer', auth: { type: 'bearer', token }, putMode: 'replace', ...(patchResponse !== undefined ? { patchResponse: patchResponse as ScimClientConfig['patchResponse'] } : {}) }, origin: 'SCIM_BEARER_TOKEN' })
  }
  const username = get('SCIM_BASIC_USER')
  const password = secretEnv('SCIM_BASIC_PASSWORD')
  if (username !== undefined && password !== undefined) {
    // merge: the Basic client is normally WSO2 IS, whose PUT carries only the claims that changed (its SCIM2 connector sends a PUT of userName and the changed claims only).
    envClients.push({ client: { name: username, auth: { type: 'basic', username, password }, putMode: 'merge' }, origin: 'SCIM_BASIC_USER' })
  } else if (username !== undefined && get('SCIM_BASIC_PASSWORD_FILE') === undefined) {
    problems.push('SCIM_BASIC_PASSWORD is required when SCIM_BASIC_USER is set: set SCIM_BASIC_PASSWORD or SCIM_BASIC_PASSWORD_FILE')
  } else if (username === undefined && password !== undefined) {
    problems.push('SCIM_BASIC_USER is required when SCIM_BASIC_PASSWORD is set: set SCIM_BASIC_USER to the username the client sends')
  }
  raw.clients ??= []
  const origins: ClientOrigin[] = []
  // A `clients:` that is not a list is the schema's to report; the env clients cannot join it meanwhile.
  if (Array.isArray(raw.clients)) {
    origins.push(...raw.clients.map((): ClientOrigin => 'file'), ...envClients.map((c) => c.origin))
    raw.clients.push(...envClients.map((c) => c.client))
  }

  resolveFileRefs(raw, configPath, read)
  if (fileFailed) throw new ConfigError(problems)

  const result = ConfigSchema.safeParse(raw, { error: configErrorMap })
  if (result.success && problems.length === 0) {
    // Config is inferred from the schema (types.ts), so the parsed value is a Config as it stands.
    const config: Config = result.data
    return config
  }
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...describeIssue(issue, origins))
  }
  throw new ConfigError(problems)
}

function loadYaml (
  path: string,
  fromEnv: boolean,
  read: (path: string, describe: (reason: string) => string) => string | undefined,
  problems: string[]
): Record<string, unknown> {
  const text = read(path, (reason) => fromEnv
    ? `config file "${path}" (SCIMFORCE_CONFIG) ${reason}: fix the path, or unset SCIMFORCE_CONFIG to configure from the environment alone`
    : `config file "${path}" ${reason}: fix the path`)
  if (text === undefined) return {}
  // yaml refuses duplicate keys by default: a key given twice is a typo as surely as an unknown one.
  const doc = parseDocument(text)
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const at = err.linePos?.[0]
      // The message's first line is the sentence; the rest is a code excerpt, and the position we give ourselves.
      const what = (err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')
      problems.push(`config file "${path}"${at === undefined ? '' : ` line ${at.line}, column ${at.col}`}: ${what}: fix the YAML syntax`)
    }
    return {}
  }
  const data: unknown = doc.toJS()
  if (data === null || data === undefined) return {}
  if (!isRecord(data)) {
    problems.push(`config file "${path}" must be a mapping of keys (server:, clients:, salesforce:, users:, store:), not a ${Array.isArray(data) ? 'list' : typeof data}`)
    return {}
  }
  return data
}

/** Replaces every YAML `{ file: path }` secret with the file's contents; other shapes are left for the schema. */
function resolveFileRefs (
  raw: Record<string, unknown>,
  configPath: string | undefined,
  read: (path: string, describe: (reason: string) => string) => string | undefined
): void {
  const resolveAt = (container: unknown, key: string, path: Path): void => {
    if (!isRecord(container)) return
    const ref = container[key]
    if (!isRecord(ref) || Object.keys(ref).length !== 1 || typeof ref.file !== 'string') return
    const file = configPath === undefined ? ref.file : resolve(dirname(configPath), ref.file)
    const contents = read(file, (reason) => `${keyOf(path)} in the config file reads "${file}", which ${reason}: fix the path`)
    if (contents !== undefined) container[key] = trimNewline(contents)
  }
  for (const key of ['clientSecret', 'password', 'jwtPrivateKey']) resolveAt(raw.salesforce, key, ['salesforce', key])
  resolveAt(raw.server, 'metricsToken', ['server', 'metricsToken'])
  if (Array.isArray(raw.clients)) {
    raw.clients.forEach((client: unknown, i) => {
      const auth = isRecord(client) ? client.auth : undefined
      for (const key of ['password', 'token']) resolveAt(auth, key, ['clients', i, 'auth', key])
    })
  }
}

/** The words an admin reads: "ENV_VAR (yaml.key) <problem>: <fix>". */
function describeIssue (issue: z.core.$ZodIssue, origins: readonly ClientOrigin[]): string[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol')
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${keyOf([...path, k])} in the config file is not a known setting: remove it or fix its spelling`)
  }
  const params = (issue.code === 'custom' ? issue.params : undefined) as ConfigIssueParams | undefined
  if (params?.standalone === true) return [issue.message]

  const { label, env } = labelOf(path, origins)
  if (issue.message === IS_REQUIRED) {
    const when = params?.requiredWhen === undefined ? '' : ` when ${params.requiredWhen}`
    let fix: string
    if (env === undefined) fix = `set ${keyOf(path)} in the config file`
    else if (SECRET_ENV.has(env)) fix = `set ${env} or ${env}_FILE`
    else fix = `set ${env}`
    return [`${label} ${IS_REQUIRED}${when}: ${fix}`]
  }
  return [`${label} ${issue.message}`]
}

function labelOf (path: Path, origins: readonly ClientOrigin[]): { label: string, env: string | undefined } {
  const key = keyOf(path)
  if (path[0] === 'clients' && typeof path[1] === 'number') {
    const origin = origins[path[1]]
    if (origin !== undefined && origin !== 'file') {
      const env = ENV_CLIENT_KEYS[origin][path.slice(2).join('.')]
      // A problem with the env client as a whole (e.g. its name) is labelled with the variable that created it.
      return { label: env ?? `${origin} (client ${key})`, env }
    }
    return { label: key, env: undefined }
  }
  const env = BINDING_BY_KEY.get(key)?.name
  return { label: env === undefined ? key : `${env} (${key})`, env }
}

const REDACTED = '[redacted]'

/** A copy of the config with every secret replaced, for the startup log and `doctor`. */
export function redactedConfig (config: Config): unknown {
  const copy = structuredClone(config)
  if (copy.server.metricsToken !== undefined) copy.server.metricsToken = REDACTED
  const sf = copy.salesforce
  if (sf.clientSecret !== undefined) sf.clientSecret = REDACTED
  if (sf.password !== undefined) sf.password = REDACTED
  if (sf.jwtPrivateKey !== undefined) sf.jwtPrivateKey = REDACTED
  // The database URL stays readable (which host, which database) without its password.
  if (copy.store.url !== undefined) copy.store.url = copy.store.url.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/, `$1:${REDACTED}@`)
  for (const client of copy.clients) {
    if (client.auth.type === 'basic') client.auth.password = REDACTED
    else client.auth.token = REDACTED
  }
  return copy
}
