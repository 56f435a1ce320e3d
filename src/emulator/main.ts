// Standalone start of the emulated org (`npm run emulator`): settings from the environment, a banner on stdout.

import { createEmulator, type Emulator, type EmulatorOptions } from './index.js'

function fraction (env: NodeJS.ProcessEnv, key: string): number | undefined {
  const raw = env[key]
  if (raw === undefined || raw.trim() === '') return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`${key} must be a number between 0 and 1, got '${raw}'`)
  return n
}

function positiveInt (env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key]
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0) throw new Error(`${key} must be a whole number >= 0, got '${raw}'`)
  return n
}

export function banner (emulator: Emulator, options: { clientId: string, clientSecret: string }): string {
  const s = emulator.seed
  const lines = [
    'Emulated Salesforce org',
    `  My Domain / instance URL  ${emulator.url}`,
    `  Login URL                 ${emulator.loginUrl}`,
    `  OAuth client id           ${options.clientId}`,
    `  OAuth client secret       ${options.clientSecret}`,
    `  Integration user          ${Object.keys(s.users)[0] ?? ''}`,
    `  Org Id                    ${s.orgId}`,
    '  Profiles',
    ...Object.entries(s.profiles).map(([name, id]) => `    ${id}  ${name}`),
    '  Permission sets',
    ...Object.entries(s.permissionSets).map(([name, id]) => `    ${id}  ${name}`),
    '  Permission set groups',
    ...Object.entries(s.permissionSetGroups).map(([name, id]) => `    ${id}  ${name}`),
    '  Roles',
    ...Object.entries(s.roles).map(([name, id]) => `    ${id}  ${name}`),
    '  Groups (public groups, a queue)',
    ...Object.entries(s.groups).map(([name, id]) => `    ${id}  ${name}`),
    '  Permission set licences',
    ...Object.entries(s.permissionSetLicenses).map(([name, id]) => `    ${id}  ${name}`),
    '  Package licences',
    ...Object.entries(s.packageLicenses).map(([name, id]) => `    ${id}  ${name}`),
    `  Default case owner        ${emulator.org.settings.defaultCaseOwnerId ?? ''} (deactivation refused; PUT /__emulator/org-settings clears it)`,
    `  Controls                  ${emulator.url}/__emulator/faults, /__emulator/counters (see src/emulator/README.md)`,
  ]
  return `${lines.join('\n')}\n`
}

export async function runEmulator (env: NodeJS.ProcessEnv): Promise<Emulator> {
  const options: EmulatorOptions = {
    clientId: env.EMULATOR_CLIENT_ID ?? 'scimforce-demo',
    clientSecret: env.EMULATOR_CLIENT_SECRET ?? 'scimforce-demo-secret',
    latencyMs: positiveInt(env, 'EMULATOR_LATENCY_MS', 0),
    latencyAfterCommitMs: positiveInt(env, 'EMULATOR_LATENCY_AFTER_COMMIT_MS', 0),
    // Seats of the Salesforce user licence (the seed's default is 50, a small org's count). Tryouts that load
    // hundreds of users (a Bulk request, an initial sync) raise it rather than meeting LICENSE_LIMIT_EXCEEDED.
    ...(env.EMULATOR_SALESFORCE_LICENSES !== undefined ? { licenseTotals: { Salesforce: positiveInt(env, 'EMULATOR_SALESFORCE_LICENSES', 50) } } : {}),
  }
  const port = positiveInt(env, 'PORT', 8081)
  const host = env.HOST ?? '127.0.0.1'
  // A long tail: this fraction of REST calls takes EMULATOR_LONG_TAIL_MS longer, before the commit or after it.
  const tailRate = fraction(env, 'EMULATOR_LONG_TAIL_RATE')
  const tailMs = positiveInt(env, 'EMULATOR_LONG_TAIL_MS', 2000)
  const emulator = await createEmulator(options)
  if (tailRate !== undefined) emulator.faults.set({ longTail: { rate: tailRate, ms: tailMs, afterCommit: env.EMULATOR_LONG_TAIL_AFTER_COMMIT === 'true' } })
  await emulator.listen({ port, host })
  process.stdout.write(banner(emulator, { clientId: options.clientId as string, clientSecret: options.clientSecret as string }))
  return emulator
}
