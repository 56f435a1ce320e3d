// The filter allow-list for public groups (SOQL on Group). externalId and members are not Group fields: the group
// lister answers them from the store and from membership queries before this schema is consulted.
import { CORE_GROUP_SCHEMA } from '../protocol/constants.js'
import type { FilterSchema } from '../salesforce/filter-soql.js'

export const groupFilterSchema: FilterSchema = {
  coreSchema: CORE_GROUP_SCHEMA,
  attributes: {
    id: { kind: 'single', field: 'Id', type: 'id' },
    // SOQL `=` and LIKE ignore case, as RFC 7643 asks for displayName (caseExact false).
    displayname: { kind: 'single', field: 'Name', type: 'string' },
    'meta.created': { kind: 'single', field: 'CreatedDate', type: 'datetime' },
    'meta.lastmodified': { kind: 'single', field: 'LastModifiedDate', type: 'datetime' },
  },
}
