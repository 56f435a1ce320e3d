// The SCIM 2.0 HTTP surface under /scim/v2: Users and Groups (one resource pipeline, resource-routes.ts), discovery
// endpoints and the RFC-mandated refusals. Encapsulated: the auth hook applies to these routes only, so health and
// metrics stay open.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import SCIMMY from 'scimmy'
import type { Config, ScimClientConfig } from '../config/types.js'
import authPlugin from '../http/auth.js'
import { sendScimError } from '../http/errors.js'
import { createUserMapping } from '../mapping/user.js'
import { SCIM_CONTENT_TYPE, SCIM_PREFIX } from '../protocol/constants.js'
import { MAX_BULK_OPERATIONS, MIN_BULK_PAYLOAD, registerBulk } from './bulk.js'
import { clip, ScimError } from './errors.js'
import { groupResource } from './group-resource.js'
import { createGroupService, type GroupService } from './group-service.js'
import { orderingOptions } from './ordering.js'
import { DEFAULT_COUNT, MAX_RESULTS, SCIM_QUERY_SCHEMA } from './list-request.js'
import { registerResource } from './resource-routes.js'
import { rendererOf } from './resource-shape.js'
import { MAX_PATCH_OPERATIONS, userResource } from './user-resource.js'
import type { RequestContext, UserService } from './user-service.js'

export { DEFAULT_COUNT, MAX_PATCH_OPERATIONS, MAX_RESULTS, SCIM_PREFIX, SCIM_QUERY_SCHEMA }

export interface ScimRoutesOptions {
  config: Config
  users: UserService
  /** Defaults to one built on the app's `scimforce` gateway and store. */
  groups?: GroupService
}

/** `application/scim+json`, without the charset parameter SCIM_CONTENT_TYPE spells out. */
const SCIM_MEDIA_TYPE = SCIM_CONTENT_TYPE.split(';')[0] as string

let scimmyDeclared = false

/** RFC 7644 §3.7.4 maxPayloadSize: room for MAX_BULK_OPERATIONS users, or the body limit if that is larger. */
const bulkPayloadLimit = (config: Config): number => Math.max(config.server.bodyLimit, MIN_BULK_PAYLOAD)

/**
 * User attributes of RFC 7643 §4.1 that a Salesforce User has no field for. They are taken out of the User schema,
 * so /Schemas advertises only what round-trips, and a request that carries them has them ignored (not stored, not
 * answered), as for any attribute a server does not define. README "What Salesforce holds" lists them.
 */
export const UNSTORED_USER_ATTRIBUTES = ['ims', 'photos', 'x509Certificates', 'entitlements', 'roles', 'profileUrl']

/** SCIMMY keeps its declarations process-wide; declare once, whatever number of apps a test process builds. */
function declareScimmy (config: Config): void {
  if (!scimmyDeclared) {
    SCIMMY.Resources.declare(SCIMMY.Resources.User, { extensions: [{ schema: SCIMMY.Schemas.EnterpriseUser, required: false }] })
    SCIMMY.Resources.declare(SCIMMY.Resources.Group)
    SCIMMY.Schemas.User.truncate(UNSTORED_USER_ATTRIBUTES)
    scimmyDeclared = true
  }
  const schemes: Array<{ type: string, name: string, description: string }> = []
  if (config.clients.some((c) => c.auth.type === 'basic')) schemes.push({ type: 'httpbasic', name: 'HTTP Basic', description: 'HTTP Basic authentication with a configured client username and password' })
  if (config.clients.some((c) => c.auth.type === 'bearer')) schemes.push({ type: 'oauthbearertoken', name: 'Bearer token', description: 'A static bearer token configured for the client' })
  SCIMMY.Config.set({
    patch: true,
    bulk: { supported: true, maxOperations: MAX_BULK_OPERATIONS, maxPayloadSize: bulkPayloadLimit(config) },
    filter: { supported: true, maxResults: MAX_RESULTS },
    sort: true,
    // Users' meta.version (from SystemModstamp) is checked against If-Match / If-None-Match (resource-routes.ts).
    etag: true,
    changePassword: false,
    authenticationSchemes: [],
  })
  SCIMMY.Config.set({ authenticationSchemes: schemes })
}

