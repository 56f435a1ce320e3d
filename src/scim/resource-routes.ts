// One resource pipeline for every SCIM resource type: GET by id, list, POST /.search, POST, PUT, PATCH and DELETE
// (RFC 7644 §3.2–3.6), with the same paging, SearchRequest checks, projection, Location and meta.location, ETags
// and errors. What differs between Users and Groups is spelled out in their descriptors (user-resource.ts,
// group-resource.ts), not in copies of this code.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ScimClientConfig } from '../config/types.js'
import type { FilterNode } from '../protocol/filter.js'
import { project, projectionOf, type Projection } from './attributes.js'
import { audited, type AuditedWrite } from './audit.js'
import { parseRequestFilter } from './compat.js'
import { ScimError } from './errors.js'
import { listResponse, pagingOf, SCIM_QUERY_SCHEMA, searchParams, sortOrderOf, type ListParams } from './list-request.js'
import { assertIdMatches, patchOperations } from './patch-message.js'
import type { Renderer } from './resource-shape.js'
import type { PatchOperation } from '../mapping/patch.js'
import type { RequestContext } from './user-service.js'

/** What a service call knows of its request. */
export interface Call {
  req: FastifyRequest
  ctx: RequestContext
  /** `attributes` / `excludedAttributes`, which also tell what is worth reading (a group's members). */
  projection: Projection
  /** This server's SCIM base URL, e.g. https://scim.example/scim/v2. */
  base: string
}

/** A list request after parsing: filter parsed once, paging clamped. */
export interface ListRequest {
  filter?: FilterNode
  sortBy?: string
  sortOrder?: 'ascending' | 'descending'
  startIndex: number
  count: number
}

export interface ScimResource {
  id: string
}

/** The resource type's operations, over its domain service. */
export interface ResourceService<T> {
  get (id: string, call: Call): Promise<T>
  list (q: ListRequest, call: Call): Promise<{ total: number, resources: T[] }>
  create (body: Record<string, unknown>, call: Call): Promise<T>
  replace (id: string, body: Record<string, unknown>, mode: 'merge' | 'replace', call: Call): Promise<T>
  patch (id: string, operations: PatchOperation[], call: Call): Promise<T>
  delete (id: string, call: Call): Promise<void>
}

export interface ResourceDescriptor<T extends ScimResource> {
  /** Path segment under the SCIM prefix: `Users`. */
  endpoint: string
  /** The resource in messages: `user`. */
  noun: string
  service: ResourceService<T>
  /** Outgoing shape (resource-shape.ts), compiled from the SCIMMY declaration. */
  render: Renderer
  /** The plain object to render: the resource as the mapping layer built it, plus what depends on the request. */
  output (resource: T, base: string): Record<string, unknown>
  /** A POST or PUT body, normalised and validated; throws the SCIM error that refuses it. */
  parseBody (body: unknown, req: FastifyRequest): Record<string, unknown>
  /** A PATCH body normalised before the envelope check (patch-message.ts). */
  normalizePatch (body: unknown, req: FastifyRequest): unknown
  maxPatchOperations: number
  /** Whether lists take sortBy/sortOrder; if not, a sortBy is refused with this detail. */
  sorting: { supported: true } | { supported: false, refusal: string }
  /** A filter of blanks means no filter (some IdPs send `filter=` with spaces); otherwise it is a syntax error. */
  blankFilterIsNone: boolean
  /**
   * ETags (RFC 7644 §3.14): If-Match on PUT/PATCH/DELETE, If-None-Match on GET, ETag on answers. `current` reads the
   * version If-Match is checked against; `of` a resource's own version.
   */
  etag?: {
    current (id: string, call: Call): Promise<string | undefined>
    of (resource: T): string | undefined
  }
}

export interface PipelineOptions {
  baseUrl: (req: FastifyRequest) => string
  ctxOf: (req: FastifyRequest) => RequestContext
}

/** Weak comparison (RFC 7232 §2.3.2): SCIM versions are weak ETags, and IdPs echo them as they got them. */
export function etagMatches (header: string, version: string | undefined): boolean {
  if (header.trim() === '*') return true
  if (version === undefined) return false
  const opaque = (tag: string): string => tag.replace(/^W\//, '')
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => opaque(tag) === opaque(version))
}

type IdRequest = FastifyRequest<{ Params: { id: string }, Querystring: ListParams }>

