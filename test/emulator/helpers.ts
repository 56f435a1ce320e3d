// Shared helpers of the emulator tests: a listening emulator, jsforce connections and raw HTTP calls.
import { Connection } from '@jsforce/jsforce-node'
import { createEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js'

export const CLIENT_ID = 'scimforce-demo'
export const CLIENT_SECRET = 'scimforce-demo-secret'
export const VERSION = '62.0'
export const DATA = `/services/data/v${VERSION}`

export interface Started {
  em: Emulator
  url: string
  /** A fresh client-credentials token. */
  token: () => Promise<string>
  /** A jsforce connection authorized with client credentials against the My Domain URL. */
  connect: () => Promise<Connection>
  /** Raw HTTP against the emulator, Bearer token added unless `auth: false`. */
  call: (method: string, path: string, opts?: { body?: unknown, headers?: Record<string, string>, auth?: boolean | string }) => Promise<RawResponse>
}

export interface RawResponse {
  status: number
  headers: Headers
  text: string
  json: unknown
}

export async function start (opts: EmulatorOptions = {}): Promise<Started> {
  const em = await createEmulator(opts)
  const url = await em.listen()
  let cached: string | undefined
  const token = async (): Promise<string> => {
    const res = await fetch(`${url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: opts.clientId ?? CLIENT_ID, client_secret: opts.clientSecret ?? CLIENT_SECRET }),
    })
    const body = await res.json() as { access_token: string }
    return body.access_token
  }
  const connect = async (): Promise<Connection> => {
    const conn = new Connection({ oauth2: { clientId: opts.clientId ?? CLIENT_ID, clientSecret: opts.clientSecret ?? CLIENT_SECRET, loginUrl: url }, version: VERSION })
    await conn.authorize({ grant_type: 'client_credentials' })
    return conn
  }
  const call: Started['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers }
    if (o.auth !== false) {
      cached = typeof o.auth === 'string' ? o.auth : cached ?? await token()
      headers.authorization = `Bearer ${cached}`
    }
    const res = await send(method, path, o, headers)
    if (res.status === 401 && o.auth === undefined) {
      // The cached token was expired by the test itself: fetch a new one once.
      cached = await token()
      return await send(method, path, o, { ...headers, authorization: `Bearer ${cached}` })
    }
    return res
  }
  const send = async (method: string, path: string, o: { body?: unknown }, headers: Record<string, string>): Promise<RawResponse> => {
    if (o.body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json'
    const res = await fetch(`${url}${path}`, {
      method,
      headers,
      ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
    })
    const text = await res.text()
    let json: unknown
    try {
      json = text === '' ? undefined : JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: res.status, headers: res.headers, text, json }
  }
  return { em, url, token, connect, call }
}

/** The nine required User fields with valid values; override what a test is about. */
export function newUser (em: Emulator, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const n = Math.random().toString(36).slice(2, 8)
  return {
    Username: `user.${n}@scimforce.test`,
    LastName: 'Tester',
    FirstName: 'Tess',
    Email: `user.${n}@scimforce.test`,
    Alias: `u${n}`.slice(0, 8),
    TimeZoneSidKey: 'America/Los_Angeles',
    LocaleSidKey: 'en_US',
    EmailEncodingKey: 'UTF-8',
    LanguageLocaleKey: 'en_US',
    ProfileId: em.seed.profiles['Standard User'],
    ...overrides,
  }
}

/** Runs fn and returns the thrown error (fails the test when nothing is thrown). */
export async function caught (fn: () => unknown): Promise<Error & { errorCode?: string, data?: unknown, fields?: string[] }> {
  try {
    await fn()
  } catch (err) {
    return err as Error & { errorCode?: string }
  }
  throw new Error('expected an error, none was thrown')
}
