// The configuration schema (zod 4): every key's shape, default, cross-field rule and meaning; types.ts infers the
// Config types from it. Where values come from (file, environment, *_FILE) and how problems are worded for people
// is loader.ts's job.
import { createPrivateKey } from 'node:crypto'
import { z } from 'zod'
import { GroupsSchema } from './groups-schema.js'
import { authThrottleSchema, trustProxySchema } from './server-schema.js'

/** The message of every "value missing" issue; the loader appends the fix (which variable or key to set). */
export const IS_REQUIRED = 'is required'

/**
 * Issue params the loader understands. `requiredWhen` turns an issue into "is required when …: <fix>";
 * `standalone` marks a message that is a whole sentence and gets no key label in front.
 */
export interface ConfigIssueParams {
  requiredWhen?: string
  standalone?: true
}

/** SCIM client secrets guard the way into the org's user directory: long enough not to be guessed. */
export const MIN_SECRET_LENGTH = 16

const SALESFORCE_FIELD = /^[A-Za-z][A-Za-z0-9_]*$/
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

// Salesforce answers `request not supported on this domain` to the client credentials flow anywhere but the
// org's My Domain (docs/salesforce-behaviour.md#client-credentials), so say so at boot rather than on the first SCIM request.
const SHARED_LOGIN_HOSTS = new Set(['login.salesforce.com', 'test.salesforce.com'])

export function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function missing (v: unknown): boolean {
  return v === undefined || v === null || v === ''
}

function emptyToUndefined (s: string): string | undefined {
  return s === '' ? undefined : s
}

/**
 * An absent (or empty, `key:` with nothing after it in YAML) section is parsed as empty rather than refused, so
 * its fields get their defaults and each missing required key is reported by name.
 */
function section<T extends z.ZodType> (schema: T, empty: object) {
  return z.preprocess((v) => v ?? empty, schema)
}

/** An http(s) URL, returned without a trailing slash; `baseOnly` refuses anything after the host. */
function httpUrl (opts: { example: string, baseOnly?: boolean }) {
  return z.string().trim().transform((s, ctx) => {
    let url: URL | undefined
    try {
      url = new URL(s)
    } catch {}
    if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      ctx.addIssue({ code: 'custom', message: `must be an http(s) URL such as ${opts.example}, not "${s}"` })
      return z.NEVER
    }
    if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      ctx.addIssue({ code: 'custom', message: `must not carry credentials, a query or a fragment: use a plain URL such as ${opts.example}` })
      return z.NEVER
    }
    const pathname = url.pathname.replace(/\/+$/, '')
    if (opts.baseOnly === true && pathname !== '') {
      ctx.addIssue({ code: 'custom', message: `must be the base URL without a path, such as ${opts.example} (scimforce adds /services/…)` })
      return z.NEVER
    }
    return url.origin + pathname
  })
}

/** A Salesforce record Id (15 or 18 characters) of the given key prefix, e.g. 00e for a Profile. */
function salesforceId (prefix: string, what: string) {
  return z.string().trim().refine((s) => /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/.test(s) && s.startsWith(prefix), {
    error: (iss) => `must be a ${what} Id: 15 or 18 letters and digits starting with ${prefix}, not "${String(iss.input)}"`
  })
}

/** A secret as the schema sees it: by now the loader has read `{ file: … }` references into strings. */
function secret () {
  return z.string({
    error: (iss) => iss.input === undefined ? IS_REQUIRED : 'must be a string, or { file: /path/to/secret } to read it from a file'
  }).refine((s) => !/^\$\{\w+\}$/.test(s.trim()), {
    // Someone expecting ${VAR} interpolation would otherwise run with the literal text as the secret.
    // eslint-disable-next-line no-template-curly-in-string -- the message quotes the syntax it refuses
    error: 'looks like ${VAR} interpolation, which the config file does not do: use { file: /path/to/secret } or the environment variable'
  })
}

/** A secret a SCIM client presents to us; we choose these, so they must be long enough not to be guessed. */
function clientSecret () {
  return secret().min(MIN_SECRET_LENGTH, {
    error: `must be at least ${MIN_SECRET_LENGTH} characters long: generate one with \`openssl rand -base64 32\``
  })
}

