// POST /Bulk (RFC 7644 §3.7): the operations of a BulkRequest run through the same resource descriptors and
// services as single requests (so rehire, scope and ownership rules hold alike), concurrently where bulkId
// references allow, so that the Salesforce layer's coalescer packs them into sObject Collections calls.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ScimClientConfig } from '../config/types.js'
import { describeError } from '../http/errors.js'
import { BULK_RESPONSE_SCHEMA, parseBulkRequest, planBulk, resolvePath, resolveReferences, type BulkOperation } from './bulk-refs.js'
import { SCIM_CONTENT_TYPE, scimErrorBody, ScimError, type ScimErrorBody } from './errors.js'
import { assertIdMatches, patchOperations } from './patch-message.js'
import { etagMatches, type Call, type PipelineOptions, type ResourceDescriptor, type ScimResource } from './resource-routes.js'

/** RFC 7644 §3.7.4 limits, advertised in ServiceProviderConfig. 1,000 operations: an initial load in ten requests. */
export const MAX_BULK_OPERATIONS = 1000
/** A thousand users of a few hundred bytes each fit with room to spare; the body limit applies if it is larger. */
export const MIN_BULK_PAYLOAD = 4 * 1024 * 1024

export interface BulkOptions {
  resources: ReadonlyArray<ResourceDescriptor<ScimResource>>
  pipeline: PipelineOptions
  maxOperations: number
  maxPayloadSize: number
}

/** One entry of a BulkResponse (RFC 7644 §3.7.3); `status` is a string, as in the RFC's examples. */
export interface BulkResult {
  method: string
  bulkId?: string
  version?: string
  location?: string
  status: string
  response?: ScimErrorBody
}

interface Outcome { status: number, id?: string, location?: string, version?: string, error?: ScimErrorBody }

export function registerBulk (app: FastifyInstance, opts: BulkOptions): void {
  const byEndpoint = new Map(opts.resources.map((d) => [d.endpoint.toLowerCase(), d]))

  app.post('/Bulk', { bodyLimit: opts.maxPayloadSize }, async (req, reply) => {
    // A body over maxPayloadSize never gets here: Fastify refuses it with 413 (http/errors.ts), as §3.7.4 asks.
    const parsed = parseBulkRequest(req.body, opts.maxOperations)
    const plan = planBulk(parsed.operations)
    const call: Call = { req, ctx: opts.pipeline.ctxOf(req), projection: {}, base: opts.pipeline.baseUrl(req) }
    const created = new Map<string, string>()
    const running = new Map<number, Promise<Outcome>>()
    const outcomes = new Map<number, Outcome>()

    const run = async (op: BulkOperation): Promise<Outcome> => {
      const refused = plan.refused.get(op.index) ?? op.invalid
      if (refused !== undefined) return failure(refused)
      // Every operation this one waits for started earlier (plan.order), in this window or a previous one.
      await Promise.all((plan.dependsOn.get(op.index) ?? []).map(async (i) => await running.get(i)))
      const missing = op.refs.find((ref) => !created.has(ref))
      if (missing !== undefined) {
        return failure(new ScimError(409, 'invalidValue', `bulkId:${missing.slice(0, 40)} refers to an operation of this request that failed`))
      }
      try {
        const out = await execute(op, resolvePath(op.path, created), resolveReferences(op.data, created), call, byEndpoint)
        if (op.method === 'POST' && op.bulkId !== undefined && out.id !== undefined) created.set(op.bulkId, out.id)
        return out
      } catch (err) {
        const d = describeError(err)
        if (d.status >= 500) req.log.error({ err, operation: op.index }, 'bulk operation failed')
        return { status: d.status, error: scimErrorBody(d.status, d.scimType, d.detail) }
      }
    }

    // failOnErrors (RFC 7644 §3.7.3): with a limit, operations start in windows no larger than the errors still
    // accepted, so no operation starts after the limit was reached (the windows of an unlimited request: one).
    let errors = 0
    let pos = 0
    while (pos < plan.order.length && (parsed.failOnErrors === 0 || errors < parsed.failOnErrors)) {
      const size = parsed.failOnErrors === 0 ? plan.order.length : parsed.failOnErrors - errors
      const window = plan.order.slice(pos, pos + size)
      pos += window.length
      for (const i of window) running.set(i, run(parsed.operations[i] as BulkOperation))
      for (const i of window) {
        const o = await (running.get(i) as Promise<Outcome>)
        outcomes.set(i, o)
        if (o.status >= 400) errors++
      }
    }

    const Operations: BulkResult[] = parsed.operations.filter((op) => outcomes.has(op.index)).map((op) => {
      const o = outcomes.get(op.index) as Outcome
      return {
        method: op.method,
        ...(op.bulkId !== undefined ? { bulkId: op.bulkId } : {}),
        ...(o.version !== undefined ? { version: o.version } : {}),
        ...(o.location !== undefined ? { location: o.location } : {}),
        status: String(o.status),
        ...(o.error !== undefined ? { response: o.error } : {}),
      }
    })
    req.log.info({ operations: parsed.operations.length, processed: Operations.length, errors }, 'bulk request')
    return await reply.code(200).type(SCIM_CONTENT_TYPE).send({ schemas: [BULK_RESPONSE_SCHEMA], Operations })
  })

  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: '/Bulk',
    handler: async (_req, reply) => {
      reply.header('Allow', 'POST')
      throw new ScimError(405, undefined, 'Bulk requests are POSTed (RFC 7644 §3.7)')
    },
  })
}

