// loadConfig: defaults, file and environment precedence, *_FILE secrets, and messages that name the key and the fix.
import { generateKeyPairSync } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, redactedConfig } from '../../src/config/loader.js'
import { orderingOptions } from '../../src/scim/ordering.js'

const PROFILE_ID = '00e5j000001AbCdAAK'
const TOKEN = 'bearer-token-0123456789'
const BASE: NodeJS.ProcessEnv = {
  SF_LOGIN_URL: 'https://acme.my.salesforce.com',
  SF_CLIENT_ID: '3MVG9-client-id',
  SF_CLIENT_SECRET: 'sf-client-secret',
  SF_PROFILE_ID: PROFILE_ID,
  SCIM_BEARER_TOKEN: TOKEN
}

const dir = mkdtempSync(join(tmpdir(), 'scimforce-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function file (name: string, contents: string): string {
  const path = join(dir, name)
  writeFileSync(path, contents)
  return path
}

/** The problems loadConfig reports (fails the test when it does not throw a ConfigError). */
function problems (env: NodeJS.ProcessEnv, opts?: Parameters<typeof loadConfig>[1]): readonly string[] {
  try {
    loadConfig(env, opts)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    const error = err as ConfigError
    expect(error.message).toBe(error.problems.join('\n'))
    return error.problems
  }
  throw new Error('expected a ConfigError')
}

const PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()

describe('loadConfig', () => {
  it('fills every default', () => {
    expect(loadConfig(BASE)).toEqual({
      server: { host: '0.0.0.0', port: 8080, bodyLimit: 1024 * 1024, logLevel: 'info', trustProxy: false },
      clients: [{ name: 'bearer', auth: { type: 'bearer', token: TOKEN }, putMode: 'replace' }],
      salesforce: {
        loginUrl: 'https://acme.my.salesforce.com',
        authFlow: 'client_credentials',
        clientId: '3MVG9-client-id',
        clientSecret: 'sf-client-secret',
        apiVersion: '62.0',
        timeoutMs: 20000
      },
      users: {
        defaults: {
          ProfileId: PROFILE_ID,
          EmailEncodingKey: 'UTF-8',
          LanguageLocaleKey: 'en_US',
          LocaleSidKey: 'en_US',
          TimeZoneSidKey: 'America/Los_Angeles',
          UserPermissionsCallCenterAutoLogin: false,
          UserPermissionsMarketingUser: false,
          UserPermissionsOfflineUser: false
        },
        usernameSuffix: '',
        deleteMode: 'deactivate',
        onActiveConflict: 'reject',
        extraMappings: [],
        allowPrivileged: false,
        coalesceWrites: true,
        scope: {}
      },
      store: { path: './data/scimforce.db', auditRetentionDays: 90 },
      groups: { defaultTarget: 'publicGroup', mappings: [] }
    })
  })

  it('reads the managed scope: privileged users opt-in, an optional profile allow-list', () => {
    const users = loadConfig(BASE, { configPath: 'scope.yaml', readFile: () => 'users:\n  allowPrivileged: true\n  scope:\n    profiles: [Standard User]\n' }).users
    expect(users).toMatchObject({ allowPrivileged: true, scope: { profiles: ['Standard User'] } })
    expect(problems(BASE, { configPath: 'bad-scope.yaml', readFile: () => 'users:\n  allowPrivileged: yes please\n  scope:\n    profiles: []\n    roles: [CEO]\n' }).join('\n'))
      .toMatch(/users\.allowPrivileged[\s\S]*users\.scope/)
  })

  it('reads every environment variable of the contract', () => {
    const config = loadConfig({
      ...BASE,
      PORT: '9443',
      HOST: '127.0.0.1',
      PUBLIC_URL: 'https://scim.example.com/',
      LOG_LEVEL: 'debug',
      TRUST_PROXY: '10.0.0.0/8',
      SF_LOGIN_URL: 'https://acme.my.salesforce.com/',
      SF_API_VERSION: 'v61.0',
      SF_TIMEOUT_MS: '5000',
      SF_USERNAME_SUFFIX: '.uat',
      STORE_PATH: ':memory:',
      SCIM_BASIC_USER: 'wso2',
      SCIM_BASIC_PASSWORD: 'basic-password-0123456789'
    })
    expect(config.server).toEqual({ host: '127.0.0.1', port: 9443, publicUrl: 'https://scim.example.com', bodyLimit: 1048576, logLevel: 'debug', trustProxy: ['10.0.0.0/8'] })
    expect(config.salesforce).toMatchObject({ loginUrl: 'https://acme.my.salesforce.com', apiVersion: '61.0', timeoutMs: 5000 })
    expect(config.users.usernameSuffix).toBe('.uat')
    expect(config.store.path).toBe(':memory:')
    expect(config.clients).toEqual([
      { name: 'bearer', auth: { type: 'bearer', token: TOKEN }, putMode: 'replace' },
      // The Basic client is WSO2 IS, which sends partial PUTs.
      { name: 'wso2', auth: { type: 'basic', username: 'wso2', password: 'basic-password-0123456789' }, putMode: 'merge' }
    ])
  })

  it('reads STORE_URL (or STORE_URL_FILE) and AUDIT_RETENTION_DAYS, and logs the URL without its password', () => {
    const config = loadConfig({ ...BASE, STORE_URL: 'postgres://scim:db-secret@db.internal:5432/scimforce', AUDIT_RETENTION_DAYS: '30' })
    expect(config.store).toEqual({ path: './data/scimforce.db', url: 'postgres://scim:db-secret@db.internal:5432/scimforce', auditRetentionDays: 30 })
    expect(JSON.stringify(redactedConfig(config))).not.toContain('db-secret')
    expect(JSON.stringify(redactedConfig(config))).toContain('db.internal:5432/scimforce')
    const fromFile = loadConfig({ ...BASE, STORE_URL_FILE: '/run/secrets/store-url' }, { readFile: () => 'postgresql://scim@db/scimforce\n' })
    expect(fromFile.store.url).toBe('postgresql://scim@db/scimforce')
    expect(() => loadConfig({ ...BASE, STORE_URL: 'mysql://db/scimforce' })).toThrow(/store\.url.*postgres:\/\//s)
  })

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ ...BASE, PORT: '', LOG_LEVEL: '', SCIMFORCE_CONFIG: '' }).server).toMatchObject({ port: 8080, logLevel: 'info' })
  })

  it('reads no file when neither SCIMFORCE_CONFIG nor configPath names one', () => {
    let reads = 0
    loadConfig(BASE, { readFile: () => { reads++; return '' } })
    expect(reads).toBe(0)
  })

  describe('the YAML file', () => {
    const yaml = [
      'server:',
      '  port: 9000',
      '  logLevel: warn',
      '  bodyLimit: 2097152',
      'salesforce:',
      '  loginUrl: https://file.my.salesforce.com',
      '  clientId: from-file',
      '  apiVersion: 60.0',
      'users:',
      '  usernameSuffix: .dev',
      '  defaults:',
      '    TimeZoneSidKey: Europe/Paris',
      '    UserPermissionsMarketingUser: true',
      '    Department: Sales',
      '    Custom_Field__c: 3',
      '  extraMappings:',
      '    - scim: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter',
      '      salesforce: CostCenter__c',
      'store:',
      '  path: /var/lib/scimforce/db.sqlite'
    ].join('\n')

    it('is named by SCIMFORCE_CONFIG, and the environment wins over it', () => {
      const path = file('precedence.yaml', yaml)
      const config = loadConfig({ ...BASE, SCIMFORCE_CONFIG: path, SF_LOGIN_URL: undefined, SF_CLIENT_ID: undefined, PORT: '7000' })
      expect(config.server).toMatchObject({ port: 7000, logLevel: 'warn', bodyLimit: 2097152 })
      expect(config.salesforce).toMatchObject({ loginUrl: 'https://file.my.salesforce.com', clientId: 'from-file', apiVersion: '60.0' })
      expect(config.users.usernameSuffix).toBe('.dev')
      expect(config.users.defaults).toEqual({
        ProfileId: PROFILE_ID,
        EmailEncodingKey: 'UTF-8',
        LanguageLocaleKey: 'en_US',
        LocaleSidKey: 'en_US',
        TimeZoneSidKey: 'Europe/Paris',
        UserPermissionsCallCenterAutoLogin: false,
        UserPermissionsMarketingUser: true,
        UserPermissionsOfflineUser: false,
        Department: 'Sales',
        Custom_Field__c: 3
      })
      expect(config.users.extraMappings).toEqual([{ scim: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter', salesforce: 'CostCenter__c' }])
      expect(config.store.path).toBe('/var/lib/scimforce/db.sqlite')

      const overridden = loadConfig({ ...BASE, SCIMFORCE_CONFIG: path, SF_CLIENT_ID: 'from-env', SF_API_VERSION: '62.0', SF_USERNAME_SUFFIX: '.qa' })
      expect(overridden.salesforce).toMatchObject({ loginUrl: 'https://acme.my.salesforce.com', clientId: 'from-env', apiVersion: '62.0' })
      expect(overridden.users.usernameSuffix).toBe('.qa')
    })

    it('can be named by opts.configPath, which wins over SCIMFORCE_CONFIG', () => {
      const path = file('opts.yaml', 'server:\n  port: 9100\n')
      expect(loadConfig({ ...BASE, SCIMFORCE_CONFIG: '/nowhere.yaml' }, { configPath: path }).server.port).toBe(9100)
    })

    it('refuses a named file that does not exist', () => {
      expect(problems({ ...BASE, SCIMFORCE_CONFIG: join(dir, 'missing.yaml') })).toEqual([
        `config file "${join(dir, 'missing.yaml')}" (SCIMFORCE_CONFIG) does not exist: fix the path, or unset SCIMFORCE_CONFIG to configure from the environment alone`
      ])
    })

    it('reports YAML syntax errors with their line', () => {
      expect(problems(BASE, { configPath: 'bad.yaml', readFile: () => 'server:\n  port: 1\n  ssl: [\n' })).toEqual([
        'config file "bad.yaml" line 4, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]: fix the YAML syntax'
      ])
    })

    it('refuses a key given twice', () => {
      expect(problems(BASE, { configPath: 'twice.yaml', readFile: () => 'server:\n  port: 1\n  port: 2\n' })).toEqual([
        'config file "twice.yaml" line 3, column 3: Map keys must be unique: fix the YAML syntax'
      ])
    })

    it('refuses a file that is not a mapping', () => {
      expect(problems(BASE, { configPath: 'list.yaml', readFile: () => '- a\n- b\n' })).toEqual([
        'config file "list.yaml" must be a mapping of keys (server:, clients:, salesforce:, users:, store:), not a list'
      ])
    })

    it('accepts an empty file and empty sections', () => {
      expect(loadConfig(BASE, { configPath: 'empty.yaml', readFile: () => '' }).server.port).toBe(8080)
      expect(loadConfig(BASE, { configPath: 'sections.yaml', readFile: () => 'server:\nusers:\n  defaults:\n' }).server.port).toBe(8080)
    })

    it('refuses unknown keys, so typos do not pass silently', () => {
      const yamlWithTypos = 'serverr: {}\nserver:\n  prot: 8080\nsalesforce:\n  clientSecrett: x\nclients:\n  - name: a\n    auth: { type: bearer, token: 0123456789abcdef0, tokne: x }\n    putmode: merge\n'
      expect(problems(BASE, { configPath: 'typos.yaml', readFile: () => yamlWithTypos })).toEqual([
        'server.prot in the config file is not a known setting: remove it or fix its spelling',
        'clients[0].auth.tokne in the config file is not a known setting: remove it or fix its spelling',
        'clients[0].putmode in the config file is not a known setting: remove it or fix its spelling',
        'salesforce.clientSecrett in the config file is not a known setting: remove it or fix its spelling',
        'serverr in the config file is not a known setting: remove it or fix its spelling'
      ])
    })

    it('refuses a user default that differs from a known one only in case, and bad field names', () => {
      expect(problems(BASE, { configPath: 'defaults.yaml', readFile: () => 'users:\n  defaults:\n    timeZoneSidKey: Europe/Paris\n    Bad-Field: x\n    Nested: { a: 1 }\n' })).toEqual([
        'users.defaults.Nested must be a string, a number or true/false',
        'users.defaults.timeZoneSidKey is spelled differently from TimeZoneSidKey: use TimeZoneSidKey',
        'users.defaults.Bad-Field is not a Salesforce field API name (letters, digits and _, starting with a letter)'
      ])
    })

    it('validates extra mappings', () => {
      expect(problems(BASE, { configPath: 'maps.yaml', readFile: () => 'users:\n  extraMappings:\n    - scim: ""\n      salesforce: Cost Center\n' })).toEqual([
        'users.extraMappings[0].scim must be a SCIM attribute path such as urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter',
        'users.extraMappings[0].salesforce must be a Salesforce field API name such as CostCenter__c'
      ])
    })

    it('defines clients, with putMode replace unless told otherwise', () => {
      const clients = 'clients:\n  - name: wso2\n    auth: { type: basic, username: is, password: basic-password-0123456789 }\n    putMode: merge\n  - name: okta\n    auth: { type: bearer, token: okta-token-0123456789 }\n'
      expect(loadConfig({ ...BASE, SCIM_BEARER_TOKEN: undefined }, { configPath: 'c.yaml', readFile: () => clients }).clients).toEqual([
        { name: 'wso2', auth: { type: 'basic', username: 'is', password: 'basic-password-0123456789' }, putMode: 'merge' },
        { name: 'okta', auth: { type: 'bearer', token: 'okta-token-0123456789' }, putMode: 'replace' }
      ])
    })

    it('reads { file } secrets, relative to the config file', () => {
      mkdirSync(join(dir, 'secrets'), { recursive: true })
      file('secrets/scim-token', 'file-token-0123456789\n')
      file('secrets/sf-secret', 'sf-secret-from-file\n')
      file('secrets/key.pem', PEM)
      const path = file('with-secrets.yaml', [
        'clients:',
        '  - name: okta',
        '    auth: { type: bearer, token: { file: secrets/scim-token } }',
        'salesforce:',
        '  authFlow: jwt',
        '  username: integration@acme.example',
        `  jwtPrivateKey: { file: ${join(dir, 'secrets/key.pem')} }`,
        '  clientSecret: { file: ./secrets/sf-secret }'
      ].join('\n'))
      const config = loadConfig({ ...BASE, SCIM_BEARER_TOKEN: undefined, SF_CLIENT_SECRET: undefined, SCIMFORCE_CONFIG: path })
      expect(config.clients[0]?.auth).toEqual({ type: 'bearer', token: 'file-token-0123456789' })
      expect(config.salesforce.clientSecret).toBe('sf-secret-from-file')
      expect(config.salesforce.jwtPrivateKey?.trimEnd()).toBe(PEM.trimEnd())
    })

    it('reports a { file } secret that cannot be read', () => {
      const path = file('missing-secret.yaml', 'salesforce:\n  clientSecret: { file: /nonexistent/sf-secret }\n')
      expect(problems({ ...BASE, SF_CLIENT_SECRET: undefined, SCIMFORCE_CONFIG: path })).toContain(
        'salesforce.clientSecret in the config file reads "/nonexistent/sf-secret", which does not exist: fix the path'
      )
    })

    /* eslint-disable no-template-curly-in-string -- these strings are the ${VAR} syntax under test */
    it('refuses ${VAR} interpolation, which it does not do', () => {
      expect(problems({ ...BASE, SF_CLIENT_SECRET: undefined }, { configPath: 'i.yaml', readFile: () => 'salesforce:\n  clientSecret: ${SF_SECRET}\n' })).toEqual([
        'SF_CLIENT_SECRET (salesforce.clientSecret) looks like ${VAR} interpolation, which the config file does not do: use { file: /path/to/secret } or the environment variable'
      ])
    })
    /* eslint-enable no-template-curly-in-string */

    it('refuses a secret of the wrong shape', () => {
      expect(problems({ ...BASE, SF_CLIENT_SECRET: undefined }, { configPath: 's.yaml', readFile: () => 'salesforce:\n  clientSecret: { path: /x }\n' })).toContain(
        'SF_CLIENT_SECRET (salesforce.clientSecret) must be a string, or { file: /path/to/secret } to read it from a file'
      )
    })
  })

  describe('secrets from *_FILE', () => {
    it('reads each secret from its file and trims the trailing newline', () => {
      const config = loadConfig({
        ...BASE,
        SF_AUTH_FLOW: 'password',
        SF_USERNAME: 'integration@acme.example',
        SF_CLIENT_SECRET: undefined,
        SF_CLIENT_SECRET_FILE: file('sf-client-secret', 'secret-from-file\n'),
        SF_PASSWORD_FILE: file('sf-password', 'Passw0rdTOKEN123\r\n'),
        SCIM_BEARER_TOKEN: undefined,
        SCIM_BEARER_TOKEN_FILE: file('scim-token', 'token-from-file-0123456789\n'),
        SCIM_BASIC_USER: 'wso2',
        SCIM_BASIC_PASSWORD_FILE: file('scim-password', 'password-from-file-0123456789')
      })
      expect(config.salesforce).toMatchObject({ clientSecret: 'secret-from-file', password: 'Passw0rdTOKEN123' })
      expect(config.clients.map((c) => c.auth)).toEqual([
        { type: 'bearer', token: 'token-from-file-0123456789' },
        { type: 'basic', username: 'wso2', password: 'password-from-file-0123456789' }
      ])
    })

    it('reads the JWT key from SF_JWT_KEY_FILE', () => {
      const config = loadConfig({ ...BASE, SF_AUTH_FLOW: 'jwt', SF_USERNAME: 'integration@acme.example', SF_JWT_KEY_FILE: file('jwt.pem', PEM) })
      expect(config.salesforce.jwtPrivateKey).toBe(PEM)
    })

    it('refuses a JWT key file that holds no RSA private key', () => {
      const publicKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
      expect(problems({ ...BASE, SF_AUTH_FLOW: 'jwt', SF_USERNAME: 'i@acme.example', SF_JWT_KEY_FILE: file('public.pem', publicKey) })).toEqual([
        'SF_JWT_KEY_FILE (salesforce.jwtPrivateKey) must be an RSA private key in PEM form (-----BEGIN PRIVATE KEY-----): Salesforce signs JWT bearer assertions with RS256 only'
      ])
    })

    it.each(['SCIM_BEARER_TOKEN', 'SCIM_BASIC_PASSWORD', 'SF_CLIENT_SECRET', 'SF_PASSWORD'])('refuses %s together with %s_FILE', (name) => {
      const env = { ...BASE, SCIM_BASIC_USER: 'wso2', SCIM_BASIC_PASSWORD: 'basic-password-0123456789', SF_PASSWORD: 'x', [name]: 'value-0123456789abcdef', [`${name}_FILE`]: file(`${name}.txt`, 'other') }
      expect(problems(env)).toContain(`${name} and ${name}_FILE are both set: keep only one of them`)
    })

    it('reports a *_FILE that does not exist', () => {
      expect(problems({ ...BASE, SF_CLIENT_SECRET: undefined, SF_CLIENT_SECRET_FILE: '/nonexistent/secret' })).toEqual([
        'SF_CLIENT_SECRET_FILE points to "/nonexistent/secret", which does not exist: fix the path or set SF_CLIENT_SECRET instead',
        'SF_CLIENT_SECRET (salesforce.clientSecret) is required when SF_AUTH_FLOW is client_credentials: set SF_CLIENT_SECRET or SF_CLIENT_SECRET_FILE'
      ])
    })
  })

  describe('Salesforce', () => {
    it('names the missing client_credentials secret and its fix', () => {
      expect(problems({ ...BASE, SF_CLIENT_SECRET: undefined })).toEqual([
        'SF_CLIENT_SECRET (salesforce.clientSecret) is required when SF_AUTH_FLOW is client_credentials: set SF_CLIENT_SECRET or SF_CLIENT_SECRET_FILE'
      ])
    })

    it('names every field the password flow lacks', () => {
      expect(problems({ ...BASE, SF_AUTH_FLOW: 'password', SF_CLIENT_SECRET: undefined })).toEqual([
        'SF_CLIENT_SECRET (salesforce.clientSecret) is required when SF_AUTH_FLOW is password: set SF_CLIENT_SECRET or SF_CLIENT_SECRET_FILE',
        'SF_USERNAME (salesforce.username) is required when SF_AUTH_FLOW is password: set SF_USERNAME',
        'SF_PASSWORD (salesforce.password) is required when SF_AUTH_FLOW is password: set SF_PASSWORD or SF_PASSWORD_FILE'
      ])
    })

    it('names every field the jwt flow lacks, and needs no client secret', () => {
      expect(problems({ ...BASE, SF_AUTH_FLOW: 'jwt', SF_CLIENT_SECRET: undefined })).toEqual([
        'SF_USERNAME (salesforce.username) is required when SF_AUTH_FLOW is jwt: set SF_USERNAME',
        'SF_JWT_KEY_FILE (salesforce.jwtPrivateKey) is required when SF_AUTH_FLOW is jwt: set SF_JWT_KEY_FILE'
      ])
    })

    it('needs a client id and a login URL whatever the flow', () => {
      expect(problems({ ...BASE, SF_CLIENT_ID: undefined, SF_LOGIN_URL: undefined })).toEqual([
        'SF_LOGIN_URL (salesforce.loginUrl) is required: set SF_LOGIN_URL',
        'SF_CLIENT_ID (salesforce.clientId) is required: set SF_CLIENT_ID'
      ])
    })

    it('refuses an unknown flow', () => {
      expect(problems({ ...BASE, SF_AUTH_FLOW: 'oauth' })).toEqual([
        'SF_AUTH_FLOW (salesforce.authFlow) must be one of: client_credentials, jwt, password'
      ])
    })

    it.each([
      ['not a url', 'must be an http(s) URL such as https://mycompany.my.salesforce.com, not "not a url"'],
      ['ftp://acme.my.salesforce.com', 'must be an http(s) URL such as https://mycompany.my.salesforce.com, not "ftp://acme.my.salesforce.com"'],
      ['https://acme.my.salesforce.com/services/oauth2/token', 'must be the base URL without a path, such as https://mycompany.my.salesforce.com (scimforce adds /services/…)'],
      ['https://user:pw@acme.my.salesforce.com', 'must not carry credentials, a query or a fragment: use a plain URL such as https://mycompany.my.salesforce.com'],
      ['https://login.salesforce.com', 'must be the org\'s My Domain URL (https://<domain>.my.salesforce.com) when SF_AUTH_FLOW is client_credentials: Salesforce refuses that flow on login.salesforce.com and test.salesforce.com']
    ])('refuses the login URL %s', (url, message) => {
      expect(problems({ ...BASE, SF_LOGIN_URL: url })).toEqual([`SF_LOGIN_URL (salesforce.loginUrl) ${message}`])
    })

    it('accepts login.salesforce.com for the jwt flow and a local emulator over http', () => {
      const jwt = { ...BASE, SF_AUTH_FLOW: 'jwt', SF_USERNAME: 'i@acme.example', SF_JWT_KEY_FILE: file('jwt2.pem', PEM) }
      expect(loadConfig({ ...jwt, SF_LOGIN_URL: 'https://login.salesforce.com/' }).salesforce.loginUrl).toBe('https://login.salesforce.com')
      expect(loadConfig({ ...BASE, SF_LOGIN_URL: 'http://127.0.0.1:8081' }).salesforce.loginUrl).toBe('http://127.0.0.1:8081')
    })

    it.each(['62', 'v62.1', '62.0.1', 'latest', '6.0'])('refuses the API version %s', (version) => {
      expect(problems({ ...BASE, SF_API_VERSION: version })).toEqual([
        'SF_API_VERSION (salesforce.apiVersion) must be a Salesforce API version such as 62.0 (or v62.0)'
      ])
    })

    it('normalises v62.0 and a YAML number', () => {
      expect(loadConfig({ ...BASE, SF_API_VERSION: 'v62.0' }).salesforce.apiVersion).toBe('62.0')
      expect(loadConfig(BASE, { configPath: 'v.yaml', readFile: () => 'salesforce:\n  apiVersion: 61\n' }).salesforce.apiVersion).toBe('61.0')
    })

    it.each([
      ['005000000000001AAA', 'a User Id'],
      ['00e000000000001A', '16 characters'],
      ['00e00000000001', '14 characters'],
      ['00e00000000000!AAA', 'punctuation']
    ])('refuses the ProfileId %s (%s)', (id) => {
      expect(problems({ ...BASE, SF_PROFILE_ID: id })).toEqual([
        `SF_PROFILE_ID (users.defaults.ProfileId) must be a Profile Id: 15 or 18 letters and digits starting with 00e, not "${id}"`
      ])
    })

    it('accepts a 15-character ProfileId', () => {
      expect(loadConfig({ ...BASE, SF_PROFILE_ID: '00e5j000001AbCd' }).users.defaults.ProfileId).toBe('00e5j000001AbCd')
    })

    it('refuses timeouts that are surely a mistake', () => {
      expect(problems({ ...BASE, SF_TIMEOUT_MS: '20' })).toEqual(['SF_TIMEOUT_MS (salesforce.timeoutMs) must be at least 100'])
      expect(problems({ ...BASE, SF_TIMEOUT_MS: '20s' })).toEqual(['SF_TIMEOUT_MS (salesforce.timeoutMs) must be a whole number'])
    })

    it('reads the ordering waits from SF_ORDER_WAIT_MS and SF_SETTLE_CAP_MS, unset by default (4 s and 120 s where used)', () => {
      expect(loadConfig(BASE).salesforce).not.toHaveProperty('orderWaitMs')
      const sf = loadConfig({ ...BASE, SF_ORDER_WAIT_MS: '2500', SF_SETTLE_CAP_MS: '300000' }).salesforce
      expect([sf.orderWaitMs, sf.settleCapMs]).toEqual([2500, 300000])
      expect(orderingOptions({ timeoutMs: 20_000 })).toEqual({ waitMs: 4_000, holdCapMs: 130_000 })
      expect(orderingOptions(sf)).toEqual({ waitMs: 2_500, holdCapMs: 310_000 })
      expect(problems({ ...BASE, SF_ORDER_WAIT_MS: '50' })).toEqual(['SF_ORDER_WAIT_MS (salesforce.orderWaitMs) must be at least 100'])
    })
  })

  describe('SCIM clients', () => {
    it('needs at least one', () => {
      expect(problems({ ...BASE, SCIM_BEARER_TOKEN: undefined })).toEqual([
        'no SCIM client configured: set SCIM_BEARER_TOKEN or SCIM_BASIC_USER/SCIM_BASIC_PASSWORD, or clients: in the config file'
      ])
    })

    it('refuses secrets shorter than 16 characters, naming the key', () => {
      expect(problems({ ...BASE, SCIM_BEARER_TOKEN: 'short-token', SCIM_BASIC_USER: 'wso2', SCIM_BASIC_PASSWORD: 'fifteen-chars-1' })).toEqual([
        'SCIM_BEARER_TOKEN must be at least 16 characters long: generate one with `openssl rand -base64 32`',
        'SCIM_BASIC_PASSWORD must be at least 16 characters long: generate one with `openssl rand -base64 32`'
      ])
      const yaml = 'clients:\n  - name: okta\n    auth: { type: bearer, token: short }\n'
      expect(problems(BASE, { configPath: 'short.yaml', readFile: () => yaml })).toEqual([
        'clients[0].auth.token must be at least 16 characters long: generate one with `openssl rand -base64 32`'
      ])
    })

    it('needs both halves of the Basic client', () => {
      expect(problems({ ...BASE, SCIM_BASIC_USER: 'wso2' })).toEqual([
        'SCIM_BASIC_PASSWORD is required when SCIM_BASIC_USER is set: set SCIM_BASIC_PASSWORD or SCIM_BASIC_PASSWORD_FILE'
      ])
      expect(problems({ ...BASE, SCIM_BASIC_PASSWORD: 'basic-password-0123456789' })).toEqual([
        'SCIM_BASIC_USER is required when SCIM_BASIC_PASSWORD is set: set SCIM_BASIC_USER to the username the client sends'
      ])
    })

    it('refuses a Basic username with a colon', () => {
      expect(problems({ ...BASE, SCIM_BASIC_USER: 'wso2:is', SCIM_BASIC_PASSWORD: 'basic-password-0123456789' })).toEqual([
        'SCIM_BASIC_USER must not contain ":" (HTTP Basic separates username and password with it)'
      ])
    })

    it('refuses duplicate names, Basic usernames and Bearer tokens', () => {
      const yaml = [
        'clients:',
        '  - name: bearer',
        `    auth: { type: bearer, token: ${TOKEN} }`,
        '  - name: wso2',
        '    auth: { type: basic, username: wso2, password: other-password-0123456789 }',
        '  - name: wso2-again',
        '    auth: { type: basic, username: wso2, password: third-password-0123456789 }'
      ].join('\n')
      expect(problems(BASE, { configPath: 'dup.yaml', readFile: () => yaml })).toEqual([
        'clients[2].auth.username is the same Basic username as clients[1]\'s: give each client its own',
        'SCIM_BEARER_TOKEN (client clients[3].name) is the same name as clients[0]\'s: give each client its own',
        'SCIM_BEARER_TOKEN is the same Bearer token as clients[0]\'s: give each client its own'
      ])
    })

    it('refuses a client of unknown type', () => {
      expect(problems(BASE, { configPath: 't.yaml', readFile: () => 'clients:\n  - name: x\n    auth: { type: apikey, key: k }\n' })).toEqual([
        'clients[0].auth.type must be one of: basic, bearer'
      ])
    })
  })

  it('reports every problem at once, one per line', () => {
    const env = {
      PORT: 'http',
      LOG_LEVEL: 'verbose',
      SF_LOGIN_URL: 'acme.my.salesforce.com',
      SF_AUTH_FLOW: 'password',
      SF_API_VERSION: '62',
      SF_PROFILE_ID: '00x',
      SCIM_BEARER_TOKEN: 'short',
      SF_PASSWORD: 'p',
      SF_PASSWORD_FILE: file('both', 'p')
    }
    let error: unknown
    try {
      loadConfig(env)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems).toEqual([
      'SF_PASSWORD and SF_PASSWORD_FILE are both set: keep only one of them',
      'PORT (server.port) must be a whole number',
      'LOG_LEVEL (server.logLevel) must be one of: fatal, error, warn, info, debug, trace, silent',
      'SCIM_BEARER_TOKEN must be at least 16 characters long: generate one with `openssl rand -base64 32`',
      'SF_LOGIN_URL (salesforce.loginUrl) must be an http(s) URL such as https://mycompany.my.salesforce.com, not "acme.my.salesforce.com"',
      'SF_CLIENT_ID (salesforce.clientId) is required: set SF_CLIENT_ID',
      'SF_API_VERSION (salesforce.apiVersion) must be a Salesforce API version such as 62.0 (or v62.0)',
      'SF_CLIENT_SECRET (salesforce.clientSecret) is required when SF_AUTH_FLOW is password: set SF_CLIENT_SECRET or SF_CLIENT_SECRET_FILE',
      'SF_USERNAME (salesforce.username) is required when SF_AUTH_FLOW is password: set SF_USERNAME',
      'SF_PASSWORD (salesforce.password) is required when SF_AUTH_FLOW is password: set SF_PASSWORD or SF_PASSWORD_FILE',
      'SF_PROFILE_ID (users.defaults.ProfileId) must be a Profile Id: 15 or 18 letters and digits starting with 00e, not "00x"'
    ])
    expect((error as ConfigError).message.split('\n')).toHaveLength(11)
  })
})

describe('redactedConfig', () => {
  it('replaces every secret and keeps everything else', () => {
    const config = loadConfig({
      ...BASE,
      SF_AUTH_FLOW: 'password',
      SF_USERNAME: 'integration@acme.example',
      SF_PASSWORD: 'sf-password-and-token',
      SF_JWT_KEY_FILE: file('redact.pem', PEM),
      SCIM_BASIC_USER: 'wso2',
      SCIM_BASIC_PASSWORD: 'basic-password-0123456789'
    })
    const redacted = redactedConfig(config)
    const text = JSON.stringify(redacted)
    for (const secret of ['sf-client-secret', 'sf-password-and-token', TOKEN, 'basic-password-0123456789', 'PRIVATE KEY']) {
      expect(text).not.toContain(secret)
    }
    expect(redacted).toMatchObject({
      clients: [
        { name: 'bearer', auth: { type: 'bearer', token: '[redacted]' } },
        { name: 'wso2', auth: { type: 'basic', username: 'wso2', password: '[redacted]' } }
      ],
      salesforce: { clientSecret: '[redacted]', password: '[redacted]', jwtPrivateKey: '[redacted]', username: 'integration@acme.example' }
    })
    // The original is untouched.
    expect(config.salesforce.clientSecret).toBe('sf-client-secret')
  })

  it('does not invent secrets that are not configured', () => {
    expect(redactedConfig(loadConfig(BASE))).not.toHaveProperty('salesforce.password')
  })
})