const ServerSchema = z.strictObject({
  // 0.0.0.0: scimforce runs in a container, where loopback is unreachable from outside.
  host: z.string().trim().min(1).default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Externally visible base URL used in Location and meta.location, e.g. https://scim.example.com. */
  publicUrl: httpUrl({ example: 'https://scim.example.com' }).optional(),
  /** Largest accepted request body in bytes. */
  bodyLimit: z.number().int().min(1024).default(1024 * 1024),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  /** The Bearer token a Prometheus scraper presents on GET /metrics; unset: /metrics is not served at all. */
  metricsToken: clientSecret().refine((t) => !/\s/.test(t), {
    error: 'must not contain spaces or line breaks (it travels in an HTTP header)'
  }).optional(),
  /** Proxies whose X-Forwarded-For names the client (server-schema.ts); TRUST_PROXY. */
  trustProxy: trustProxySchema.default(false),
  /** Failed-authentication throttle knobs, or false (server-schema.ts). */
  authThrottle: authThrottleSchema.optional()
})

const BasicAuthSchema = z.strictObject({
  type: z.literal('basic'),
  username: z.string().trim().min(1).refine((u) => !u.includes(':'), {
    error: 'must not contain ":" (HTTP Basic separates username and password with it)'
  }),
  password: clientSecret()
})

const BearerAuthSchema = z.strictObject({
  type: z.literal('bearer'),
  token: clientSecret().refine((t) => !/\s/.test(t), {
    error: 'must not contain spaces or line breaks (it travels in an HTTP header)'
  })
})

const ClientSchema = z.strictObject({
  /** Appears in logs, metrics and the journal, e.g. "wso2", "entra". */
  name: z.string().trim().min(1),
  auth: z.discriminatedUnion('type', [BasicAuthSchema, BearerAuthSchema]),
  /**
   * merge: PUT updates only the attributes it carries (WSO2 IS sends partial PUTs);
   * replace: RFC 7644 §3.5.1, attributes the body omits are cleared. Partial-PUT clients must say merge.
   */
  putMode: z.enum(['merge', 'replace']).default('replace'),
  /**
   * What a successful PATCH answers (RFC 7644 §3.5.2 allows either): `resource`, 200 with the resource (WSO2 IS
   * reads it; the default); `noContent`, 204 (what Microsoft's SCIM validator expects of Entra's endpoints), except when the
   * request names `attributes`, which the RFC answers with 200 and the resource.
   */
  patchResponse: z.enum(['resource', 'noContent']).optional(),
  /**
   * Drop a WSO2-style user-store prefix (`PRIMARY/sales` → `sales`) from group displayNames in bodies and filters.
   * Unset: on for Basic clients in merge mode (WSO2 IS), off for the others.
   */
  stripUserStorePrefix: z.boolean().optional()
})

const ClientsSchema = z.array(ClientSchema).superRefine((clients, ctx) => {
  if (clients.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: 'no SCIM client configured: set SCIM_BEARER_TOKEN or SCIM_BASIC_USER/SCIM_BASIC_PASSWORD, or clients: in the config file',
      params: { standalone: true } satisfies ConfigIssueParams
    })
    return
  }
  // Written defensively: this also runs when some client failed its own checks, so every problem is reported at once.
  const names = new Map<string, number>()
  const basicUsers = new Map<string, number>()
  const tokens = new Map<string, number>()
  clients.forEach((client, i) => {
    if (!isRecord(client)) return
    const seen = (map: Map<string, number>, key: unknown, path: PropertyKey[], what: string): void => {
      if (typeof key !== 'string' || key === '') return
      const first = map.get(key)
      if (first === undefined) {
        map.set(key, i)
        return
      }
      ctx.addIssue({ code: 'custom', path: [i, ...path], message: `${what} clients[${first}]'s: give each client its own` })
    }
    seen(names, client.name, ['name'], 'is the same name as')
    const auth: unknown = client.auth
    if (!isRecord(auth)) return
    // Unique credentials make the matching client unambiguous, so the name in logs and the putMode are right.
    if (auth.type === 'basic') seen(basicUsers, auth.username, ['auth', 'username'], 'is the same Basic username as')
    if (auth.type === 'bearer') seen(tokens, auth.token, ['auth', 'token'], 'is the same Bearer token as')
  })
}, { when: (payload) => Array.isArray(payload.value) })

