// PATCH paths for the mapping layer: the protocol's path parser, its errors as MappingErrors (RFC 7644 §3.12:
// a malformed path is invalidPath, a malformed value filter inside it invalidFilter).
import { FilterError, parsePath, PathError, type AttrPath } from '../protocol/filter.js'
import { MappingError } from './errors.js'

/** `[urn:]attr[[valueFilter]][.subAttr]`, parsed; throws MappingError. */
export function readPatchPath (raw: string): AttrPath {
  try {
    return parsePath(raw)
  } catch (e) {
    if (e instanceof PathError) throw new MappingError('invalidPath', `Invalid path '${raw}': ${e.message}`)
    if (e instanceof FilterError) throw new MappingError('invalidFilter', `Invalid value filter in path '${raw}': ${e.message}`)
    throw e
  }
}
