#!/usr/bin/env node
// Command line: `serve` (the product), `demo` (scimforce + the emulated org on 127.0.0.1), `emulator` (the
// emulated org alone), `doctor` (checks a configuration against its Salesforce org), `audit` (reads the audit
// journal) and `store migrate` (copies a SQLite store into PostgreSQL).
import { AUDIT_USAGE, runAudit, UsageError } from './audit-cli.js'
import { loadConfig, ConfigError } from './config/loader.js'
import { closeOnSignals, startServer } from './server.js'
import { DEMO_DEFAULTS, demoConfig } from './demo-config.js'

// The emulated org and doctor are loaded only by the commands that run them: `serve` (production) never holds
// the emulator, its SOQL parser or its seed in memory (about 12 MiB of RSS), and the image can leave them out.
const runEmulator = async (env: NodeJS.ProcessEnv): ReturnType<typeof import('./emulator/main.js').runEmulator> =>
  await (await import('./emulator/main.js')).runEmulator(env)
const runDoctor = async (env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<number> =>
  await (await import('./doctor.js')).runDoctor(env, out)

function fail (message: string): never {
  process.stderr.write(`scimforce: ${message}\n`)
  process.exit(2)
}

async function serve (env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadConfig(env)
  const app = await startServer(config)
  closeOnSignals([app], app.log)
}

/** Starts the emulated org, then scimforce configured against it, and says what to curl. */
async function demo (env: NodeJS.ProcessEnv): Promise<void> {
  const port = env.PORT ?? DEMO_DEFAULTS.PORT
  const token = env.DEMO_TOKEN ?? DEMO_DEFAULTS.DEMO_TOKEN
  const password = env.DEMO_PASSWORD ?? DEMO_DEFAULTS.DEMO_PASSWORD
  const metricsToken = env.METRICS_TOKEN ?? DEMO_DEFAULTS.METRICS_TOKEN
  const emulator = await runEmulator({
    ...env,
    PORT: env.SF_EMULATOR_PORT ?? DEMO_DEFAULTS.SF_EMULATOR_PORT,
    HOST: '127.0.0.1',
    EMULATOR_SALESFORCE_LICENSES: env.EMULATOR_SALESFORCE_LICENSES ?? DEMO_DEFAULTS.EMULATOR_SALESFORCE_LICENSES,
  })
  const profileId = emulator.seed.profiles['Standard User']
  const config = demoConfig(env, { url: emulator.url, profileId: String(profileId) })
  const app = await startServer(config)
  const base = `http://127.0.0.1:${port}/scim/v2`
  process.stdout.write(`
scimforce demo is running.

  SCIM endpoint        ${base}
  Bearer token         ${token}
  Basic (WSO2 IS)      wso2 / ${password}
  Emulated Salesforce  ${emulator.url}   (OAuth client ${config.salesforce.clientId})
  Default ProfileId    ${String(profileId)} (Standard User)
  Metrics              http://127.0.0.1:${port}/metrics   (Bearer ${metricsToken})

Try:
  curl -s -H 'Authorization: Bearer ${token}' '${base}/ServiceProviderConfig'
  curl -s -X POST -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/scim+json' \\
       -d '{"userName":"ada@example.com","name":{"givenName":"Ada","familyName":"Lovelace"},"emails":[{"value":"ada@example.com","primary":true}]}' \\
       '${base}/Users'
  curl -s -u wso2:${password} '${base}/Users?filter=userName%20Eq%20ada@example.com&startIndex=1&count=1'
  curl -s -H 'Authorization: Bearer ${metricsToken}' http://127.0.0.1:${port}/metrics | grep ^scimforce_
See README.md ("Walkthrough") for update, deactivate, delete and rehire, and the Salesforce side.
Ctrl-C stops both.
`)
  closeOnSignals([app, emulator], app.log)
}

async function emulatorOnly (env: NodeJS.ProcessEnv): Promise<void> {
  const emulator = await runEmulator(env)
  closeOnSignals([emulator], { info: () => {}, error: (o) => process.stderr.write(`${JSON.stringify(o)}\n`) })
}

async function main (argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const command = argv[0] ?? 'serve'
  switch (command) {
    case 'serve': return await serve(env)
    case 'demo': return await demo(env)
    case 'emulator': return await emulatorOnly(env)
    case 'doctor':
      // Not process.exit(): stdout may be a pipe, and the table must reach it whole.
      process.exitCode = await runDoctor(env, process.stdout)
      return
    case 'audit':
      process.exitCode = await runAudit(argv.slice(1), env, process.stdout)
      return
    case 'store': {
      const { runStoreCommand } = await import('./store/migrate-cli.js')
      process.exitCode = await runStoreCommand(argv.slice(1), process.stdout)
      return
    }
    case 'help':
    case '--help':
      process.stdout.write(`usage: scimforce [serve|demo|emulator|doctor|audit|store migrate]\n${AUDIT_USAGE}\n`)
      return
    default:
      fail(`unknown command '${command}' (try: serve, demo, emulator, doctor, audit, store migrate)`)
  }
}

main(process.argv.slice(2), process.env).catch((err: unknown) => {
  if (err instanceof ConfigError) fail(`invalid configuration:\n${err.message}`)
  if (err instanceof UsageError) fail(err.message)
  fail(err instanceof Error ? err.message : String(err))
})
