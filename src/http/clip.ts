// Client input that scimforce echoes (error details) or writes down (logs) is clipped here, at the door, whatever
// layer quoted it: a 5,000-character value comes back as its first 100 characters and an ellipsis.

/** The most of one unbroken run (a value, an id, a path, a URN) a detail quotes; our own words are never this long. */
export const MAX_RUN = 100
/** The most a detail says in all. */
export const MAX_DETAIL = 500
/** The most of a URL or a header a log line quotes. */
export const MAX_LOGGED = 160

const LONG_RUN = new RegExp(`\\S{${MAX_RUN + 1},}`, 'gu')

function cut (s: string, max: number): string {
  if (s.length <= max) return s
  // Never split a surrogate pair: half an emoji is not valid UTF-16, and JSON encoders would escape it.
  const end = /[\uD800-\uDBFF]/.test(s[max - 1] ?? '') ? max - 1 : max
  return `${s.slice(0, end)}…`
}

/** An error detail as sent and logged: every long run clipped, then the whole. Idempotent. */
export function clipDetail (detail: string): string {
  return cut(detail.replace(LONG_RUN, (run) => cut(run, MAX_RUN)), MAX_DETAIL)
}

/** A URL or header value for a log line. */
export function clipLogged (value: string | undefined): string | undefined {
  return value === undefined ? undefined : cut(value, MAX_LOGGED)
}
