// The filter allow-list for Users, derived from the mapping table, so that a filter can name exactly the
// attributes scimforce stores in Salesforce and nothing else.
import type { UserMapping } from './user.js'
import { CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA } from '../protocol/constants.js'
import type { FilterSchema, MultiAttr, MultiAttrEntry, SingleAttr } from '../salesforce/filter-soql.js'

export function userFilterSchema (mapping: UserMapping): FilterSchema {
  const attributes: Record<string, SingleAttr | MultiAttr> = {
    id: { kind: 'single', field: 'Id', type: 'id' },
    'meta.created': { kind: 'single', field: 'CreatedDate', type: 'datetime' },
    'meta.lastmodified': { kind: 'single', field: 'LastModifiedDate', type: 'datetime' },
  }
  for (const f of mapping.fields) {
    // Locale keys are stored as en_US but spoken as en-US: a filter would compare the wrong form, so it is
    // refused (invalidFilter) rather than answered wrongly.
    if (f.kind === 'localeKey') continue
    const entry: SingleAttr = {
      kind: 'single',
      field: f.field,
      type: f.kind === 'boolean' ? 'boolean' : f.kind === 'reference' ? 'reference' : 'string',
      ...(f.field === 'Username' && mapping.usernameSuffix !== '' ? { suffix: mapping.usernameSuffix } : {}),
      ...(f.field === 'Username' && mapping.usernameDomain !== undefined ? { plainDomain: mapping.usernameDomain } : {}),
    }
    attributes[f.path.toLowerCase()] = entry
    // Enterprise attributes are also reachable by their short name (`employeeNumber eq "42"`), as RFC 7644
    // §3.10 allows when the name is unambiguous; no core User attribute shares these names.
    if (f.path.toLowerCase().startsWith(ENTERPRISE_USER_SCHEMA.toLowerCase() + ':')) {
      attributes[f.path.slice(ENTERPRISE_USER_SCHEMA.length + 1).toLowerCase()] = entry
    }
  }
  for (const slot of mapping.slots) {
    const key = slot.attr.toLowerCase()
    const entry: MultiAttrEntry = {
      constants: { type: slot.type, primary: slot.primary },
      fields: Object.fromEntries(Object.entries(slot.fields).map(([sub, field]) => [sub, { field, type: 'string' as const }])),
    }
    const prior = (attributes[key] as MultiAttr | undefined)?.entries ?? []
    attributes[key] = { kind: 'multi', entries: [...prior, entry] }
  }
  return { coreSchema: CORE_USER_SCHEMA, attributes }
}
