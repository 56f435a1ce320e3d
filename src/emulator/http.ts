// HTTP plumbing shared by the emulator's routes: JSON replies, injected latency and dropped connections.

import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { CONTENT_TYPE_JSON, type EmulatorContext } from './context.js'
import { sleep } from './time.js'

export function sendJson (reply: FastifyReply, status: number, body: unknown, headers: Record<string, string> = {}): FastifyReply {
  reply.code(status)
  for (const [k, v] of Object.entries(headers)) reply.header(k, v)
  if (status === 204) return reply.send()
  reply.header('content-type', CONTENT_TYPE_JSON)
  return reply.send(JSON.stringify(body))
}

export async function injectLatency (ctx: EmulatorContext): Promise<void> {
  const ms = ctx.faults.get().latencyMs
  if (ms > 0) await sleep(ms)
}

/** Closes the socket without an answer, as a network failure would. */
export function dropConnection (request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.hijack()
  request.raw.socket.destroy()
  return reply
}

/** The body as the client sent it; the emulator registers one string parser for every content type. */
export function rawBody (request: FastifyRequest): string {
  return typeof request.body === 'string' ? request.body : ''
}

export function bearerToken (authorization: string | undefined, query?: URLSearchParams): string | undefined {
  // Salesforce accepts "Bearer <token>" and the older "OAuth <token>".
  const m = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(authorization ?? '')
  if (m !== null) return m[1]
  return query?.get('oauth_token') ?? query?.get('access_token') ?? undefined
}

/**
 * REST API Developer Guide, Status Codes and Error Responses (docs/salesforce-behaviour.md#status-codes, #uri-limit): a request URI longer than
 * 16,384 bytes answers 414. Assumption (UNVERIFIED): the body has Salesforce's error shape with errorCode
 * URI_TOO_LONG (the guide names only the status); clients should key on the status.
 */
export const MAX_URI_BYTES = 16_384

export function uriTooLong (uri: string): boolean {
  return Buffer.byteLength(uri, 'utf8') > MAX_URI_BYTES
}

export const URI_TOO_LONG_BODY = [{ message: `The request URI is longer than ${MAX_URI_BYTES} bytes`, errorCode: 'URI_TOO_LONG' }]

/**
 * Node's HTTP parser refuses a request head (request line + headers) over 16 KiB before any route runs, which
 * matches Salesforce's other limit (docs/salesforce-behaviour.md#status-codes: 431 when URI + headers exceed 16,384 bytes). This answers
 * it in Salesforce's shape: 414 when the URI alone is over the limit, else 431. Assumption (UNVERIFIED): the
 * 431 body, errorCode REQUEST_HEADER_FIELDS_TOO_LARGE. Other client errors answer as Fastify would (400/408).
 */
export function clientErrorHandler (err: Error & { code?: string, rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  let status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
  let body: unknown = [{ message: err.message, errorCode: status === 408 ? 'REQUEST_TIMEOUT' : 'INVALID_INPUT' }]
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    const head = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.toString('latin1') : ''
    const eol = head.indexOf('\r\n')
    const uri = (eol < 0 ? head : head.slice(0, eol)).split(' ')[1] ?? ''
    status = uriTooLong(uri) ? 414 : 431
    body = status === 414 ? URI_TOO_LONG_BODY : [{ message: `The request URI and headers are longer than ${MAX_URI_BYTES} bytes`, errorCode: 'REQUEST_HEADER_FIELDS_TOO_LARGE' }]
  }
  const json = JSON.stringify(body)
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: ${CONTENT_TYPE_JSON}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`)
}
