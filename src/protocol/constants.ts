// SCIM protocol constants (RFC 7643, RFC 7644): schema URNs, the media type and the endpoint prefix. This folder
// holds pure SCIM facts and engines with no I/O, so that every layer (mapping, scim, http) can import them.

export const CORE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User'
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
export const CORE_GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group'
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'
export const SEARCH_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error'
export const BULK_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'
export const BULK_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse'

/** RFC 7644 §8.1: the SCIM media type, with the charset spelled out for clients that do not assume UTF-8. */
export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8'

/** Where the SCIM endpoints are mounted. */
export const SCIM_PREFIX = '/scim/v2'

/** The scimType values of RFC 7644 §3.12. */
export type ScimType =
  | 'invalidFilter' | 'tooMany' | 'uniqueness' | 'mutability' | 'invalidSyntax'
  | 'invalidPath' | 'noTarget' | 'invalidValue' | 'invalidVers' | 'sensitive'

export const SCIM_TYPES: ReadonlySet<string> = new Set<ScimType>([
  'invalidFilter', 'tooMany', 'uniqueness', 'mutability', 'invalidSyntax', 'invalidPath', 'noTarget',
  'invalidValue', 'invalidVers', 'sensitive',
])
