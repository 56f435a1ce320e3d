// The SCIM 2.0 HTTP surface under /scim/v2: Users, discovery endpoints and the RFC-mandated refusals.
// Encapsulated: the auth hook applies to these routes only, so health and metrics stay open.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import SCIMMY from 'scimmy'
import type { Config, ScimClientConfig } from '../config/types.js'
import authPlugin from '../http/auth.js'
import { sendScimError } from '../http/errors.js'
import { project, projectionOf, toInt, type Projection } from './attributes.js'
import { CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, LIST_RESPONSE_SCHEMA as LIST_RESPONSE, SCIM_PREFIX, SEARCH_REQUEST_SCHEMA as SEARCH_REQUEST } from '../protocol/constants.js'
import { normalizePatchBody, normalizeUserBody, parseRequestFilter } from './compat.js'
import { ScimError } from './errors.js'
import { assertIdMatches, patchOperations } from './patch-message.js'
import { createUserMapping, type ScimUser } from '../mapping/user.js'
import groupRoutes, { wantsUserGroups } from './group-routes.js'
import { createGroupService, type GroupService } from './group-service.js'
import type { RequestContext, UserService } from './user-service.js'

export { SCIM_PREFIX }

/** Page size when the client names none, and the most one page may hold (advertised as filter.maxResults). */
export const DEFAULT_COUNT = 100
export const MAX_RESULTS = 1000
/**
 * Operations one PATCH may carry. A user has a few dozen attributes, so real IdPs send one to a handful; the cap
 * bounds the work (each operation is applied to the whole resource) of a request that fits the body limit. Over
 * it: 413, as RFC 7644 §3.7.4 answers a bulk request over maxOperations, since it is a size limit.
 */
export const MAX_PATCH_OPERATIONS = 100

const STRING_OR_LIST = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] }
/**
 * The query parameters of SCIM reads and writes: a repeated scalar (`sortBy=a&sortBy=b`) is a 400, not a crash.
 * Numbers stay strings here; toInt() reads them with a message that names the value.
 */
export const SCIM_QUERY_SCHEMA = {
  type: 'object',
  properties: {
    filter: { type: 'string' },
    sortBy: { type: 'string' },
    sortOrder: { type: 'string' },
    startIndex: { type: 'string' },
    count: { type: 'string' },
    attributes: STRING_OR_LIST,
    excludedAttributes: STRING_OR_LIST,
  },
} as const

export interface ScimRoutesOptions {
  config: Config
  users: UserService
  /** Defaults to one built on the app's `scimforce` gateway and store. */
  groups?: GroupService
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
    SCIMMY.Resources.declare(SCIMMY.Resources.Group)
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
    // meta.version (from SystemModstamp) is checked against If-Match / If-None-Match below.
    etag: true,
    changePassword: false,
    authenticationSchemes: [],
  })
  SCIMMY.Config.set({ authenticationSchemes: schemes })
}

/** A SearchRequest's parameters (RFC 7644 §3.4.3), names matched case-insensitively, types checked. */
function searchParams (body: Record<string, unknown>): ListParams {
  const get = (name: string): unknown => body[Object.keys(body).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name]
  const out: ListParams = {}
  for (const name of ['filter', 'sortBy', 'sortOrder'] as const) {
    const v = get(name)
    if (v === undefined || v === null) continue
    if (typeof v !== 'string') throw new ScimError(400, 'invalidValue', `SearchRequest ${name} must be a string`)
    out[name] = v
  }
  for (const name of ['startIndex', 'count'] as const) {
    const v = get(name)
    if (v === undefined || v === null) continue
    if (typeof v !== 'number' && typeof v !== 'string') throw new ScimError(400, 'invalidValue', `SearchRequest ${name} must be an integer`)
    out[name] = v
  }
  for (const name of ['attributes', 'excludedAttributes'] as const) {
    const v = get(name)
    if (v === undefined || v === null) continue
    if (typeof v !== 'string' && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) {
      throw new ScimError(400, 'invalidValue', `SearchRequest ${name} must be a list of attribute names`)
    }
    out[name] = v
  }
  return out
}

