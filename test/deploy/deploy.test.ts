// The deployment files in deploy/, without Docker or Kubernetes: every variable they give scimforce is one its
// configuration reads, every *_FILE points into a mounted secret, the config file into the mounted ConfigMap, the
// probes at /healthz and /readyz, the user is the image's numeric one. So they cannot rot as the config changes.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments, parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { CONFIG_ENV_NAMES } from '../../src/config/loader.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8')

// Read by Node or by src/salesforce/proxy.ts rather than by the config loader.
const PROCESS_ENV = ['NODE_ENV', 'NODE_EXTRA_CA_CERTS', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy']
const KNOWN = new Set([...CONFIG_ENV_NAMES, ...PROCESS_ENV])

// The last USER of the Dockerfile is the final stage's (test/container checks the Dockerfile itself).
const imageUser = [...read('Dockerfile').matchAll(/^USER\s+(\S+)\s*$/gm)].at(-1)?.[1] ?? ''

describe('config environment names', () => {
  it('lists every variable the loader binds, with the _FILE form of each secret', () => {
    for (const name of ['SCIMFORCE_CONFIG', 'PORT', 'TRUST_PROXY', 'SF_LOGIN_URL', 'SF_CLIENT_SECRET_FILE', 'SCIM_BEARER_TOKEN_FILE', 'SCIM_BASIC_PASSWORD_FILE', 'METRICS_TOKEN_FILE', 'SF_JWT_KEY_FILE', 'STORE_PATH', 'STORE_URL', 'STORE_URL_FILE', 'AUDIT_RETENTION_DAYS']) {
      expect(CONFIG_ENV_NAMES).toContain(name)
    }
    expect(CONFIG_ENV_NAMES).not.toContain('SF_PROFILE_ID_FILE')
  })
})

interface ComposeService { environment?: Record<string, string | number>, secrets?: string[], volumes?: string[], image?: string, user?: string }

describe('deploy/docker-compose.yml', () => {
  const compose = parse(read('deploy/docker-compose.yml')) as { services: Record<string, ComposeService>, secrets: Record<string, { file: string }> }
  const app = compose.services.scimforce as ComposeService
  const env = app.environment ?? {}

  it('sets only variables scimforce reads', () => {
    expect(Object.keys(env).filter((n) => !KNOWN.has(n))).toEqual([])
  })

  it('points every *_FILE at a secret the service mounts, and SCIMFORCE_CONFIG into a mounted folder', () => {
    const files = Object.entries(env).filter(([n]) => n.endsWith('_FILE'))
    expect(files.length).toBeGreaterThanOrEqual(2)
    for (const [name, value] of files) {
      const secret = /^\/run\/secrets\/([\w-]+)$/.exec(String(value))?.[1]
      expect(secret, `${name}=${String(value)}`).toBeDefined()
      expect(app.secrets, name).toContain(secret)
      expect(compose.secrets[secret as string], name).toBeDefined()
    }
    const config = String(env.SCIMFORCE_CONFIG)
    expect((app.volumes ?? []).some((v) => config.startsWith(`${v.split(':')[1] ?? '-'}/`))).toBe(true)
  })

  it('puts the store in the PostgreSQL service it starts', () => {
    expect(String(env.STORE_URL)).toMatch(/^postgres:\/\/scimforce:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432\/scimforce$/)
    expect(compose.services.postgres?.image).toMatch(/^postgres:\d+\.\d+/)
  })
})

interface K8sDoc { kind: string, metadata: { name: string }, spec?: Record<string, unknown>, data?: Record<string, string> }
interface Container {
  env?: Array<{ name: string, value?: string }>
  volumeMounts?: Array<{ name: string, mountPath: string }>
  livenessProbe?: { httpGet?: { path: string } }
  readinessProbe?: { httpGet?: { path: string } }
  resources?: { requests?: { cpu?: string, memory?: string }, limits?: { memory?: string } }
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean, runAsUser?: number, runAsGroup?: number }
  containers: Container[]
  volumes: Array<{ name: string, secret?: { secretName: string }, configMap?: { name: string } }>
}

describe('deploy/kubernetes', () => {
  const docs = ['deployment.yaml', 'configmap.yaml'].flatMap((f) => parseAllDocuments(read(`deploy/kubernetes/${f}`)).map((d) => d.toJS() as K8sDoc))
  const deployment = docs.find((d) => d.kind === 'Deployment') as K8sDoc
  const pod = ((deployment.spec?.template as { spec: PodSpec }).spec)
  const container = pod.containers[0] as Container
  const env = container.env ?? []
  const mountOf = (path: string): { name: string, mountPath: string } | undefined => (container.volumeMounts ?? []).find((m) => path.startsWith(`${m.mountPath}/`))

  it('has a Deployment, a Service and a ConfigMap', () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Service'])
  })

  it('sets only variables scimforce reads', () => {
    expect(env.map((e) => e.name).filter((n) => !KNOWN.has(n))).toEqual([])
  })

  it('reads every *_FILE from the mounted Secret and the config file from the mounted ConfigMap, which holds it', () => {
    const files = env.filter((e) => e.name.endsWith('_FILE'))
    expect(files.length).toBeGreaterThanOrEqual(2)
    for (const e of files) {
      const mount = mountOf(e.value ?? '')
      expect(mount, e.name).toBeDefined()
      expect(pod.volumes.find((v) => v.name === mount?.name)?.secret?.secretName, e.name).toBe('scimforce')
    }
    const configPath = env.find((e) => e.name === 'SCIMFORCE_CONFIG')?.value ?? ''
    const mount = mountOf(configPath)
    const configMapName = pod.volumes.find((v) => v.name === mount?.name)?.configMap?.name
    const configMap = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === configMapName)
    expect(configMap?.data?.[configPath.slice((mount?.mountPath.length ?? 0) + 1)]).toBeDefined()
  })

  it('runs as the image\'s numeric non-root user', () => {
    expect(pod.securityContext?.runAsNonRoot).toBe(true)
    expect(`${String(pod.securityContext?.runAsUser)}:${String(pod.securityContext?.runAsGroup)}`).toBe(imageUser)
  })

  it('probes liveness at /healthz and readiness at /readyz, and requests what the bench measured', () => {
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz')
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz')
    // bench/RESULTS.md: about 245 MiB of RSS at the peak; the limit leaves room above it, the request covers the
    // sustained load.
    expect(container.resources?.requests?.memory).toBe('256Mi')
    expect(container.resources?.limits?.memory).toBe('512Mi')
    expect(container.resources?.requests?.cpu).toBeDefined()
  })

  it('gives V8 an old space (the image\'s NODE_OPTIONS) that collects well before the memory limit', () => {
    const options = /NODE_OPTIONS="([^"]*)"/.exec(read('Dockerfile'))?.[1] ?? ''
    const oldSpaceMi = Number(/--max-old-space-size=(\d+)/.exec(options)?.[1] ?? 0)
    const limitMi = Number(/^(\d+)Mi$/.exec(String(container.resources?.limits?.memory))?.[1] ?? 0)
    expect(oldSpaceMi).toBeGreaterThan(0)
    // The rest of the process (code, young generation, buffers, SQLite) needs room above the heap.
    expect(oldSpaceMi).toBeLessThanOrEqual(limitMi / 2)
  })
})
