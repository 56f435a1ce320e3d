// Which Salesforce record a SCIM write created or changed, for its "request completed" log line: an admin asked
// "who created this user?" finds the request (client, request id, time) by the Salesforce Id.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

// A SCIM id here is the Salesforce record Id, for users and groups alike (src/mapping/user.ts, group.ts).
const RECORD_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
// Users and Groups, and not /.search (a POST that reads) nor /Bulk.
const RESOURCE_ROUTE = /\/(Users|Groups)(?:\/:id)?$/

const ids = new WeakMap<FastifyRequest, string>()

/** The Salesforce Id a successful write on /Users or /Groups touched, or undefined. */
export function salesforceIdOf (req: FastifyRequest): string | undefined {
  return ids.get(req)
}

function idOf (req: FastifyRequest, reply: FastifyReply, payload: unknown): string | undefined {
  const params = req.params as { id?: unknown } | undefined
  if (typeof params?.id === 'string') return params.id
  // A create: the new id is only in the answer (a serialized SCIM resource by now).
  if (req.method !== 'POST' || reply.statusCode !== 201 || typeof payload !== 'string') return undefined
  try {
    const body = JSON.parse(payload) as { id?: unknown }
    return typeof body.id === 'string' ? body.id : undefined
  } catch {
    return undefined
  }
}

/** Remembers, per request, the record a successful write touched; read when the request's line is logged. */
export function captureSalesforceIds (app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply, payload) => {
    if (!WRITES.has(req.method) || reply.statusCode >= 300 || !RESOURCE_ROUTE.test(req.routeOptions.url ?? '')) return payload
    const id = idOf(req, reply, payload)
    if (id !== undefined && RECORD_ID.test(id)) ids.set(req, id)
    return payload
  })
}
