// The floor: the least any relay from an IdP to Salesforce must do. A bare node:http server that, for each
// request, sends exactly the Salesforce requests scimforce sent for the same operation (recorded at the emulated
// org, with the user's id or name swapped in) through jsforce, and answers with Salesforce's JSON. No framework,
// no auth, no SCIM: scimforce's overhead is its latency and throughput beside this one, measured in the same run.
import { createServer } from 'node:http'
import { createSalesforceSession } from '../src/salesforce/connection.js'
import { salesforceConfig } from '../test/fixtures/config.js'
import type { RecordedRequest } from './emulator-process.js'
import { childArgs, serveCommands } from './ipc.js'

export interface FloorArgs { salesforceUrl: string }
export interface FloorInfo { url: string }
/** Per operation: the requests to send, and the id and token in them that each request replaces. */
export interface FloorTemplate { requests: RecordedRequest[], id?: string, token?: string }

const args = childArgs<FloorArgs>()
const quiet = { debug () {}, info () {}, warn () {}, error () {} }
// The same jsforce settings as scimforce (its own retries off, a timeout), so only the layers above differ.
const session = createSalesforceSession(salesforceConfig(args.salesforceUrl, { timeoutMs: 20_000 }), quiet)
await session.ensureAuthorized()

let templates: Record<string, FloorTemplate> = {}

function fill (text: string, t: FloorTemplate, id: string | null, token: string | null): string {
  let out = text
  if (t.id !== undefined && id !== null) out = out.split(t.id).join(id)
  if (t.token !== undefined && token !== null) out = out.split(t.token).join(token)
  return out
}

async function relay (t: FloorTemplate, id: string | null, token: string | null): Promise<unknown> {
  let last: unknown
  for (const r of t.requests) {
    last = await session.conn.request({
      method: r.method as 'GET' | 'POST' | 'PATCH' | 'DELETE',
      url: fill(r.url, t, id, token),
      ...(r.body !== undefined ? { body: fill(r.body, t, id, token), headers: { 'content-type': 'application/json' } } : {}),
    })
  }
  return last ?? null
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://floor.invalid')
  const t = templates[decodeURIComponent(url.pathname.slice(1))]
  req.resume()
  req.on('end', () => {
    if (t === undefined) { res.writeHead(404).end(); return }
    relay(t, url.searchParams.get('id'), url.searchParams.get('token')).then(
      (body) => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)) },
      (err: unknown) => { res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err instanceof Error ? err.message : String(err) })) })
  })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
// As scimforce's server.ts: an idle keep-alive connection outlives the load generator's pauses.
server.keepAliveTimeout = 72_000
const { port } = server.address() as { port: number }

serveCommands({ url: `http://127.0.0.1:${port}` } satisfies FloorInfo, {
  templates: (arg) => { templates = arg as Record<string, FloorTemplate> },
})
