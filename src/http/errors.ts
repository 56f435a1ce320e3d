// One error handler, two audiences: the log gets the error with its request context, the client gets a SCIM
// error body with the right status and scimType, and never a stack trace or an internal message.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { SCIM_CONTENT_TYPE, type ScimType } from '../protocol/constants.js'
import { asScimError, ScimError, scimErrorBody } from '../scim/errors.js'
import { clipDetail } from './clip.js'

/** Salesforce codes that mean a query scimforce sent was wrong; the client can do nothing about them. */
const QUERY_DEFECTS = new Set(['MALFORMED_QUERY', 'INVALID_QUERY_FILTER_OPERATOR'])

type Described = { status: number, scimType?: ScimType, detail: string, retryAfter?: number }

/**
 * What the client sees for an error: status, scimType and a detail that is safe to show. Details quote client
 * input (an id, a path, a filter); whichever layer quoted it, the quote is clipped here (clip.ts).
 */
export function describeError (raw: unknown): Described {
  const d = describe(raw)
  return { ...d, detail: clipDetail(d.detail) }
}

function describe (raw: unknown): Described {
  // A typed error of another layer (mapping, Salesforce, protocol, SCIMMY) becomes the ScimError the client is owed;
  // SCIMMY's refusals of client input were turned into ScimErrors where SCIMMY ran (scim/errors.ts fromScimmy).
  const err = asScimError(raw)
  if (err instanceof ScimError) {
    // Salesforce refused a query scimforce built: our defect, not the client's, and its message quotes the query.
    if (err.salesforceCode !== undefined && QUERY_DEFECTS.has(err.salesforceCode)) return { status: 500, detail: 'Internal server error' }
    return { status: err.status, ...(err.scimType !== undefined ? { scimType: err.scimType } : {}), detail: err.message, ...(err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {}) }
  }
  const e = err as FastifyError
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, detail: 'Request body is too large' }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, detail: 'Unsupported Content-Type: send application/scim+json' }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, scimType: 'invalidSyntax', detail: 'Request body is empty or malformed' }
    case 'FST_ERR_VALIDATION':
      return { status: 400, scimType: 'invalidValue', detail: e.message }
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, detail: 'Bad request' }
  }
  return { status: 500, detail: 'Internal server error' }
}

export function sendScimError (reply: FastifyReply, status: number, scimType: ScimType | undefined, detail: string, retryAfter?: number): FastifyReply {
  if (retryAfter !== undefined) reply.header('Retry-After', String(retryAfter))
  return reply.code(status).type(SCIM_CONTENT_TYPE).send(scimErrorBody(status, scimType, clipDetail(detail)))
}

export function installErrorHandlers (app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const d = describeError(err)
    if (d.status >= 500) {
      req.log.error({ err, status: d.status }, 'request failed')
    } else {
      req.log.info({ status: d.status, scimType: d.scimType, detail: d.detail, salesforceCode: (err as ScimError).salesforceCode }, 'request refused')
    }
    return sendScimError(reply, d.status, d.scimType, d.detail, d.retryAfter)
  })
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    return sendScimError(reply, 404, undefined, `No endpoint ${req.method} ${req.url.split('?')[0] ?? ''}`)
  })
}

/**
 * Errors Fastify's router raises before any hook or handler runs: a path parameter over maxParamLength (100
 * characters, far beyond any Salesforce id) and a URL that cannot be decoded. Fastify's own answer quotes the
 * whole path and is not a SCIM error; these answer in SCIM's shape, quoting nothing.
 */
export function frameworkErrors (err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  req.log.info({ code: err.code }, 'request refused by the router')
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return sendScimError(reply, 414, undefined, 'A path segment is longer than any resource id')
  return sendScimError(reply, 400, undefined, 'The request URL cannot be decoded')
}
