// Micro-benchmark of the SCIM render path: GET /Users?count=100 through the real routes (auth, paging, render,
// projection, Fastify serialisation) with a user service that answers from memory, so only scimforce's own CPU
// is measured. Figures, not a test. Run: npx tsx bench/render-list.ts [iterations]
import Fastify from 'fastify'
import type { Config } from '../src/config/types.js'
import { createUserMapping, toScimUser } from '../src/mapping/user.js'
import scimRoutes, { SCIM_PREFIX } from '../src/scim/routes.js'
import type { UserService } from '../src/scim/user-service.js'

const TOKEN = 'bench-bearer-token-0123456789'
const ITERATIONS = Number(process.argv[2] ?? 300)
const PAGE = 100

const config = {
  server: { host: '127.0.0.1', port: 0, bodyLimit: 1024 * 1024, logLevel: 'silent' },
  clients: [{ name: 'bench', auth: { type: 'bearer', token: TOKEN }, putMode: 'replace' }],
  users: { defaults: {}, usernameSuffix: '', deleteMode: 'deactivate', onActiveConflict: 'reject', extraMappings: [] },
} as unknown as Config

const mapping = createUserMapping({ defaults: {} as Config['users']['defaults'], usernameSuffix: '', extraMappings: [] })
const users = Array.from({ length: PAGE }, (_, i) => toScimUser(mapping, {
  Id: `005000000000${String(i).padStart(3, '0')}AAA`,
  Username: `user${i}@bench.example`,
  FirstName: 'Bench',
  LastName: `User${i}`,
  Name: `Bench User${i}`,
  Email: `user${i}@bench.example`,
  Phone: '+1 555 0100',
  Title: 'Engineer',
  Department: 'R&D',
  ManagerId: '005000000000999AAA',
  IsActive: true,
  LocaleSidKey: 'en_US',
  LanguageLocaleKey: 'en_US',
  TimeZoneSidKey: 'America/Los_Angeles',
  CommunityNickname: `user${i}`,
  City: 'Paris',
  Country: 'FR',
  CreatedDate: '2026-11-28T03:22:13.000+0000',
  LastModifiedDate: '2026-11-28T03:22:13.000+0000',
  SystemModstamp: '2026-11-28T03:22:13.000+0000',
}))

const refuse = async (): Promise<never> => { throw new Error('not used by this benchmark') }
const service: UserService = {
  get: refuse,
  list: async (q) => ({ total: 5000, startIndex: q.startIndex, resources: users }),
  create: refuse,
  replace: refuse,
  patch: refuse,
  delete: refuse,
}

const app = Fastify({ logger: false })
await app.register(scimRoutes, { prefix: SCIM_PREFIX, config, users: service })
await app.ready()

async function run (query: string, n: number): Promise<number> {
  const start = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    const res = await app.inject({ method: 'GET', url: `${SCIM_PREFIX}/Users?count=${PAGE}${query}`, headers: { authorization: `Bearer ${TOKEN}` } })
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${res.body}`)
  }
  const cpu = process.cpuUsage(start)
  return (cpu.user + cpu.system) / 1000 / n
}

for (const [name, query] of [['full', ''], ['attributes=userName', '&attributes=userName']] as const) {
  await run(query, Math.ceil(ITERATIONS / 5)) // warm-up
  const ms = await run(query, ITERATIONS)
  console.log(`GET /Users?count=${PAGE} ${name}: ${ms.toFixed(3)} CPU ms per request (${ITERATIONS} requests)`)
}
await app.close()
