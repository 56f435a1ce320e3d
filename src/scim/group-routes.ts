// The SCIM Groups endpoints (/Groups), registered inside the SCIM routes' context so that auth and its hooks apply.
// SCIMMY validates bodies and shapes output; membership work is the group service's.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import SCIMMY from 'scimmy'
import type { ScimClientConfig } from '../config/types.js'
import { stripsUserStorePrefix, type ScimGroup } from '../mapping/group.js'
import { project, projectionOf, toInt, type Projection } from './attributes.js'
import { normalizeGroupBody, normalizeGroupPatchBody, parseRequestFilter } from './compat.js'
import { ScimError } from './errors.js'
import { assertIdMatches, patchOperations } from './patch-message.js'
import type { GroupService } from './group-service.js'
import type { RequestContext } from './user-service.js'

const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'
const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'
/**
 * Operations one group PATCH may carry. Entra puts many members in one operation's value, Okta sends one remove
 * per member plus one add: a few hundred at most in practice; the cap bounds the work a body within the limit asks.
 */
export const MAX_GROUP_PATCH_OPERATIONS = 1000

export interface GroupRoutesOptions {
  groups: GroupService
  baseUrl: (req: FastifyRequest) => string
  ctxOf: (req: FastifyRequest) => RequestContext
  /** Fastify schema of SCIM query parameters (shared with /Users). */
  querySchema: object
  defaultCount: number
  maxResults: number
}

interface ListParams {
  filter?: string
  startIndex?: string | number
  count?: string | number
  sortBy?: string
  sortOrder?: string
  attributes?: string | string[]
  excludedAttributes?: string | string[]
}

const namesMembers = (list: string[] | undefined): boolean =>
  (list ?? []).some((a) => /^(?:urn:ietf:params:scim:schemas:core:2\.0:group:)?members(?:\.|$)/i.test(a))

/**
 * Whether an answer carries members. `byDefault`: GET by id, POST and PUT answer with them (RFC 7643 returned
 * "default"); lists and PATCH answers leave them out unless `attributes` names them, because IdPs look groups up
 * by displayName before every change and a large group's members would cost a read each time (README "Groups").
 */
export function wantsMembers (p: Projection, byDefault: boolean): boolean {
  if (p.attributes !== undefined && p.attributes.length > 0) return namesMembers(p.attributes)
  if (namesMembers(p.excludedAttributes)) return false
  return byDefault
}

/** Whether a GET /Users/{id} answer carries `groups` (returned by default; skipped when excluded or not asked for). */
export function wantsUserGroups (p: Projection): boolean {
  const names = (list: string[] | undefined): boolean => (list ?? []).some((a) => /^(?:urn:ietf:params:scim:schemas:core:2\.0:user:)?groups(?:\.|$)/i.test(a))
  if (p.attributes !== undefined && p.attributes.length > 0) return names(p.attributes)
  return !names(p.excludedAttributes)
}

