// The bench's summaries of repeated runs: the median and the spread (min–max) of a figure over its repeats, and
// how the tables print them. Medians, because one run disturbed by other work on the machine must not move them.

export interface Spread { median: number, min: number, max: number, n: number }

export function spread (values: readonly number[]): Spread {
  const xs = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (xs.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 }
  const mid = Math.floor(xs.length / 2)
  const median = xs.length % 2 === 1 ? xs[mid] as number : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2
  return { median, min: xs[0] as number, max: xs[xs.length - 1] as number, n: xs.length }
}

export function fmt (n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '–'
}

/** `median (min–max)`, or the median alone when every repeat gave the same figure. */
export function cell (s: Spread, digits = 0): string {
  const m = fmt(s.median, digits)
  const lo = fmt(s.min, digits)
  const hi = fmt(s.max, digits)
  return lo === hi ? m : `${m} (${lo}–${hi})`
}
