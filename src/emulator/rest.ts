// Fastify routes for /services/data: versions, then session check, daily limit, faults and the dispatcher.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isSupportedVersion, limitInfo, versionList, type EmulatorContext } from './context.js'
import { dispatch, endpointOf, sobjectOf } from './data-api.js'
import { SalesforceError, notFound } from './errors.js'
import type { AfterCommitStatus, FaultPlan } from './faults.js'
import { URI_TOO_LONG_BODY, bearerToken, dropConnection, injectLatency, rawBody, sendJson, uriTooLong } from './http.js'
import { sleep } from './time.js'
import { looksLikeId } from './ids.js'

const METHODS = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'] as const

export function registerDataRoutes (app: FastifyInstance, ctx: EmulatorContext): void {
  const versions = async (_req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    await injectLatency(ctx)
    // docs/salesforce-behaviour.md#versions: the versions list needs no session, does not count and has no Sforce-Limit-Info.
    ctx.counters.bump('endpoint', 'versions')
    return sendJson(reply, 200, versionList())
  }
  // Checked before the session, the limit and the route: the URI is refused as it arrives. The control API
  // (/__emulator, not part of the org) is exempt. With Node's default 16 KiB head limit such a URI is already
  // refused by clientErrorHandler (http.ts); this check holds when Node is run with a larger limit.
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/__emulator/') || !uriTooLong(request.url)) return
    ctx.counters.bump('status', '414')
    return await sendJson(reply, 414, URI_TOO_LONG_BODY)
  })
  app.get('/services/data', versions)
  app.get('/services/data/', versions)
  app.route({ method: [...METHODS], url: '/services/data/*', handler: async (request, reply) => await handle(ctx, request, reply) })
}

function decodeSegment (s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

async function handle (ctx: EmulatorContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  await injectLatency(ctx)
  const url = new URL(request.url, 'http://emulator.invalid')
  const segments = url.pathname.split('/').slice(3).filter(s => s !== '').map(decodeSegment)
  const override = url.searchParams.get('_HttpMethod')
  // docs/salesforce-behaviour.md#sobject-crud: POST with ?_HttpMethod=PATCH stands for PATCH (clients that cannot send PATCH).
  const method = request.method === 'POST' && override !== null
    ? override.toUpperCase()
    : request.method === 'HEAD' ? 'GET' : request.method
  const send = (status: number, body: unknown, headers: Record<string, string> = {}): FastifyReply => {
    ctx.counters.bump('status', String(status))
    return sendJson(reply, status, body, { 'Sforce-Limit-Info': limitInfo(ctx), ...headers })
  }

  const token = bearerToken(request.headers.authorization)
  const session = token === undefined ? undefined : ctx.sessions.use(token)
  if (session === undefined) {
    // docs/salesforce-behaviour.md#sessions: expired or unknown token.
    return send(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }])
  }
  const [versionSegment = '', ...path] = segments
  if (!isSupportedVersion(versionSegment)) {
    // Assumption (docs/salesforce-behaviour.md#versions, UNVERIFIED): an unknown version is a 404 NOT_FOUND.
    return send(404, notFound().toBody())
  }
  if (ctx.faults.dailyLimitExhausted || ctx.usage.used >= ctx.usage.max) {
    // docs/salesforce-behaviour.md#error-catalog: the daily limit is a 403. Assumption: refused calls do not count.
    return send(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }])
  }
  ctx.usage.used++
  ctx.counters.apiCalls++
  ctx.counters.bump('endpoint', endpointOf(path))
  ctx.counters.bump('method', method)
  const sobject = sobjectOf(path)
  if (sobject !== undefined) ctx.counters.bump('sobject', sobject)

  let body: unknown
  const text = rawBody(request)
  const contentType = request.headers['content-type']
  if (text.trim() !== '' && contentType !== undefined && !/json/i.test(contentType) && method !== 'GET' && method !== 'DELETE') {
    // docs/salesforce-behaviour.md#status-codes: 415 for a body the resource cannot read. XML bodies, which Salesforce also takes,
    // are not emulated. Assumption (UNVERIFIED): the errorCode and text.
    return send(415, [{ message: `MediaType of '${contentType}' is not supported by this resource`, errorCode: 'UNSUPPORTED_MEDIA_TYPE' }])
  }
  if (text.trim() !== '' && method !== 'GET' && method !== 'DELETE') {
    try {
      body = JSON.parse(text)
    } catch (err) {
      // Assumption (docs/salesforce-behaviour.md#error-catalog, UNVERIFIED text).
      return send(400, new SalesforceError('JSON_PARSER_ERROR', `Unexpected character in the JSON body: ${(err as Error).message}`).toBody())
    }
  }

  // Faults strike before the org is touched, so a faulted write changes nothing, except those that come after
  // the commit (dropAfterCommit, errorAfterCommit, latency after the commit): the org changed, the client does
  // not hear it, or hears it late (issue 16). The org commits even when the client has gone meanwhile.
  const plan = ctx.faults.plan(method, request.url)
  if (plan.beforeMs > 0) await sleep(plan.beforeMs)
  if (plan.fail === 'dropConnection') return dropConnection(request, reply)
  if (plan.fail !== undefined) {
    const res = faultResponse(ctx, plan.fail, segments, session.userId)
    return send(res.status, res.body)
  }
  const res = dispatch(ctx, {
    method,
    path,
    version: versionSegment.slice(1),
    query: url.searchParams,
    body,
    headers: request.headers as Record<string, string | undefined>,
    actorId: session.userId,
  })
  if (plan.afterMs > 0) await sleep(plan.afterMs)
  if (plan.afterCommit === 'drop') return dropConnection(request, reply)
  if (plan.afterCommit !== undefined) return sendAfterCommitError(ctx, reply, plan.afterCommit)
  return send(res.status, res.body, res.headers)
}

