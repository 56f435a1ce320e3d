// SCIM list and filter requests for Groups: public groups paged in SOQL, then the mapped targets (few, named by
// configuration) filtered in memory; a page and its total in one composite call. externalId (kept in the
// store) and members.value (a membership lookup) are answered first and enter the filter as sets of ids.
import type { GroupsConfig } from '../config/types.js'
import { DEFAULT_GROUPS_CONFIG, GROUP_KINDS, TARGETS, claimedNames, displayNameOf, mappedTargetsOf, resolveDisplayName, salesforceGroupName, stripUserStorePrefix, type GroupKind } from '../mapping/group.js'
import { sameTarget, targetKey } from '../mapping/group-target.js'
import type { Logger } from '../salesforce/connection.js'
import type { SfRecord } from '../salesforce/gateway.js'
import type { GroupsGateway } from '../salesforce/groups.js'
import { normalizeSalesforceId } from '../salesforce/ids.js'
import { idKey, type Store } from '../store/store.js'
import { CORE_GROUP_SCHEMA } from '../protocol/constants.js'
import { matches as evaluate, type Attribute, type Lookup } from '../protocol/evaluate.js'
import { FilterError, type AttrPath, type CompareNode, type FilterNode } from '../protocol/filter.js'
import { filterToSoql } from '../salesforce/filter-soql.js'
import { groupFilterSchema } from '../mapping/group-filter-schema.js'
import type { Target } from './group-types.js'
import type { ListPage } from './user-list.js'

export interface GroupListQuery {
  /** Parsed once by the route (compat.ts parseRequestFilter). */
  filter?: FilterNode
  /** 1-based, already clamped to ≥ 1. */
  startIndex: number
  /** Already clamped to 0…maxResults. */
  count: number
  /** Drop a `DOMAIN/` prefix from displayName values (WSO2's `displayName Eq PRIMARY/sales`). */
  stripPrefix: boolean
}

export interface GroupListerDeps {
  /** The Groups gateway (src/salesforce/groups.ts): the list's queries are its. */
  sf: GroupsGateway
  store: Store
  groups?: GroupsConfig | undefined
  /** The ids of the groups a user is a member of (for `members.value eq "…"`). */
  groupsOfUser: (userId: string, log: Logger) => Promise<string[]>
}

const MAPPED_KINDS = GROUP_KINDS.filter((k): k is Exclude<GroupKind, 'group'> => k !== 'group')

export function createGroupLister (deps: GroupListerDeps): { list: (q: GroupListQuery, log: Logger) => Promise<ListPage<Target>> } {
  const { sf, store } = deps
  const config = deps.groups ?? DEFAULT_GROUPS_CONFIG

  async function list (q: GroupListQuery, log: Logger): Promise<ListPage<Target>> {
    let ast: FilterNode | undefined
    if (q.filter !== undefined) ast = await rewrite(q.filter, q, log)
    // Validates every attribute against the allow-list, also when no public group is consulted.
    const filterSoql = ast === undefined ? undefined : filterToSoql(ast, groupFilterSchema)

    // `displayName eq "x"` at the top (how every IdP looks a group up) names one kind of record: ask only there.
    const named = ast === undefined ? undefined : topLevelDisplayName(ast)
    const resolution = named === undefined ? undefined : resolveDisplayName(config, named)
    const wantPublic = config.defaultTarget === 'publicGroup' && (resolution === undefined || resolution.kind === 'group')
    const mappedKinds = resolution === undefined ? MAPPED_KINDS : MAPPED_KINDS.filter((k) => k === resolution.kind)

    const offset = q.startIndex - 1
    const groupTombstones = await store.groupTombstoneIds()
    const tombstoned = new Set(groupTombstones.map(idKey))
    const asCandidate = (kind: GroupKind, record: SfRecord): Target | undefined => candidate(kind, record, tombstoned)
    const found = await sf.list({
      ...(wantPublic
        ? {
            publicGroups: {
              filter: filterSoql,
              // Public groups whose name a mapping claims are not SCIM groups; nor are those the IdP deleted.
              claimed: claimedNames(config),
              tombstones: groupTombstones.filter((id) => id.startsWith(TARGETS.group.prefix)),
              offset,
              count: q.count,
            },
          }
        : {}),
      mapped: mappedKinds.map((kind) => resolution !== undefined && resolution.kind === kind
        ? { kind, key: targetKey(kind, resolution.target) }
        : { kind, all: mappedTargetsOf(config, kind) }),
    }, log)

    const mapped: Target[] = []
    for (const kind of mappedKinds) {
      for (const record of found.mapped.get(kind) ?? []) {
        const target = asCandidate(kind, record)
        if (target !== undefined && (ast === undefined || matches(ast, target))) mapped.push(target)
      }
    }
    mapped.sort((a, b) => MAPPED_KINDS.indexOf(a.kind as Exclude<GroupKind, 'group'>) - MAPPED_KINDS.indexOf(b.kind as Exclude<GroupKind, 'group'>) || (a.id < b.id ? -1 : 1))

    const publicTotal = found.publicTotal
    let page = found.publicPage.map((r) => asCandidate('group', r)).filter((t): t is Target => t !== undefined)
    const from = Math.max(0, offset - publicTotal)
    if (q.count > page.length) page = page.concat(mapped.slice(from, from + q.count - page.length))
    return { total: publicTotal + mapped.length, startIndex: q.startIndex, resources: page }
  }

  /** A record as a SCIM group, unless the IdP deleted it (`tombstoned`: id keys) or it maps to another name. */
  function candidate (kind: GroupKind, record: SfRecord, tombstoned: ReadonlySet<string>): Target | undefined {
    const id = String(record.Id)
    if (tombstoned.has(idKey(id))) return undefined
    const displayName = displayNameOf(config, kind, record)
    if (displayName === undefined || !sameTarget(config, displayName, kind, record)) return undefined
    return { kind, id, record, displayName }
  }

  /**
   * Filters reach Salesforce as SOQL on Group; externalId and members are not Group fields, so their comparisons
   * become sets of group ids first (`id eq …` alternatives), and WSO2's user-store prefix leaves displayName values.
   */
  async function rewrite (node: FilterNode, q: GroupListQuery, log: Logger): Promise<FilterNode> {
    switch (node.type) {
      case 'and': return { type: 'and', operands: await Promise.all(node.operands.map(async (o) => await rewrite(o, q, log))) }
      case 'or': return { type: 'or', operands: await Promise.all(node.operands.map(async (o) => await rewrite(o, q, log))) }
      case 'not': return { type: 'not', operand: await rewrite(node.operand, q, log) }
      default: break
    }
    const attr = attrName(node.path)
    if (attr === 'externalid') {
      if (node.type === 'valuePath' || node.path.subAttr !== undefined) throw new FilterError('externalId has no sub-attributes')
      const rows = await deps.store.groupExternalIds()
      return idsNode(rows.filter((r) => evaluate(node, () => ({ type: 'string', caseExact: true, values: [r.externalId] }))).map((r) => r.groupId))
    }
    if (attr === 'members') {
      const userId = memberFilterValue(node)
      const id = normalizeSalesforceId(userId)
      return idsNode(id === undefined ? [] : await deps.groupsOfUser(id, log))
    }
    if (attr === 'displayname' && node.type === 'compare' && typeof node.value === 'string') {
      const value = q.stripPrefix ? stripUserStorePrefix(node.value) : node.value
      // A displayName longer than Group.Name is stored shortened (mapping/group.ts salesforceGroupName): eq finds it.
      return { ...node, value: node.op === 'eq' || node.op === 'ne' ? salesforceGroupName(value) : value }
    }
    return node
  }

  return { list }
}

