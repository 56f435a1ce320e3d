// Docs and comments point only at files in the repository (issue 14): every `something.md` a source file, config
// file or document names must exist in the repository, and every `docs/x.md#anchor` (or `README.md#anchor`) must
// name a heading or an `<a id>` of that file. Research notes outside the repository are not sources: what the
// code relies on is stated in docs/salesforce-behaviour.md and docs/idp-behaviour.md, with the public source.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = new URL('../../', import.meta.url).pathname
/** Where citations live. The conformance tests name the Microsoft collection, which sits beside the repository. */
const SCANNED = ['src', 'config', 'docs', 'bench', 'deploy', 'test', 'README.md', 'CHANGELOG.md', 'SECURITY.md']
const SKIPPED = ['test/conformance', 'test/docs']
const TEXT = /\.(ts|js|mjs|md|ya?ml|sh|json)$/
/** Files the code writes rather than cites (the bench's quick run writes its figures to a scratch file). */
const WRITTEN = new Set(['scimforce-bench-quick.md'])

function files (path: string): string[] {
  const full = join(ROOT, path)
  if (!existsSync(full) || SKIPPED.some((s) => path === s || path.startsWith(`${s}/`))) return []
  if (statSync(full).isFile()) return TEXT.test(path) ? [path] : []
  return readdirSync(full).flatMap((name) => files(`${path}/${name}`))
}

/** GitHub's heading anchors (lower case, punctuation dropped, spaces as dashes, -1 -2 for repeats) and explicit ids. */
function anchorsOf (markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    if (fenced) continue
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1] as string)
    const heading = /^#{1,6}\s+(.*)$/.exec(line)
    if (heading === null) continue
    const slug = (heading[1] as string).trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    anchors.add(n === 0 ? slug : `${slug}-${n}`)
  }
  return anchors
}

interface Citation { file: string, line: number, target: string, anchors: string[] }

/** `a/b.md`, `b.md#x`, `docs/b.md#x, #y` or `… and #y`; addresses (https://…) are not files of ours. */
function citations (file: string): Citation[] {
  const found: Citation[] = []
  readFileSync(join(ROOT, file), 'utf8').split('\n').forEach((text, i) => {
    const line = text.replace(/https?:\/\/[^\s)>'"`]+/g, '')
    for (const m of line.matchAll(/((?:\.{1,2}\/|[\w.-]+\/)*[\w.-]+\.md)((?:#[\w-]+)(?:(?:, | and |\/)#[\w-]+)*)?/g)) {
      found.push({ file, line: i + 1, target: m[1] as string, anchors: [...(m[2] ?? '').matchAll(/#([\w-]+)/g)].map((a) => a[1] as string) })
    }
  })
  return found
}

/** The repository file a citation names: from the repository root, or from the citing file's folder. */
function resolve (c: Citation): string | undefined {
  for (const base of [ROOT, join(ROOT, dirname(c.file))]) {
    const full = join(base, c.target)
    if (!relative(ROOT, full).startsWith('..') && existsSync(full)) return full
  }
  return undefined
}

describe('citations point inside the repository', () => {
  const all = SCANNED.flatMap(files).flatMap(citations)

  it('finds the citations (the scan works)', () => {
    expect(all.filter((c) => c.target === 'docs/salesforce-behaviour.md').length).toBeGreaterThan(50)
  })

  it('names no research notes or folders outside the repository', () => {
    const outside = SCANNED.flatMap(files).flatMap((file) => readFileSync(join(ROOT, file), 'utf8').split('\n')
      .flatMap((text, i) => /(?:^|[\s(`'"])(?:\.\.\/)*shared\/|\/work\/|reference\/(?:salesforce|scim|wso2|anchors)\.md/.test(text) ? [`${file}:${i + 1}: ${text.trim()}`] : []))
    expect(outside).toEqual([])
  })

  it('every cited .md file exists in the repository', () => {
    const missing = all.filter((c) => !WRITTEN.has(c.target) && resolve(c) === undefined).map((c) => `${c.file}:${c.line}: ${c.target}`)
    expect(missing).toEqual([])
  })

  it('every cited anchor exists in its file', () => {
    const cache = new Map<string, Set<string>>()
    const broken = all.flatMap((c) => {
      const path = resolve(c)
      if (path === undefined || c.anchors.length === 0) return []
      if (!cache.has(path)) cache.set(path, anchorsOf(readFileSync(path, 'utf8')))
      const known = cache.get(path) as Set<string>
      return c.anchors.filter((a) => !known.has(a)).map((a) => `${c.file}:${c.line}: ${c.target}#${a}`)
    })
    expect(broken).toEqual([])
  })

  it('recognises what it must refuse', () => {
    expect(resolve({ file: 'src/x.ts', line: 1, target: 'salesforce.md', anchors: [] })).toBeUndefined()
    expect(resolve({ file: 'src/x.ts', line: 1, target: '../shared/reference/wso2.md', anchors: [] })).toBeUndefined()
    expect(anchorsOf('## The store: SQLite or PostgreSQL\n<a id="ids"></a>\n### `/composite`\n## A\n## A')).toEqual(
      new Set(['the-store-sqlite-or-postgresql', 'ids', 'composite', 'a', 'a-1']))
  })
})
