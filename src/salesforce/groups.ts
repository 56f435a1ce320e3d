// The Groups domain gateway: every Salesforce URL, SOQL query and composite layout of the SCIM Groups path (Group,
// GroupMember, PermissionSet, PermissionSetAssignment, PermissionSetGroup, Profile, UserRole and the User fields
// profile/role groups write). It returns records, or throws SalesforceError; what they mean for SCIM is the
// caller's. Reads of one operation travel in as few `/composite` calls as batch.ts can pack them into.
import type { GroupTargetKind } from '../config/types.js'
import { featureRecord, type GroupListRead, type GroupListResult, type GroupObjectKind, type GroupRead, type GroupReadResult, type GroupsGatewayDeps, type MappedTargets, type MembershipWrite, type RowKind, type TargetKey, type UserGroupKinds } from './group-gateway.js'
import { ADMIN_PERMISSIONS } from '../mapping/group-privilege.js'
import { MAX_IDS_PER_QUERY, RecordWriteError, applyWrites, chunk, queryAll, queryRequest, readAll, recordsOf, type RecordWrite, type SingleWrite, type WriteProgress } from './batch.js'
import type { Logger } from './connection.js'
import { SalesforceError } from './errors.js'
import type { CompositeSubrequest, SfRecord } from './gateway.js'
import { adminGradeGroupsRequest, markAdminGrade } from './target-privilege.js'
import { and, eq, inList, like, LIKE_ANY, MAX_SOQL_OFFSET, not, notInList, or, select, soql, type Soql, type SoqlFragment } from './soql.js'

export * from './group-gateway.js'

export type GroupsGateway = ReturnType<typeof createGroupsGateway>

const USER_FIELDS = ['Id', 'Username', 'IsActive', 'ProfileId', 'UserRoleId']
const MEMBER_FIELDS = ['Id', 'Username']

/** Only records a SCIM group can stand for: regular public groups and permission sets, not the hidden ones (docs/salesforce-behaviour.md#group-objects). */
function kindScope (kind: GroupObjectKind): SoqlFragment[] {
  if (kind === 'queue') return [eq('Type', 'Queue')]
  return kind === 'group' || kind === 'permissionSet' ? [eq('Type', 'Regular')] : []
}

/** A record read back must carry its Id: without one, the write it confirms is not known to have happened. */
export function withId (record: unknown, what: string): SfRecord {
  if (record === null || typeof record !== 'object' || Array.isArray(record) || typeof (record as SfRecord).Id !== 'string' || (record as SfRecord).Id === '') {
    throw new SalesforceError('MISSING_ID', `Salesforce's read-back of ${what} carries no Id`, 'unknownOutcome')
  }
  return record as SfRecord
}

/**
 * Which permission set groups are admin-grade travels with every read of permission set group records (issue 11):
 * their own record cannot say, and a group made admin-grade after start-up must be refused at the next request.
 * The records come back marked (mapping/group-privilege.ts ADMIN_GRADE_FIELD), which privilegeOf reads.
 */
const ADMIN_GRADE_REF = 'psgAdmin'
const adminGradeRequest = (): CompositeSubrequest => adminGradeGroupsRequest(ADMIN_GRADE_REF, ADMIN_PERMISSIONS)