const SalesforceSchema = z.strictObject({
  /** OAuth base: https://login.salesforce.com, https://test.salesforce.com or the org's My Domain URL. */
  loginUrl: httpUrl({ example: 'https://mycompany.my.salesforce.com', baseOnly: true }),
  authFlow: z.enum(['client_credentials', 'jwt', 'password']).default('client_credentials'),
  clientId: z.string().trim().min(1),
  // Optional here; which flow needs which is checked below, so the message can name the flow.
  /** client_credentials and password flows. */
  clientSecret: secret().transform(emptyToUndefined).optional(),
  /** password flow: the integration user's username; jwt flow: the `sub` claim. */
  username: z.string().trim().transform(emptyToUndefined).optional(),
  /** password flow: password immediately followed by the security token. */
  password: secret().transform(emptyToUndefined).optional(),
  /** jwt flow: the PEM private key (contents, not a path) that signs the assertion. */
  jwtPrivateKey: secret().transform(emptyToUndefined).refine((pem) => pem === undefined || isRsaPrivateKey(pem), {
    error: 'must be an RSA private key in PEM form (-----BEGIN PRIVATE KEY-----): Salesforce signs JWT bearer assertions with RS256 only'
  }).optional(),
  /** jwt flow: the `aud` claim; defaults to loginUrl. */
  jwtAudience: httpUrl({ example: 'https://login.salesforce.com', baseOnly: true }).optional(),
  /** e.g. "62.0" (no leading v). Accepts "v62.0" (as in REST URLs) and a bare YAML number (62 or 62.0 parse to 62). */
  apiVersion: z.preprocess(
    (v) => typeof v === 'number' && Number.isInteger(v) ? `${v}.0` : typeof v === 'string' ? v.trim().replace(/^v/i, '') : v,
    z.string().regex(/^\d{2,3}\.0$/, { error: 'must be a Salesforce API version such as 62.0 (or v62.0)' })
  ).default('62.0'),
  /** The most one Salesforce call may take, retries included; one HTTP request gets half (salesforce/connection.ts). */
  // jsforce's own default is 30 minutes; Entra gives up after 60 s. Under 100 ms is surely seconds meant as ms.
  timeoutMs: z.number().int().min(100).max(600_000).default(20_000),
  /**
   * How long a SCIM request waits for an earlier write to the same user or group (or a create of the name it looks
   * up) that Salesforce has not finished; past it the request is answered 503 (scim/ordering.ts). Keep it under the
   * IdP's own timeout (WSO2 IS reads for 5 s), so the IdP hears the 503 rather than giving up on a write that would
   * then still run behind its back.
   */
  // Optional, defaulted where used (ORDER_WAIT_MS 4 s, SETTLE_CAP_MS 120 s), so that a SalesforceConfig written out
  // for a session alone (doctor, tests) need not name them.
  orderWaitMs: z.number().int().min(100).max(60_000).optional(),
  /**
   * How long a write whose answer was late is still waited for (its connection kept open, the resource's later
   * writes queued behind it) before it is aborted (salesforce/gateway.ts SETTLE_CAP_MS). Never less than timeoutMs.
   */
  settleCapMs: z.number().int().min(1_000).max(600_000).optional()
}).superRefine((sf, ctx) => {
  // Runs even when single fields failed (see `when`), so flow problems come in the same report.
  const flow: unknown = sf.authFlow
  const need = (key: keyof typeof sf): void => {
    if (missing(sf[key])) {
      ctx.addIssue({ code: 'custom', path: [key], message: IS_REQUIRED, params: { requiredWhen: `SF_AUTH_FLOW is ${String(flow)}` } satisfies ConfigIssueParams })
    }
  }
  if (flow === 'client_credentials') {
    need('clientSecret')
    if (typeof sf.loginUrl === 'string' && URL.canParse(sf.loginUrl) && SHARED_LOGIN_HOSTS.has(new URL(sf.loginUrl).hostname)) {
      ctx.addIssue({
        code: 'custom',
        path: ['loginUrl'],
        message: 'must be the org\'s My Domain URL (https://<domain>.my.salesforce.com) when SF_AUTH_FLOW is client_credentials: Salesforce refuses that flow on login.salesforce.com and test.salesforce.com'
      })
    }
  } else if (flow === 'password') {
    need('clientSecret')
    need('username')
    need('password')
  } else if (flow === 'jwt') {
    need('username')
    need('jwtPrivateKey')
  }
}, { when: (payload) => isRecord(payload.value) })

