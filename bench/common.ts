// What the bench's parts share: the SCIM client's credentials and headers, the users they create, and a small
// concurrency limiter.

export const TOKEN = 'bench-bearer-token-0123456789'
export const E = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
export const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User'
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
export const HEADERS = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/scim+json' }

let tokenSeq = 0
/** A fresh user local part: short (CommunityNickname is derived from it) and unique across the whole bench. */
export const fresh = (): string => `b${(tokenSeq++).toString(36)}x${process.pid.toString(36)}`

export function scimUser (local: string, title: string): Record<string, unknown> {
  const userName = `${local}@load.example`
  return {
    schemas: [CORE, E],
    userName,
    name: { givenName: 'Bench', familyName: `User ${local}` },
    title,
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
    [E]: { department: 'Sales' },
  }
}

export async function limited<T> (items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items]
  await Promise.all(Array.from({ length: limit }, async () => {
    for (let x = queue.shift(); x !== undefined; x = queue.shift()) await fn(x)
  }))
}
