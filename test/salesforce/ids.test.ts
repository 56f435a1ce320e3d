// Salesforce record ids: 15 → 18 characters, case restored from the checksum, malformed ids refused.
import { describe, expect, it } from 'vitest'
import { normalizeSalesforceId } from '../../src/salesforce/ids.js'

describe('normalizeSalesforceId', () => {
  it('adds the checksum to 15-character ids (docs/salesforce-behaviour.md#ids examples)', () => {
    expect(normalizeSalesforceId('001D000000IqhSL')).toBe('001D000000IqhSLIAZ')
    expect(normalizeSalesforceId('005D0000001KyEI')).toBe('005D0000001KyEIIA0')
  })

  it('restores case of 18-character ids from the checksum', () => {
    expect(normalizeSalesforceId('005D0000001KyEIIA0')).toBe('005D0000001KyEIIA0')
    expect(normalizeSalesforceId('005d0000001kyeiia0')).toBe('005D0000001KyEIIA0')
  })

  it.each(['', 'junk', '005D0000001KyE', '005D0000001KyEII', '005D0000001KyEI!A0', '005D0000001KyEI999', '005D0000001KyEIZAA', "005D0000001KyEI' OR "])('rejects %j', (value) => {
    expect(normalizeSalesforceId(value)).toBeUndefined()
  })
})