function isRsaPrivateKey (pem: string): boolean {
  try {
    return createPrivateKey(pem).asymmetricKeyType === 'rsa'
  } catch {
    return false
  }
}

const UserDefaultsShape = {
  ProfileId: salesforceId('00e', 'Profile'),
  // The four keys and ProfileId are required on User insert (docs/salesforce-behaviour.md#user-fields); the defaults are the
  // values of WSO2's Salesforce connector seed list (docs/idp-behaviour.md#wso2-salesforce-seed).
  EmailEncodingKey: z.string().trim().min(1).default('UTF-8'),
  LanguageLocaleKey: z.string().trim().min(1).default('en_US'),
  LocaleSidKey: z.string().trim().min(1).default('en_US'),
  TimeZoneSidKey: z.string().trim().min(1).default('America/Los_Angeles'),
  UserPermissionsCallCenterAutoLogin: z.boolean().default(false),
  UserPermissionsMarketingUser: z.boolean().default(false),
  UserPermissionsOfflineUser: z.boolean().default(false)
}
const KNOWN_DEFAULTS = new Map(Object.keys(UserDefaultsShape).map((k) => [k.toLowerCase(), k]))

// Further fields are passed to Salesforce as they are, so check they at least look like field names.
const UserDefaultsSchema = z.object(UserDefaultsShape)
  .catchall(z.union([z.string(), z.number(), z.boolean()], { error: 'must be a string, a number or true/false' }))
  .superRefine((defaults, ctx) => {
    for (const key of Object.keys(defaults)) {
      if (Object.hasOwn(UserDefaultsShape, key)) continue
      const twin = KNOWN_DEFAULTS.get(key.toLowerCase())
      if (twin !== undefined) {
        // Salesforce field names are case-insensitive: "profileId" would silently compete with ProfileId.
        ctx.addIssue({ code: 'custom', path: [key], message: `is spelled differently from ${twin}: use ${twin}` })
      } else if (isSensitiveDefault(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `cannot be a default: ${key} decides a user's identity, access or place in the org (issue 11); the profile default is ProfileId, roles and permission sets come from groups.mappings, and Username, IsActive and FederationIdentifier from the SCIM request` })
      } else if (!SALESFORCE_FIELD.test(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'is not a Salesforce field API name (letters, digits and _, starting with a letter)' })
      }
    }
  }, { when: (payload) => isRecord(payload.value) })

/**
 * User fields a free-form extra mapping must not write (issue 11): whoever holds a SCIM client's credentials would
 * otherwise choose a user's profile, role, login name, SSO identity, manager (sharing and approvals follow it),
 * account or admin permissions. Profile and role come only from group mappings (where admin-grade targets are
 * opt-in); Username, IsActive, FederationIdentifier and ManagerId only through the built-in mapping (userName,
 * active, externalId, enterprise manager), whose checks a second source would bypass. Salesforce field names are
 * case-insensitive, so the comparison is too.
 */
const SENSITIVE_USER_FIELDS = new Set(['profileid', 'userroleid', 'username', 'isactive', 'federationidentifier', 'managerid', 'delegatedapproverid', 'usertype', 'contactid', 'accountid'])
/** Permission flags on User (UserPermissions*) and any Permissions* field grant abilities, not data. */
const SENSITIVE_USER_FIELD_PREFIX = /^(?:user)?permissions/i

