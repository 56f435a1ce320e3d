// Salesforce record Ids: key prefixes, the 18-character case-safe checksum, and a deterministic generator.

/** Key prefixes of the objects the emulator serves. Assumption (docs/salesforce-behaviour.md#ids, UNVERIFIED but standard). */
export const KEY_PREFIXES = {
  Organization: '00D',
  User: '005',
  Profile: '00e',
  UserRole: '00E',
  Group: '00G',
  GroupMember: '011',
  PermissionSet: '0PS',
  PermissionSetGroup: '0PG',
  PermissionSetAssignment: '0Pa',
  UserLicense: '100',
  UserLogin: '060',
  PermissionSetLicense: '0PL',
  PermissionSetLicenseAssign: '2LA',
  PackageLicense: '050',
  UserPackageLicense: '051',
  QueryLocator: '01g',
} as const

const CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const ID_SHAPE = /^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$/

/** The three checksum characters of a 15-character Id (docs/salesforce-behaviour.md#ids). */
export function checksum (id15: string): string {
  let out = ''
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0
    for (let j = 0; j < 5; j++) {
      const c = id15.charCodeAt(chunk * 5 + j)
      if (c >= 65 && c <= 90) bits |= 1 << j
    }
    out += CHECKSUM_ALPHABET[bits]
  }
  return out
}

/** 15 → 18 characters. */
export function to18 (id15: string): string {
  return id15 + checksum(id15)
}

/**
 * Canonical 18-character form of a 15- or 18-character Id, or undefined when the text is not a valid Id.
 * An 18-character Id is case-insensitive: its suffix says which of the first 15 characters are upper case,
 * so the case is restored from it and the suffix re-checked.
 */
export function normalizeId (text: string): string | undefined {
  if (!ID_SHAPE.test(text)) return undefined
  if (text.length === 15) return to18(text)
  const suffix = text.slice(15).toUpperCase()
  let restored = ''
  for (let chunk = 0; chunk < 3; chunk++) {
    const bits = CHECKSUM_ALPHABET.indexOf(suffix[chunk] ?? '')
    if (bits < 0) return undefined
    for (let j = 0; j < 5; j++) {
      const ch = text[chunk * 5 + j] ?? ''
      const upper = (bits & (1 << j)) !== 0
      if (/[0-9]/.test(ch)) {
        if (upper) return undefined
        restored += ch
      } else {
        restored += upper ? ch.toUpperCase() : ch.toLowerCase()
      }
    }
  }
  return to18(restored)
}

/** True when the text has the shape of an Id (15/18 alphanumerics), valid checksum or not. */
export function looksLikeId (text: string): boolean {
  return ID_SHAPE.test(text)
}

/** The sObject whose key prefix starts this Id, if the emulator knows it. */
export function sobjectOfId (id: string): string | undefined {
  const prefix = id.slice(0, 3)
  for (const [name, p] of Object.entries(KEY_PREFIXES)) {
    if (p === prefix) return name
  }
  return undefined
}

function base62 (n: number, width: number): string {
  let s = ''
  let v = n
  while (v > 0) {
    s = BASE62[v % 62] + s
    v = Math.floor(v / 62)
  }
  return s.padStart(width, '0')
}

/**
 * Generates Ids from per-prefix counters, so the seeded org gets the same Ids on every start.
 * Shape: prefix (3) + pod "Hu" (2) + reserved "0" + 9 base-62 digits, then the checksum, like real Ids.
 */
export class IdGenerator {
  private readonly counters = new Map<string, number>()
  constructor (private readonly pod = 'Hu', private readonly start = 1000) {}

  next (prefix: string): string {
    const n = (this.counters.get(prefix) ?? this.start) + 1
    this.counters.set(prefix, n)
    return to18(prefix + this.pod + '0' + base62(n, 9))
  }
}
