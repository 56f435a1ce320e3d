// The typed configuration every other module receives, as zod infers it from schema.ts (what the loader returns
// after defaults and transforms): one source for shape and type. Built once at boot by loader.ts (YAML file +
// environment + *_FILE secrets); nothing else reads process.env. Field documentation lives beside each key in
// schema.ts.
import type { z } from 'zod'
import type { ConfigSchema } from './schema.js'

type Parsed = z.output<typeof ConfigSchema>

export type ServerConfig = Parsed['server']
export type ScimClientConfig = Parsed['clients'][number]
export type BasicAuth = Extract<ScimClientConfig['auth'], { type: 'basic' }>
export type BearerAuth = Extract<ScimClientConfig['auth'], { type: 'bearer' }>
export type SalesforceConfig = Parsed['salesforce']
export type AuthFlow = SalesforceConfig['authFlow']
export type UsersConfig = Parsed['users']
/** Values every created Salesforce User gets unless the SCIM request maps a value of its own. */
export type UserDefaults = UsersConfig['defaults']
export type ExtraAttributeMapping = UsersConfig['extraMappings'][number]
export type StoreConfig = Parsed['store']
export type GroupsConfig = Parsed['groups']
export type GroupMapping = GroupsConfig['mappings'][number]
/** What a SCIM group whose displayName a mapping names stands for in Salesforce. */
export type GroupTargetKind = GroupMapping['kind']

export type Config = Omit<Parsed, 'groups'> & {
  /** Optional in the type so hand-built configs (tests) may omit it; the loader always fills it in. */
  groups?: GroupsConfig
}
