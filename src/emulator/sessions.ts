// OAuth sessions: access tokens with a sliding idle timeout, refresh tokens and authorization codes.

import { randomBytes } from 'node:crypto'

export type Flow = 'password' | 'client_credentials' | 'jwt' | 'refresh_token' | 'authorization_code'

export interface Session {
  accessToken: string
  userId: string
  clientId: string
  flow: Flow
  scope: string
  issuedAt: number
  lastUsed: number
}

interface RefreshGrant { userId: string, clientId: string, scope: string }
interface AuthCode { userId: string, clientId: string, redirectUri: string, expiresAt: number }

/** Authorization codes are short-lived (Salesforce: 15 minutes). */
const CODE_TTL_MS = 15 * 60_000

export class Sessions {
  private readonly byToken = new Map<string, Session>()
  private readonly refreshTokens = new Map<string, RefreshGrant>()
  private readonly codes = new Map<string, AuthCode>()

  constructor (private readonly orgId15: string, public idleTimeoutMs: number, private readonly now: () => number) {}

  issue (userId: string, clientId: string, flow: Flow, scope: string, reuseLive: boolean): Session {
    if (reuseLive) {
      // docs/salesforce-behaviour.md#client-credentials (SECONDARY, jsforce #1780): a client-credentials request while a token is still valid
      // can return the same access token.
      for (const s of this.byToken.values()) {
        if (s.userId === userId && s.clientId === clientId && s.flow === flow && this.alive(s)) return s
      }
    }
    const now = this.now()
    // Real tokens are "<15-char org id>!<opaque>"; jsforce and the bridge treat them as opaque.
    const session: Session = { accessToken: `${this.orgId15}!AQ${randomBytes(48).toString('base64url')}`, userId, clientId, flow, scope, issuedAt: now, lastUsed: now }
    this.byToken.set(session.accessToken, session)
    return session
  }

  /** The live session of a token, its idle clock restarted; undefined when unknown or idle too long. */
  use (token: string): Session | undefined {
    const s = this.byToken.get(token)
    if (s === undefined) return undefined
    if (!this.alive(s)) {
      this.byToken.delete(token)
      return undefined
    }
    s.lastUsed = this.now()
    return s
  }

  issueRefreshToken (userId: string, clientId: string, scope: string): string {
    const token = `5Aep861${randomBytes(40).toString('base64url')}`
    this.refreshTokens.set(token, { userId, clientId, scope })
    return token
  }

  refreshGrant (token: string): RefreshGrant | undefined {
    return this.refreshTokens.get(token)
  }

  issueCode (userId: string, clientId: string, redirectUri: string): string {
    const code = `aPrx${randomBytes(24).toString('base64url')}`
    this.codes.set(code, { userId, clientId, redirectUri, expiresAt: this.now() + CODE_TTL_MS })
    return code
  }

  /** Codes are single-use. */
  takeCode (code: string): AuthCode | undefined {
    const c = this.codes.get(code)
    this.codes.delete(code)
    return c !== undefined && c.expiresAt > this.now() ? c : undefined
  }

  /** Revokes an access token, or a refresh token together with the access tokens of its user and client. */
  revoke (token: string): boolean {
    if (this.byToken.delete(token)) return true
    const grant = this.refreshTokens.get(token)
    if (grant === undefined) return false
    this.refreshTokens.delete(token)
    for (const [t, s] of this.byToken) if (s.userId === grant.userId && s.clientId === grant.clientId) this.byToken.delete(t)
    return true
  }

  expireAll (): void {
    this.byToken.clear()
  }

  endUser (userId: string): void {
    for (const [t, s] of this.byToken) if (s.userId === userId) this.byToken.delete(t)
  }

  get liveCount (): number {
    let n = 0
    for (const s of this.byToken.values()) if (this.alive(s)) n++
    return n
  }

  private alive (s: Session): boolean {
    return this.now() - s.lastUsed <= this.idleTimeoutMs
  }
}
