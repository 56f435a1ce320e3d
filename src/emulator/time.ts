// Salesforce's dateTime text form (`2026-11-28T03:22:13.000+0000`) and parsing of what clients send.

export function formatDateTime (ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000')
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$/

/** Parses an ISO 8601 dateTime with an explicit zone (`Z`, `+0000`, `-08:00`); undefined when not one. */
export function parseDateTime (text: string): number | undefined {
  const m = DATETIME.exec(text)
  if (m === null) return undefined
  const zone = m[8] === 'Z' ? 'Z' : `${(m[8] ?? '').slice(0, 3)}:${(m[8] ?? '').slice(-2)}`
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}${zone}`)
  return Number.isNaN(ms) ? undefined : ms
}

/** A date (`2026-11-28`) as the UTC midnight it starts at. */
export function parseDate (text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined
  const ms = Date.parse(`${text}T00:00:00Z`)
  return Number.isNaN(ms) ? undefined : ms
}

export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
