// API accounting for tests and benchmarks: calls per endpoint, sObject, method and status, and every SOQL seen.

export interface CountersSnapshot {
  /** REST calls that counted toward the daily API limit (a /composite request is one). */
  apiCalls: number
  /** Calls to the token endpoint (they do not count toward the limit). */
  tokenRequests: number
  /** e.g. sobjects, query, queryMore, composite, composite/sobjects, limits, describe, token, versions, composite.subrequests */
  byEndpoint: Record<string, number>
  /** sObject CRUD and describe calls, composite subrequests included. */
  bySObject: Record<string, number>
  byMethod: Record<string, number>
  /** Status of every REST response (401/403 rejections included). */
  byStatus: Record<string, number>
  /** Every SOQL string received, in order (query, queryAll, composite subrequests). */
  queries: string[]
}

export interface Counters {
  snapshot: () => CountersSnapshot
  reset: () => void
}

/** Keeps the last this-many SOQL strings, so a long benchmark cannot grow memory without bound. */
const MAX_QUERY_LOG = 10_000

export class CounterStore implements Counters {
  apiCalls = 0
  tokenRequests = 0
  private byEndpoint: Record<string, number> = {}
  private bySObject: Record<string, number> = {}
  private byMethod: Record<string, number> = {}
  private byStatus: Record<string, number> = {}
  private queries: string[] = []

  bump (kind: 'endpoint' | 'sobject' | 'method' | 'status', key: string, n = 1): void {
    const map = kind === 'endpoint' ? this.byEndpoint : kind === 'sobject' ? this.bySObject : kind === 'method' ? this.byMethod : this.byStatus
    map[key] = (map[key] ?? 0) + n
  }

  recordQuery (soql: string): void {
    this.queries.push(soql)
    if (this.queries.length > MAX_QUERY_LOG) this.queries.splice(0, this.queries.length - MAX_QUERY_LOG)
  }

  get queryLog (): readonly string[] {
    return this.queries
  }

  snapshot (): CountersSnapshot {
    return {
      apiCalls: this.apiCalls,
      tokenRequests: this.tokenRequests,
      byEndpoint: { ...this.byEndpoint },
      bySObject: { ...this.bySObject },
      byMethod: { ...this.byMethod },
      byStatus: { ...this.byStatus },
      queries: [...this.queries],
    }
  }

  reset (): void {
    this.apiCalls = 0
    this.tokenRequests = 0
    this.byEndpoint = {}
    this.bySObject = {}
    this.byMethod = {}
    this.byStatus = {}
    this.queries = []
  }
}
