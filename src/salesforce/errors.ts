// Every way a Salesforce call can fail, as one typed error with the kind of failure it is (the table in
// README.md#what-the-idp-sees-when-something-goes-wrong). The SCIM layer (src/scim/errors.ts) decides what the client sees for each kind.

export type FailureKind =
  | 'validation' // the request was wrong: 400 for the IdP
  | 'conflict' // uniqueness: 409
  | 'notFound' // the record does not exist: 404 (only where the id came from the IdP)
  | 'limit' // the org's daily API allowance is spent: 429
  | 'transient' // worth retrying: Salesforce said so, and nothing was written
  | 'unknownOutcome' // the connection broke, timed out, or a 500/502/504 came back: the write may or may not have happened
  | 'auth' // scimforce cannot obtain or keep a session: a configuration problem, 503 for the IdP

export interface SalesforceErrorItem { errorCode: string, message: string, fields?: string[] }

export class SalesforceError extends Error {
  readonly code: string
  readonly kind: FailureKind
  readonly fields: string[]
  readonly httpStatus: number | undefined

  constructor (code: string, message: string, kind: FailureKind, opts: { fields?: string[], httpStatus?: number, cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'SalesforceError'
    this.code = code
    this.kind = kind
    this.fields = opts.fields ?? []
    this.httpStatus = opts.httpStatus
  }
}

const VALIDATION = new Set([
  'REQUIRED_FIELD_MISSING', 'STRING_TOO_LONG', 'INVALID_EMAIL_ADDRESS', 'FIELD_INTEGRITY_EXCEPTION',
  'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', 'INVALID_FIELD_FOR_INSERT_UPDATE', 'INVALID_FIELD', 'JSON_PARSER_ERROR',
  'INVALID_CROSS_REFERENCE_KEY', 'MALFORMED_ID', 'INVALID_TYPE_ON_FIELD_IN_RECORD', 'NUMBER_OUTSIDE_VALID_RANGE',
  'CANNOT_DISABLE_LAST_ADMIN', 'CANNOT_FREEZE_SELF', 'INACTIVE_OWNER_OR_USER', 'INVALID_NEW_PASSWORD',
  'FIELD_CUSTOM_VALIDATION_EXCEPTION', 'LICENSE_LIMIT_EXCEEDED', 'MALFORMED_QUERY', 'INVALID_QUERY_FILTER_OPERATOR',
])
const CONFLICT = new Set(['DUPLICATE_USERNAME', 'DUPLICATE_VALUE', 'DUPLICATE_COMM_NICKNAME'])
/**
 * Failures that prove nothing was written: a row lock rolls the transaction back, and a 503 (SERVER_UNAVAILABLE,
 * or a gateway's bare 503) refuses the request before it is processed (docs/salesforce-behaviour.md#status-codes: "503 server
 * unavailable"). QUERY_TIMEOUT only ever answers a read.
 */
const TRANSIENT = new Set(['UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE', 'QUERY_TIMEOUT', 'ERROR_HTTP_503'])
/**
 * Failures that prove nothing either way (issue 16): docs/salesforce-behaviour.md#status-codes lists 500 as "internal error" with no promise about
 * what was committed, and a proxy's 502/504 says only that the answer did not come back. Assumption
 * (docs/salesforce-behaviour.md#status-codes, UNVERIFIED): a 500 UNKNOWN_EXCEPTION, 502 or 504 can come after the commit, so a write
 * that got one is an unknown outcome, never replayed unless replaying is harmless. Reads replay them as before.
 */
const UNKNOWN_OUTCOME = new Set(['UNKNOWN_EXCEPTION', 'ERROR_HTTP_500', 'ERROR_HTTP_502', 'ERROR_HTTP_504'])
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET'])
/** Token endpoint errors (docs/salesforce-behaviour.md#token-errors); jsforce raises them with `name` = the OAuth error. */
const OAUTH_ERRORS = new Set(['invalid_grant', 'invalid_client', 'invalid_client_id', 'unsupported_grant_type', 'invalid_request', 'inactive_user', 'inactive_org', 'rate_limit_exceeded'])

export function kindOf (code: string, httpStatus?: number, fields: readonly string[] = []): FailureKind {
  if (CONFLICT.has(code)) return 'conflict'
  // A duplicate FederationIdentifier (unique per org) answers FIELD_INTEGRITY_EXCEPTION on that field
  // (docs/salesforce-behaviour.md#federation-id, single report): a uniqueness conflict, not a validation error.
  if (code === 'FIELD_INTEGRITY_EXCEPTION' && fields.includes('FederationIdentifier')) return 'conflict'
  if (code === 'NOT_FOUND' || code === 'ENTITY_IS_DELETED') return 'notFound'
  if (code === 'REQUEST_LIMIT_EXCEEDED') return 'limit'
  if (code === 'INVALID_SESSION_ID') return 'auth'
  if (TRANSIENT.has(code)) return 'transient'
  if (UNKNOWN_OUTCOME.has(code)) return 'unknownOutcome'
  if (VALIDATION.has(code)) return 'validation'
  if (httpStatus === 503) return 'transient'
  if (httpStatus !== undefined && httpStatus >= 500) return 'unknownOutcome'
  return 'validation'
}

/** Turns whatever jsforce or the network threw into a SalesforceError. */
export function classify (err: unknown): SalesforceError {
  if (err instanceof SalesforceError) return err
  const e = (err ?? {}) as { name?: string, errorCode?: string, message?: string, code?: string, type?: string, data?: unknown }
  const message = typeof e.message === 'string' ? e.message : String(err)
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) {
    return new SalesforceError(e.code, `Connection to Salesforce failed (${e.code})`, 'unknownOutcome', { cause: err })
  }
  if (e.name === 'AbortError' || e.type === 'request-timeout' || /aborted due to timeout/i.test(message)) {
    return new SalesforceError('TIMEOUT', 'Salesforce did not answer in time', 'unknownOutcome', { cause: err })
  }
  if (e.name === 'FetchError') {
    return new SalesforceError('NETWORK', 'Connection to Salesforce failed', 'unknownOutcome', { cause: err })
  }
  if (typeof e.name === 'string' && OAUTH_ERRORS.has(e.name)) {
    return new SalesforceError(e.name, `Salesforce refused scimforce's credentials (${e.name}: ${message})`, 'auth', { cause: err })
  }
  if (message.startsWith('Unable to refresh session')) {
    return new SalesforceError('INVALID_SESSION_ID', message, 'auth', { cause: err })
  }
  if (typeof e.errorCode === 'string') {
    if (e.errorCode === 'MULTIPLE_API_ERRORS' && Array.isArray(e.data) && e.data.length > 0) {
      return fromItems(e.data as SalesforceErrorItem[])
    }
    const status = /^ERROR_HTTP_(\d{3})$/.exec(e.errorCode)
    const fields = (e.data as { fields?: string[] } | undefined)?.fields
    return new SalesforceError(e.errorCode, message, kindOf(e.errorCode, status !== null ? Number(status[1]) : undefined), { fields: fields ?? [], cause: err })
  }
  return new SalesforceError('UNEXPECTED', message, 'unknownOutcome', { cause: err })
}

/** A REST error body: an array of `{message, errorCode, fields}` (or `statusCode` inside collections). */
export function fromItems (items: SalesforceErrorItem[] | Array<{ statusCode?: string, message: string, fields?: string[] }>, httpStatus?: number): SalesforceError {
  const first = (items[0] ?? { errorCode: `ERROR_HTTP_${httpStatus ?? 500}`, message: 'Salesforce error' }) as { errorCode?: string, statusCode?: string, message: string, fields?: string[] }
  const code = first.errorCode ?? first.statusCode ?? 'UNKNOWN'
  // docs/salesforce-behaviour.md#licences: "Group membership operation already in progress" is contention, like UNABLE_TO_LOCK_ROW
  // (its errorCode varies between reports, UNVERIFIED): retried with backoff, then 503 + Retry-After.
  const kind = /Group membership operation already in progress/i.test(first.message) ? 'transient' : kindOf(code, httpStatus, first.fields)
  return new SalesforceError(code, first.message, kind, { fields: first.fields ?? [], ...(httpStatus !== undefined ? { httpStatus } : {}) })
}