function attrName (path: AttrPath): string {
  const core = CORE_GROUP_SCHEMA.toLowerCase()
  if (path.urn !== undefined && path.urn.toLowerCase() !== core) return `${path.urn.toLowerCase()}:${path.attr.toLowerCase()}`
  return path.attr.toLowerCase()
}

/** `members.value eq "id"`, `members eq "id"` and `members[value eq "id"]`: the user id; other forms are refused. */
function memberFilterValue (node: Exclude<FilterNode, { type: 'and' | 'or' | 'not' }>): string {
  const unsupported = new FilterError('Filtering on members supports members[value eq "<id>"] and members.value eq "<id>" only')
  if (node.type === 'valuePath') {
    const inner = node.path.valueFilter
    if (inner.type !== 'compare' || inner.path.attr.toLowerCase() !== 'value' || inner.op !== 'eq' || typeof inner.value !== 'string' || node.path.subAttr !== undefined) throw unsupported
    return inner.value
  }
  if (node.type !== 'compare' || node.op !== 'eq' || typeof node.value !== 'string') throw unsupported
  if (node.path.subAttr !== undefined && node.path.subAttr.toLowerCase() !== 'value') throw unsupported
  return node.value
}

/** A set of group ids as filter alternatives (`or` of none is false). */
function idsNode (ids: readonly string[]): FilterNode {
  return { type: 'or', operands: ids.map((id): CompareNode => ({ type: 'compare', path: { attr: 'id' }, op: 'eq', value: id })) }
}

/** The value of a top-level `displayName eq "…"` conjunct, if the filter has one. */
function topLevelDisplayName (node: FilterNode): string | undefined {
  if (node.type === 'compare' && node.op === 'eq' && attrName(node.path) === 'displayname' && node.path.subAttr === undefined && typeof node.value === 'string') return node.value
  if (node.type === 'and') {
    for (const o of node.operands) {
      const v = topLevelDisplayName(o)
      if (v !== undefined) return v
    }
  }
  return undefined
}

// ---- the same filter, in memory, for mapped targets (already validated by filterToSoql) ----------------------

const CORE_GROUP = CORE_GROUP_SCHEMA.toLowerCase()

/** A Salesforce dateTime (`…+0000`) as an xsd:dateTime (`…+00:00`), or absent. */
function dateAttribute (value: unknown): Attribute {
  return { type: 'dateTime', values: typeof value === 'string' ? [value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')] : [] }
}

/** A mapped target as the evaluator sees it: id (compared as a Salesforce id), displayName, meta's dates. */
function subjectOf (t: Target): Lookup {
  const meta: Lookup = ({ attr }) => {
    switch (attr.toLowerCase()) {
      case 'created': return dateAttribute(t.record.CreatedDate)
      case 'lastmodified': return dateAttribute(t.record.LastModifiedDate)
      default: return undefined
    }
  }
  return ({ urn, attr }) => {
    if (urn !== undefined && urn.toLowerCase() !== CORE_GROUP) return undefined
    switch (attr.toLowerCase()) {
      // A feature licence group's id is its field's name, not a Salesforce id (issue 13): compared as it is.
      case 'id': return t.kind === 'featureLicence' ? { type: 'string', caseExact: true, values: [t.id] } : { type: 'string', caseExact: true, canonical: normalizeSalesforceId, values: [t.id] }
      case 'displayname': return { type: 'string', values: [t.displayName] }
      case 'meta': return { type: 'complex', values: [meta] }
      default: return undefined
    }
  }
}

function matches (node: FilterNode, t: Target): boolean {
  return evaluate(node, subjectOf(t))
}
