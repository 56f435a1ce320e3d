// A list request (RFC 7644 §3.4.2, §3.4.3) read the same way for every resource type, from a query string or a
// SearchRequest body: paging clamped, sortOrder checked, the SearchRequest's fields type-checked; and the
// ListResponse that answers it.
import { LIST_RESPONSE_SCHEMA, SEARCH_REQUEST_SCHEMA } from '../protocol/constants.js'
import { toInt } from './attributes.js'
import { ScimError } from './errors.js'

/** Page size when the client names none, and the most one page may hold (advertised as filter.maxResults). */
export const DEFAULT_COUNT = 100
export const MAX_RESULTS = 1000

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

/** The list parameters as they arrive, in a query string or a SearchRequest. */
export interface ListParams {
  filter?: string
  startIndex?: string | number
  count?: string | number
  sortBy?: string
  sortOrder?: string
  attributes?: string | string[]
  excludedAttributes?: string | string[]
}

export interface Paging {
  /** 1-based, at least 1. */
  startIndex: number
  /** 0…MAX_RESULTS. */
  count: number
}

/** startIndex below 1 counts as 1 and count is held to 0…MAX_RESULTS (RFC 7644 §3.4.2.4). */
export function pagingOf (params: ListParams): Paging {
  return {
    startIndex: Math.max(1, toInt(params.startIndex) ?? 1),
    count: Math.min(MAX_RESULTS, Math.max(0, toInt(params.count) ?? DEFAULT_COUNT)),
  }
}

export function sortOrderOf (params: ListParams): 'ascending' | 'descending' | undefined {
  const sortOrder = params.sortOrder?.toLowerCase()
  if (sortOrder !== undefined && sortOrder !== 'ascending' && sortOrder !== 'descending') {
    throw new ScimError(400, 'invalidValue', "sortOrder must be 'ascending' or 'descending'")
  }
  return sortOrder
}

/**
 * A SearchRequest's parameters (RFC 7644 §3.4.3): the schema checked, names matched case-insensitively, types
 * checked. A field of the wrong type is refused rather than dropped, so a client never gets an unfiltered list it
 * did not ask for.
 */
export function searchParams (body: unknown): ListParams {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) throw notSearch()
  const fields = body as Record<string, unknown>
  const schemas = fields.schemas
  if (!Array.isArray(schemas) || !schemas.includes(SEARCH_REQUEST_SCHEMA)) throw notSearch()
  const get = (name: string): unknown => fields[Object.keys(fields).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name]
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

const notSearch = (): ScimError => new ScimError(400, 'invalidSyntax', `A search request needs schemas [${SEARCH_REQUEST_SCHEMA}]`)

export interface ListResponse {
  schemas: [typeof LIST_RESPONSE_SCHEMA]
  totalResults: number
  startIndex: number
  itemsPerPage: number
  Resources: Array<Record<string, unknown>>
}

export function listResponse (total: number, startIndex: number, resources: Array<Record<string, unknown>>): ListResponse {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: total,
    startIndex,
    // RFC 7644 §3.4.2.4: the number of resources in this page (Okta relies on it), not the requested count.
    itemsPerPage: resources.length,
    Resources: resources,
  }
}
