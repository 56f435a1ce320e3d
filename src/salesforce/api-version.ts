// Whether the configured SF_API_VERSION is offered by the org (the versions list, /services/data/, which needs no
// session and does not count): an unknown version answers 404 NOT_FOUND on every resource (docs/salesforce-behaviour.md#unknown-version), so
// that 404 means "scimforce is misconfigured", never "the user is gone".
import type { Logger, SalesforceSession } from './connection.js'

export interface ApiVersionCheck {
  /** The configured version, e.g. "62.0". */
  readonly version: string
  /** true / false; undefined when the versions list could not be read (then nothing is concluded). */
  offered (log: Logger): Promise<boolean | undefined>
  /** The versions the org offers, as last read (for messages). */
  readonly versions: readonly string[]
}

/** A verdict is reused this long, so that a burst of 404s costs one look at the versions list. */
export const API_VERSION_CACHE_MS = 30_000

export function createApiVersionCheck (session: Pick<SalesforceSession, 'conn' | 'ensureAuthorized'>, version: string, now: () => number = Date.now): ApiVersionCheck {
  let cached: { at: number, ok: boolean } | undefined
  let versions: string[] = []
  return {
    version,
    get versions () { return versions },
    async offered (log) {
      if (cached !== undefined && now() - cached.at < API_VERSION_CACHE_MS) return cached.ok
      try {
        // The list needs no session, but the connection learns the instance URL from the token.
        await session.ensureAuthorized()
        const list = await session.conn.request<Array<{ version: string }>>({ method: 'GET', url: '/services/data/' })
        versions = list.map((v) => v.version)
        cached = { at: now(), ok: versions.includes(version) }
        if (!cached.ok) log.error({ apiVersion: version, offered: versions }, `SF_API_VERSION v${version} is not offered by this Salesforce org: every record answers 404`)
        return cached.ok
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not read the Salesforce API versions list')
        return undefined
      }
    },
  }
}