export function registerResource<T extends ScimResource> (app: FastifyInstance, d: ResourceDescriptor<T>, opts: PipelineOptions): void {
  const path = `/${d.endpoint}`
  const schema = { querystring: SCIM_QUERY_SCHEMA }

  // Every write goes into the audit journal with its outcome (audit.ts), in the store of the app, when it has one.
  const store = app.hasDecorator('scimforce') ? app.scimforce.store : undefined
  const resourceType = `${d.noun.charAt(0).toUpperCase()}${d.noun.slice(1)}`
  const journal = async <R>(req: FastifyRequest, operation: AuditedWrite['operation'], id: string | undefined, fn: () => Promise<R>): Promise<R> =>
    await audited(store, req, { operation, resourceType, ...(id !== undefined ? { id } : {}), body: req.body }, fn)

  const callOf = (req: FastifyRequest, params: ListParams): Call =>
    ({ req, ctx: opts.ctxOf(req), projection: projectionOf(params), base: opts.baseUrl(req) })

  const render = (call: Call, resource: T): Record<string, unknown> =>
    project(d.render(d.output(resource, call.base), `${call.base}${path}`), call.projection)

  function send (reply: FastifyReply, status: number, call: Call, resource: T): FastifyReply {
    if (status === 201) reply.header('Location', `${call.base}${path}/${resource.id}`)
    const version = d.etag?.of(resource)
    if (version !== undefined) reply.header('ETag', version)
    return reply.code(status).send(render(call, resource))
  }

  /**
   * If-Match on PUT/PATCH/DELETE: 412 unless the current version matches. It costs one more read, paid only by
   * clients that send the header; a change that lands between this read and the write still wins. A resource type
   * without versions (Groups) cannot confirm any tag, so only `*` passes (RFC 7232 §3.1: the condition is false
   * when no current representation has a matching tag); ignoring the header would write over a change the client
   * meant to guard against.
   */
  async function checkIfMatch (req: IdRequest, call: Call): Promise<void> {
    const header = req.headers['if-match']
    if (header === undefined) return
    if (d.etag === undefined) {
      if (header.trim() === '*') return
      throw new ScimError(412, undefined, `${d.noun.charAt(0).toUpperCase()}${d.noun.slice(1)}s carry no version (no ETag or meta.version), so If-Match can only be "*": send the request without If-Match, or with If-Match: *`)
    }
    const version = await d.etag.current(req.params.id, call)
    if (!etagMatches(header, version)) {
      throw new ScimError(412, undefined, `The ${d.noun} has changed since that version: its current version is ${version ?? 'unknown'}`)
    }
  }

  async function list (req: FastifyRequest, reply: FastifyReply, params: ListParams): Promise<FastifyReply> {
    const { startIndex, count } = pagingOf(params)
    const q: ListRequest = { startIndex, count }
    if (d.sorting.supported) {
      const sortOrder = sortOrderOf(params)
      if (params.sortBy !== undefined) q.sortBy = params.sortBy
      if (sortOrder !== undefined) q.sortOrder = sortOrder
    } else if (params.sortBy !== undefined && params.sortBy !== '') {
      throw new ScimError(400, 'invalidValue', d.sorting.refusal)
    }
    const filter = d.blankFilterIsNone && params.filter?.trim() === '' ? undefined : parseRequestFilter(params.filter)
    if (filter !== undefined) q.filter = filter
    const call = callOf(req, params)
    const page = await d.service.list(q, call)
    return await reply.code(200).send(listResponse(page.total, startIndex, page.resources.map((r) => render(call, r))))
  }

  app.get<{ Querystring: ListParams }>(path, { schema }, async (req, reply) => await list(req, reply, req.query))

  app.post<{ Body: unknown }>(`${path}/.search`, async (req, reply) => await list(req, reply, searchParams(req.body)))

  app.get<{ Params: { id: string }, Querystring: ListParams }>(`${path}/:id`, { schema }, async (req, reply) => {
    const call = callOf(req, req.query)
    const resource = await d.service.get(req.params.id, call)
    const ifNoneMatch = req.headers['if-none-match']
    if (d.etag !== undefined && ifNoneMatch !== undefined) {
      const version = d.etag.of(resource)
      if (etagMatches(ifNoneMatch, version)) {
        if (version !== undefined) reply.header('ETag', version)
        return await reply.code(304).send()
      }
    }
    return send(reply, 200, call, resource)
  })

  app.post<{ Body: unknown, Querystring: ListParams }>(path, { schema }, async (req, reply) => {
    const call = callOf(req, req.query)
    return send(reply, 201, call, await journal(req, 'create', undefined, async () => await d.service.create(d.parseBody(req.body, req), call)))
  })

  app.put<{ Params: { id: string }, Body: unknown, Querystring: ListParams }>(`${path}/:id`, { schema }, async (req, reply) => {
    const call = callOf(req, req.query)
    return send(reply, 200, call, await journal(req, 'replace', req.params.id, async () => {
      const body = d.parseBody(req.body, req)
      assertIdMatches(req.body, req.params.id)
      await checkIfMatch(req, call)
      const mode = (req.scimClient as ScimClientConfig | undefined)?.putMode ?? 'replace'
      return await d.service.replace(req.params.id, body, mode, call)
    }))
  })

  app.patch<{ Params: { id: string }, Body: unknown, Querystring: ListParams }>(`${path}/:id`, { schema }, async (req, reply) => {
    const call = callOf(req, req.query)
    const patched = await journal(req, 'patch', req.params.id, async () => {
      const operations = patchOperations(d.normalizePatch(req.body, req), req.params.id, d.maxPatchOperations)
      await checkIfMatch(req, call)
      return await d.service.patch(req.params.id, operations, call)
    })
    // The client's choice (config clients[].patchResponse); `attributes` always gets the resource (RFC 7644 §3.5.2).
    const noContent = (req.scimClient as ScimClientConfig | undefined)?.patchResponse === 'noContent' && req.query.attributes === undefined && req.query.excludedAttributes === undefined
    if (noContent) {
      const version = d.etag?.of(patched)
      if (version !== undefined) reply.header('ETag', version)
      return await reply.code(204).send()
    }
    return send(reply, 200, call, patched)
  })

  app.delete<{ Params: { id: string }, Querystring: ListParams }>(`${path}/:id`, async (req, reply) => {
    const call = callOf(req, {})
    await journal(req, 'delete', req.params.id, async () => {
      await checkIfMatch(req, call)
      await d.service.delete(req.params.id, call)
    })
    return await reply.code(204).send()
  })
}
