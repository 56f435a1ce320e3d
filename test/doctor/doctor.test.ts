// `scimforce doctor` against the emulated org: passes on a good configuration, and fails clearly, naming the
// fix, on each broken one; never prints a secret; exit code 0 or 1.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { runDoctor, type CheckResult, runChecks } from '../../src/doctor.js'
import { createEmulator, to18, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js'
import { cleanEnv, startChild } from '../app/support.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const SF_SECRET = 'doctor-test-sf-secret-8c2f4a'
const WRONG_SECRET = 'doctor-test-wrong-secret-1b7e'
const BEARER = 'doctor-test-bearer-token-6d0c3e'
const METRICS_TOKEN = 'doctor-test-metrics-token-2f9a'
const SECRETS = [SF_SECRET, WRONG_SECRET, BEARER, METRICS_TOKEN]

let emulator: Emulator | undefined
const dirs: string[] = []
afterEach(async () => {
  await emulator?.close()
  emulator = undefined
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function org (opts: EmulatorOptions = {}): Promise<Emulator> {
  emulator = await createEmulator({ clientSecret: SF_SECRET, ...opts })
  await emulator.listen()
  return emulator
}

/** The environment `serve` would get: the same variables doctor reads. */
function envFor (e: Emulator, overrides: Record<string, string> = {}): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'scimforce-doctor-'))
  dirs.push(dir)
  return {
    SF_LOGIN_URL: e.url,
    SF_CLIENT_ID: 'scimforce-demo',
    SF_CLIENT_SECRET: SF_SECRET,
    SF_PROFILE_ID: e.seed.profiles['Standard User'] as string,
    SCIM_BEARER_TOKEN: BEARER,
    METRICS_TOKEN,
    STORE_PATH: join(dir, 'data', 'scimforce.db'),
    ...overrides,
  }
}

async function doctor (env: Record<string, string>): Promise<{ code: number, output: string, rows: Record<string, CheckResult> }> {
  let output = ''
  const code = await runDoctor(env, { write: (t: string) => { output += t } })
  const rows = Object.fromEntries((await runChecks(env)).map((r) => [r.name, r]))
  for (const secret of SECRETS) expect(output, `doctor printed ${secret}`).not.toContain(secret)
  return { code, output, rows }
}

const ALL = ['configuration', 'salesforce token', 'api version', 'api usage', 'default profile', 'licenses', 'group mappings', 'licence headroom', 'store']

