// Licences beyond the user licence, as scimforce writes them (issue 13): permission set licences
// (PermissionSetLicenseAssign) granted before a permission set that needs one and released after, and the seat
// counts read only after Salesforce refused a seat (LICENSE_LIMIT_EXCEEDED), so the common path costs nothing.
// Every URL and SOQL text of these objects lives here. Returns records or throws SalesforceError.
import type { Logger } from './connection.js'
import { fromItems, SalesforceError } from './errors.js'
import type { Gateway, SfRecord } from './gateway.js'
import { licenceObserverOf, type LicenceKind, type Seats } from './licence-metrics.js'
import { and, eq, inList, isNotNull, select, soql } from './soql.js'

/** PermissionSetLicense Ids start with 0PL (docs/salesforce-behaviour.md#ids; PermissionSet.LicenseId may also name a UserLicense, 100). */
export const PSL_PREFIX = '0PL'
export const isPermissionSetLicenseId = (id: unknown): id is string => typeof id === 'string' && id.startsWith(PSL_PREFIX)

/** sObject Collections take 200 records a call (docs/salesforce-behaviour.md#collections). */
const COLLECTION_MAX = 200

/** One record's outcome in a collection answer (docs/salesforce-behaviour.md#collections). */
interface SaveResult { id?: string, success: boolean, errors?: Array<{ statusCode: string, message: string, fields?: string[] }> }

/** A licence's seats, for an error an admin can act on and for `doctor`. */
export type { Seats } from './licence-metrics.js'

export interface GrantResult {
  /** Users who got the licence from this call. */
  granted: string[]
  /** Users who held it already (DUPLICATE_VALUE): someone else's grant, or ours from before. */
  held: string[]
  /** Users Salesforce refused, with its error. */
  refused: Array<{ userId: string, error: SalesforceError }>
}

export interface ReleaseResult {
  released: string[]
  /** No assignment left to remove (Salesforce removed it with the last set that needed it). */
  gone: string[]
  /** Salesforce kept it: another assigned permission set still needs it (DELETE_FAILED). */
  kept: Array<{ userId: string, error: SalesforceError }>
}

export interface LicenceGateway {
  /** PermissionSetLicenseAssign for each user, one collection call per 200 users, each record on its own. */
  grantPermissionSetLicence (licenceId: string, userIds: readonly string[], log: Logger): Promise<GrantResult>
  /** Removes the users' assignments of the licence: one query, then one collection delete per 200. */
  releasePermissionSetLicence (licenceId: string, userIds: readonly string[], log: Logger): Promise<ReleaseResult>
  /** Users holding a feature licence (a UserPermissions* flag), active or not. */
  featureHolders (field: string, log: Logger): Promise<number>
  /** Seats of permission set licences (by Id), package licences and the user licences, one call. */
  seats (log: Logger): Promise<{ permissionSetLicences: Seats[], packageLicences: Seats[], userLicences: Seats[] }>
  /** Counts a refusal for want of a seat (metrics). */
  refused (kind: LicenceKind): void
  /**
   * What a user holds beyond the user licence, in one call: package licence seats (UserPackageLicense), permission
   * set licences (PermissionSetLicenseAssign) and the assignments of permission sets that need one.
   */
  heldBy (userId: string, log: Logger): Promise<UserLicences>
  /**
   * Deletes rows in order, one collection per step, in one call (allOrNone false: each row on its own). A step's
   * rows go before the next step's: permission sets before the permission set licences they need (Help "Remove
   * a Permission Set License from a User": the sets that require a licence first, then the licence).
   */
  deleteRows (steps: ReadonlyArray<readonly string[]>, log: Logger): Promise<RowResult[]>
  /** Creates rows in order (licences before the permission sets that need them), in one call, each on its own. */
  createRows (steps: ReadonlyArray<readonly NewRow[]>, log: Logger): Promise<RowResult[]>
}