const KNOWN_SCHEMAS = [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA].map((s) => s.toLowerCase())
const clip = (s: string): string => (s.length > 100 ? `${s.slice(0, 100)}…` : s)

/**
 * A schema this server does not implement, in `schemas` or as an extension key, would otherwise be dropped in
 * silence (SCIMMY ignores what it does not know): the IdP would believe the data stored. Refuse it by name.
 */
function assertKnownSchemas (body: Record<string, unknown>): void {
  const schemas = body.schemas
  if (schemas !== undefined && (!Array.isArray(schemas) || !schemas.every((s) => typeof s === 'string'))) {
    throw new ScimError(400, 'invalidSyntax', 'schemas must be a list of schema URNs')
  }
  for (const s of (schemas ?? []) as string[]) {
    if (!KNOWN_SCHEMAS.includes(s.toLowerCase())) throw new ScimError(400, 'invalidSyntax', `Unsupported schema '${clip(s)}': Users support ${CORE_USER_SCHEMA} and ${ENTERPRISE_USER_SCHEMA}`)
  }
  for (const key of Object.keys(body)) {
    const k = key.toLowerCase()
    if (k.startsWith('urn:') && !KNOWN_SCHEMAS.some((s) => k === s || k.startsWith(`${s}:`))) {
      throw new ScimError(400, 'invalidSyntax', `Unsupported schema extension '${clip(key)}'`)
    }
  }
}

/** Weak comparison (RFC 7232 §2.3.2): SCIM versions are weak ETags, and IdPs echo them as they got them. */
function etagMatches (header: string, version: string | undefined): boolean {
  if (header.trim() === '*') return true
  if (version === undefined) return false
  const opaque = (tag: string): string => tag.replace(/^W\//, '')
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => opaque(tag) === opaque(version))
}

