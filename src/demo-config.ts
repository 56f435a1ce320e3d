// The demo's settings (`npm run demo`): its defaults and the scimforce configuration it serves against its emulated
// org, in one place, so that the conformance run (test/conformance) measures exactly what the demo serves.
import { fileURLToPath } from 'node:url'
import { loadConfig } from './config/loader.js'
import type { Config } from './config/types.js'

export const DEMO_DEFAULTS = {
  PORT: '8080',
  SF_EMULATOR_PORT: '8081',
  // The demo org has room for an initial load or a Bulk tryout (the emulated org alone keeps a small org's 50).
  EMULATOR_SALESFORCE_LICENSES: '1000',
  DEMO_TOKEN: 'scimforce-demo-token',
  DEMO_PASSWORD: 'scimforce-demo-password',
  METRICS_TOKEN: 'scimforce-demo-metrics-token',
  // The Bearer client stands for Entra: PATCH answers 204, as Entra's endpoints do (config/entra.example.yaml) and
  // as Microsoft's SCIM validator expects; RFC 7644 §3.5.2 allows 200 or 204. `?attributes=` still gets the
  // resource. The Basic client (WSO2 IS, which reads the answer) keeps 200 with the resource.
  SCIM_BEARER_PATCH_RESPONSE: 'noContent',
}

/** The demo's group mappings and username domain (config/demo.yaml), beside src/ and dist/ alike. */
export const DEMO_CONFIG = fileURLToPath(new URL('../config/demo.yaml', import.meta.url))

/** What the demo's scimforce is configured with, against an emulated org at `orgUrl`. */
export function demoConfig (env: NodeJS.ProcessEnv, org: { url: string, profileId: string }): Config {
  return loadConfig({
    PORT: env.PORT ?? DEMO_DEFAULTS.PORT,
    HOST: '127.0.0.1',
    LOG_LEVEL: env.LOG_LEVEL ?? 'info',
    SF_LOGIN_URL: org.url,
    SF_AUTH_FLOW: 'client_credentials',
    SF_CLIENT_ID: env.EMULATOR_CLIENT_ID ?? 'scimforce-demo',
    SF_CLIENT_SECRET: env.EMULATOR_CLIENT_SECRET ?? 'scimforce-demo-secret',
    SF_PROFILE_ID: org.profileId,
    SCIM_BEARER_TOKEN: env.DEMO_TOKEN ?? DEMO_DEFAULTS.DEMO_TOKEN,
    SCIM_BEARER_PATCH_RESPONSE: env.SCIM_BEARER_PATCH_RESPONSE ?? DEMO_DEFAULTS.SCIM_BEARER_PATCH_RESPONSE,
    SCIM_BASIC_USER: 'wso2',
    SCIM_BASIC_PASSWORD: env.DEMO_PASSWORD ?? DEMO_DEFAULTS.DEMO_PASSWORD,
    METRICS_TOKEN: env.METRICS_TOKEN ?? DEMO_DEFAULTS.METRICS_TOKEN,
    // The emulated org lives in memory, so the store does too: stale tombstones must not outlive it.
    STORE_PATH: ':memory:',
  }, { configPath: env.SCIMFORCE_CONFIG ?? DEMO_CONFIG })
}
