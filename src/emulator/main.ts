// Standalone start of the emulated org (`npm run emulator`): settings from the environment, a banner on stdout.

import { createEmulator, type Emulator, type EmulatorOptions } from './index.js'

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
    '  Public groups',
    ...Object.entries(s.groups).map(([name, id]) => `    ${id}  ${name}`),
    `  Controls                  ${emulator.url}/__emulator/faults, /__emulator/counters (see src/emulator/README.md)`,
  ]
  return `${lines.join('\n')}\n`
}

export async function runEmulator (env: NodeJS.ProcessEnv): Promise<Emulator> {
  const options: EmulatorOptions = {
    clientId: env.EMULATOR_CLIENT_ID ?? 'scimforce-demo',
    clientSecret: env.EMULATOR_CLIENT_SECRET ?? 'scimforce-demo-secret',
    latencyMs: positiveInt(env, 'EMULATOR_LATENCY_MS', 0),
  }
  const port = positiveInt(env, 'PORT', 8081)
  const host = env.HOST ?? '127.0.0.1'
  const emulator = await createEmulator(options)
  await emulator.listen({ port, host })
  process.stdout.write(banner(emulator, { clientId: options.clientId as string, clientSecret: options.clientSecret as string }))
  return emulator
}
