// SCIM resources in and out. Outgoing: the mapping layer's plain objects put in SCIMMY's canonical shape by a
// renderer compiled once from SCIMMY's own schema definition, instead of a SCIMMY instance and a JSON round trip
// per resource (docs/idp-behaviour.md#scimmy-cost: ~0.4 ms a user, ~90× a plain copy). Incoming: SCIMMY validates.
import SCIMMY from 'scimmy'
import { fromScimmy } from './errors.js'

type Plain = Record<string, unknown>

/** One attribute of the outgoing shape, in the order SCIMMY's definition lists it. */
interface OutAttribute {
  name: string
  type: string
  multiValued: boolean
  /** Sub-attributes (complex) or extension attributes, already filtered to those that go out. */
  sub?: OutShape
}

interface OutShape {
  attributes: OutAttribute[]
  /** Lower-cased name → position: SCIMMY reads attribute names case-insensitively (RFC 7643 §2.1). */
  byName: Map<string, number>
}

/** Renders a plain resource as SCIMMY's `new Schemas.X(resource, 'out', basepath)` serialises it. */
export type Renderer = (resource: Plain, basepath: string) => Plain

type Definition = InstanceType<typeof SCIMMY.Types.SchemaDefinition>
type Attribute = InstanceType<typeof SCIMMY.Types.Attribute>

/** What leaves the server: not write-only attributes (direction "in") nor those never returned (password). */
function goesOut (a: Attribute): boolean {
  return a.config.direction !== 'in' && a.config.returned !== false && a.config.returned !== 'never'
}

function shapeOf (attributes: OutAttribute[]): OutShape {
  return { attributes, byName: new Map(attributes.map((a, i) => [a.name.toLowerCase(), i])) }
}

function compileAttribute (a: Attribute): OutAttribute {
  const out: OutAttribute = { name: a.name, type: a.type, multiValued: a.config.multiValued === true }
  if (a.type === 'complex') out.sub = shapeOf((a.subAttributes ?? []).filter(goesOut).map(compileAttribute))
  return out
}

/**
 * The value as SCIMMY's outgoing coercion leaves it. Where SCIMMY would throw on a value of the wrong type (which
 * the mapping layer never builds), the value is cast rather than failing the whole answer.
 */
function coerce (a: OutAttribute, v: unknown): unknown {
  if (v === undefined || v === null) return undefined
  if (a.multiValued && Array.isArray(v)) return v.map((e) => coerceOne(a, e)).filter((e) => e !== undefined)
  return coerceOne(a, v)
}

function coerceOne (a: OutAttribute, v: unknown): unknown {
  switch (a.type) {
    case 'complex':
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? shape(a.sub as OutShape, v as Plain) : undefined
    case 'boolean':
      return Boolean(v)
    case 'dateTime': {
      const d = new Date(v as string)
      return Number.isNaN(d.getTime()) ? v : d.toISOString()
    }
    case 'integer':
    case 'decimal':
      return Number(v)
    default:
      return typeof v === 'string' ? v : String(v)
  }
}

/** Copies the known attributes of `src` in definition order, under their canonical names. */
function shape (s: OutShape, src: Plain): Plain {
  const found: unknown[] = new Array(s.attributes.length)
  for (const key of Object.keys(src)) {
    const i = s.byName.get(key.toLowerCase())
    if (i !== undefined) found[i] = src[key]
  }
  const out: Plain = {}
  for (let i = 0; i < s.attributes.length; i++) {
    const a = s.attributes[i] as OutAttribute
    const v = coerce(a, found[i])
    if (v !== undefined) out[a.name] = v
  }
  return out
}

/** Whether a value holds anything: SCIMMY drops an extension whose attributes are all empty, and its schema URN. */
function hasValues (v: unknown): boolean {
  if (v === undefined) return false
  if (v === null || typeof v !== 'object') return true
  return Object.values(v).some(hasValues)
}

/**
 * Compiles the renderer of a declared resource's schema (with its extensions). Output as SCIMMY's: `schemas` lists
 * the core schema, the extensions present and those the resource names; `meta` gets `resourceType` and
 * `location` (`basepath/id`); attributes come in definition order, unknown ones are dropped.
 */
export function compileRenderer (definition: Definition): Renderer {
  const core: OutAttribute[] = []
  const extensions: Array<{ id: string, shape: OutShape }> = []
  for (const a of definition.attributes as Array<Attribute | Definition>) {
    if (a instanceof SCIMMY.Types.SchemaDefinition) {
      extensions.push({ id: a.id, shape: shapeOf((a.attributes as Attribute[]).filter(goesOut).map(compileAttribute)) })
    } else if (goesOut(a)) {
      core.push(compileAttribute(a))
    }
  }
  const coreShape = shapeOf(core)
  const byId = new Map(extensions.map((e) => [e.id.toLowerCase(), e]))
  return (resource, basepath) => {
    const filled: Array<[string, Plain]> = []
    const empty = new Set<string>()
    for (const key of Object.keys(resource)) {
      const ext = byId.get(key.toLowerCase())
      const value = resource[key]
      if (ext === undefined || value === undefined) continue
      const shaped = value !== null && typeof value === 'object' && !Array.isArray(value) ? shape(ext.shape, value as Plain) : {}
      if (hasValues(shaped)) filled.push([ext.id, shaped])
      else empty.add(ext.id)
    }
    const named = Array.isArray(resource.schemas) ? resource.schemas as unknown[] : []
    const schemas = [...new Set([definition.id, ...filled.map(([id]) => id), ...named])].filter((id) => typeof id !== 'string' || !empty.has(id))
    const meta = { ...(resource.meta as Plain | undefined), resourceType: definition.name, location: `${basepath}/${String(resource.id)}` }
    const out = shape(coreShape, { ...resource, schemas, meta })
    for (const [id, shaped] of filled) out[id] = shaped
    return out
  }
}

/** The renderer of a resource type declared with SCIMMY (SCIMMY.Resources.declare must have run). */
export function rendererOf (resource: { schema: { definition: Definition } }): Renderer {
  return compileRenderer(resource.schema.definition)
}

/**
 * A body validated and canonicalised by SCIMMY (types, canonical values, required attributes, canonical names),
 * as a plain object. The JSON round trip is how SCIMMY's instance, made of accessors, becomes plain data.
 */
export function coerceIncoming (Schema: new (data: Plain, direction: string) => object, body: Plain): Plain {
  return fromScimmy(() => JSON.parse(JSON.stringify(new Schema(body, 'in'))) as Plain)
}
