// The control API under /__emulator: faults, sessions, counters and a look at the state (no API accounting).

import type { FastifyInstance, FastifyReply } from 'fastify'
import type { EmulatorContext } from './context.js'
import { SalesforceError } from './errors.js'
import type { Fault, FaultMatch } from './faults.js'
import { changeOrgSettings } from './licences.js'
import { rawBody, sendJson } from './http.js'

function jsonBody (text: string): Record<string, unknown> {
  if (text.trim() === '') return {}
  const value: unknown = JSON.parse(text)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RangeError('the body must be a JSON object')
  return value as Record<string, unknown>
}

function badRequest (reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof RangeError || err instanceof SyntaxError) return sendJson(reply, 400, { error: err.message })
  throw err
}

export function registerAdmin (app: FastifyInstance, ctx: EmulatorContext): void {
  const faultState = (): Record<string, unknown> => ({ ...ctx.faults.get(), dailyLimitExhausted: ctx.faults.dailyLimitExhausted })

  app.get('/__emulator/faults', async (_req, reply) => sendJson(reply, 200, faultState()))
  app.put('/__emulator/faults', async (request, reply) => {
    try {
      ctx.faults.set(jsonBody(rawBody(request)))
      return sendJson(reply, 200, faultState())
    } catch (err) {
      return badRequest(reply, err)
    }
  })
  app.post('/__emulator/faults/reset', async (_req, reply) => {
    ctx.faults.reset()
    return reply.code(204).send()
  })
  app.post('/__emulator/faults/fail-next', async (request, reply) => {
    try {
      const body = jsonBody(rawBody(request))
      ctx.faults.failNext(typeof body.count === 'number' ? body.count : 1, body.fault as Fault, body.match as FaultMatch | undefined)
      return reply.code(204).send()
    } catch (err) {
      return badRequest(reply, err)
    }
  })
  app.post('/__emulator/faults/exhaust-daily-limit', async (_req, reply) => {
    ctx.faults.exhaustDailyLimit()
    return reply.code(204).send()
  })
  app.post('/__emulator/sessions/expire', async (_req, reply) => {
    ctx.faults.expireSessions()
    return reply.code(204).send()
  })
  app.get('/__emulator/counters', async (_req, reply) => sendJson(reply, 200, { ...ctx.counters.snapshot(), apiUsage: { ...ctx.usage } }))
  app.post('/__emulator/counters/reset', async (_req, reply) => {
    ctx.counters.reset()
    return reply.code(204).send()
  })
  app.get('/__emulator/seed', async (_req, reply) => sendJson(reply, 200, ctx.seed))
  // Email change verification (email.ts): read or switch it, see a user's pending address, confirm it.
  app.get('/__emulator/email-verification', async (_req, reply) => sendJson(reply, 200, { enabled: ctx.org.emailVerification }))
  app.put('/__emulator/email-verification', async (request, reply) => {
    try {
      const body = jsonBody(rawBody(request))
      if (typeof body.enabled !== 'boolean') throw new RangeError('enabled must be true or false')
      ctx.org.emailVerification = body.enabled
      return sendJson(reply, 200, { enabled: ctx.org.emailVerification })
    } catch (err) {
      return badRequest(reply, err)
    }
  })
  // Deactivation blockers and feature licence totals (licences.ts): read, or change some of them.
  app.get('/__emulator/org-settings', async (_req, reply) => sendJson(reply, 200, ctx.org.settings))
  app.put('/__emulator/org-settings', async (request, reply) => {
    try {
      return sendJson(reply, 200, changeOrgSettings(ctx.org, jsonBody(rawBody(request))))
    } catch (err) {
      return badRequest(reply, err)
    }
  })
  app.get<{ Params: { id: string } }>('/__emulator/users/:id/pending-email', async (request, reply) => {
    if (ctx.org.get('User', request.params.id) === undefined) return sendJson(reply, 404, { error: 'no such user' })
    return sendJson(reply, 200, { pendingEmail: ctx.org.pendingEmail(request.params.id) ?? null })
  })
  app.post<{ Params: { id: string } }>('/__emulator/users/:id/confirm-email', async (request, reply) => {
    if (ctx.org.get('User', request.params.id) === undefined) return sendJson(reply, 404, { error: 'no such user' })
    const email = ctx.org.confirmEmail(request.params.id)
    return email === undefined ? sendJson(reply, 409, { error: 'no pending email (or its link expired)' }) : sendJson(reply, 200, { email })
  })
  app.get<{ Querystring: { q?: string } }>('/__emulator/query', async (request, reply) => {
    try {
      const records = ctx.org.query(request.query.q ?? '')
      return sendJson(reply, 200, { totalSize: records.length, records })
    } catch (err) {
      if (err instanceof SalesforceError) return sendJson(reply, 400, err.toBody())
      throw err
    }
  })
}
