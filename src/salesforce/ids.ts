// Salesforce record ids: the 15 ⇄ 18-character forms and their checksum (docs/salesforce-behaviour.md#ids), so a
// malformed id is recognised before it reaches a query or a URL.

const ID_CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'

function idChecksum (id15: string): string {
  let suffix = ''
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0
    for (let j = 0; j < 5; j++) {
      const c = id15.charCodeAt(chunk * 5 + j)
      if (c >= 65 && c <= 90) bits |= 1 << j
    }
    suffix += ID_CHECKSUM_ALPHABET[bits] as string
  }
  return suffix
}

/**
 * The canonical 18-character form of a Salesforce record id, or undefined if `value` is not one. 15-character
 * ids are case-sensitive and get their checksum; 18-character ids are case-insensitive (the suffix encodes the
 * case of the first 15), so case is restored from the suffix and a suffix that flags a digit is rejected.
 * Used so that a malformed id never reaches SOQL, where Salesforce would answer "invalid ID field" (an error)
 * instead of "no rows".
 */
export function normalizeSalesforceId (value: string): string | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/.test(value)) return undefined
  if (value.length === 15) return value + idChecksum(value)
  const suffix = value.slice(15).toUpperCase()
  let id15 = ''
  for (let chunk = 0; chunk < 3; chunk++) {
    const bits = ID_CHECKSUM_ALPHABET.indexOf(suffix[chunk] as string)
    if (bits < 0) return undefined
    for (let j = 0; j < 5; j++) {
      const ch = value[chunk * 5 + j] as string
      const isLetter = /[A-Za-z]/.test(ch)
      const upper = (bits & (1 << j)) !== 0
      if (upper && !isLetter) return undefined
      id15 += upper ? ch.toUpperCase() : ch.toLowerCase()
    }
  }
  return id15 + suffix
}
