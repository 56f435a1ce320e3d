// The audit journal's shape: one entry per SCIM change (POST, PUT, PATCH, DELETE) and its outcome, kept in the
// store so that every replica writes to one journal and `scimforce audit` reads it (src/audit-cli.ts).
export interface AuditEntry {
  /** ISO 8601, when the request was answered. */
  at: string
  /** The IdP client (config clients[].name). */
  client: string
  requestId: string
  operation: 'create' | 'replace' | 'patch' | 'delete'
  /** 'User' or 'Group'. */
  resourceType: string
  /** The SCIM id (the path id, or the created resource's id); undefined when a create failed. */
  scimId?: string
  /** The Salesforce record's Id (scimforce's SCIM ids are Salesforce Ids: the canonical 18-character form). */
  salesforceId?: string
  /** Attribute names the request touched (body keys or PATCH paths); never values. */
  attributes: string[]
  /** The HTTP status answered. */
  status: number
  /** The Salesforce errorCode behind a failure, when there was one. */
  salesforceCode?: string
  /** Salesforce API calls the request spent. */
  apiCalls: number
  /** Non-secret values worth keeping (userName, displayName). */
  details?: Record<string, string>
}

export interface AuditQuery {
  /** Entries whose SCIM id, Salesforce Id or userName/displayName equals this (case-insensitive for names). */
  subject?: string
  resourceType?: string
  client?: string
  /** ISO 8601 bounds, inclusive. */
  since?: string
  until?: string
  /** Newest first, at most this many (default 1000). */
  limit?: number
}

/** The journal's part of the Store interface (types.ts). */
export interface AuditStore {
  appendAudit (entry: AuditEntry): Promise<void>
  queryAudit (q: AuditQuery): Promise<AuditEntry[]>
  /** Deletes entries older than `before` (ISO 8601); returns how many. */
  purgeAudit (before: string): Promise<number>
}

/** The days of journal kept when the config says nothing (store.auditRetentionDays). */
export const DEFAULT_AUDIT_RETENTION_DAYS = 90
