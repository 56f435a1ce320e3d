import { describe, it, expect, vi, afterEach } from 'vitest'
import type { Emulator } from '../../src/emulator/index.js'
import { runEmulator } from '../../src/emulator/main.js'

let running: Emulator | undefined
afterEach(async () => {
  vi.restoreAllMocks()
  await running?.close()
  running = undefined
})

describe('runEmulator', () => {
  it('listens where the environment says and prints what a newcomer needs', async () => {
    const out: string[] = []
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { out.push(String(chunk)); return true })
    running = await runEmulator({ PORT: '0', HOST: '127.0.0.1', EMULATOR_CLIENT_ID: 'my-client', EMULATOR_CLIENT_SECRET: 'my-secret', EMULATOR_LATENCY_MS: '3', EMULATOR_LATENCY_AFTER_COMMIT_MS: '4', EMULATOR_LONG_TAIL_RATE: '0.1', EMULATOR_LONG_TAIL_MS: '900', EMULATOR_LONG_TAIL_AFTER_COMMIT: 'true' })
    const text = out.join('')
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(text).toContain(running.url)
    expect(text).toContain(`${running.url}/login`)
    expect(text).toContain('my-client')
    expect(text).toContain('my-secret')
    expect(text).toContain('integration@scimforce.demo')
    expect(text).toContain(`${running.seed.profiles['Standard User'] as string}  Standard User`)
    expect(text).toContain(`${running.seed.permissionSets.Sales_Ops as string}  Sales_Ops`)
    expect(text).toContain(`${running.seed.permissionSetLicenses.SalesCloudEinsteinPsl as string}  SalesCloudEinsteinPsl`)
    expect(text).toContain(`Default case owner        ${running.seed.users['case.owner@scimforce.demo'] as string}`)
    expect(running.faults.get()).toMatchObject({ latencyMs: 3, latencyAfterCommitMs: 4, longTail: { rate: 0.1, ms: 900, afterCommit: true } })
    const token = await fetch(`${running.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=my-client&client_secret=my-secret',
    })
    expect(token.status).toBe(200)
  })

  it('refuses a bad number with the key in the message', async () => {
    await expect(runEmulator({ PORT: 'eighty' })).rejects.toThrow(/PORT must be a whole number/)
    await expect(runEmulator({ PORT: '0', EMULATOR_LATENCY_AFTER_COMMIT_MS: '-1' })).rejects.toThrow(/EMULATOR_LATENCY_AFTER_COMMIT_MS must be a whole number/)
  })
})