function failure (err: ScimError): Outcome {
  return { status: err.status, error: err.toBody() }
}

/** One operation through its resource type's pipeline: the same parsing, checks and service calls as a single request. */
async function execute (op: BulkOperation, path: string, data: unknown, call: Call, byEndpoint: ReadonlyMap<string, ResourceDescriptor<ScimResource>>): Promise<Outcome> {
  const [endpoint = '', rawId] = path.replace(/^\//, '').split('/')
  const d = byEndpoint.get(endpoint.toLowerCase())
  if (d === undefined) throw new ScimError(404, undefined, `No resource type at ${path.slice(0, 60)}`)
  const req: FastifyRequest = call.req
  const location = (id: string): string => `${call.base}/${d.endpoint}/${id}`
  const ok = (status: number, resource: ScimResource | undefined, id: string): Outcome => {
    const version = resource !== undefined ? d.etag?.of(resource) : undefined
    return { status, id, location: location(id), ...(version !== undefined ? { version } : {}) }
  }
  const id = rawId ?? ''
  if (id.startsWith('bulkId:')) throw new ScimError(409, 'invalidValue', `${id.slice(0, 60)} was not created`)
  // `version` is the operation's If-Match (RFC 7644 §3.7.2): one more read, paid only by operations that carry it.
  const checkVersion = async (): Promise<void> => {
    if (op.version === undefined || d.etag === undefined) return
    const current = await d.etag.current(id, call)
    if (!etagMatches(op.version, current)) throw new ScimError(412, undefined, `The ${d.noun} has changed since that version: its current version is ${current ?? 'unknown'}`)
  }
  switch (op.method) {
    case 'POST': {
      const resource = await d.service.create(d.parseBody(data, req), call)
      return ok(201, resource, resource.id)
    }
    case 'PUT': {
      const body = d.parseBody(data, req)
      assertIdMatches(data, id)
      await checkVersion()
      const mode = (req.scimClient as ScimClientConfig | undefined)?.putMode ?? 'replace'
      return ok(200, await d.service.replace(id, body, mode, call), id)
    }
    case 'PATCH': {
      const operations = patchOperations(d.normalizePatch(data, req), id, d.maxPatchOperations)
      await checkVersion()
      return ok(200, await d.service.patch(id, operations, call), id)
    }
    case 'DELETE':
      await checkVersion()
      await d.service.delete(id, call)
      return ok(204, undefined, id)
  }
}
