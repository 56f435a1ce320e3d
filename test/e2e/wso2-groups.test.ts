// Runs the curl walkthrough of WSO2 IS's group sequence against a listening scimforce + emulated org.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BASIC_PASSWORD, BASIC_USER, SCIM, startHarness, type Harness } from '../helper.js'

const run = promisify(execFile)
let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

describe('WSO2 IS group sequence (curl)', () => {
  it('creates a group with members, replaces and patches its membership, renames and deletes it as WSO2 IS does', async () => {
    const port = (h.app.server.address() as { port: number }).port
    const { stdout } = await run('bash', [new URL('./wso2-groups.sh', import.meta.url).pathname], {
      env: { ...process.env, SCIM_BASE: `http://127.0.0.1:${port}${SCIM}`, SCIM_USER: BASIC_USER, SCIM_PASSWORD: BASIC_PASSWORD, E2E_TAG: 'e2e', E2E_GROUP: 'sales-emea' },
      timeout: 60_000,
    }).catch((err: { stdout?: string, stderr?: string }) => { throw new Error(`${err.stdout ?? ''}\n${err.stderr ?? ''}`) })
    expect(stdout).toContain('OK: WSO2 IS group sequence passed')
    // The group scimforce made is gone from Salesforce, with its members; the users stay.
    expect(h.emulator.org.query("SELECT Id FROM Group WHERE Name LIKE 'sales-emea%'")).toHaveLength(0)
    const users = h.emulator.org.query("SELECT Id FROM User WHERE Username LIKE '%.e2e@pickup.example'") as unknown as Array<{ Id: string }>
    expect(users).toHaveLength(3)
    expect(h.emulator.org.query(`SELECT Id FROM GroupMember WHERE UserOrGroupId IN ('${users.map((u) => u.Id).join("','")}')`)).toHaveLength(0)
  }, 60_000) // as long as the script may run (execFile timeout): one curl process per request, slow on a busy machine
})
