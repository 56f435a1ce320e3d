// The SCIM 2.0 HTTP surface under /scim/v2: Users, discovery endpoints and the RFC-mandated refusals.
// Encapsulated: the auth hook applies to these routes only, so health and metrics stay open.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import SCIMMY from 'scimmy'
import type { Config, ScimClientConfig } from '../config/types.js'
import authPlugin from '../http/auth.js'
import { project, parseAttributeList, type Projection } from './attributes.js'
import { normalizeFilter, normalizePatchBody, normalizeUserBody } from './compat.js'
import { ScimError } from './errors.js'
import type { ScimUser } from '../mapping/user.js'
import type { RequestContext, UserService } from './user-service.js'

export const SCIM_PREFIX = '/scim/v2'
const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'
const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

/** Page size when the client names none, and the most one page may hold (advertised as filter.maxResults). */
export const DEFAULT_COUNT = 100
export const MAX_RESULTS = 1000

export interface ScimRoutesOptions {
  config: Config
  users: UserService
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

let scimmyDeclared = false

/** SCIMMY keeps its declarations process-wide; declare once, whatever number of apps a test process builds. */
function declareScimmy (config: Config): void {
  if (!scimmyDeclared) {
    SCIMMY.Resources.declare(SCIMMY.Resources.User, { extensions: [{ schema: SCIMMY.Schemas.EnterpriseUser, required: false }] })
    scimmyDeclared = true
  }
  const schemes: Array<{ type: string, name: string, description: string }> = []
  if (config.clients.some((c) => c.auth.type === 'basic')) schemes.push({ type: 'httpbasic', name: 'HTTP Basic', description: 'HTTP Basic authentication with a configured client username and password' })
  if (config.clients.some((c) => c.auth.type === 'bearer')) schemes.push({ type: 'oauthbearertoken', name: 'Bearer token', description: 'A static bearer token configured for the client' })
  SCIMMY.Config.set({
    patch: true,
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: config.server.bodyLimit },
    filter: { supported: true, maxResults: MAX_RESULTS },
    sort: true,
    etag: false,
    changePassword: false,
    authenticationSchemes: [],
  })
  SCIMMY.Config.set({ authenticationSchemes: schemes })
}

function toInt (v: string | number | undefined): number | undefined {
  if (v === undefined || v === '') return undefined
  const n = typeof v === 'number' ? v : Number(v)
  if (!Number.isFinite(n)) throw new ScimError(400, 'invalidValue', `Expected a number, got '${String(v)}'`)
  return Math.trunc(n)
}

function projectionOf (q: { attributes?: string | string[], excludedAttributes?: string | string[] }): Projection {
  const join = (v: string | string[] | undefined): string | undefined => Array.isArray(v) ? v.join(',') : v
  const p: Projection = {}
  const a = parseAttributeList(join(q.attributes))
  const e = parseAttributeList(join(q.excludedAttributes))
  if (a !== undefined) p.attributes = a
  if (e !== undefined) p.excludedAttributes = e
  return p
}

