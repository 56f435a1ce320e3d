// The daily-allowance warnings: at 80 % and 95 % of Sforce-Limit-Info's api-usage, once per crossing.
import { describe, expect, it } from 'vitest'
import { watchApiUsage } from '../../src/http/api-usage.js'

function setup (): { set: (used: number, limit?: number) => void, call: () => void, warnings: string[], infos: string[] } {
  let info: { used: number, limit: number } | undefined
  const warnings: string[] = []
  const infos: string[] = []
  const observer = watchApiUsage({ limitInfo: () => info }, { warn: (_o, m) => { warnings.push(m ?? '') }, info: (_o, m) => { infos.push(m ?? '') } })
  return { set: (used, limit = 1000) => { info = { used, limit } }, call: () => observer.onCall('query', 5, undefined), warnings, infos }
}

describe('watchApiUsage', () => {
  it('says nothing before Salesforce has reported usage, or below 80 %', () => {
    const w = setup()
    w.call()
    w.set(799)
    w.call()
    expect(w.warnings).toEqual([])
  })

  it('warns once at 80 % and once at 95 %, however many calls follow', () => {
    const w = setup()
    for (const used of [800, 801, 900, 949]) { w.set(used); w.call() }
    expect(w.warnings).toEqual(['Salesforce daily API usage passed 80 % (800 of 1000): at 100 % every SCIM call answers 429 until Salesforce frees requests'])
    for (const used of [950, 990, 1000]) { w.set(used); w.call() }
    expect(w.warnings).toHaveLength(2)
    expect(w.warnings[1]).toContain('passed 95 % (950 of 1000)')
  })

  it('a jump past both thresholds warns once, at the higher one', () => {
    const w = setup()
    w.set(970)
    w.call()
    expect(w.warnings).toHaveLength(1)
    expect(w.warnings[0]).toContain('passed 95 %')
  })

  it('warns again after usage fell back (the rolling 24 hours freed requests) and rises once more', () => {
    const w = setup()
    w.set(850)
    w.call()
    w.set(500)
    w.call()
    expect(w.infos).toEqual(['Salesforce daily API usage is back under a warning threshold'])
    w.set(820)
    w.call()
    expect(w.warnings).toHaveLength(2)
  })
})
