// fast-check generators for hostile SCIM input (bodies, PATCH operations, filter values) and the invariant every
// scimforce answer must keep: never a 5xx without an injected fault, every error a SCIM error body.
import fc from 'fast-check'
import { expect } from 'vitest'

export const E = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

/** Bounded runs: a few seconds per property on two cores, whatever the machine does meanwhile. */
export const RUN = { numRuns: 120, interruptAfterTimeLimit: 6000 } as const

/**
 * fast-check's time limit abandons the run in progress rather than awaiting it; a request still in flight would
 * then write during the next property and break its "nothing changed" check. Wrap the predicate, await idle().
 */
export function tracked<T> (predicate: (value: T) => Promise<void>): { predicate: (value: T) => Promise<void>, idle: () => Promise<void> } {
  let last: Promise<unknown> = Promise.resolve()
  return {
    predicate: (value) => {
      const run = predicate(value)
      last = run.catch(() => undefined)
      return run
    },
    idle: async () => { await last },
  }
}

/** Characters that break parsers, SOQL literals, LIKE patterns, URLs and logs. */
const NASTY = ["'", '"', '\\', '%', '_', '*', '(', ')', '[', ']', ' and ', ' or ', 'null', '\n', '\r', '\t', '\u0000', '\u0001',
  '\u007f', '\u2028', '\u00df', '\u0130', '😀', '\uFEFF', 'SELECT Id FROM User', "' OR Id != '", '{{x}}', '$' + '{x}', '__proto__', '../']

export const nastyString = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.array(fc.constantFrom(...NASTY), { minLength: 1, maxLength: 4 }).map((parts) => parts.join('')),
  fc.constantFrom('', ' ', 'True', 'FALSE', '0', '-1', '1e309', 'NaN', 'x'.repeat(300))
)

export const scalar = fc.oneof(nastyString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null))
export const anyJson = fc.oneof({ weight: 3, arbitrary: scalar }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) })

/** An attribute name as an IdP might spell it: known, re-cased, prefixed with a schema URN, or made up. */
const KNOWN = ['userName', 'name', 'name.givenName', 'displayName', 'nickName', 'title', 'active', 'emails', 'phoneNumbers',
  'addresses', 'externalId', 'locale', 'preferredLanguage', 'timezone', 'password', 'id', 'meta', 'schemas', 'groups', 'roles',
  'userType', 'x509Certificates', E, `${E}:department`, `${E}:manager`, `${E}:employeeNumber`, 'urn:example:ext:2.0:User',
  '__proto__', 'constructor', 'prototype']
export const attributeName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KNOWN).chain((k) => fc.constantFrom(k, k.toUpperCase(), k.toLowerCase())) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }
)

/** Values shaped like what an attribute takes, and not. */
const multiValued = fc.array(fc.oneof(
  fc.record({ value: anyJson, type: fc.constantFrom('work', 'home', 'mobile', 'fax', 'other', 'Work', 'bogus'), primary: fc.oneof(fc.boolean(), fc.constantFrom('True', 'false', 1)) }, { requiredKeys: [] }),
  scalar
), { maxLength: 3 })
export const attributeValue = fc.oneof(
  { weight: 3, arbitrary: anyJson },
  { weight: 1, arbitrary: multiValued },
  { weight: 1, arbitrary: fc.record({ givenName: anyJson, familyName: anyJson, formatted: anyJson, value: anyJson }, { requiredKeys: [] }) }
)

/** A User body: sometimes a plausible user with hostile extras, sometimes anything at all. */
export function userBody (userName: () => string): fc.Arbitrary<unknown> {
  const extras = fc.dictionary(attributeName, attributeValue, { maxKeys: 5 })
  const plausible = extras.map((x) => ({ userName: userName(), name: { familyName: 'Prop' }, ...x }))
  return fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: extras }, { weight: 1, arbitrary: anyJson })
}

const PATHS = ['title', 'name.givenName', 'name.familyName', 'active', 'userName', 'emails', 'emails[type eq "work"].value',
  'emails[type eq "home"]', 'phoneNumbers[type eq "mobile"].value', 'addresses[type eq "work"].locality', `${E}:department`,
  `${E}:manager`, 'id', 'meta.created', 'groups', 'nope', 'emails[', 'emails[type eq "work"', 'title[value eq "x"]', '', ' ',
  'urn:example:ext:2.0:User:level', 'EMAILS[TYPE EQ "WORK"].VALUE']
export const patchOperation = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constantFrom('add', 'replace', 'remove', 'Add', 'REPLACE', 'Remove', 'bogus', ''),
      path: fc.oneof(fc.constantFrom(...PATHS), nastyString),
      value: attributeValue,
    }, { requiredKeys: ['op'] })
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('add', 'replace'), value: fc.dictionary(attributeName, attributeValue, { maxKeys: 3 }) }) },
  { weight: 1, arbitrary: anyJson }
)
/** Operations an IdP really sends, with hostile values: these mostly succeed, so the applied path is exercised too. */
export const plausibleOperation = fc.oneof(
  fc.record({ op: fc.constantFrom('replace', 'Replace', 'add'), path: fc.constantFrom('title', 'name.givenName', `${E}:department`, 'nickName'), value: nastyString }),
  fc.record({ op: fc.constantFrom('replace', 'Replace'), path: fc.constant('active'), value: fc.constantFrom(true, false, 'True', 'False') }),
  fc.record({ op: fc.constant('remove'), path: fc.constantFrom('title', `${E}:department`, 'phoneNumbers[type eq "mobile"]') }),
  fc.record({ op: fc.constantFrom('add', 'replace'), value: fc.record({ title: nastyString, 'name.givenName': nastyString }, { requiredKeys: [] }) }),
  fc.record({ op: fc.constant('replace'), path: fc.constant('emails[type eq "work"].value'), value: fc.stringMatching(/^[a-z]{1,8}@patch\.example$/) })
)

export const patchBody = fc.oneof(
  { weight: 4, arbitrary: fc.array(plausibleOperation, { minLength: 1, maxLength: 3 }).map((Operations) => ({ schemas: [PATCH_OP], Operations })) },
  { weight: 5, arbitrary: fc.array(patchOperation, { maxLength: 4 }).map((Operations) => ({ schemas: [PATCH_OP], Operations })) },
  { weight: 1, arbitrary: fc.record({ schemas: fc.oneof(fc.constant([PATCH_OP]), anyJson), Operations: fc.oneof(fc.array(patchOperation, { maxLength: 3 }), anyJson) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: anyJson }
)

export interface Answer { status: number, headers: Record<string, string>, body: unknown, text?: string }

/** What holds for every answer scimforce gives, whatever it was sent. */
export function expectScimAnswer (res: Answer, sent: unknown): void {
  const context = `${res.status} for ${JSON.stringify(sent)?.slice(0, 300)} → ${JSON.stringify(res.body)?.slice(0, 300)}`
  expect(res.status, context).toBeLessThan(500)
  if (res.status < 400) return
  expect(res.headers['content-type'], context).toMatch(/^application\/scim\+json/)
  expect(res.body, context).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(res.status) })
  expect(JSON.stringify(res.body), context).not.toMatch(/\bat .+\.(ts|js):\d+/)
}
