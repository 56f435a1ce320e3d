// Warns in the log when the org's daily API allowance (Sforce-Limit-Info: api-usage=N/M, which Salesforce sends
// on every REST answer) crosses 80 % and 95 %, once per crossing, so an operator hears of it before the 429s.
import type { Logger, SalesforceSession } from '../salesforce/connection.js'
import type { GatewayObserver } from '../salesforce/gateway.js'

/** Fractions of the daily allowance that earn a warning, lowest first. */
export const USAGE_THRESHOLDS = [0.8, 0.95] as const

/**
 * A gateway observer that reads the session's last Sforce-Limit-Info after each call. It remembers the highest
 * threshold passed; a lower reading (Salesforce frees requests over its rolling 24 hours) lowers it again, so the
 * next crossing warns anew. Between crossings it stays silent, however many calls are made.
 */
export function watchApiUsage (session: Pick<SalesforceSession, 'limitInfo'>, log: Pick<Logger, 'warn' | 'info'>): GatewayObserver {
  let level = 0
  return {
    onCall () {
      const info = session.limitInfo()
      if (info === undefined || info.limit <= 0) return
      const fraction = info.used / info.limit
      const now = USAGE_THRESHOLDS.filter((t) => fraction >= t).length
      if (now > level) {
        const percent = Math.round((USAGE_THRESHOLDS[now - 1] as number) * 100)
        log.warn({ apiUsage: info.used, apiLimit: info.limit }, `Salesforce daily API usage passed ${percent} % (${info.used} of ${info.limit}): at 100 % every SCIM call answers 429 until Salesforce frees requests`)
      } else if (now < level) {
        log.info({ apiUsage: info.used, apiLimit: info.limit }, 'Salesforce daily API usage is back under a warning threshold')
      }
      level = now
    },
  }
}
