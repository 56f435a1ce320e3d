// SCIM error type and body builder (RFC 7644 §3.12), and the one place where the typed errors of the other layers
// (MappingError, SalesforceError, the protocol's FilterError/PathError, SCIMMY's own) become what the client sees.
// Built by hand because SCIMMY's ErrorResponse throws for statuses it does not know (429, 503) and for
// `400 tooMany` (docs/idp-behaviour.md#scimmy-errors).
import SCIMMY from 'scimmy'
import { MappingError } from '../mapping/errors.js'
import { ERROR_SCHEMA as SCIM_ERROR_SCHEMA, SCIM_CONTENT_TYPE, SCIM_TYPES, type ScimType } from '../protocol/constants.js'
import { RequestSyntaxError } from '../protocol/filter.js'
import { SalesforceError } from '../salesforce/errors.js'
import { StoreUnavailableError } from '../store/types.js'

export { SCIM_ERROR_SCHEMA, SCIM_CONTENT_TYPE, type ScimType }

/** How long an IdP should wait after a 503 or 429 (seconds). */
export const RETRY_AFTER_UNAVAILABLE = 30
export const RETRY_AFTER_LIMIT = 600

export interface ScimErrorBody {
  schemas: [typeof SCIM_ERROR_SCHEMA]
  status: string
  scimType?: ScimType
  detail?: string
}

/** Every failure a handler wants the client to see. Anything else that escapes a handler becomes a 500. */
export class ScimError extends Error {
  readonly status: number
  readonly scimType: ScimType | undefined
  /** Seconds, sent as Retry-After (429, 503). */
  readonly retryAfter: number | undefined
  /** The Salesforce errorCode behind this error, for logs and metrics. */
  readonly salesforceCode: string | undefined

  constructor (status: number, scimType: ScimType | undefined, detail: string, opts: { retryAfter?: number, salesforceCode?: string, cause?: unknown } = {}) {
    super(detail, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'ScimError'
    this.status = status
    this.scimType = scimType
    this.retryAfter = opts.retryAfter
    this.salesforceCode = opts.salesforceCode
  }

  toBody (): ScimErrorBody {
    return scimErrorBody(this.status, this.scimType, this.message)
  }
}

export function scimErrorBody (status: number, scimType?: ScimType, detail?: string): ScimErrorBody {
  const body: ScimErrorBody = { schemas: [SCIM_ERROR_SCHEMA], status: String(status) }
  if (scimType !== undefined) body.scimType = scimType
  if (detail !== undefined && detail !== '') body.detail = detail
  return body
}

/** Lets a promise fail only with what a SCIM handler may throw (ScimError, or what asScimError leaves alone). */
export async function guard<T> (p: Promise<T>): Promise<T> {
  return await p.catch((err: unknown) => { throw asScimError(err) })
}

/** The 404 of a resource id that names nothing this server serves (RFC 7644 §3.12). */
export function notFound (id: string): ScimError {
  return new ScimError(404, undefined, `Resource ${id} not found`)
}

/** Client input quoted in a detail, cut to a length that keeps the error readable and the log small. */
export const clip = (s: string): string => (s.length > 100 ? `${s.slice(0, 100)}…` : s)

/** The SCIM error an IdP sees for a Salesforce failure. */
export function toScimError (err: SalesforceError): ScimError {
  const detail = `${err.message.replace(/<br>/g, ' ').trim()} (Salesforce ${err.code}${err.fields.length > 0 ? ` on ${err.fields.join(', ')}` : ''})`
  const opts = { salesforceCode: err.code, cause: err }
  switch (err.kind) {
    case 'conflict':
      return new ScimError(409, 'uniqueness', conflictAdvice(err, detail), opts)
    case 'notFound':
      return new ScimError(404, undefined, 'Resource not found', opts)
    case 'limit':
      return new ScimError(429, undefined, 'Salesforce API request limit exceeded; retry later (Salesforce REQUEST_LIMIT_EXCEEDED)', { ...opts, retryAfter: RETRY_AFTER_LIMIT })
    case 'auth':
      // The IdP cannot fix this and must not see the reason in detail (it may name the integration user).
      return new ScimError(503, undefined, 'Salesforce session unavailable; scimforce cannot authenticate to Salesforce', { ...opts, retryAfter: RETRY_AFTER_UNAVAILABLE })
    case 'transient':
    case 'unknownOutcome':
      return new ScimError(503, undefined, `Salesforce is unavailable; retry later (${err.code})`, { ...opts, retryAfter: RETRY_AFTER_UNAVAILABLE })
    case 'validation':
      if (err.code === 'LICENSE_LIMIT_EXCEEDED') {
        return new ScimError(409, undefined, `${detail}: free a license in Salesforce or map the user to a profile with free licenses`, opts)
      }
      if (err.code === 'INVALID_CROSS_REFERENCE_KEY') {
        return new ScimError(400, 'invalidValue', `${detail}: a referenced record (profile, role or manager) does not exist in Salesforce`, opts)
      }
      if (err.code === 'CANNOT_DISABLE_LAST_ADMIN') {
        return new ScimError(409, undefined, `${detail}: Salesforce needs at least one active System Administrator; give the profile to another user first`, opts)
      }
      return new ScimError(400, 'invalidValue', validationAdvice(err, detail), opts)
  }
}

/**
 * What an admin can do about a refused field (docs/salesforce-behaviour.md#bridge-answers, "What a good bridge answers"): the config key
 * that fills a missing field, the form a Username needs, the licence a permission set or profile needs.
 */
function validationAdvice (err: SalesforceError, detail: string): string {
  if (err.code === 'REQUIRED_FIELD_MISSING') {
    const fields = err.fields.length > 0 ? err.fields : [...err.message.matchAll(/\[([^\]]+)\]/g)].flatMap((m) => (m[1] ?? '').split(/,\s*/))
    if (fields.length > 0) return `${detail}: send ${fields.length === 1 ? 'this field' : 'these fields'} or give ${fields.map((f) => `users.defaults.${f}`).join(', ')} a value in the configuration`
  }
  if (/Username must be in the form of an email address/i.test(err.message)) {
    return `${detail}: userName (with users.usernameSuffix appended) must look like an email address, e.g. ana@example.com; set users.usernameDomain to make names without @ into Usernames (omalley → omalley@corp.example)`
  }
  if (/user license doesn't allow the permission/i.test(err.message)) {
    return `${detail}: the permission set or profile needs a licence the user lacks; map the group to a set the user's licence allows, or assign the permission set licence it needs`
  }
  if (/license.*(profile|user license)|profile.*license/i.test(err.message) && err.fields.includes('ProfileId')) {
    return `${detail}: the profile belongs to another user licence than the user's; choose a profile of the same licence`
  }
  return detail
}