/**
 * SCIMMY's ListResponse reports itemsPerPage as the requested count (20 by default); RFC 7644 §3.4.2.4 defines it
 * as the number of resources in the page, which is what clients (Okta) read.
 */
function pageLength<T> (list: T): T {
  const body = JSON.parse(JSON.stringify(list)) as { Resources?: unknown[], itemsPerPage?: number }
  if (Array.isArray(body.Resources)) body.itemsPerPage = body.Resources.length
  return body as T
}

export default async function scimRoutes (app: FastifyInstance, opts: ScimRoutesOptions): Promise<void> {
  const { config, users } = opts
  declareScimmy(config)
  await app.register(authPlugin, { clients: config.clients, ...(config.server.authThrottle !== undefined ? { throttle: config.server.authThrottle } : {}) })

  const baseUrl = (req: FastifyRequest): string =>
    (config.server.publicUrl ?? `${req.protocol}://${req.host}`).replace(/\/$/, '') + SCIM_PREFIX

  const ctxOf = (req: FastifyRequest): RequestContext =>
    ({ log: req.log, client: (req.scimClient as ScimClientConfig | undefined)?.name ?? 'unknown' })

  // Groups: built on the app's gateway and store unless handed in.
  const groups = opts.groups ?? (app.hasDecorator('scimforce')
    ? createGroupService({
      gateway: app.scimforce.gateway,
      store: app.scimforce.store,
      groups: config.groups,
      users: config.users,
      userMapping: createUserMapping(config.users),
      integrationUserId: async () => await app.scimforce.gateway.integrationUserId(app.log),
      ordering: orderingOptions(config.salesforce),
    })
    : undefined)

  // Write methods send JSON (RFC 7644 §3.1); Fastify's own text/plain parser would hand a string on.
  app.addHook('preValidation', async (req) => {
    if (req.method !== 'POST' && req.method !== 'PUT' && req.method !== 'PATCH') return
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
    if (type === SCIM_MEDIA_TYPE || type === 'application/json' || (type === '' && req.body === undefined)) return
    throw new ScimError(415, undefined, `Unsupported Content-Type: send ${SCIM_MEDIA_TYPE}`)
  })

  const pipeline = { baseUrl, ctxOf }
  const userDescriptor = userResource({ users, groups, render: rendererOf(SCIMMY.Resources.User) })
  const groupDescriptor = groups !== undefined ? groupResource({ groups, render: rendererOf(SCIMMY.Resources.Group) }) : undefined
  registerResource(app, userDescriptor, pipeline)
  if (groupDescriptor !== undefined) registerResource(app, groupDescriptor, pipeline)
  // Bulk (RFC 7644 §3.7) runs each operation through the same descriptors (bulk.ts).
  registerBulk(app, {
    resources: [userDescriptor, ...(groupDescriptor !== undefined ? [groupDescriptor] : [])],
    pipeline,
    maxOperations: MAX_BULK_OPERATIONS,
    maxPayloadSize: bulkPayloadLimit(config),
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
  // Microsoft's reference server's name for it, which Microsoft's SCIM suite asks for: the same document.
  app.get('/serviceConfiguration', async (req) => await discovery(req, async () => await new SCIMMY.Resources.ServiceProviderConfig().read()))
  app.get('/ResourceTypes', async (req) => await discovery(req, async () => pageLength(await new SCIMMY.Resources.ResourceType().read())))
  app.get<{ Params: { id: string } }>('/ResourceTypes/:id', async (req) => await discovery(req, async () => await new SCIMMY.Resources.ResourceType(req.params.id).read()))
  app.get('/Schemas', async (req) => await discovery(req, async () => pageLength(await new SCIMMY.Resources.Schema().read())))
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
  // Inside this context, so the auth hook runs first: without credentials nothing tells which paths exist.
  app.setNotFoundHandler((req, reply) => sendScimError(reply, 404, undefined, `No endpoint ${req.method} ${clip(req.url.split('?')[0] ?? '')}`))
}