export function isSensitiveUserField (field: string): boolean {
  return SENSITIVE_USER_FIELDS.has(field.toLowerCase()) || SENSITIVE_USER_FIELD_PREFIX.test(field)
}

/**
 * users.defaults may hold the same fields as an extra mapping, plus the UserPermissions* flags: a default is the
 * admin's own fixed value, and those flags switch on feature licences (Marketing User, Offline, Knowledge...), not
 * admin abilities. ProfileId is the profile default (its own key, above). Everything else isSensitiveUserField
 * names (a role, Username, IsActive, the SSO identity, a manager, admin Permissions*) is refused: given to every
 * new user it would place them all at once, outside the group mappings' admin-grade checks.
 */
function isSensitiveDefault (field: string): boolean {
  return isSensitiveUserField(field) && !/^userpermissions/i.test(field)
}

const ExtraMappingSchema = z.strictObject({
  /** SCIM path, e.g. "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter". */
  scim: z.string().trim().min(1, { error: 'must be a SCIM attribute path such as urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter' }),
  /** Salesforce User field API name, e.g. "CostCenter__c". */
  salesforce: z.string().trim().regex(SALESFORCE_FIELD, { error: 'must be a Salesforce field API name such as CostCenter__c' })
    .refine((f) => !isSensitiveUserField(f), {
      error: (iss) => `must not be ${String(iss.input)}: profile, role, manager, Username, IsActive, FederationIdentifier and permission fields (Permissions*, UserPermissions*) cannot be written from SCIM attributes; map profiles and roles with groups.mappings instead`
    })
})