/** A uniqueness conflict, with the way out (docs/salesforce-behaviour.md#bridge-answers). */
function conflictAdvice (err: SalesforceError, detail: string): string {
  if (err.code === 'DUPLICATE_USERNAME') return `${detail}: Salesforce usernames are unique across every org; use another userName, or set users.usernameSuffix (e.g. .uat in a sandbox)`
  if (err.fields.includes('FederationIdentifier')) return `${detail}: another user holds this Federation ID; the SCIM attribute mapped to FederationIdentifier must be unique`
  return detail
}

/** A lower layer's typed error as the ScimError the client sees; anything else is returned unchanged. */
export function asScimError (err: unknown): unknown {
  if (err instanceof SalesforceError) return toScimError(err)
  // A replica that cannot reach its store cannot know tombstones or marks: 503, never an answer it cannot vouch for.
  if (err instanceof StoreUnavailableError) return new ScimError(503, undefined, 'scimforce\'s store is unavailable; retry later', { retryAfter: RETRY_AFTER_UNAVAILABLE, cause: err })
  if (err instanceof MappingError) return new ScimError(400, err.problem, err.message, { cause: err })
  if (err instanceof RequestSyntaxError) return new ScimError(400, err.scimType, err.message, { cause: err })
  if (err instanceof SCIMMY.Types.Error) {
    const scimType = typeof err.scimType === 'string' && SCIM_TYPES.has(err.scimType) ? err.scimType as ScimType : undefined
    return new ScimError(err.status, scimType, err.message, { cause: err })
  }
  return err
}

/**
 * Runs SCIMMY on the client's input (schema coercion of a body, a PatchOp applied to a resource). SCIMMY reports
 * what it refuses in that input (wrong types, non-canonical values, a missing required attribute) by throwing a
 * TypeError or its own SCIMError; here, and only here, those become the client's 400. A TypeError anywhere else
 * stays our bug (a 500 whose message stays in the log).
 */
export function fromScimmy<T> (run: () => T): T {
  const refused = (err: unknown): unknown =>
    err instanceof TypeError ? new ScimError(400, 'invalidValue', err.message, { cause: err }) : asScimError(err)
  try {
    const result = run()
    return (result instanceof Promise ? result.catch((err: unknown) => { throw refused(err) }) : result) as T
  } catch (err) {
    throw refused(err)
  }
}
