// describe and describeGlobal bodies built from the schema (jsforce's retrieve([ids]) reads field names here).

import { OBJECTS, type FieldDef, type ObjectDef } from './schema.js'

const SOAP_TYPES: Record<string, string> = {
  id: 'tns:ID', reference: 'tns:ID', boolean: 'xsd:boolean', datetime: 'xsd:dateTime', int: 'xsd:int',
}

function describeField (f: FieldDef): Record<string, unknown> {
  const isText = !['boolean', 'datetime', 'int'].includes(f.type)
  const filterable = !(f.type === 'textarea' && f.length > 255)
  return {
    aggregatable: filterable && f.type !== 'boolean',
    autoNumber: false,
    byteLength: isText ? f.length * 3 : 0,
    calculated: false,
    caseSensitive: false,
    createable: f.createable,
    custom: false,
    defaultValue: f.defaultValue ?? null,
    defaultedOnCreate: f.defaultValue !== undefined || f.type === 'boolean' || f.name === 'Id' || !f.nillable,
    dependentPicklist: false,
    digits: f.type === 'int' ? 9 : 0,
    externalId: false,
    filterable,
    groupable: filterable && f.type !== 'datetime',
    idLookup: f.name === 'Id' || f.name === 'Username' || f.name === 'CommunityNickname',
    label: f.label,
    length: isText ? f.length : 0,
    name: f.name,
    nameField: f.name === 'Name',
    nillable: f.nillable,
    picklistValues: (f.picklist?.values ?? []).map(p => ({ active: true, defaultValue: false, label: p.label, validFor: null, value: p.value })),
    polymorphicForeignKey: (f.referenceTo?.length ?? 0) > 1,
    precision: 0,
    referenceTo: f.referenceTo ?? [],
    relationshipName: f.relationshipName ?? null,
    restrictedPicklist: f.picklist?.restricted ?? false,
    scale: 0,
    soapType: SOAP_TYPES[f.type] ?? 'xsd:string',
    sortable: filterable,
    type: f.type,
    unique: f.unique ?? false,
    updateable: f.updateable,
  }
}

function urls (def: ObjectDef, version: string): Record<string, string> {
  const base = `/services/data/v${version}/sobjects/${def.name}`
  return { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` }
}

function summary (def: ObjectDef, version: string): Record<string, unknown> {
  return {
    activateable: false,
    createable: def.createable,
    custom: false,
    customSetting: false,
    deletable: def.deletable,
    deprecatedAndHidden: false,
    feedEnabled: false,
    keyPrefix: def.keyPrefix,
    label: def.label,
    labelPlural: def.labelPlural,
    layoutable: def.name === 'User',
    mergeable: false,
    mruEnabled: false,
    name: def.name,
    queryable: true,
    replicateable: true,
    retrieveable: true,
    searchable: def.name === 'User' || def.name === 'Group',
    triggerable: false,
    undeletable: false,
    updateable: def.updateable,
    urls: urls(def, version),
  }
}

export function describeSObject (def: ObjectDef, version: string): Record<string, unknown> {
  const children = def.childRelationships.map(r => ({
    cascadeDelete: false, childSObject: r.childSObject, deprecatedAndHidden: false, field: r.field, relationshipName: r.relationshipName, restrictedDelete: false,
  }))
  return {
    ...summary(def, version),
    childRelationships: children,
    fields: def.fields.map(describeField),
    recordTypeInfos: [],
    supportedScopes: [{ label: 'All users', name: 'everything' }],
  }
}

export function describeGlobal (version: string): Record<string, unknown> {
  return { encoding: 'UTF-8', maxBatchSize: 200, sobjects: [...OBJECTS.values()].map(d => summary(d, version)) }
}

export function basicInfo (def: ObjectDef, version: string): Record<string, unknown> {
  return { objectDescribe: summary(def, version), recentItems: [] }
}