export function createGroupsGateway (deps: GroupsGatewayDeps) {
  const { objects } = deps
  // Every composite answer is checked by the gateway itself (gateway.ts checkComposite).
  const { gateway } = deps

  const targetGet = (kind: GroupObjectKind, id: string): CompositeSubrequest =>
    ({ method: 'GET', url: `/sobjects/${objects[kind].sobject}/${id}?fields=${objects[kind].fields.join(',')}`, referenceId: 'target' })

  /** The records of a feature licence mapping (no query: see featureRecord). */
  const featureRecords = (key: TargetKey | undefined, all: MappedTargets | undefined): SfRecord[] =>
    key !== undefined ? ('name' in key ? [featureRecord(key.name)] : []) : (all?.names ?? []).map(featureRecord)

  /** The record a mapping names, as a query (two rows at most: one is expected). */
  function lookupQuery (kind: GroupTargetKind, key: TargetKey): Soql {
    const t = objects[kind]
    const where = 'id' in key ? eq('Id', key.id) : eq(t.nameField, key.name)
    return select({ fields: t.fields, from: t.sobject, where: and(where, ...kindScope(kind)), limit: 2 })
  }

  /** Every record of a kind that some mapping may name (exact names and Ids, and the name patterns as LIKE). */
  function mappedQuery (kind: GroupTargetKind, m: MappedTargets): Soql | undefined {
    const t = objects[kind]
    const conds: SoqlFragment[] = []
    if (m.names.length > 0) conds.push(inList(t.nameField, m.names))
    if (m.ids.length > 0) conds.push(inList('Id', m.ids))
    for (const [before, after] of m.patterns) conds.push(like(t.nameField, before, LIKE_ANY, after))
    if (conds.length === 0) return undefined
    return select({ fields: t.fields, from: t.sobject, where: and(or(...conds), ...kindScope(kind)), orderBy: [{ field: 'Id' }] })
  }

  /** Rows (GroupMember / PermissionSetAssignment) of a target. A permission set group's assignments carry PermissionSetGroupId (their PermissionSetId is the group's hidden aggregate, §5). */
  function rowQuery (kind: RowKind, targetId: string, ids: readonly string[] | undefined): Soql {
    if (kind === 'featureLicence') {
      // A feature licence's holders: users with the flag set; the "row" is the user itself (issue 13).
      const cond = eq(targetId, true)
      return select({ fields: ['Id'], from: 'User', where: ids === undefined ? cond : and(cond, inList('Id', ids)) })
    }
    if (kind === 'packageLicence') {
      // A managed package's seats: UserPackageLicense rows (docs/salesforce-behaviour.md#licences; issue 13).
      const cond = eq('PackageLicenseId', targetId)
      return select({ fields: ['Id', 'UserId'], from: 'UserPackageLicense', where: ids === undefined ? cond : and(cond, inList('UserId', ids)) })
    }
    // A queue's members are GroupMember rows like a public group's (docs/salesforce-behaviour.md#group-objects).
    if (kind === 'queue') kind = 'group'
    const userCol = kind === 'group' ? 'UserOrGroupId' : 'AssigneeId'
    const targetCond = kind === 'group' ? eq('GroupId', targetId) : kind === 'permissionSet' ? eq('PermissionSetId', targetId) : eq('PermissionSetGroupId', targetId)
    const from = kind === 'group' ? 'GroupMember' : 'PermissionSetAssignment'
    return select({ fields: ['Id', userCol], from, where: ids === undefined ? targetCond : and(targetCond, inList(userCol, ids)) })
  }

  /**
   * Queries naming the users (and, for public groups, the nested groups) that are members of a target. Member users
   * are only those inside the managed scope (`scoped`): a member list never shows the integration user or an admin
   * (issue 11), as the Users path does not.
   */
  function memberQueries (kind: GroupObjectKind, id: string, claimed: readonly string[], prefix: string, scoped: (cond: SoqlFragment) => SoqlFragment): CompositeSubrequest[] {
    const order = [{ field: 'Id' }]
    switch (kind) {
      case 'queue':
      case 'group':
        // Semi-joins: one query answers the member list with userNames, however many members [assumption: SOQL
        // semi-joins accept GroupMember's polymorphic UserOrGroupId, a common idiom; UNVERIFIED in docs/salesforce-behaviour.md#group-objects].
        return [
          queryRequest(`${prefix}u`, select({ fields: MEMBER_FIELDS, from: 'User', where: scoped(soql`Id IN (SELECT UserOrGroupId FROM GroupMember WHERE GroupId = ${id})`), orderBy: order })),
          queryRequest(`${prefix}g`, select({ fields: ['Id', 'Name'], from: 'Group', where: soql`Id IN (SELECT UserOrGroupId FROM GroupMember WHERE GroupId = ${id})`, orderBy: order })),
        ]
      case 'permissionSet':
        return [queryRequest(`${prefix}u`, select({ fields: MEMBER_FIELDS, from: 'User', where: scoped(soql`Id IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = ${id})`), orderBy: order }))]
      case 'permissionSetGroup':
        return [queryRequest(`${prefix}u`, select({ fields: MEMBER_FIELDS, from: 'User', where: scoped(soql`Id IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetGroupId = ${id})`), orderBy: order }))]
      case 'packageLicence':
        return [queryRequest(`${prefix}u`, select({ fields: MEMBER_FIELDS, from: 'User', where: scoped(soql`Id IN (SELECT UserId FROM UserPackageLicense WHERE PackageLicenseId = ${id})`), orderBy: order }))]
      case 'featureLicence':
        return [queryRequest(`${prefix}u`, select({ fields: MEMBER_FIELDS, from: 'User', where: scoped(eq(id, true)), orderBy: order }))]
      default:
        // Profile and role groups: the members are the IdP's claims (the User field holds only the winner).
        return chunk(claimed, MAX_IDS_PER_QUERY).map((ids, i) =>
          queryRequest(`${prefix}u${i}`, select({ fields: MEMBER_FIELDS, from: 'User', where: scoped(inList('Id', ids)), orderBy: order })))
    }
  }

  /** The subrequests of a read, in a fixed order: target, names, users, rows, members, groups. */
  function readRequests (r: GroupRead, scope: SoqlFragment | undefined): CompositeSubrequest[] {
    const out: CompositeSubrequest[] = []
    const scoped = (cond: SoqlFragment): SoqlFragment => (scope === undefined ? cond : and(cond, scope))
    if (r.target !== undefined && r.target.kind !== 'featureLicence') out.push(targetGet(r.target.kind, r.target.id))
    if (r.target?.kind === 'permissionSetGroup') out.push(adminGradeRequest())
    chunk(r.userNames ?? [], MAX_IDS_PER_QUERY).forEach((part, i) =>
      out.push(queryRequest(`names${i}`, select({ fields: USER_FIELDS, from: 'User', where: scoped(inList('Username', part)) }))))
    chunk((r.userIds ?? []).filter((id) => id.startsWith('005')), MAX_IDS_PER_QUERY).forEach((part, i) =>
      out.push(queryRequest(`users${i}`, select({ fields: USER_FIELDS, from: 'User', where: scoped(inList('Id', part)) }))))
    if (r.rows !== undefined) {
      const { kind, targetId, userIds } = r.rows
      if (userIds === undefined) out.push(queryRequest('rows', rowQuery(kind, targetId, undefined)))
      else chunk(userIds, MAX_IDS_PER_QUERY).forEach((part, i) => out.push(queryRequest(`rows${i}`, rowQuery(kind, targetId, part))))
    }
    r.members?.forEach((m, i) => out.push(...memberQueries(m.kind, m.id, m.claimed ?? [], `m${i}_`, scoped)))
    chunk(r.publicGroupIds ?? [], MAX_IDS_PER_QUERY).forEach((part, i) =>
      out.push(queryRequest(`groups${i}`, select({ fields: ['Id'], from: 'Group', where: and(inList('Id', part), eq('Type', 'Regular')) }))))
    return out
  }

  /** One read (see GroupRead); nothing is sent when it asks for nothing. */
  async function read (r: GroupRead, log: Logger): Promise<GroupReadResult> {
    const looksUpUsers = (r.userNames?.length ?? 0) > 0 || (r.userIds?.length ?? 0) > 0 || (r.members?.length ?? 0) > 0
    const requests = readRequests(r, looksUpUsers && deps.userScope !== undefined ? await deps.userScope() : undefined)
    const bodies = requests.length === 0 ? new Map<string, unknown>() : await readAll(gateway, requests, log)
    const out: GroupReadResult = { byName: [], users: [], rows: new Map(), members: (r.members ?? []).map(() => ({ users: [], groups: [] })), publicGroups: [] }
    const userCol = r.rows?.kind === 'group' || r.rows?.kind === 'queue' ? 'UserOrGroupId' : r.rows?.kind === 'packageLicence' ? 'UserId' : r.rows?.kind === 'featureLicence' ? 'Id' : 'AssigneeId'
    if (r.target?.kind === 'featureLicence') out.target = featureRecord(r.target.id)
    for (const [ref, body] of bodies) {
      if (ref === 'target') {
        out.target = body === null || body === undefined ? undefined : withId(body, `${r.target?.kind ?? 'group'} ${r.target?.id ?? ''}`)
      } else if (ref === ADMIN_GRADE_REF) {
        continue
      } else if (ref.startsWith('names')) {
        out.byName.push(...recordsOf(body))
      } else if (ref.startsWith('users')) {
        out.users.push(...recordsOf(body))
      } else if (ref.startsWith('rows')) {
        for (const rec of recordsOf(body)) out.rows.set(String(rec[userCol]), String(rec.Id))
      } else if (ref.startsWith('groups')) {
        out.publicGroups.push(...recordsOf(body))
      } else {
        const m = /^m(\d+)_(.+)$/.exec(ref)
        const slot = m === null ? undefined : out.members[Number(m[1])]
        if (slot !== undefined) (m?.[2] === 'g' ? slot.groups : slot.users).push(...recordsOf(body))
      }
    }
    if (out.target !== undefined && bodies.has(ADMIN_GRADE_REF)) markAdminGrade([out.target], bodies.get(ADMIN_GRADE_REF))
    return out
  }

  /** The records mappings name (one call for all of them), and whether the default profile exists when asked. */
  async function lookupTargets (lookups: ReadonlyArray<{ kind: GroupTargetKind, key: TargetKey }>, log: Logger, profileId?: string): Promise<{ records: SfRecord[][], profileFound: boolean }> {
    const requests = lookups.flatMap((l, i) => l.kind === 'featureLicence' ? [] : [queryRequest(`t${i}`, lookupQuery(l.kind, l.key))])
    if (profileId !== undefined) requests.push(queryRequest('defaultProfile', select({ fields: ['Id'], from: 'Profile', where: eq('Id', profileId), limit: 1 })))
    if (lookups.some((l) => l.kind === 'permissionSetGroup')) requests.push(adminGradeRequest())
    const bodies = requests.length === 0 ? new Map<string, unknown>() : await readAll(gateway, requests, log)
    const admin = bodies.get(ADMIN_GRADE_REF)
    return {
      records: lookups.map((l, i) => l.kind === 'featureLicence' ? featureRecords(l.key, undefined) : l.kind === 'permissionSetGroup' ? markAdminGrade(recordsOf(bodies.get(`t${i}`)), admin) : recordsOf(bodies.get(`t${i}`))),
      profileFound: recordsOf(bodies.get('defaultProfile')).length > 0,
    }
  }

  /**
   * Membership changes of one target, and a rename of a public group first, in all-or-none composites (one call
   * each; batch.ts applyWrites). Record writes keep their order: consecutive ones of a kind share collections.
   */
  async function writeMembership (target: { kind: GroupObjectKind, id: string }, rename: string | undefined, writes: readonly MembershipWrite[], log: Logger): Promise<WriteProgress> {
    const records = writes.map((w): RecordWrite => {
      // A feature licence is a flag on the user: granted and taken back by updating the User (issue 13).
      if (target.kind === 'featureLicence' && w.op !== 'setUserField') return { op: 'update', sobject: 'User', id: w.userId, fields: { [target.id]: w.op === 'addMember' }, label: w.userId }
      if (w.op === 'removeRow') return { op: 'delete', id: w.rowId, label: w.userId }
      if (w.op === 'setUserField') return { op: 'update', sobject: 'User', id: w.userId, fields: { [w.field]: w.value }, label: w.userId }
      if (target.kind === 'packageLicence') return { op: 'create', sobject: 'UserPackageLicense', fields: { UserId: w.userId, PackageLicenseId: target.id }, label: w.userId }
      if (target.kind === 'queue') return { op: 'create', sobject: 'GroupMember', fields: { GroupId: target.id, UserOrGroupId: w.userId }, label: w.userId }
      const fields = target.kind === 'group'
        ? { GroupId: target.id, UserOrGroupId: w.userId }
        : target.kind === 'permissionSet' ? { AssigneeId: w.userId, PermissionSetId: target.id } : { AssigneeId: w.userId, PermissionSetGroupId: target.id }
      return { op: 'create', sobject: target.kind === 'group' ? 'GroupMember' : 'PermissionSetAssignment', fields, label: w.userId }
    })
    if (rename !== undefined && rename.includes('@{')) {
      // A name holding `@{` cannot travel in a composite (holdsReference in users.ts): the rename goes first as a
      // plain PATCH, the membership writes after it. Not one transaction, but each step converges on an IdP retry.
      await gateway.write('PATCH', `/sobjects/Group/${target.id}`, { Name: rename }, { safeToRetry: true }, log)
      return records.length === 0 ? { done: 0, total: 0 } : await applyWrites(gateway, [], records, log, () => {})
    }
    const singles: SingleWrite[] = rename === undefined ? [] : [{ method: 'PATCH', url: `/sobjects/Group/${target.id}`, body: { Name: rename }, label: 'rename' }]
    return await applyWrites(gateway, singles, records, log, () => {})
  }

  /**
   * Creates a public group with its first members (labels: the member ids) and reads it back, in one composite;
   * `onCommitted` gets the new record as soon as Salesforce committed it. A name holding `@{`, which a composite
   * would read as a reference, goes as a plain POST and read-back first; the members then follow by the real id.
   */
  async function createPublicGroup (name: string, developerName: string, memberIds: readonly string[], log: Logger, onCommitted: (record: SfRecord) => void | Promise<void>): Promise<void> {
    const body = { Name: name, DeveloperName: developerName, Type: 'Regular' }
    if (name.includes('@{')) {
      const created = await gateway.write('POST', '/sobjects/Group', body, { safeToRetry: false }, log) as { id?: unknown } | null
      if (typeof created?.id !== 'string') throw new SalesforceError('MISSING_ID', `Salesforce answered the create of the group '${name}' without its Id`, 'unknownOutcome')
      const groupId = created.id
      await onCommitted(withId(await gateway.retrieve('Group', groupId, [...objects.group.fields], log), `the new group '${name}'`))
      const writes: RecordWrite[] = memberIds.map((id) => ({ op: 'create', sobject: 'GroupMember', fields: { GroupId: groupId, UserOrGroupId: id }, label: id }))
      if (writes.length > 0) await applyWrites(gateway, [], writes, log, () => {})
      return
    }
    const singles: SingleWrite[] = [
      { method: 'POST', url: '/sobjects/Group', body, label: 'group' },
      { method: 'GET', url: `/sobjects/Group/@{w0.id}?fields=${objects.group.fields.join(',')}`, label: 'readBack' },
    ]
    const writes: RecordWrite[] = memberIds.map((id) => ({ op: 'create', sobject: 'GroupMember', fields: { GroupId: '@{w0.id}', UserOrGroupId: id }, label: id }))
    await applyWrites(gateway, singles, writes, log, async (_labels, results) => { await onCommitted(withId(results.get('w1'), `the new group '${name}'`)) })
  }

  /**
   * Adds users to a public group in one call: the composite reads the group and which of them are in it already,
   * then inserts them all (Salesforce answers a duplicate GroupMember with the existing row, docs/salesforce-behaviour.md#group-objects). A refused record
   * throws RecordWriteError labelled with its user id; allOrNone undoes the rest.
   *
   * The managed scope rides in the same call: a query finds which of the users SCIM may reach, and each inserted
   * row names its user through that query's answer (`@{scope.records[i].Id}`). When one of them is outside the scope
   * (or not a user), the answer has fewer records, a reference cannot be resolved and Salesforce halts the whole
   * request (docs/salesforce-behaviour.md#composite, #composite-references), so nothing is written. The set inserted is the set queried whatever order
   * the query answers in; only the label of a refused record assumes the query's order (by Id) matches ours.
   */
  async function addToPublicGroup (groupId: string, userIds: readonly string[], log: Logger): Promise<{ record: SfRecord | undefined, existing: string[] }> {
    const scope = deps.userScope === undefined ? undefined : await deps.userScope()
    // With the scope, rows follow the scope query's order (by Id), so a refused record is named right.
    const ordered = scope === undefined ? userIds : [...userIds].sort()
    const member = (u: string, i: number): string => (scope === undefined ? u : `@{scope.records[${i}].Id}`)
    const requests: CompositeSubrequest[] = [
      targetGet('group', groupId),
      queryRequest('rows', rowQuery('group', groupId, ordered)),
      ...(scope === undefined ? [] : [queryRequest('scope', select({ fields: ['Id'], from: 'User', where: and(inList('Id', ordered), scope), orderBy: [{ field: 'Id' }] }))]),
      { method: 'POST', url: '/composite/sobjects', referenceId: 'c0', body: { allOrNone: true, records: ordered.map((u, i) => ({ attributes: { type: 'GroupMember' }, GroupId: groupId, UserOrGroupId: member(u, i) })) } },
    ]
    const results = await gateway.composite(requests, { allOrNone: true, safeToRetry: false }, log).catch((err: unknown) => {
      if (scope !== undefined && err instanceof SalesforceError && err.message.includes('scope.records')) {
        throw new SalesforceError('INVALID_CROSS_REFERENCE_KEY', 'a member is not a user SCIM can reach (no such user, or one outside the managed scope)', 'validation', { cause: err })
      }
      throw err
    })
    const collection = results[requests.length - 1]?.body
    if (Array.isArray(collection) && collection.some((r: { success?: boolean }) => r?.success === false)) {
      const i = collection.findIndex((r: { success?: boolean, errors?: Array<{ statusCode?: string }> }) => r?.success === false && r.errors?.[0]?.statusCode !== 'ALL_OR_NONE_OPERATION_ROLLED_BACK')
      const bad = collection[i < 0 ? 0 : i] as { errors?: Array<{ statusCode?: string, message?: string, fields?: string[] }> }
      const e = bad.errors?.[0]
      throw new RecordWriteError(e?.statusCode ?? 'UNKNOWN', e?.message ?? 'record refused', ordered[i < 0 ? 0 : i] ?? '', e?.fields ?? [])
    }
    return {
      record: withId(results[0]?.body, `group ${groupId}`),
      existing: recordsOf(results[1]?.body).map((r) => String(r.UserOrGroupId)),
    }
  }

  /** The public group with this DeveloperName (unique per group type, docs/salesforce-behaviour.md#group-objects: one at most). */
  async function findPublicGroup (developerName: string, log: Logger): Promise<SfRecord | undefined> {
    const res = await gateway.query(select({ fields: objects.group.fields, from: 'Group', where: and(eq('DeveloperName', developerName), eq('Type', 'Regular')), limit: 1 }), log)
    return res.records[0]
  }

  async function deletePublicGroup (groupId: string, log: Logger): Promise<void> {
    await gateway.composite([{ method: 'DELETE', url: `/sobjects/Group/${groupId}`, referenceId: 'del' }], { allOrNone: true, safeToRetry: true }, log)
  }

  /**
   * The reads that find a user's direct memberships, to travel in the composite that reads the user, and how
   * their answers become records by kind (public groups, then permission sets, then permission set groups).
   */
  function userGroupsRead (userId: string, kinds: UserGroupKinds): { requests: CompositeSubrequest[], records: (bodies: ReadonlyMap<string, unknown>) => Array<{ kind: RowKind, record: SfRecord }> } {
    const order = [{ field: 'Id' }]
    const requests: CompositeSubrequest[] = []
    if (kinds.group) {
      requests.push(queryRequest('ug_group', select({ fields: objects.group.fields, from: 'Group', where: and(eq('Type', 'Regular'), soql`Id IN (SELECT GroupId FROM GroupMember WHERE UserOrGroupId = ${userId})`), orderBy: order })))
    }
    if (kinds.permissionSet) {
      requests.push(queryRequest('ug_permissionSet', select({ fields: objects.permissionSet.fields, from: 'PermissionSet', where: and(eq('Type', 'Regular'), soql`Id IN (SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = ${userId})`), orderBy: order })))
    }
    if (kinds.permissionSetGroup) {
      requests.push(queryRequest('ug_permissionSetGroup', select({ fields: objects.permissionSetGroup.fields, from: 'PermissionSetGroup', where: soql`Id IN (SELECT PermissionSetGroupId FROM PermissionSetAssignment WHERE AssigneeId = ${userId})`, orderBy: order })))
      requests.push(adminGradeRequest())
    }
    // Package licences, queues and feature licences are groups as the others are (issue 13): a user's seats, the
    // queues they are a member of, the mapped feature flags they hold.
    if (kinds.packageLicence === true) {
      requests.push(queryRequest('ug_packageLicence', select({ fields: objects.packageLicence.fields, from: 'PackageLicense', where: soql`Id IN (SELECT PackageLicenseId FROM UserPackageLicense WHERE UserId = ${userId})`, orderBy: order })))
    }
    if (kinds.queue === true) {
      requests.push(queryRequest('ug_queue', select({ fields: objects.queue.fields, from: 'Group', where: and(eq('Type', 'Queue'), soql`Id IN (SELECT GroupId FROM GroupMember WHERE UserOrGroupId = ${userId})`), orderBy: order })))
    }
    const features = kinds.featureLicences ?? []
    if (features.length > 0) requests.push(queryRequest('ug_featureLicence', select({ fields: ['Id', ...features], from: 'User', where: eq('Id', userId), limit: 1 })))
    return {
      requests,
      records: (bodies) => [
        ...(['group', 'permissionSet', 'permissionSetGroup', 'packageLicence', 'queue'] as const)
          .flatMap((kind) => {
            const records = recordsOf(bodies.get(`ug_${kind}`))
            return (kind === 'permissionSetGroup' ? markAdminGrade(records, bodies.get(ADMIN_GRADE_REF)) : records).map((record) => ({ kind, record }))
          }),
        ...features.filter((f) => recordsOf(bodies.get('ug_featureLicence'))[0]?.[f] === true).map((f) => ({ kind: 'featureLicence' as const, record: featureRecord(f) })),
      ],
    }
  }

  /** userGroupsRead on its own (one call; none when no kind is asked for). */
  async function readUserGroups (userId: string, kinds: UserGroupKinds, log: Logger): Promise<Array<{ kind: RowKind, record: SfRecord }>> {
    const r = userGroupsRead(userId, kinds)
    return r.records(r.requests.length === 0 ? new Map() : await readAll(gateway, r.requests, log))
  }

  /**
   * A page of public groups and its total, and the mapped candidates, in one call. Past OFFSET 2,000 the page
   * comes from an id scan.
   */
  async function list (q: GroupListRead, log: Logger): Promise<GroupListResult> {
    const p = q.publicGroups
    const requests: CompositeSubrequest[] = []
    const where = p === undefined ? undefined : and(publicScope(p.claimed, p.tombstones), ...(p.filter !== undefined ? [p.filter] : []))
    if (where !== undefined && p !== undefined) {
      requests.push(queryRequest('count', select({ fields: [soql`COUNT()`], from: 'Group', where })))
      if (p.count > 0 && p.offset <= MAX_SOQL_OFFSET) {
        requests.push(queryRequest('page', select({ fields: objects.group.fields, from: 'Group', where, orderBy: [{ field: 'Id' }], limit: p.count, ...(p.offset > 0 ? { offset: p.offset } : {}) })))
      }
    }
    for (const m of q.mapped) {
      if (m.kind === 'featureLicence') continue
      const query = m.key !== undefined ? lookupQuery(m.kind, m.key) : m.all !== undefined ? mappedQuery(m.kind, m.all) : undefined
      if (query !== undefined) requests.push(queryRequest(`k_${m.kind}`, query))
    }
    if (q.mapped.some((m) => m.kind === 'permissionSetGroup')) requests.push(adminGradeRequest())
    const bodies = requests.length === 0 ? new Map<string, unknown>() : await readAll(gateway, requests, log)
    const mapped = new Map(q.mapped.map(({ kind, key, all }) => {
      if (kind === 'featureLicence') return [kind, featureRecords(key, all)]
      const records = recordsOf(bodies.get(`k_${kind}`))
      return [kind, kind === 'permissionSetGroup' ? markAdminGrade(records, bodies.get(ADMIN_GRADE_REF)) : records]
    }))
    const publicTotal = where === undefined ? 0 : (bodies.get('count') as { totalSize?: number } | undefined)?.totalSize ?? 0
    let publicPage: SfRecord[] = []
    if (where !== undefined && p !== undefined && p.count > 0 && p.offset < publicTotal) {
      publicPage = p.offset <= MAX_SOQL_OFFSET ? recordsOf(bodies.get('page')) : await scan(where, p.offset, p.count, log)
    }
    return { publicTotal, publicPage, mapped }
  }

  /** Past OFFSET 2,000: walk the ordered ids (one call per 2,000) and fetch the page's records. Rare for groups. */
  async function scan (where: SoqlFragment, offset: number, count: number, log: Logger): Promise<SfRecord[]> {
    log.info({ offset }, 'group list needs an id scan')
    const ids = (await queryAll(gateway, select({ fields: ['Id'], from: 'Group', where, orderBy: [{ field: 'Id' }] }), log))
      .slice(offset, offset + count).map((r) => String(r.Id))
    if (ids.length === 0) return []
    return await queryAll(gateway, select({ fields: objects.group.fields, from: 'Group', where: soql`Id IN ${ids}`, orderBy: [{ field: 'Id' }] }), log)
  }

  return { read, lookupTargets, writeMembership, createPublicGroup, addToPublicGroup, findPublicGroup, deletePublicGroup, userGroupsRead, readUserGroups, list }
}

/** Public groups whose name a mapping claims are not SCIM groups; nor are those the IdP deleted (tombstones). */
function publicScope (claimed: NonNullable<GroupListRead['publicGroups']>['claimed'], tombstones: readonly string[]): SoqlFragment {
  const parts: SoqlFragment[] = [eq('Type', 'Regular'), notInList('Name', claimed.names)]
  for (const [before, after] of claimed.patterns) parts.push(not(like('Name', before, LIKE_ANY, after)))
  if (tombstones.length > 0) parts.push(notInList('Id', tombstones))
  return and(...parts)
}
