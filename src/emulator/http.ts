// HTTP plumbing shared by the emulator's routes: JSON replies, injected latency and dropped connections.

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
 * REST API Developer Guide, Status Codes and Error Responses (salesforce.md §2.3, §10): a request URI longer than
 * 16,384 bytes answers 414. Assumption (UNVERIFIED): the body has Salesforce's error shape with errorCode
 * URI_TOO_LONG (the guide names only the status); clients should key on the status.
 */
export const MAX_URI_BYTES = 16_384

export function uriTooLong (uri: string): boolean {
  return Buffer.byteLength(uri, 'utf8') > MAX_URI_BYTES
}

export const URI_TOO_LONG_BODY = [{ message: `The request URI is longer than ${MAX_URI_BYTES} bytes`, errorCode: 'URI_TOO_LONG' }]