/**
 * The error a client gets for a write that was applied. 500 is Salesforce's own UNKNOWN_EXCEPTION body.
 * Assumption (issue 16, UNVERIFIED shape): 502 and 504 come from the gateway in front of the org, as an HTML
 * page without Sforce-Limit-Info (jsforce then reports ERROR_HTTP_502 / ERROR_HTTP_504 with the page as message).
 */
function sendAfterCommitError (ctx: EmulatorContext, reply: FastifyReply, status: AfterCommitStatus): FastifyReply {
  ctx.counters.bump('status', String(status))
  if (status === 500) {
    const res = faultResponse(ctx, 'unknownException', [], '')
    return sendJson(reply, 500, res.body, { 'Sforce-Limit-Info': limitInfo(ctx) })
  }
  const title = status === 502 ? '502 Bad Gateway' : '504 Gateway Time-out'
  return reply.code(status).type('text/html').send(`<html><head><title>${title}</title></head><body><center><h1>${title}</h1></center></body></html>\n`)
}

function faultResponse (ctx: EmulatorContext, fault: Exclude<FaultPlan['fail'], 'dropConnection' | undefined>, segments: string[], userId: string): { status: number, body: unknown } {
  if (typeof fault === 'object') return { status: fault.status, body: [{ message: fault.message, errorCode: fault.errorCode }] }
  switch (fault) {
    case 'serverUnavailable':
      // Assumption (docs/salesforce-behaviour.md#error-catalog, text UNVERIFIED).
      return { status: 503, body: [{ message: 'Server unavailable', errorCode: 'SERVER_UNAVAILABLE' }] }
    case 'unableToLockRow': {
      // Assumption (docs/salesforce-behaviour.md#error-catalog, UNVERIFIED): UNABLE_TO_LOCK_ROW is a 400 naming the locked record.
      const id = segments.find(looksLikeId) ?? userId
      return { status: 400, body: [{ message: `unable to obtain exclusive access to this record or 1 records: ${id}`, errorCode: 'UNABLE_TO_LOCK_ROW', fields: [] }] }
    }
    case 'unknownException': {
      const a = Math.floor(ctx.faults.random() * 1e9)
      const b = Math.floor(ctx.faults.random() * 1e5)
      return { status: 500, body: [{ message: `An unexpected error occurred. Please include this ErrorId if you contact support: ${a}-${b} (${-a})`, errorCode: 'UNKNOWN_EXCEPTION' }] }
    }
    case 'requestLimit':
      return { status: 403, body: [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }] }
  }
}