export default async function scimRoutes (app: FastifyInstance, opts: ScimRoutesOptions): Promise<void> {
  const { config, users } = opts
  declareScimmy(config)
  await app.register(authPlugin, { clients: config.clients })

  const baseUrl = (req: FastifyRequest): string =>
    (config.server.publicUrl ?? `${req.protocol}://${req.host}`).replace(/\/$/, '') + SCIM_PREFIX

  const ctxOf = (req: FastifyRequest): RequestContext =>
    ({ log: req.log, client: (req.scimClient as ScimClientConfig | undefined)?.name ?? 'unknown' })

  // Groups (group-routes.ts): built on the app's gateway and store unless handed in.
  const groups = opts.groups ?? (app.hasDecorator('scimforce')
    ? createGroupService({ gateway: app.scimforce.gateway, store: app.scimforce.store, groups: config.groups, users: config.users, userMapping: createUserMapping(config.users) })
    : undefined)

  /**
   * If-Match on PUT/PATCH/DELETE (RFC 7644 §3.14): 412 unless the user's current meta.version matches. It costs
   * one more Salesforce read, paid only by clients that send the header; a change that lands between this read
   * and the write still wins (Salesforce's own If-Unmodified-Since would close that window; not used yet).
   */
  async function checkIfMatch (req: FastifyRequest<{ Params: { id: string } }>): Promise<void> {
    const header = req.headers['if-match']
    if (header === undefined) return
    const current = await users.get(req.params.id, ctxOf(req))
    if (!etagMatches(header, current.meta.version)) {
      throw new ScimError(412, undefined, `The user has changed since that version: its current version is ${current.meta.version ?? 'unknown'}`)
    }
  }

  // Write methods send JSON (RFC 7644 §3.1); Fastify's own text/plain parser would hand a string on.
  app.addHook('preValidation', async (req) => {
    if (req.method !== 'POST' && req.method !== 'PUT' && req.method !== 'PATCH') return
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
    if (type === 'application/scim+json' || type === 'application/json' || (type === '' && req.body === undefined)) return
    throw new ScimError(415, undefined, 'Unsupported Content-Type: send application/scim+json')
  })

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
    assertKnownSchemas(normalized)
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
    const filter = parseRequestFilter(params.filter)
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

  const schema = { querystring: SCIM_QUERY_SCHEMA }
  app.get<{ Querystring: ListParams }>('/Users', { schema }, async (req, reply) => await list(req, reply, req.query))

  app.post<{ Body: Record<string, unknown> & ListParams & { schemas?: string[] } }>('/Users/.search', async (req, reply) => {
    const body = req.body
    if (body === undefined || body === null || typeof body !== 'object' || !Array.isArray(body.schemas) || !body.schemas.includes(SEARCH_REQUEST)) {
      throw new ScimError(400, 'invalidSyntax', `A search request needs schemas [${SEARCH_REQUEST}]`)
    }
    return await list(req, reply, searchParams(body))
  })

  app.get<{ Params: { id: string }, Querystring: ListParams }>('/Users/:id', { schema }, async (req, reply) => {
    // A user's groups travel in the same composite as the user record: still one Salesforce call.
    const withGroups = groups !== undefined && wantsUserGroups(projectionOf(req.query))
    const user = await users.get(req.params.id, ctxOf(req), withGroups ? { groups: groups.userGroups(req.params.id, `${baseUrl(req)}/Groups`) } : undefined)
    const ifNoneMatch = req.headers['if-none-match']
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, user.meta.version)) {
      if (user.meta.version !== undefined) reply.header('ETag', user.meta.version)
      return await reply.code(304).send()
    }
    return sendResource(req, reply, 200, user, projectionOf(req.query))
  })

  app.post<{ Body: unknown, Querystring: ListParams }>('/Users', { schema }, async (req, reply) => {
    const { user } = await users.create(parseUser(req.body), ctxOf(req))
    return sendResource(req, reply, 201, user, projectionOf(req.query))
  })

  app.put<{ Params: { id: string }, Body: unknown, Querystring: ListParams }>('/Users/:id', { schema }, async (req, reply) => {
    const client = req.scimClient as ScimClientConfig | undefined
    const body = parseUser(req.body)
    assertIdMatches(req.body, req.params.id)
    await checkIfMatch(req)
    const user = await users.replace(req.params.id, body, client?.putMode ?? 'replace', ctxOf(req))
    return sendResource(req, reply, 200, user, projectionOf(req.query))
  })

  app.patch<{ Params: { id: string }, Body: unknown, Querystring: ListParams }>('/Users/:id', { schema }, async (req, reply) => {
    const operations = patchOperations(normalizePatchBody(req.body), req.params.id, MAX_PATCH_OPERATIONS)
    await checkIfMatch(req)
    const user = await users.patch(req.params.id, { Operations: operations }, ctxOf(req))
    return sendResource(req, reply, 200, user, projectionOf(req.query))
  })

  app.delete<{ Params: { id: string } }>('/Users/:id', async (req, reply) => {
    await checkIfMatch(req)
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
  if (groups !== undefined) {
    await app.register(groupRoutes, { groups, baseUrl, ctxOf, querySchema: SCIM_QUERY_SCHEMA, defaultCount: DEFAULT_COUNT, maxResults: MAX_RESULTS })
  }
  app.all('/Me', async () => { throw new ScimError(501, undefined, '/Me is not supported: scimforce authenticates IdP clients, not end users') })
  app.all('/Bulk', async () => { throw new ScimError(501, undefined, 'Bulk operations are not supported') })
  // Inside this context, so the auth hook runs first: without credentials nothing tells which paths exist.
  app.setNotFoundHandler((req, reply) => sendScimError(reply, 404, undefined, `No endpoint ${req.method} ${clip(req.url.split('?')[0] ?? '')}`))
}
