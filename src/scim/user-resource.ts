// The Users resource type (RFC 7643 §4.1) for the resource pipeline: bodies normalised for IdPs and validated
// by SCIMMY, schemas this server does not implement refused, ETags from SystemModstamp, sortBy supported, and a
// user's groups read in the same Salesforce call as the user.
import SCIMMY from 'scimmy'
import { lowerCaseTypes } from '../mapping/patch.js'
import type { ScimUser } from '../mapping/user.js'
import { CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA } from '../protocol/constants.js'
import { wantsAttribute, type Projection } from './attributes.js'
import { normalizePatchBody, normalizeUserBody } from './compat.js'
import { clip, ScimError } from './errors.js'
import type { GroupService } from './group-service.js'
import type { ResourceDescriptor } from './resource-routes.js'
import { coerceIncoming, type Renderer } from './resource-shape.js'
import type { UserService } from './user-service.js'

/**
 * Operations one PATCH may carry. A user has a few dozen attributes, so real IdPs send one to a handful; the cap
 * bounds the work (each operation is applied to the whole resource) of a request that fits the body limit. Over
 * it: 413, as RFC 7644 §3.7.4 answers a bulk request over maxOperations, since it is a size limit.
 */
export const MAX_PATCH_OPERATIONS = 100

const KNOWN_SCHEMAS = [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA].map((s) => s.toLowerCase())

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

/** Validates a User body with SCIMMY (types, canonical values, required userName) after IdP normalisation. */
function parseUser (body: unknown): Record<string, unknown> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ScimError(400, 'invalidSyntax', 'Request body must be a SCIM User object')
  }
  const normalized = normalizeUserBody(body) as Record<string, unknown>
  assertKnownSchemas(normalized)
  // "Work" is "work": the type is not case-exact (mapping/patch.ts lowerCaseTypes), SCIMMY's check is.
  return coerceIncoming(SCIMMY.Schemas.User, lowerCaseTypes(normalized))
}

/** Whether a GET /Users/{id} answer carries `groups` (returned by default; skipped when excluded or not asked for). */
export const wantsUserGroups = (p: Projection): boolean => wantsAttribute(p, CORE_USER_SCHEMA, 'groups', true)

export interface UserResourceOptions {
  users: UserService
  /** When groups are served, GET /Users/{id} reads the user's `groups` too. */
  groups: GroupService | undefined
  render: Renderer
}

export function userResource ({ users, groups, render }: UserResourceOptions): ResourceDescriptor<ScimUser> {
  return {
    endpoint: 'Users',
    noun: 'user',
    render,
    output: (user) => user,
    parseBody: parseUser,
    normalizePatch: normalizePatchBody,
    maxPatchOperations: MAX_PATCH_OPERATIONS,
    sorting: { supported: true },
    blankFilterIsNone: false,
    // meta.version comes from SystemModstamp, which Salesforce bumps on every change of the record.
    etag: {
      current: async (id, call) => (await users.get(id, call.ctx)).meta.version,
      of: (user) => user.meta.version,
    },
    service: {
      // A user's groups travel in the same composite as the user record: still one Salesforce call.
      get: async (id, call) => await users.get(id, call.ctx, groups !== undefined && wantsUserGroups(call.projection)
        ? { groups: groups.userGroups(id, `${call.base}/Groups`) }
        : undefined),
      list: async (q, call) => await users.list(q, call.ctx),
      create: async (body, call) => (await users.create(body, call.ctx)).user,
      replace: async (id, body, mode, call) => await users.replace(id, body, mode, call.ctx),
      patch: async (id, operations, call) => await users.patch(id, { Operations: operations }, call.ctx),
      delete: async (id, call) => { await users.delete(id, call.ctx) },
    },
  }
}