/** A user's licence rows (heldBy). */
export interface UserLicences {
  packages: Array<{ rowId: string, licenceId: string }>
  permissionSetLicences: Array<{ rowId: string, licenceId: string }>
  /** Assignments of permission sets whose LicenseId is a permission set licence. */
  assignments: Array<{ rowId: string, permissionSetId: string, licenceId: string }>
}

/** A row to create: its sObject and fields; `label` names it in results. */
export interface NewRow { sobject: 'UserPackageLicense' | 'PermissionSetLicenseAssign' | 'PermissionSetAssignment', fields: Record<string, string>, label: string }

/** One row's outcome: its id (deletes) or label (creates), and Salesforce's error when refused. */
export interface RowResult { key: string, ok: boolean, id?: string, error?: SalesforceError }

const errorOf = (r: SaveResult): SalesforceError => fromItems((r.errors ?? []).map((e) => ({ statusCode: e.statusCode, message: e.message, fields: e.fields ?? [] })))

function chunks<T> (items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** The answer of a composite's single collection subrequest. */
function collectionResults (results: Array<{ body: unknown, httpStatusCode: number }>): SaveResult[] {
  const body = results[0]?.body
  if (!Array.isArray(body)) throw new SalesforceError('MISSING_READ_BACK', 'Salesforce answered a collection write without its results', 'unknownOutcome')
  return body as SaveResult[]
}

const num = (v: unknown): number => typeof v === 'number' ? v : Number(v ?? 0)

export function createLicenceGateway (gateway: Gateway): LicenceGateway {
  const observer = (): ReturnType<typeof licenceObserverOf> => licenceObserverOf(gateway)
  return {
    refused (kind) { observer()?.refused(kind) },

    async grantPermissionSetLicence (licenceId, userIds, log) {
      const out: GrantResult = { granted: [], held: [], refused: [] }
      for (const part of chunks(userIds, COLLECTION_MAX)) {
        // allOrNone false: a user who holds the licence already answers DUPLICATE_VALUE without stopping the others.
        // Never replayed: a replay would find our own first insert and take it for someone else's.
        const results = collectionResults(await gateway.composite([{
          method: 'POST',
          url: '/composite/sobjects',
          referenceId: 'grant',
          body: { allOrNone: false, records: part.map((userId) => ({ attributes: { type: 'PermissionSetLicenseAssign' }, AssigneeId: userId, PermissionSetLicenseId: licenceId })) },
        }], { allOrNone: false, safeToRetry: false }, log))
        part.forEach((userId, i) => {
          const r = results[i]
          if (r?.success === true) out.granted.push(userId)
          else if (r !== undefined && r.errors?.[0]?.statusCode === 'DUPLICATE_VALUE') out.held.push(userId)
          else out.refused.push({ userId, error: r === undefined ? new SalesforceError('MISSING_READ_BACK', 'no result for this record', 'unknownOutcome') : errorOf(r) })
        })
      }
      return out
    },

    async releasePermissionSetLicence (licenceId, userIds, log) {
      const out: ReleaseResult = { released: [], gone: [], kept: [] }
      if (userIds.length === 0) return out
      const rows: SfRecord[] = []
      for (const part of chunks(userIds, COLLECTION_MAX)) {
        const res = await gateway.query(select({ fields: ['Id', 'AssigneeId'], from: 'PermissionSetLicenseAssign', where: and(eq('PermissionSetLicenseId', licenceId), inList('AssigneeId', part)) }), log)
        rows.push(...res.records)
      }
      const byUser = new Map(rows.map((r) => [String(r.AssigneeId).slice(0, 15), String(r.Id)]))
      const present = userIds.filter((u) => byUser.has(u.slice(0, 15)))
      out.gone.push(...userIds.filter((u) => !byUser.has(u.slice(0, 15))))
      for (const part of chunks(present, COLLECTION_MAX)) {
        const ids = part.map((u) => byUser.get(u.slice(0, 15)) as string)
        const results = collectionResults(await gateway.composite([{
          method: 'DELETE', url: `/composite/sobjects?ids=${ids.join(',')}&allOrNone=false`, referenceId: 'release',
        }], { allOrNone: false, safeToRetry: true }, log))
        part.forEach((userId, i) => {
          const r = results[i]
          const code = r?.errors?.[0]?.statusCode
          // Gone meanwhile (ENTITY_IS_DELETED, NOT_FOUND): released all the same.
          if (r?.success === true) out.released.push(userId)
          else if (code === 'ENTITY_IS_DELETED' || code === 'NOT_FOUND' || code === 'INVALID_CROSS_REFERENCE_KEY') out.gone.push(userId)
          else out.kept.push({ userId, error: r === undefined ? new SalesforceError('MISSING_READ_BACK', 'no result for this record', 'unknownOutcome') : errorOf(r) })
        })
      }
      return out
    },

    async heldBy (userId, log) {
      const q = (soql: string, ref: string): { method: 'GET', url: string, referenceId: string } => ({ method: 'GET', url: `/query?q=${encodeURIComponent(soql)}`, referenceId: ref })
      const results = await gateway.composite([
        q(select({ fields: ['Id', 'PackageLicenseId'], from: 'UserPackageLicense', where: eq('UserId', userId) }), 'pkg'),
        q(select({ fields: ['Id', 'PermissionSetLicenseId'], from: 'PermissionSetLicenseAssign', where: eq('AssigneeId', userId) }), 'psl'),
        // Parent field in the filter and the select (SOQL relationship query, PermissionSetAssignment.PermissionSet).
        q(select({ fields: ['Id', 'PermissionSetId', 'PermissionSet.LicenseId'], from: 'PermissionSetAssignment', where: and(eq('AssigneeId', userId), isNotNull('PermissionSet.LicenseId')) }), 'psa'),
      ], { allOrNone: false, safeToRetry: true }, log)
      const recs = (ref: string): SfRecord[] => ((results.find((r) => r.referenceId === ref)?.body as { records?: SfRecord[] } | null)?.records ?? [])
      return {
        packages: recs('pkg').map((r) => ({ rowId: String(r.Id), licenceId: String(r.PackageLicenseId) })),
        permissionSetLicences: recs('psl').map((r) => ({ rowId: String(r.Id), licenceId: String(r.PermissionSetLicenseId) })),
        assignments: recs('psa')
          .map((r) => ({ rowId: String(r.Id), permissionSetId: String(r.PermissionSetId), licenceId: String((r.PermissionSet as SfRecord | null | undefined)?.LicenseId ?? '') }))
          .filter((a) => isPermissionSetLicenseId(a.licenceId)),
      }
    },

    async deleteRows (steps, log) {
      const parts = steps.flatMap((ids) => chunks(ids, COLLECTION_MAX)).filter((ids) => ids.length > 0)
      if (parts.length === 0) return []
      // Each subrequest on its own (allOrNone false), in order; a delete is safe to replay (a gone row answers
      // ENTITY_IS_DELETED, counted as released).
      const results = await gateway.composite(parts.map((ids, i) => ({ method: 'DELETE' as const, url: `/composite/sobjects?ids=${ids.join(',')}&allOrNone=false`, referenceId: `del${i}` })), { allOrNone: false, safeToRetry: true }, log)
      return parts.flatMap((ids, i) => {
        const body = results[i]?.body
        return ids.map((id, j): RowResult => {
          const r = Array.isArray(body) ? body[j] as SaveResult | undefined : undefined
          const code = r?.errors?.[0]?.statusCode
          if (r?.success === true || code === 'ENTITY_IS_DELETED' || code === 'NOT_FOUND' || code === 'INVALID_CROSS_REFERENCE_KEY') return { key: id, ok: true }
          return { key: id, ok: false, error: r === undefined ? new SalesforceError('MISSING_READ_BACK', 'no result for this record', 'unknownOutcome') : errorOf(r) }
        })
      })
    },

    async createRows (steps, log) {
      const parts = steps.flatMap((rows) => chunks(rows, COLLECTION_MAX)).filter((rows) => rows.length > 0)
      if (parts.length === 0) return []
      // Never replayed: a replay would meet its own first inserts (DUPLICATE_VALUE, taken as held).
      const results = await gateway.composite(parts.map((rows, i) => ({
        method: 'POST' as const,
        url: '/composite/sobjects',
        referenceId: `add${i}`,
        body: { allOrNone: false, records: rows.map((r) => ({ attributes: { type: r.sobject }, ...r.fields })) },
      })), { allOrNone: false, safeToRetry: false }, log)
      return parts.flatMap((rows, i) => {
        const body = results[i]?.body
        return rows.map((row, j): RowResult => {
          const r = Array.isArray(body) ? body[j] as SaveResult | undefined : undefined
          if (r?.success === true) return { key: row.label, ok: true, ...(r.id !== undefined ? { id: r.id } : {}) }
          // Held already (someone's row, or ours from a lost answer): nothing to grant.
          if (r?.errors?.[0]?.statusCode === 'DUPLICATE_VALUE') return { key: row.label, ok: true }
          return { key: row.label, ok: false, error: r === undefined ? new SalesforceError('MISSING_READ_BACK', 'no result for this record', 'unknownOutcome') : errorOf(r) }
        })
      })
    },

    async featureHolders (field, log) {
      if (!/^UserPermissions[A-Za-z0-9_]+$/.test(field)) throw new SalesforceError('INVALID_FIELD', `not a feature licence field: ${field}`, 'validation')
      return (await gateway.query(select({ fields: [soql`COUNT()`], from: 'User', where: eq(field, true) }), log)).totalSize
    },

    async seats (log) {
      const q = (soql: string, ref: string): { method: 'GET', url: string, referenceId: string } => ({ method: 'GET', url: `/query?q=${encodeURIComponent(soql)}`, referenceId: ref })
      const results = await gateway.composite([
        q(select({ fields: ['Id', 'DeveloperName', 'MasterLabel', 'UsedLicenses', 'TotalLicenses'], from: 'PermissionSetLicense', where: eq('Status', 'Active') }), 'psl'),
        q(select({ fields: ['Id', 'NamespacePrefix', 'UsedLicenses', 'AllowedLicenses'], from: 'PackageLicense' }), 'pkg'),
        q(select({ fields: ['Id', 'Name', 'UsedLicenses', 'TotalLicenses'], from: 'UserLicense' }), 'ul'),
      ], { allOrNone: false, safeToRetry: true }, log)
      const recs = (ref: string): SfRecord[] => ((results.find((r) => r.referenceId === ref)?.body as { records?: SfRecord[] } | null)?.records ?? [])
      const out = {
        permissionSetLicences: recs('psl').map((r) => ({ id: String(r.Id), name: String(r.DeveloperName), label: String(r.MasterLabel ?? r.DeveloperName), used: num(r.UsedLicenses), total: num(r.TotalLicenses) })),
        packageLicences: recs('pkg').map((r) => ({ id: String(r.Id), name: String(r.NamespacePrefix), label: String(r.NamespacePrefix), used: num(r.UsedLicenses), total: num(r.AllowedLicenses) })),
        userLicences: recs('ul').map((r) => ({ id: String(r.Id), name: String(r.Name), label: String(r.Name), used: num(r.UsedLicenses), total: num(r.TotalLicenses) })),
      }
      observer()?.seats('permissionSetLicence', out.permissionSetLicences)
      observer()?.seats('packageLicence', out.packageLicences)
      observer()?.seats('userLicence', out.userLicences)
      return out
    },
  }
}
