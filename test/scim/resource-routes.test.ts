// The resource pipeline in isolation: one descriptor over an in-memory service, no auth, no Salesforce. What
// Users and Groups share (paging, SearchRequest checks, Location, meta.location, ETags, projection) is proved
// here once; their differences are tested end to end in users*.test.ts and groups*.test.ts.
import Fastify, { type FastifyInstance } from 'fastify'
import SCIMMY from 'scimmy'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { installErrorHandlers } from '../../src/http/errors.js'
import { CORE_GROUP_SCHEMA, LIST_RESPONSE_SCHEMA, PATCH_OP_SCHEMA, SEARCH_REQUEST_SCHEMA } from '../../src/protocol/constants.js'
import { notFound } from '../../src/scim/errors.js'
import { MAX_RESULTS } from '../../src/scim/list-request.js'
import { registerResource, type ListRequest, type ResourceDescriptor } from '../../src/scim/resource-routes.js'
import { rendererOf } from '../../src/scim/resource-shape.js'

interface Thing { schemas: string[], id: string, displayName: string, meta: { resourceType: 'Group', version?: string } }

const things = Array.from({ length: 5 }, (_, i): Thing => ({ schemas: [CORE_GROUP_SCHEMA], id: `00G00000000000${i}AAA`, displayName: `Thing ${i}`, meta: { resourceType: 'Group', version: `W/"v${i}"` } }))
let app: FastifyInstance
let lists: ListRequest[]
let sorting: ResourceDescriptor<Thing>['sorting']

function descriptor (): ResourceDescriptor<Thing> {
  const find = async (id: string): Promise<Thing> => {
    const t = things.find((x) => x.id === id)
    if (t === undefined) throw notFound(id)
    return t
  }
  return {
    endpoint: 'Things',
    noun: 'thing',
    render: rendererOf(SCIMMY.Resources.Group),
    output: (t) => ({ ...t }),
    parseBody: (body) => body as Record<string, unknown>,
    normalizePatch: (body) => body,
    maxPatchOperations: 2,
    sorting,
    blankFilterIsNone: false,
    etag: { current: async (id) => (await find(id)).meta.version, of: (t) => t.meta.version },
    service: {
      get: find,
      list: async (q) => {
        lists.push(q)
        return { total: things.length, resources: things.slice(q.startIndex - 1, q.startIndex - 1 + q.count) }
      },
      create: async (body) => ({ ...(things[0] as Thing), displayName: String(body.displayName) }),
      replace: async (id) => await find(id),
      patch: async (id) => await find(id),
      delete: async (id) => { await find(id) },
    },
  }
}

beforeEach(async () => {
  if (!SCIMMY.Resources.declared(SCIMMY.Resources.Group)) SCIMMY.Resources.declare(SCIMMY.Resources.Group)
  lists = []
  sorting = { supported: true }
  app = Fastify()
  installErrorHandlers(app)
  registerResource(app, descriptor(), { baseUrl: () => 'https://scim.example/scim/v2', ctxOf: (req) => ({ log: req.log, client: 'test' }) })
  await app.ready()
})
afterEach(async () => { await app.close() })

