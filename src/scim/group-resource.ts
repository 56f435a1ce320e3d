// The Groups resource type (RFC 7643 §4.2) for the resource pipeline: bodies normalised for IdPs (WSO2's
// `DOMAIN/` prefix per client) and validated by SCIMMY, members read only when the answer carries them, sortBy by
// reading the matching groups whole, no ETags (a target's SystemModstamp does not move when its members change; see
// mapping/group.ts toScimGroup), so an If-Match other than `*` answers 412 (resource-routes.ts checkIfMatch).
import type { FastifyRequest } from 'fastify'
import SCIMMY from 'scimmy'
import type { ScimClientConfig } from '../config/types.js'
import { stripsUserStorePrefix, type ScimGroup } from '../mapping/group.js'
import { CORE_GROUP_SCHEMA } from '../protocol/constants.js'
import { wantsAttribute, type Projection } from './attributes.js'
import { normalizeGroupBody, normalizeGroupPatchBody } from './compat.js'
import { clip, ScimError } from './errors.js'
import type { GroupService } from './group-service.js'
import type { Call, ListRequest, ResourceDescriptor } from './resource-routes.js'
import { coerceIncoming, type Renderer } from './resource-shape.js'

/**
 * Operations one group PATCH may carry. Entra puts many members in one operation's value, Okta sends one remove
 * per member plus one add: a few hundred at most in practice; the cap bounds the work a body within the limit asks.
 */
export const MAX_GROUP_PATCH_OPERATIONS = 1000

/**
 * Whether an answer carries members. `byDefault`: GET by id, POST and PUT answer with them (RFC 7643 returned
 * "default"); lists and PATCH answers leave them out unless `attributes` names them, because IdPs look groups up
 * by displayName before every change and a large group's members would cost a read each time (README "Groups").
 */
export const wantsMembers = (p: Projection, byDefault: boolean): boolean => wantsAttribute(p, CORE_GROUP_SCHEMA, 'members', byDefault)

const stripPrefix = (req: FastifyRequest): boolean => stripsUserStorePrefix(req.scimClient as ScimClientConfig | undefined)

/** Validates a Group body with SCIMMY (displayName required, member shapes) after IdP normalisation. */
function parseGroup (body: unknown, req: FastifyRequest): Record<string, unknown> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ScimError(400, 'invalidSyntax', 'Request body must be a SCIM Group object')
  }
  const normalized = normalizeGroupBody(body, { stripPrefix: stripPrefix(req) }) as Record<string, unknown>
  return coerceIncoming(SCIMMY.Schemas.Group, normalized)
}

export function groupResource ({ groups, render }: { groups: GroupService, render: Renderer }): ResourceDescriptor<ScimGroup> {
  return {
    endpoint: 'Groups',
    noun: 'group',
    render,
    // Members' $ref depend on this server's URL, so they are added here rather than by the mapping layer.
    output: (group, base) => ({
      ...group,
      ...(group.members !== undefined ? { members: group.members.map((m) => ({ ...m, $ref: `${base}/${m.type === 'Group' ? 'Groups' : 'Users'}/${m.value}` })) } : {}),
    }),
    parseBody: parseGroup,
    normalizePatch: (body, req) => normalizeGroupPatchBody(body, { stripPrefix: stripPrefix(req) }),
    maxPatchOperations: MAX_GROUP_PATCH_OPERATIONS,
    // Groups come from several Salesforce objects; unsorted pages keep one stable order (by Id). A sorted list is
    // read whole and sorted here (sortedGroups): ServiceProviderConfig says sort is supported, for Groups too.
    sorting: { supported: true },
    // A blank Groups filter has always meant no filter (some IdPs send `filter=` with spaces).
    blankFilterIsNone: true,
    service: {
      get: async (id, call) => await groups.get(id, call.ctx, { members: wantsMembers(call.projection, true) }),
      list: async (q, call) => q.sortBy !== undefined && q.sortBy !== ''
        ? await sortedGroups(groups, q, call)
        : await groups.list({
          ...(q.filter !== undefined ? { filter: q.filter } : {}),
          startIndex: q.startIndex,
          count: q.count,
          stripPrefix: stripPrefix(call.req),
        }, call.ctx, { members: wantsMembers(call.projection, false) }),
      create: async (body, call) => await groups.create(body, call.ctx),
      replace: async (id, body, mode, call) => await groups.replace(id, body, mode, call.ctx),
      patch: async (id, operations, call) => await groups.patch(id, operations, call.ctx, { members: wantsMembers(call.projection, false) }),
      delete: async (id, call) => { await groups.delete(id, call.ctx) },
    },
  }
}

/** How many groups a sorted list reads at most (it reads them all, then sorts): beyond, 400 tooMany. */
export const MAX_SORTED_GROUPS = 10_000
const SORT_PAGE = 1000
const SORT_KEYS: Record<string, (g: ScimGroup) => string> = {
  displayname: (g) => g.displayName.toLowerCase(),
  id: (g) => g.id,
  externalid: (g) => g.externalId ?? '',
}

/**
 * A sorted Groups list (RFC 7644 §3.4.2.3): every group that matches, read page by page without members, sorted by
 * displayName (case-insensitive: it is not case-exact), id or externalId, then the requested page; members, if
 * asked for, are read for that page only.
 */
async function sortedGroups (groups: GroupService, q: ListRequest, call: Call): Promise<{ total: number, resources: ScimGroup[] }> {
  const key = SORT_KEYS[(q.sortBy ?? '').toLowerCase()]
  if (key === undefined) throw new ScimError(400, 'invalidValue', `sortBy '${clip(q.sortBy ?? '')}' is not supported for Groups: use displayName, id or externalId`)
  const all: ScimGroup[] = []
  for (let start = 1; ; start += SORT_PAGE) {
    const page = await groups.list({ ...(q.filter !== undefined ? { filter: q.filter } : {}), startIndex: start, count: SORT_PAGE, stripPrefix: stripPrefix(call.req) }, call.ctx, { members: false })
    if (page.total > MAX_SORTED_GROUPS) throw new ScimError(400, 'tooMany', `Sorting reads every matching group; ${page.total} match (at most ${MAX_SORTED_GROUPS}): narrow the filter or leave sortBy out`)
    all.push(...page.resources)
    if (page.resources.length === 0 || all.length >= page.total) break
  }
  const dir = q.sortOrder === 'descending' ? -1 : 1
  all.sort((a, b) => { const x = key(a); const y = key(b); return (x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : 1) * dir })
  const page = all.slice(q.startIndex - 1, q.startIndex - 1 + q.count)
  const resources = wantsMembers(call.projection, false)
    ? await Promise.all(page.map(async (g) => await groups.get(g.id, call.ctx, { members: true })))
    : page
  return { total: all.length, resources }
}
