// The typed configuration every other module receives. Built once at boot by loader.ts (YAML file +
// environment + *_FILE secrets) and validated by schema.ts; nothing else reads process.env.

export type AuthFlow = 'client_credentials' | 'jwt' | 'password'

export interface SalesforceConfig {
  /** OAuth base: https://login.salesforce.com, https://test.salesforce.com or the org's My Domain URL. */
  loginUrl: string
  authFlow: AuthFlow
  clientId: string
  /** client_credentials and password flows. */
  clientSecret?: string
  /** password flow: the integration user's username; jwt flow: the `sub` claim. */
  username?: string
  /** password flow: password immediately followed by the security token. */
  password?: string
  /** jwt flow: the PEM private key (contents, not a path) that signs the assertion. */
  jwtPrivateKey?: string
  /** jwt flow: the `aud` claim; defaults to loginUrl. */
  jwtAudience?: string
  /** e.g. "62.0" (no leading v). */
  apiVersion: string
  /** Per Salesforce HTTP call; jsforce's own default is 30 minutes. */
  timeoutMs: number
}

export interface BasicAuth { type: 'basic', username: string, password: string }
export interface BearerAuth { type: 'bearer', token: string }

export interface ScimClientConfig {
  /** Appears in logs, metrics and the journal, e.g. "wso2", "entra". */
  name: string
  auth: BasicAuth | BearerAuth
  /**
   * merge: PUT updates only the attributes it carries (WSO2 IS sends partial PUTs);
   * replace: RFC 7644 §3.5.1, attributes the body omits are cleared.
   */
  putMode: 'merge' | 'replace'
  /**
   * Drop a WSO2-style user-store prefix (`PRIMARY/sales` → `sales`) from group displayNames in bodies and filters.
   * Unset: on for Basic clients in merge mode (WSO2 IS), off for the others.
   */
  stripUserStorePrefix?: boolean
}

/** Values every created Salesforce User gets unless the SCIM request maps a value of its own. */
export interface UserDefaults {
  ProfileId: string
  EmailEncodingKey: string
  LanguageLocaleKey: string
  LocaleSidKey: string
  TimeZoneSidKey: string
  UserPermissionsCallCenterAutoLogin: boolean
  UserPermissionsMarketingUser: boolean
  UserPermissionsOfflineUser: boolean
  /** Further Salesforce User fields with fixed values (e.g. Department, a custom field). */
  [field: string]: string | boolean | number
}

export interface ExtraAttributeMapping {
  /** SCIM path, e.g. "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter". */
  scim: string
  /** Salesforce User field API name, e.g. "CostCenter__c". */
  salesforce: string
}

export interface UsersConfig {
  defaults: UserDefaults
  /** Appended to every userName to form the Salesforce Username (sandboxes), stripped on the way back. */
  usernameSuffix: string
  /** What SCIM DELETE does besides IsActive=false. */
  deleteMode: 'deactivate' | 'freeze' | 'rename'
  /** A POST whose userName belongs to an active user the IdP does not know: 409 (reject) or take it over (adopt). */
  onActiveConflict: 'reject' | 'adopt'
  /** Additional SCIM ⇄ Salesforce field pairs on top of the built-in mapping. */
  extraMappings: ExtraAttributeMapping[]
}

export interface ServerConfig {
  host: string
  port: number
  /** Externally visible base URL used in Location and meta.location, e.g. https://scim.example.com. */
  publicUrl?: string
  /** Largest accepted request body in bytes. */
  bodyLimit: number
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Bearer token a Prometheus scraper presents on GET /metrics; unset: /metrics is not served. */
  metricsToken?: string
}

export interface StoreConfig {
  /** SQLite file; ":memory:" keeps nothing across restarts (tests only). */
  path: string
}

/** What a SCIM group whose displayName a mapping names stands for in Salesforce. */
export type GroupTargetKind = 'permissionSet' | 'permissionSetGroup' | 'profile' | 'role'

export interface GroupMapping {
  /** The SCIM displayName, matched case-insensitively: an exact name, or a pattern with one `*`. */
  displayName: string
  kind: GroupTargetKind
  /**
   * The existing Salesforce record: PermissionSet Name, PermissionSetGroup DeveloperName, Profile Name, UserRole
   * DeveloperName, or its Id. With a pattern, `*` stands for the text the displayName's `*` matched.
   */
  target: string
  /** profile and role: when a user is in several such groups, the highest priority wins. */
  priority: number
}

export interface GroupsConfig {
  /** A group no mapping names becomes a Salesforce public group ('publicGroup'), or is refused ('none'). */
  defaultTarget: 'publicGroup' | 'none'
  mappings: GroupMapping[]
}

export interface Config {
  server: ServerConfig
  clients: ScimClientConfig[]
  salesforce: SalesforceConfig
  users: UsersConfig
  store: StoreConfig
  /** Optional in the type so hand-built configs (tests) may omit it; the loader always fills it in. */
  groups?: GroupsConfig
}
