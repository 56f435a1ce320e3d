// Salesforce's names for a SCIM group (issue 12): Group.Name holds 40 characters and DeveloperName 80 letters, digits
// and underscores, so a longer displayName gets a deterministic, unique, length-safe form, and the full name is kept
// beside it (store documents). Pure, apart from the one store write of keepFullName.

/**
 * A Group DeveloperName derived from the displayName (docs/salesforce-behaviour.md#group-objects: letters, digits and underscores,
 * starting with a letter, no `__`, no trailing `_`; 80 characters). Deterministic, so that a repeated create
 * collides (DUPLICATE_DEVELOPER_NAME) instead of making a second group; `attempt` > 0 adds a suffix for a
 * different group whose name derives to the same.
 */
export function deriveDeveloperName (displayName: string, attempt = 0): string {
  let base = displayName.normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9]+/g, '_').replace(/_+/g, '_').replace(/^_+|_+$/g, '')
  if (base === '') base = 'Group'
  if (!/^[A-Za-z]/.test(base)) base = `G_${base}`
  // Too long: the start and a tag of the whole name, so that two long names sharing their first 80 characters
  // still derive to different DeveloperNames at the first attempt.
  if (attempt === 0 && base.length > 80) {
    const tag = `_${hash36(displayName.toLowerCase())}`
    return base.slice(0, 80 - tag.length).replace(/_+$/, '') + tag
  }
  if (attempt === 0) return base.slice(0, 80).replace(/_+$/, '')
  const suffix = `_${hash36(`${displayName}\u0000${attempt}`)}`
  return base.slice(0, 80 - suffix.length).replace(/_+$/, '') + suffix
}

/** Group.Name holds 40 characters (Object Reference, Group; docs/salesforce-behaviour.md#name-lengths). */
export const GROUP_NAME_MAX = 40
const SHORTENED = /~[0-9a-z]{1,7}$/

/**
 * The Salesforce Group.Name for a SCIM displayName: itself when it fits 40 characters; else its start, `~` and a
 * tag of the whole name (lower-cased: displayName is not case-exact), deterministic and length-safe, so that
 * `displayName eq "<long name>"` finds the group by Name. scimforce keeps the full displayName in its store
 * (group-service.ts) and answers it.
 */
export function salesforceGroupName (displayName: string): string {
  if (displayName.length <= GROUP_NAME_MAX) return displayName
  const tag = `~${hash36(displayName.toLowerCase())}`
  return displayName.slice(0, GROUP_NAME_MAX - tag.length).trimEnd() + tag
}

/** Store documents: `${groupId15}` → { displayName } for public groups whose Name is shortened. */
export const GROUP_DISPLAY_NAME_NS = 'group-displayName'

/** Remembers (or forgets, when it fits Group.Name) a public group's full displayName; `tx` is a Store. */
export async function keepFullName (tx: { putDoc: (ns: string, key: string, value: unknown) => Promise<void>, deleteDoc: (ns: string, key: string) => Promise<boolean> }, groupId: string, displayName: string): Promise<void> {
  if (displayName.length > GROUP_NAME_MAX) await tx.putDoc(GROUP_DISPLAY_NAME_NS, groupId.slice(0, 15), { displayName })
  else await tx.deleteDoc(GROUP_DISPLAY_NAME_NS, groupId.slice(0, 15))
}

/** Whether a Group.Name is the shortened form of a longer displayName (salesforceGroupName). */
export function isShortenedGroupName (name: string): boolean {
  return name.length <= GROUP_NAME_MAX && name.length >= GROUP_NAME_MAX - 8 && SHORTENED.test(name)
}

/** FNV-1a, base 36: a short stable tag, not a security measure. */
function hash36 (text: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h.toString(36)
}

// ---------------------------------------------------------------------------------------------------------------
// Salesforce → SCIM