describe('doctor', () => {
  it('passes every check against a healthy org and prints the table', async () => {
    const e = await org()
    const { code, output, rows } = await doctor(envFor(e))
    expect(code).toBe(0)
    expect(Object.keys(rows)).toEqual(ALL)
    for (const name of ALL) expect(rows[name]?.status, `${name}: ${rows[name]?.detail ?? ''}`).toBe('pass')
    expect(rows['api version']?.detail).toMatch(/^v62\.0 is offered/)
    expect(rows['default profile']?.detail).toContain('"Standard User"')
    expect(rows.licenses?.detail).toMatch(/^\d+ of 50 "Salesforce" licenses free$/)
    expect(rows['api usage']?.detail).toMatch(/ of 15,000 daily API requests left$/)
    expect(output).toMatch(/^ {2}CHECK +RESULT {2}DETAIL$/m)
    expect(output).toMatch(/^ {2}salesforce token +PASS {4}client_credentials flow at /m)
    expect(output).toMatch(/all 9 checks passed\n$/)
    expect(rows['licence headroom']?.detail).toMatch(/^permission set licence SalesCloudEinsteinPsl: 3 of 3 free$/m)
  })

  it('fails on a wrong client secret, says which setting to fix, and skips what needs a token', async () => {
    const e = await org()
    const { code, output, rows } = await doctor(envFor(e, { SF_CLIENT_SECRET: WRONG_SECRET }))
    expect(code).toBe(1)
    expect(rows['salesforce token']).toMatchObject({ status: 'fail', detail: expect.stringContaining('check SF_CLIENT_SECRET') })
    for (const name of ['api version', 'api usage', 'default profile', 'licenses']) expect(rows[name]?.status).toBe('skip')
    expect(rows.store?.status).toBe('pass')
    expect(output).toMatch(/^ {2}salesforce token +FAIL {4}Salesforce refused the consumer secret \(invalid_client\)/m)
    expect(output).toMatch(/1 of 9 checks failed/)
  })

  it('fails when Salesforce cannot be reached, naming the URL to check', async () => {
    const e = await org()
    const env = envFor(e)
    await e.close()
    emulator = undefined
    const { code, rows } = await doctor(env)
    expect(code).toBe(1)
    expect(rows['salesforce token']).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^cannot reach Salesforce at http:\/\/127\.0\.0\.1:\d+ \(\w+\): check SF_LOGIN_URL/) })
  })

  it('fails on a ProfileId that does not exist in the org', async () => {
    const e = await org()
    const missing = to18('00e000000000999')
    const { code, rows } = await doctor(envFor(e, { SF_PROFILE_ID: missing }))
    expect(code).toBe(1)
    expect(rows['default profile']).toMatchObject({ status: 'fail', detail: `SF_PROFILE_ID ${missing} is not a Profile in this org: find the right Id with SELECT Id, Name FROM Profile` })
    expect(rows.licenses?.status).toBe('skip')
    expect(rows['salesforce token']?.status).toBe('pass')
  })

  it('checks group mappings: passes when every target exists, fails naming the one that does not', async () => {
    const e = await org()
    const dir = mkdtempSync(join(tmpdir(), 'scimforce-doctor-groups-'))
    dirs.push(dir)
    const good = join(dir, 'good.yaml')
    writeFileSync(good, 'groups:\n  mappings:\n    - displayName: Sales Operations\n      permissionSet: Sales_Ops\n')
    const ok = await doctor(envFor(e, { SCIMFORCE_CONFIG: good }))
    expect(ok.rows['group mappings']).toMatchObject({ status: 'pass', detail: '1 mapping(s), every target found' })
    const bad = join(dir, 'bad.yaml')
    writeFileSync(bad, 'groups:\n  mappings:\n    - displayName: Quantum Team\n      permissionSet: No_Such_Set\n')
    const failed = await doctor(envFor(e, { SCIMFORCE_CONFIG: bad }))
    expect(failed.code).toBe(1)
    expect(failed.rows['group mappings']?.status).toBe('fail')
    expect(failed.rows['group mappings']?.detail).toContain('No_Such_Set')
  })

  it('reports licence headroom, and fails when a mapped permission set needs a licence with no free seat (issue 13)', async () => {
    const e = await org({ permissionSetLicenseTotals: { SalesCloudEinsteinPsl: 0 } })
    const dir = mkdtempSync(join(tmpdir(), 'scimforce-doctor-headroom-'))
    dirs.push(dir)
    const plain = await doctor(envFor(e))
    expect(plain.rows['licence headroom']).toMatchObject({ status: 'pass', detail: expect.stringMatching(/^permission set licence SalesCloudEinsteinPsl: 0 of 0 free$/m) })
    expect(plain.rows['licence headroom']?.detail).toMatch(/^package licence dsfs: \d+ of 5 free$/m)
    const mapped = join(dir, 'einstein.yaml')
    writeFileSync(mapped, 'groups:\n  mappings:\n    - displayName: Einstein Users\n      permissionSet: Sales_Cloud_Einstein\n')
    const failed = await doctor(envFor(e, { SCIMFORCE_CONFIG: mapped }))
    expect(failed.code).toBe(1)
    expect(failed.rows['licence headroom']?.status).toBe('fail')
    expect(failed.rows['licence headroom']?.detail).toMatch(/SalesCloudEinsteinPsl: 0 of 0 free \(needed by Sales_Cloud_Einstein\)/)
  })

  it('fails the group mappings check for an admin-grade target the mapping does not allow, naming the key', async () => {
    const e = await org()
    const dir = mkdtempSync(join(tmpdir(), 'scimforce-doctor-privileged-'))
    dirs.push(dir)
    const refused = join(dir, 'refused.yaml')
    writeFileSync(refused, 'groups:\n  mappings:\n    - displayName: User Admins\n      permissionSet: User_Admin\n')
    const failed = await doctor(envFor(e, { SCIMFORCE_CONFIG: refused }))
    expect(failed.code).toBe(1)
    expect(failed.rows['group mappings']?.status).toBe('fail')
    expect(failed.rows['group mappings']?.detail).toMatch(/^groups\.mappings\[0\]\.permissionSet \("User Admins"\): the permission set 'User_Admin' grants ManageUsers: .*allowPrivileged: true/)
    expect(failed.output).toMatch(/group mappings\s+FAIL\s+groups\.mappings\[0\]\.permissionSet/)
    const allowed = join(dir, 'allowed.yaml')
    writeFileSync(allowed, 'groups:\n  mappings:\n    - displayName: User Admins\n      permissionSet: User_Admin\n      allowPrivileged: true\n')
    const ok = await doctor(envFor(e, { SCIMFORCE_CONFIG: allowed }))
    expect(ok.rows['group mappings']).toMatchObject({ status: 'pass', detail: '1 mapping(s), every target found' })
  })

  it('fails when the daily API limit is spent', async () => {
    const e = await org()
    e.faults.exhaustDailyLimit()
    const { code, rows } = await doctor(envFor(e))
    expect(code).toBe(1)
    expect(rows['api usage']).toMatchObject({ status: 'fail', detail: expect.stringContaining('daily API request limit is spent (REQUEST_LIMIT_EXCEEDED)') })
    // The token and the versions list do not count toward the limit; they still pass.
    expect(rows['salesforce token']?.status).toBe('pass')
    expect(rows['api version']?.status).toBe('pass')
  })

  it('fails when the profile has no license left', async () => {
    const e = await org({ licenseTotals: { 'Salesforce Platform': 0 } })
    const { code, rows } = await doctor(envFor(e, { SF_PROFILE_ID: e.seed.profiles['Standard Platform User'] as string }))
    expect(code).toBe(1)
    expect(rows.licenses).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^0 of 0 "Salesforce Platform" licenses free: new users would fail with LICENSE_LIMIT_EXCEEDED/) })
  })

  it('fails on an API version the org does not offer', async () => {
    const e = await org()
    const { code, rows } = await doctor(envFor(e, { SF_API_VERSION: '99.0' }))
    expect(code).toBe(1)
    expect(rows['api version']).toMatchObject({ status: 'fail', detail: 'v99.0 is not offered by this org (it offers v31.0 to v66.0): set SF_API_VERSION to one of them' })
  })

  it('fails when the store cannot be written', async () => {
    const e = await org()
    const dir = mkdtempSync(join(tmpdir(), 'scimforce-doctor-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'not-a-directory'), '')
    const { code, rows } = await doctor(envFor(e, { STORE_PATH: join(dir, 'not-a-directory', 'scimforce.db') }))
    expect(code).toBe(1)
    expect(rows.store).toMatchObject({ status: 'fail', detail: expect.stringContaining('cannot be written') })
  })

  it('fails on an invalid configuration with the loader\'s words, and checks nothing else', async () => {
    const e = await org()
    const env = envFor(e)
    delete env.SF_CLIENT_ID
    const { code, rows } = await doctor({ ...env, METRICS_TOKEN: 'short' })
    expect(code).toBe(1)
    expect(rows.configuration?.status).toBe('fail')
    expect(rows.configuration?.detail).toContain('SF_CLIENT_ID (salesforce.clientId) is required')
    expect(rows.configuration?.detail).toContain('METRICS_TOKEN (server.metricsToken) must be at least 16 characters long')
    for (const name of ALL.slice(1)) expect(rows[name]?.status).toBe('skip')
    expect(e.counters.snapshot().tokenRequests).toBe(0)
  })

  it('is `scimforce doctor` on the command line: exit code 0 when all pass, 1 otherwise', async () => {
    const e = await org()
    const run = async (env: Record<string, string>): Promise<{ code: number | null, out: string }> => {
      // What `npm run doctor` runs.
      const child = startChild(join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/cli.ts', 'doctor'], { cwd: ROOT, env: cleanEnv(env) })
      const exit = await child.exited
      return { code: exit.code, out: child.stdout() + child.stderr() }
    }
    const good = await run(envFor(e))
    expect(good.out).toContain('all 9 checks passed')
    expect(good.code).toBe(0)
    const bad = await run(envFor(e, { SF_CLIENT_SECRET: WRONG_SECRET }))
    expect(bad.out).toContain('1 of 9 checks failed')
    expect(bad.code).toBe(1)
    for (const secret of SECRETS) expect(good.out + bad.out).not.toContain(secret)
  }, 60_000)
})