const UsersSchema = z.strictObject({
  /** Values every created Salesforce User gets unless the SCIM request maps a value of its own. */
  defaults: section(UserDefaultsSchema, {}),
  /** Appended to every userName to form the Salesforce Username (sandboxes), stripped on the way back. */
  usernameSuffix: z.string().trim().refine((s) => !/\s/.test(s), { error: 'must not contain spaces' }).default(''),
  /**
   * A userName that is not email-shaped (no `@`, as WSO2 IS and many directories send: `omalley`) becomes the
   * Salesforce Username `<userName>@<usernameDomain>`; one that has an `@` is used as it is. Salesforce needs an
   * email-shaped Username (docs/salesforce-behaviour.md#user-fields). scimforce keeps the userName the IdP sent and answers exactly that.
   * Unset: a userName without `@` is refused with 400, as Salesforce refuses it.
   */
  usernameDomain: z.string().trim().regex(/^(?=.{1,60}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/i, { error: 'must be a domain such as corp.example.com (no @)' }).optional(),
  /** What SCIM DELETE does besides IsActive=false. */
  deleteMode: z.enum(['deactivate', 'freeze', 'rename']).default('deactivate'),
  // --- users.freezeOnDisable (issue 13) ---
  /**
   * Every disable path (DELETE, PATCH or PUT active:false): 'always' freezes the user's login first, in a
   * transaction of its own, so that even a deactivation Salesforce refuses leaves them unable to log in; unset or
   * 'whenRefused' freezes only when Salesforce refuses (one more call then). deleteMode 'freeze' implies 'always'
   * for DELETE. A freeze scimforce made is undone when the IdP reactivates the user.
   */
  freezeOnDisable: z.enum(['whenRefused', 'always']).optional(),
  // --- end users.freezeOnDisable ---
  // --- users.releaseLicencesOnDeactivate (issue 13) ---
  /**
   * When scimforce deactivates a user (DELETE, PATCH or PUT active:false), the licences it granted them go too:
   * managed-package seats and permission set licences of mapped groups (with scimforce's own assignments of the
   * permission sets that need them) and feature licences (UserPermissions*) of featureLicence groups. They come
   * back when the IdP reactivates or rehires the user; when one cannot (no free seat), the reactivation is refused
   * with a 409 naming it. Never touches a licence an admin granted. On by default: a deactivated user's seats
   * stay counted by Salesforce (KB 000386472) and leak; false keeps them with the user. Unset means true.
   */
  releaseLicencesOnDeactivate: z.boolean().optional(),
  // --- end users.releaseLicencesOnDeactivate ---
  // --- users.sandbox (issue 13) ---
  /**
   * Set when this Salesforce org is a sandbox. A refresh appends `.invalid` to every email (KB 000386507): an
   * IdP write that carries the same address without it leaves the email alone (no verification mail each time);
   * a real change of address is written. A refresh also makes DUPLICATE_USERNAME appear for up to 48 hours of
   * replication delay (KB 000383623): a POST that meets it for a username no user of this org has is retried
   * after each of `duplicateRetryDelaysMs`, while within 48 hours of `refreshedAt` (unset: always), before 409.
   */
  sandbox: z.strictObject({
    refreshedAt: z.iso.datetime({ offset: true }).optional(),
    duplicateRetryDelaysMs: z.array(z.number().int().min(0).max(60_000)).max(5).default([1000, 3000, 9000]),
  }).optional(),
  // --- end users.sandbox ---
  /** A POST whose userName belongs to an active user the IdP does not know: 409 (reject) or take it over (adopt). */
  onActiveConflict: z.enum(['reject', 'adopt']).default('reject'),
  /** Additional SCIM ⇄ Salesforce field pairs on top of the built-in mapping. */
  extraMappings: z.array(ExtraMappingSchema).default([]),
  /**
   * The User field that holds SCIM externalId (FederationIdentifier, or a custom field such as ScimExternalId__c).
   * Unset (the default): scimforce keeps externalId itself, per SCIM client, case-exact and not unique (RFC 7643
   * §3.1), and never writes FederationIdentifier. A chosen field must accept the IdP's values: FederationIdentifier
   * is unique per org. A PUT without externalId leaves the field as it is.
   */
  externalIdField: z.string().trim().regex(SALESFORCE_FIELD, { error: 'must be a Salesforce field API name such as FederationIdentifier or ScimExternalId__c' })
    .refine((f) => f.toLowerCase() === 'federationidentifier' || !isSensitiveUserField(f), { error: (iss) => `must not be ${String(iss.input)}: only FederationIdentifier or a data field can hold externalId` })
    .optional(),
  /**
   * Users holding ModifyAllData, ViewAllData, ManageUsers, CustomizeApplication or AuthorApex (from a profile or
   * a permission set) are outside SCIM's reach unless this is true. The integration user never is in reach.
   */
  allowPrivileged: z.boolean().default(false),
  /**
   * Writes that arrive while one is in flight go to Salesforce together as sObject Collections (salesforce/coalesce.ts).
   * false sends one call per write, e.g. for an org whose User triggers cannot take records in batches of 200.
   */
  coalesceWrites: z.boolean().default(true),
  /** Narrows the managed scope further. */
  scope: section(z.strictObject({
    /** Only users whose profile has one of these names (e.g. ["Standard User"]); unset: every profile. */
    profiles: z.array(z.string().trim().min(1)).min(1).optional()
  }), {})
})

const StoreSchema = z.strictObject({
  /** SQLite file; ":memory:" keeps nothing across restarts (tests only). Unused when `url` is set. */
  path: z.string().trim().min(1).default('./data/scimforce.db'),
  /**
   * PostgreSQL (postgres://user:password@host:5432/database) shared by every replica; unset: the SQLite file.
   * It may carry a password: a secret (STORE_URL_FILE), and logged redacted.
   */
  url: z.string().trim().regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL').optional(),
  /** Days the audit journal keeps an entry (purged at start-up and daily). */
  auditRetentionDays: z.number().int().min(1).max(3650).default(90)
})

export const ConfigSchema = z.strictObject({
  server: section(ServerSchema, {}),
  clients: section(ClientsSchema, []),
  salesforce: section(SalesforceSchema, {}),
  users: section(UsersSchema, {}),
  store: section(StoreSchema, {}),
  groups: section(GroupsSchema, {})
})
