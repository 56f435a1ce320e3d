// Process entry for `serve`: picks the logger, listens, sets HTTP timeouts and shuts down gracefully.
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import type { DestinationStream, LoggerOptions } from 'pino'
import { buildApp, REDACT_PATHS, type AppDeps } from './app.js'
import { redactedConfig } from './config/loader.js'
import type { Config } from './config/types.js'
import { clipLogged } from './http/clip.js'
import { createApiVersionCheck } from './salesforce/api-version.js'
import { checkGroupMappingsAtStart } from './scim/group-targets.js'

/**
 * In-flight requests get this long to finish after SIGTERM before the process exits anyway. Below Kubernetes'
 * 30 s termination grace; `docker stop` waits only 10 s by default, so give it `-t 15` (see README, Operations).
 */
export const SHUTDOWN_GRACE_MS = 10_000

/** The request as a log line shows it. */
interface LoggedRequest { method: string, url: string, host?: string, ip?: string, socket?: { remotePort?: number } }

/**
 * Fastify's own request serializer (method, url, host, remote address and port), with the URL clipped: a URL is
 * client input, up to 16 KiB of it, and the request id ties a clipped line to everything else.
 */
function serializeRequest (req: LoggedRequest): Record<string, unknown> {
  return { method: req.method, url: clipLogged(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort }
}

/** pino options for the process: JSON lines on stdout (or `destination`, for tests), secrets redacted, input clipped. */
export function loggerOptions (config: Config, destination?: DestinationStream): LoggerOptions & { stream?: DestinationStream } {
  return {
    level: config.server.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { req: serializeRequest },
    ...(destination !== undefined ? { stream: destination } : {}),
  }
}

export async function startServer (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = await buildApp(config, { logger: loggerOptions(config), ...deps })
  // Before listening: a group mapping that names an admin-grade record without allowPrivileged stops the start
  // (PrivilegedTargetError names the key and the fix). Other mapping problems, and an unreachable Salesforce, are
  // logged and do not: users still provision, and every request refuses admin-grade targets on its own.
  let mappingProblems: string[]
  try {
    // An API version the org does not offer makes every record read 404: refuse to start rather than tell the IdP
    // its users are gone. An unreachable Salesforce decides nothing here (readiness reports it).
    const version = createApiVersionCheck(app.scimforce.session, config.salesforce.apiVersion)
    if (await version.offered(app.log) === false) {
      throw new Error(`SF_API_VERSION ${config.salesforce.apiVersion} is not offered by this Salesforce org (it offers ${version.versions.join(', ') || 'none'}): set SF_API_VERSION to one of them`)
    }
    mappingProblems = await checkGroupMappingsAtStart(app.scimforce.gateway, config, app.log)
  } catch (err) {
    await app.close()
    throw err
  }
  // Entra gives up after 60 s; a request that has taken longer is of no use to anyone.
  app.server.requestTimeout = 65_000
  // Longer than typical load balancer idle timeouts (60 s), so the proxy closes first and never hits a dead socket.
  app.server.keepAliveTimeout = 72_000
  await app.listen({ port: config.server.port, host: config.server.host })
  // What the process runs with, minus every secret: the first thing to look at when something is off.
  app.log.info({ config: redactedConfig(config), metrics: config.server.metricsToken !== undefined }, 'scimforce started')
  // A group mapping whose target is missing is reported now, not at the first provisioning.
  for (const problem of mappingProblems) app.log.error({ problem }, 'group mapping problem (run `scimforce doctor`)')
  return app
}

interface ShutdownLog {
  info: (o: object, m: string) => void
  error: (o: object, m: string) => void
}

/**
 * On SIGTERM (or SIGINT, or a crash): stop accepting, let in-flight requests finish, run onClose hooks (the store
 * closes there), then exit 0; after SHUTDOWN_GRACE_MS, or on a second signal, exit 1 regardless.
 */
export function closeOnSignals (apps: Array<{ close: () => Promise<unknown> }>, log: ShutdownLog): void {
  closeWithGrace({
    delay: SHUTDOWN_GRACE_MS,
    logger: { error: (msg: unknown) => { log.error({ detail: msg instanceof Error ? msg.message : String(msg) }, 'shutdown problem') } },
  }, async ({ signal, err }) => {
    if (err !== undefined) log.error({ err }, 'shutting down after an error')
    else log.info({ signal }, 'shutting down: finishing in-flight requests')
    for (const app of apps) await app.close()
    log.info({}, 'shut down cleanly')
  })
}