describe('lists', () => {
  it('clamp paging, count the page in itemsPerPage and render meta.location', async () => {
    const res = await app.inject({ method: 'GET', url: '/Things?startIndex=0&count=2&attributes=displayName' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      schemas: [LIST_RESPONSE_SCHEMA],
      totalResults: 5,
      startIndex: 1,
      itemsPerPage: 2,
      Resources: [0, 1].map((i) => ({ schemas: [CORE_GROUP_SCHEMA], id: things[i]?.id, displayName: `Thing ${i}` })),
    })
    await app.inject({ method: 'GET', url: `/Things?count=${MAX_RESULTS + 1}` })
    expect(lists.map((q) => q.count)).toEqual([2, MAX_RESULTS])
    const full = await app.inject({ method: 'GET', url: '/Things?count=1' })
    expect(full.json().Resources[0].meta).toEqual({ resourceType: 'Group', location: `https://scim.example/scim/v2/Things/${things[0]?.id}`, version: 'W/"v0"' })
  })

  it('read a SearchRequest like the query, and refuse one of the wrong shape', async () => {
    const res = await app.inject({ method: 'POST', url: '/Things/.search', payload: { schemas: [SEARCH_REQUEST_SCHEMA], StartIndex: 2, count: '1', sortBy: 'displayName', sortOrder: 'Descending' } })
    expect(res.json()).toMatchObject({ startIndex: 2, itemsPerPage: 1 })
    expect(lists).toEqual([{ startIndex: 2, count: 1, sortBy: 'displayName', sortOrder: 'descending' }])
    for (const bad of [{ filter: 5 }, { sortBy: ['a'] }, { count: [1] }, { attributes: [1] }]) {
      const refused = await app.inject({ method: 'POST', url: '/Things/.search', payload: { schemas: [SEARCH_REQUEST_SCHEMA], ...bad } })
      expect([refused.statusCode, refused.json().scimType]).toEqual([400, 'invalidValue'])
    }
    const noSchema = await app.inject({ method: 'POST', url: '/Things/.search', payload: { filter: 'displayName pr' } })
    expect([noSchema.statusCode, noSchema.json().scimType]).toEqual([400, 'invalidSyntax'])
    expect((await app.inject({ method: 'GET', url: '/Things?sortOrder=up' })).statusCode).toBe(400)
  })

  it('refuse sortBy where the descriptor does not sort', async () => {
    sorting = { supported: false, refusal: 'sortBy is not supported for Things' }
    await app.close()
    app = Fastify()
    installErrorHandlers(app)
    registerResource(app, descriptor(), { baseUrl: () => 'https://scim.example/scim/v2', ctxOf: (req) => ({ log: req.log, client: 'test' }) })
    const res = await app.inject({ method: 'GET', url: '/Things?sortBy=displayName&sortOrder=sideways' })
    expect([res.statusCode, res.json().detail]).toEqual([400, 'sortBy is not supported for Things'])
    expect((await app.inject({ method: 'GET', url: '/Things?sortOrder=sideways' })).statusCode).toBe(200)
  })
})

describe('single resources', () => {
  it('answer POST with 201, Location and ETag; GET with 304 for a matching If-None-Match', async () => {
    const post = await app.inject({ method: 'POST', url: '/Things', payload: { displayName: 'New' } })
    expect(post.statusCode).toBe(201)
    expect(post.headers.location).toBe(`https://scim.example/scim/v2/Things/${things[0]?.id}`)
    expect(post.headers.etag).toBe('W/"v0"')
    expect(post.json().displayName).toBe('New')
    const cached = await app.inject({ method: 'GET', url: `/Things/${things[1]?.id}`, headers: { 'if-none-match': '"v1"' } })
    expect([cached.statusCode, cached.headers.etag]).toEqual([304, 'W/"v1"'])
  })

  it('check If-Match on PUT, PATCH and DELETE, the body id on PUT and the PATCH operation limit', async () => {
    const id = things[2]?.id as string
    const stale = await app.inject({ method: 'DELETE', url: `/Things/${id}`, headers: { 'if-match': 'W/"v1"' } })
    expect([stale.statusCode, stale.json().detail]).toEqual([412, 'The thing has changed since that version: its current version is W/"v2"'])
    expect((await app.inject({ method: 'DELETE', url: `/Things/${id}`, headers: { 'if-match': '*' } })).statusCode).toBe(204)
    const other = await app.inject({ method: 'PUT', url: `/Things/${id}`, payload: { id: things[3]?.id, displayName: 'x' } })
    expect([other.statusCode, other.json().scimType]).toEqual([400, 'mutability'])
    const op = { op: 'replace', path: 'displayName', value: 'y' }
    const many = await app.inject({ method: 'PATCH', url: `/Things/${id}`, payload: { schemas: [PATCH_OP_SCHEMA], Operations: [op, op, op] } })
    expect(many.statusCode).toBe(413)
    const ok = await app.inject({ method: 'PATCH', url: `/Things/${id}`, headers: { 'if-match': 'W/"v2"' }, payload: { schemas: [PATCH_OP_SCHEMA], Operations: [op] } })
    expect([ok.statusCode, ok.headers.etag]).toEqual([200, 'W/"v2"'])
  })
})
