// SCIM error type and body builder (RFC 7644 §3.12). Built by hand because SCIMMY's ErrorResponse throws for
// statuses it does not know (429, 503) and for `400 tooMany` (reference/scim.md §1.5).

export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error'
export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8'

export type ScimType =
  | 'invalidFilter' | 'tooMany' | 'uniqueness' | 'mutability' | 'invalidSyntax'
  | 'invalidPath' | 'noTarget' | 'invalidValue' | 'invalidVers' | 'sensitive'

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
