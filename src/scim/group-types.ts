// What the Groups modules of the SCIM layer share: the target a SCIM group stands for, read options, the
// dependencies every piece receives, and the 404 of a group. Its own module so that none of them imports another
// in a circle.
import type { GroupsConfig, UsersConfig } from '../config/types.js'
import type { GroupTarget } from '../mapping/group-target.js'
import type { UserMapping } from '../mapping/user.js'
import type { Logger } from '../salesforce/connection.js'
import type { CompositeSubrequest } from '../salesforce/gateway.js'
import type { GroupsGateway } from '../salesforce/groups.js'
import type { LicenceGateway } from '../salesforce/licences.js'
import type { Store } from '../store/store.js'
import type { LicenceKeeper } from './licence-keeper.js'

/** A SCIM group as found in Salesforce. */
export type Target = GroupTarget

export interface GroupReadOptions {
  /** Read and return the member list (GET by id: yes unless excluded; PATCH answers: only when asked). */
  members: boolean
}

export interface UserGroupsRead {
  /** At most four queries: with the user's own query they fill one composite (docs/salesforce-behaviour.md#composite). */
  requests: CompositeSubrequest[]
  /** The user's `groups` (RFC 7643 §4.1.2: direct memberships only; Salesforce nesting is not followed). */
  build: (bodies: ReadonlyMap<string, unknown>, log?: Logger) => Promise<Array<{ value: string, display: string, $ref: string, type: 'direct' }>>
}

/** What every part of the Groups service works with. */
export interface GroupContext {
  sf: GroupsGateway
  store: Store
  config: GroupsConfig
  users: UsersConfig
  userMapping: UserMapping
  /** Permission set licences that follow their permission sets (issue 13); absent: none are granted. */
  licences?: LicenceKeeper
  /** Seat counts for errors that name a licence (feature licences, issue 13). */
  licenceGateway?: LicenceGateway
}
