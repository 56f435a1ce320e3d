import { describe, it, expect } from 'vitest'
import { IdGenerator, checksum, looksLikeId, normalizeId, sobjectOfId, to18 } from '../../src/emulator/ids.js'

describe('record Ids', () => {
  it('computes the 18-character checksum of the documented examples', () => {
    expect(to18('001D000000IqhSL')).toBe('001D000000IqhSLIAZ')
    expect(to18('005D0000001KyEI')).toBe('005D0000001KyEIIA0')
    expect(checksum('000000000000000')).toBe('AAA')
    expect(checksum('ABCDEABCDEABCDE')).toBe('555')
  })

  it('accepts 15 and 18 characters and restores the case of an 18-character Id', () => {
    expect(normalizeId('001D000000IqhSL')).toBe('001D000000IqhSLIAZ')
    expect(normalizeId('001D000000IqhSLIAZ')).toBe('001D000000IqhSLIAZ')
    expect(normalizeId('001d000000iqhsliaz')).toBe('001D000000IqhSLIAZ')
  })

  it('rejects malformed Ids', () => {
    expect(normalizeId('001D000000IqhSLIA')).toBeUndefined() // 17 characters
    expect(normalizeId('001D000000IqhSL!!!')).toBeUndefined()
    // A suffix that marks a digit as upper case cannot be right.
    expect(normalizeId('001D000000IqhSL555')).toBeUndefined()
    expect(looksLikeId('001D000000IqhSL555')).toBe(true)
    expect(looksLikeId('not-an-id')).toBe(false)
  })

  it('generates deterministic Ids with the right key prefix and a valid checksum', () => {
    const a = new IdGenerator()
    const b = new IdGenerator()
    const ids = [a.next('005'), a.next('005'), a.next('00e')]
    expect([b.next('005'), b.next('005'), b.next('00e')]).toEqual(ids)
    expect(ids[0]).not.toBe(ids[1])
    for (const id of ids) {
      expect(id).toHaveLength(18)
      expect(normalizeId(id)).toBe(id)
      expect(to18(id.slice(0, 15))).toBe(id)
    }
    expect(sobjectOfId(ids[0] as string)).toBe('User')
    expect(sobjectOfId(ids[2] as string)).toBe('Profile')
  })
})
