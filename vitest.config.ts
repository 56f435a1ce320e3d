import { defineConfig } from 'vitest/config'

/**
 * Test files that start servers (scimforce, the emulated org), child processes or containers. Everything else
 * under test/ is a unit test (pure modules, the store, config), so a new pure test is a unit test by default.
 */
const INTEGRATION = [
  'test/app/**',
  'test/bulk/**',
  'test/conformance/**',
  'test/container/**',
  'test/doctor/**',
  'test/e2e/**',
  'test/emulator/**',
  'test/http/**',
  'test/property/**',
  'test/reliability/**',
  'test/security/**',
  'test/salesforce/gateway-http.test.ts',
  'test/scim/users*.test.ts',
  'test/scim/groups*.test.ts',
]

export default defineConfig({
  test: {
    // Integration tests start real servers on 127.0.0.1; two cores, so keep the pool small.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // `vitest run` runs both; `npm run test:unit` (`--project unit`) only the fast ones.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: INTEGRATION } },
      { extends: true, test: { name: 'integration', include: INTEGRATION.map((p) => p.endsWith('/**') ? `${p}/*.test.ts` : p) } },
    ],
  },
})
