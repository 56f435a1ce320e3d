// The slice of autocannon's programmatic API the benchmark uses (autocannon 8 ships no type declarations).
declare module 'autocannon' {
  export interface AutocannonRequest {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string
    /** Called before each request; returns the request to send. */
    setupRequest?: (req: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest
    onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>) => void
  }

  export interface AutocannonOptions {
    url: string
    connections?: number
    /** Seconds. */
    duration?: number
    /** Requests in all; overrides duration. */
    amount?: number
    /** Seconds before a request counts as timed out. */
    timeout?: number
    method?: string
    headers?: Record<string, string>
    body?: string
    requests?: AutocannonRequest[]
    title?: string
  }

  /** Milliseconds (latency) or per-second counts (requests); pNN keys are percentiles, e.g. p50, p97_5, p99. */
  export interface Histogram {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    total?: number
    p50: number
    p90: number
    p99: number
  }

  export interface AutocannonResult {
    title?: string
    /** Seconds. */
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    '2xx': number
    latency: Histogram
    /** Per-second counts; `sent` is every request written, answered or not. */
    requests: Histogram & { sent: number }
    statusCodeStats: Record<string, { count: number }>
  }

  function autocannon (opts: AutocannonOptions): Promise<AutocannonResult>
  export default autocannon
}
