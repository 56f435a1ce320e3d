// How zod's own issues are worded for people who edit YAML files and environment variables, not TypeScript (the
// loader passes configErrorMap to every parse of the schema).
import type { z } from 'zod'
import { IS_REQUIRED } from './schema.js'

const EXPECTED: Record<string, string> = {
  number: 'must be a whole number',
  int: 'must be a whole number',
  string: 'must be a string',
  boolean: 'must be true or false',
  object: 'must be a mapping (key: value lines)',
  array: 'must be a list'
}

/** Words zod's own issues for people who edit YAML files and environment variables, not TypeScript. */
export function configErrorMap (iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return IS_REQUIRED
      if (iss.expected === 'number' && typeof iss.input === 'number') return 'must be a finite number'
      return EXPECTED[iss.expected] ?? `has the wrong type (expected ${iss.expected})`
    case 'invalid_value':
      return `must be one of: ${iss.values.map(String).join(', ')}`
    case 'invalid_union':
      return iss.discriminator !== undefined && 'options' in iss && Array.isArray(iss.options)
        ? `must be one of: ${iss.options.map(String).join(', ')}`
        : undefined
    case 'too_small':
      if (iss.origin === 'string') return iss.minimum === 1 ? 'must not be empty' : `must be at least ${iss.minimum} characters long`
      return `must be at least ${iss.minimum}`
    case 'too_big':
      return `must be at most ${iss.maximum}`
    default:
      return undefined
  }
}
