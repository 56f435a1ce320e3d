// The PatchOp envelope (RFC 7644 §3.5.2) checked the same way for Users and Groups, before any operation runs.
import { sameId } from '../mapping/group.js'
import type { PatchOperation } from '../mapping/patch.js'
import { PATCH_OP_SCHEMA } from '../protocol/constants.js'
import { ScimError } from './errors.js'

/**
 * RFC 7644 §3.5.1 says a body's read-only `id` is ignored; one that names another resource, though, means the
 * client is confused about which resource it is changing, and ignoring it would overwrite the one in the URL.
 */
export function assertIdMatches (value: unknown, pathId: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return
  const key = Object.keys(value).find((k) => k.toLowerCase() === 'id')
  const id = key === undefined ? undefined : (value as Record<string, unknown>)[key]
  if (typeof id === 'string' && id !== '' && !sameId(id, pathId)) {
    throw new ScimError(400, 'mutability', `The body's id '${id.slice(0, 40)}' is not the id in the URL (${pathId}); id is read-only`)
  }
}

/** The operations of an (already normalised) PatchOp body, or the SCIM error that refuses it. */
export function patchOperations (body: unknown, pathId: string, maxOperations: number): PatchOperation[] {
  if (body === undefined || body === null || typeof body !== 'object') throw new ScimError(400, 'invalidSyntax', 'Request body must be a SCIM PatchOp message')
  const { schemas, Operations } = body as { schemas?: unknown, Operations?: unknown }
  if (!Array.isArray(schemas) || !schemas.includes(PATCH_OP_SCHEMA)) throw new ScimError(400, 'invalidSyntax', `A PATCH request needs schemas [${PATCH_OP_SCHEMA}]`)
  if (!Array.isArray(Operations) || Operations.length === 0) throw new ScimError(400, 'invalidValue', 'A PATCH request needs at least one operation')
  if (Operations.length > maxOperations) throw new ScimError(413, undefined, `A PATCH request may carry at most ${maxOperations} operations; this one has ${Operations.length}`)
  for (const op of Operations as unknown[]) {
    if (op === null || typeof op !== 'object' || typeof (op as { op?: unknown }).op !== 'string') throw new ScimError(400, 'invalidSyntax', 'Each PATCH operation needs an op')
    const path = (op as { path?: unknown }).path
    if (path !== undefined && typeof path !== 'string') throw new ScimError(400, 'invalidPath', 'A PATCH path must be a string')
    if (path === undefined) assertIdMatches((op as { value?: unknown }).value, pathId)
  }
  return Operations as PatchOperation[]
}