export default async function scimRoutes (app: FastifyInstance, opts: ScimRoutesOptions): Promise<void> {
  const { config, users } = opts
  declareScimmy(config)
  await app.register(authPlugin, { clients: config.clients })

  const baseUrl = (req: FastifyRequest): string =>
    (config.server.publicUrl ?? `${req.protocol}://${req.host}`).replace(/\/$/, '') + SCIM_PREFIX

  const ctxOf = (req: FastifyRequest): RequestContext =>
    ({ log: req.log, client: (req.scimClient as ScimClientConfig | undefined)?.name ?? 'unknown' })

  /** SCIMMY shapes the output (canonical names, schemas, meta.location); we then apply the projection. */
  function render (req: FastifyRequest, user: ScimUser, p: Projection): Record<string, unknown> {
    const out = JSON.parse(JSON.stringify(new SCIMMY.Schemas.User(user, 'out', `${baseUrl(req)}/Users`))) as Record<string, unknown>
    return project(out, p)
  }

  function sendResource (req: FastifyRequest, reply: FastifyReply, status: number, user: ScimUser, p: Projection): FastifyReply {
    const body = render(req, user, p)
    const location = `${baseUrl(req)}/Users/${user.id}`
    if (status === 201) reply.header('Location', location)
    if (user.meta.version !== undefined) reply.header('ETag', user.meta.version)
    return reply.code(status).send(body)
  }

  /** Validates a User body with SCIMMY (types, canonical values, required userName) after IdP normalisation. */
  function parseUser (body: unknown): Record<string, unknown> {
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ScimError(400, 'invalidSyntax', 'Request body must be a SCIM User object')
    }
    const normalized = normalizeUserBody(body) as Record<string, unknown>
    const instance = new SCIMMY.Schemas.User(normalized, 'in')
    return JSON.parse(JSON.stringify(instance)) as Record<string, unknown>
  }

  async function list (req: FastifyRequest, reply: FastifyReply, params: ListParams): Promise<FastifyReply> {
    const startIndex = Math.max(1, toInt(params.startIndex) ?? 1)
    const count = Math.min(MAX_RESULTS, Math.max(0, toInt(params.count) ?? DEFAULT_COUNT))
    const sortOrder = params.sortOrder?.toLowerCase()
    if (sortOrder !== undefined && sortOrder !== 'ascending' && sortOrder !== 'descending') {
      throw new ScimError(400, 'invalidValue', "sortOrder must be 'ascending' or 'descending'")
    }
    const filter = params.filter === undefined ? undefined : normalizeFilter(params.filter)
    const page = await users.list({
      ...(filter !== undefined ? { filter } : {}),
      ...(params.sortBy !== undefined ? { sortBy: params.sortBy } : {}),
      ...(sortOrder !== undefined ? { sortOrder } : {}),
      startIndex,
      count,
    }, ctxOf(req))
    const p = projectionOf(params)
    return await reply.code(200).send({
      schemas: [LIST_RESPONSE],
      totalResults: page.total,
      startIndex,
      // RFC 7644 §3.4.2.4: the number of resources in this page (Okta relies on it), not the requested count.
      itemsPerPage: page.resources.length,
      Resources: page.resources.map((u) => render(req, u, p)),
    })
  }

  app.get<{ Querystring: ListParams }>('/Users', async (req, reply) => await list(req, reply, req.query))

  app.post<{ Body: Record<string, unknown> & ListParams & { schemas?: string[] } }>('/Users/.search', async (req, reply) => {
    const body = req.body
    if (body === undefined || body === null || typeof body !== 'object' || !Array.isArray(body.schemas) || !body.schemas.includes(SEARCH_REQUEST)) {
      throw new ScimError(400, 'invalidSyntax', `A search request needs schemas [${SEARCH_REQUEST}]`)
    }
    return await list(req, reply, body)
  })

  app.get<{ Params: { id: string }, Querystring: ListParams }>('/Users/:id', async (req, reply) =>
    sendResource(req, reply, 200, await users.get(req.params.id, ctxOf(req)), projectionOf(req.query)))

  app.post<{ Body: unknown, Querystring: ListParams }>('/Users', async (req, reply) => {
    const { user } = await users.create(parseUser(req.body), ctxOf(req))
    return sendResource(req, reply, 201, user, projectionOf(req.query))
  })

  app.put<{ Params: { id: string }, Body: unknown, Querystring: ListParams }>('/Users/:id', async (req, reply) => {
    const client = req.scimClient as ScimClientConfig | undefined
    const user = await users.replace(req.params.id, parseUser(req.body), client?.putMode ?? 'replace', ctxOf(req))
    return sendResource(req, reply, 200, user, projectionOf(req.query))
  })

  app.patch<{ Params: { id: string }, Body: unknown, Querystring: ListParams }>('/Users/:id', async (req, reply) => {
    const body = normalizePatchBody(req.body) as { schemas?: unknown, Operations?: unknown }
    if (body === undefined || body === null || typeof body !== 'object') throw new ScimError(400, 'invalidSyntax', 'Request body must be a SCIM PatchOp message')
    if (!Array.isArray(body.schemas) || !body.schemas.includes(PATCH_OP)) throw new ScimError(400, 'invalidSyntax', `A PATCH request needs schemas [${PATCH_OP}]`)
    if (!Array.isArray(body.Operations) || body.Operations.length === 0) throw new ScimError(400, 'invalidValue', 'A PATCH request needs at least one operation')
    for (const op of body.Operations as unknown[]) {
      if (op === null || typeof op !== 'object' || typeof (op as { op?: unknown }).op !== 'string') throw new ScimError(400, 'invalidSyntax', 'Each PATCH operation needs an op')
      const path = (op as { path?: unknown }).path
      if (path !== undefined && typeof path !== 'string') throw new ScimError(400, 'invalidPath', 'A PATCH path must be a string')
    }
    const user = await users.patch(req.params.id, body as { Operations: Array<{ op: string, path?: string, value?: unknown }> }, ctxOf(req))
    return sendResource(req, reply, 200, user, projectionOf(req.query))
  })

  app.delete<{ Params: { id: string } }>('/Users/:id', async (req, reply) => {
    await users.delete(req.params.id, ctxOf(req))
    return await reply.code(204).send()
  })

  // Discovery (RFC 7644 §4), answered by SCIMMY from the declarations above.
  const discovery = async <T>(req: FastifyRequest, read: () => Promise<T>): Promise<T> => {
    if (Object.keys(req.query as object).some((k) => k.toLowerCase() === 'filter')) {
      throw new ScimError(403, undefined, 'Filtering is not allowed on discovery endpoints (RFC 7644 §4)')
    }
    for (const R of [SCIMMY.Resources.Schema, SCIMMY.Resources.ResourceType, SCIMMY.Resources.ServiceProviderConfig]) R.basepath(baseUrl(req))
    return await read()
  }
  app.get('/ServiceProviderConfig', async (req) => await discovery(req, async () => await new SCIMMY.Resources.ServiceProviderConfig().read()))
  app.get('/ResourceTypes', async (req) => await discovery(req, async () => await new SCIMMY.Resources.ResourceType().read()))
  app.get<{ Params: { id: string } }>('/ResourceTypes/:id', async (req) => await discovery(req, async () => await new SCIMMY.Resources.ResourceType(req.params.id).read()))
  app.get('/Schemas', async (req) => await discovery(req, async () => await new SCIMMY.Resources.Schema().read()))
  app.get<{ Params: { id: string } }>('/Schemas/:id', async (req) => await discovery(req, async () => await new SCIMMY.Resources.Schema(req.params.id).read()))

  // Writes to read-only endpoints: 405 with Allow, as Okta's optional tests and RFC 7231 expect.
  for (const url of ['/ServiceProviderConfig', '/ResourceTypes', '/ResourceTypes/:id', '/Schemas', '/Schemas/:id']) {
    app.route({
      method: ['POST', 'PUT', 'PATCH', 'DELETE'],
      url,
      handler: async (_req, reply) => {
        reply.header('Allow', 'GET')
        throw new ScimError(405, undefined, 'This endpoint is read-only')
      },
    })
  }
  app.all('/Me', async () => { throw new ScimError(501, undefined, '/Me is not supported: scimforce authenticates IdP clients, not end users') })
  app.all('/Bulk', async () => { throw new ScimError(501, undefined, 'Bulk operations are not supported') })
}
