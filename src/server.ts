// Process entry for `serve`: picks the logger, listens, sets HTTP timeouts and shuts down gracefully.
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp, REDACT_PATHS, type AppDeps } from './app.js'
import type { Config } from './config/types.js'

/** In-flight requests get this long to finish after SIGTERM before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000

export function loggerOptions (config: Config): Record<string, unknown> {
  return {
    level: config.server.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  }
}

export async function startServer (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = await buildApp(config, { logger: loggerOptions(config), ...deps })
  // Entra gives up after 60 s; a request that has taken longer is of no use to anyone.
  app.server.requestTimeout = 65_000
  // Longer than typical load balancer idle timeouts (60 s), so the proxy closes first and never hits a dead socket.
  app.server.keepAliveTimeout = 72_000
  await app.listen({ port: config.server.port, host: config.server.host })
  return app
}

export function closeOnSignals (apps: Array<{ close: () => Promise<unknown> }>, log: { info: (o: object, m: string) => void, error: (o: object, m: string) => void }): void {
  closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err !== undefined) log.error({ err }, 'shutting down after an error')
    else log.info({ signal }, 'shutting down')
    for (const app of apps) await app.close()
  })
}
