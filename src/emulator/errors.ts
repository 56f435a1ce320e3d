// The Salesforce REST error: an errorCode, a message, the fields involved and the HTTP status it travels with.

export interface RestErrorBody {
  message: string
  errorCode: string
  fields?: string[]
}

/** Per-record error inside sObject Collections results: `statusCode`, not `errorCode` (docs/salesforce-behaviour.md#error-bodies). */
export interface CollectionError {
  statusCode: string
  message: string
  fields: string[]
}

export class SalesforceError extends Error {
  readonly errorCode: string
  readonly fields: string[] | undefined
  readonly status: number

  constructor (errorCode: string, message: string, opts: { fields?: string[], status?: number } = {}) {
    super(message)
    this.name = errorCode
    this.errorCode = errorCode
    this.fields = opts.fields
    this.status = opts.status ?? 400
  }

  toBody (): RestErrorBody[] {
    const body: RestErrorBody = { message: this.message, errorCode: this.errorCode }
    if (this.fields !== undefined) body.fields = this.fields
    return [body]
  }

  toCollectionError (): CollectionError {
    return { statusCode: this.errorCode, message: this.message, fields: this.fields ?? [] }
  }
}

export const NOT_FOUND_MESSAGE = 'The requested resource does not exist'

export function notFound (message = NOT_FOUND_MESSAGE): SalesforceError {
  return new SalesforceError('NOT_FOUND', message, { status: 404 })
}

/** 405 with the allowed-methods list Salesforce prints (docs/salesforce-behaviour.md#sobject-crud). */
export function methodNotAllowed (method: string, allowed: string[]): SalesforceError {
  return new SalesforceError('METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are ${allowed.join(',')}`, { status: 405 })
}
