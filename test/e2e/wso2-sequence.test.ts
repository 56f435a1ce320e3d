// Runs the curl walkthrough of WSO2 IS's request sequence against a listening scimforce + emulated org.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BASIC_PASSWORD, BASIC_USER, SCIM, startHarness, type Harness } from '../helper.js'

const run = promisify(execFile)
let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

describe('WSO2 IS sequence (curl)', () => {
  it('creates, looks up, updates, deletes and rehires a user as WSO2 IS does', async () => {
    const port = (h.app.server.address() as { port: number }).port
    const userName = 'kim.lee@pickup.example'
    const { stdout } = await run('bash', [new URL('./wso2-sequence.sh', import.meta.url).pathname], {
      env: { ...process.env, SCIM_BASE: `http://127.0.0.1:${port}${SCIM}`, SCIM_USER: BASIC_USER, SCIM_PASSWORD: BASIC_PASSWORD, E2E_USERNAME: userName },
      timeout: 60_000,
    }).catch((err: { stdout?: string, stderr?: string }) => { throw new Error(`${err.stdout ?? ''}\n${err.stderr ?? ''}`) })
    expect(stdout).toContain('OK: WSO2 IS user sequence passed')
    const rows = h.emulator.org.query(`SELECT Id, IsActive, FirstName, LastName, Department, Title FROM User WHERE Username = '${userName}'`) as Array<Record<string, unknown>>
    expect(rows).toHaveLength(1)
    // The rehire POST carried no department or title, so what the PATCH-mode update set is still there.
    expect(rows[0]).toMatchObject({ IsActive: true, FirstName: 'Kim', LastName: 'Lee', Department: 'Field Sales', Title: 'Account Executive' })
  }, 60_000) // as long as the script may run (execFile timeout): one curl process per request, slow on a busy machine
})
