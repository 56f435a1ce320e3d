// The emulated org as a benchmark process: a given added latency, room for tens of thousands of users, API
// counters on request, and a recorder of the Salesforce requests scimforce sends (the floor replays them).
import { createEmulator } from '../src/emulator/index.js'
import { childArgs, serveCommands } from './ipc.js'

export interface EmulatorArgs { latencyMs: number }
export interface EmulatorInfo { url: string, profileId: string }
export interface RecordedRequest { method: string, url: string, body: string | undefined }
export interface CounterDelta { apiCalls: number, tokenRequests: number, byEndpoint: Record<string, number>, byStatus: Record<string, number> }

const args = childArgs<EmulatorArgs>()
const emulator = await createEmulator({
  latencyMs: args.latencyMs,
  // The initial load alone creates 10,000 users, and every call of the run must count without hitting a limit.
  licenseTotals: { Salesforce: 1_000_000 },
  dailyApiLimit: 100_000_000,
})

let recording: RecordedRequest[] | undefined
emulator.app.addHook('preHandler', async (request) => {
  if (recording === undefined || !request.url.startsWith('/services/data/v')) return
  recording.push({ method: request.method, url: request.url, body: typeof request.body === 'string' && request.body !== '' ? request.body : undefined })
})

await emulator.listen()
serveCommands({ url: emulator.url, profileId: String(emulator.seed.profiles['Standard User']) } satisfies EmulatorInfo, {
  counters: () => {
    const s = emulator.counters.snapshot()
    return { apiCalls: s.apiCalls, tokenRequests: s.tokenRequests, byEndpoint: s.byEndpoint, byStatus: s.byStatus } satisfies CounterDelta
  },
  record: () => { recording = [] },
  recorded: () => {
    const out = recording ?? []
    recording = undefined
    return out
  },
  users: () => emulator.org.count('User'),
  // Every access token becomes invalid, as when Salesforce ends the session (README: /__emulator/sessions/expire).
  expireSessions: () => { emulator.faults.expireSessions() },
})