export default async function groupRoutes (app: FastifyInstance, opts: GroupRoutesOptions): Promise<void> {
  const { groups, baseUrl, ctxOf } = opts
  const schema = { querystring: opts.querySchema }
  const stripPrefix = (req: FastifyRequest): boolean => stripsUserStorePrefix(req.scimClient as ScimClientConfig | undefined)

  function render (req: FastifyRequest, group: ScimGroup, p: Projection): Record<string, unknown> {
    const base = baseUrl(req)
    const withRefs = group.members === undefined
      ? group
      : { ...group, members: group.members.map((m) => ({ ...m, $ref: `${base}/${m.type === 'Group' ? 'Groups' : 'Users'}/${m.value}` })) }
    const out = JSON.parse(JSON.stringify(new SCIMMY.Schemas.Group(withRefs, 'out', `${base}/Groups`))) as Record<string, unknown>
    return project(out, p)
  }

  function send (req: FastifyRequest, reply: FastifyReply, status: number, group: ScimGroup, p: Projection): FastifyReply {
    if (status === 201) reply.header('Location', `${baseUrl(req)}/Groups/${group.id}`)
    return reply.code(status).send(render(req, group, p))
  }

  /** Validates a Group body with SCIMMY (displayName required, member shapes) after IdP normalisation. */
  function parseGroup (req: FastifyRequest): Record<string, unknown> {
    const body = req.body
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ScimError(400, 'invalidSyntax', 'Request body must be a SCIM Group object')
    }
    const normalized = normalizeGroupBody(body, { stripPrefix: stripPrefix(req) }) as Record<string, unknown>
    return JSON.parse(JSON.stringify(new SCIMMY.Schemas.Group(normalized, 'in'))) as Record<string, unknown>
  }

  async function list (req: FastifyRequest, reply: FastifyReply, params: ListParams): Promise<FastifyReply> {
    const startIndex = Math.max(1, toInt(params.startIndex) ?? 1)
    const count = Math.min(opts.maxResults, Math.max(0, toInt(params.count) ?? opts.defaultCount))
    if (params.sortBy !== undefined && params.sortBy !== '') {
      // Groups come from several Salesforce objects; one stable order (by Id) is what paging relies on.
      throw new ScimError(400, 'invalidValue', 'sortBy is not supported for Groups')
    }
    const p = projectionOf(params)
    // A blank Groups filter has always meant no filter (some IdPs send `filter=` with spaces).
    const filter = params.filter?.trim() === '' ? undefined : parseRequestFilter(params.filter)
    const page = await groups.list({
      ...(filter !== undefined ? { filter } : {}),
      startIndex,
      count,
      stripPrefix: stripPrefix(req),
    }, ctxOf(req), { members: wantsMembers(p, false) })
    return await reply.code(200).send({
      schemas: [LIST_RESPONSE],
      totalResults: page.total,
      startIndex,
      itemsPerPage: page.resources.length,
      Resources: page.resources.map((g) => render(req, g, p)),
    })
  }

  app.get<{ Querystring: ListParams }>('/Groups', { schema }, async (req, reply) => await list(req, reply, req.query))

  app.post<{ Body: Record<string, unknown> & ListParams & { schemas?: string[] } }>('/Groups/.search', async (req, reply) => {
    const body = req.body
    if (body === undefined || body === null || typeof body !== 'object' || !Array.isArray(body.schemas) || !body.schemas.includes(SEARCH_REQUEST)) {
      throw new ScimError(400, 'invalidSyntax', `A search request needs schemas [${SEARCH_REQUEST}]`)
    }
    const params: ListParams = {}
    if (typeof body.filter === 'string') params.filter = body.filter
    if (typeof body.startIndex === 'number' || typeof body.startIndex === 'string') params.startIndex = body.startIndex
    if (typeof body.count === 'number' || typeof body.count === 'string') params.count = body.count
    if (body.attributes !== undefined) params.attributes = body.attributes
    if (body.excludedAttributes !== undefined) params.excludedAttributes = body.excludedAttributes
    return await list(req, reply, params)
  })

  app.get<{ Params: { id: string }, Querystring: ListParams }>('/Groups/:id', { schema }, async (req, reply) => {
    const p = projectionOf(req.query)
    return send(req, reply, 200, await groups.get(req.params.id, ctxOf(req), { members: wantsMembers(p, true) }), p)
  })

  app.post<{ Body: unknown, Querystring: ListParams }>('/Groups', { schema }, async (req, reply) => {
    const group = await groups.create(parseGroup(req), ctxOf(req))
    return send(req, reply, 201, group, projectionOf(req.query))
  })

  app.put<{ Params: { id: string }, Body: unknown, Querystring: ListParams }>('/Groups/:id', { schema }, async (req, reply) => {
    const body = parseGroup(req)
    assertIdMatches(req.body, req.params.id)
    const client = req.scimClient as ScimClientConfig | undefined
    const group = await groups.replace(req.params.id, body, client?.putMode ?? 'replace', ctxOf(req))
    return send(req, reply, 200, group, projectionOf(req.query))
  })

  app.patch<{ Params: { id: string }, Body: unknown, Querystring: ListParams }>('/Groups/:id', { schema }, async (req, reply) => {
    const operations = patchOperations(normalizeGroupPatchBody(req.body, { stripPrefix: stripPrefix(req) }), req.params.id, MAX_GROUP_PATCH_OPERATIONS)
    const p = projectionOf(req.query)
    const group = await groups.patch(req.params.id, operations, ctxOf(req), { members: wantsMembers(p, false) })
    return send(req, reply, 200, group, p)
  })

  app.delete<{ Params: { id: string } }>('/Groups/:id', async (req, reply) => {
    await groups.delete(req.params.id, ctxOf(req))
    return await reply.code(204).send()
  })
}
