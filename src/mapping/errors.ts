// The mapping layer's own error: a SCIM request that cannot be turned into Salesforce changes. It names the
// RFC 7644 §3.12 scimType of the problem; the SCIM layer (src/scim/errors.ts) turns it into a 400 for the client.
import type { ScimType } from '../protocol/constants.js'

/** The scimTypes a mapping problem can have: all of them are the client's to fix, so all are 400s. */
export type MappingProblem = Extract<ScimType, 'invalidValue' | 'invalidPath' | 'noTarget' | 'mutability' | 'invalidSyntax' | 'invalidFilter'>

export class MappingError extends Error {
  readonly problem: MappingProblem

  constructor (problem: MappingProblem, detail: string) {
    super(detail)
    this.name = 'MappingError'
    this.problem = problem
  }
}
