// SCIM filter → AST → SOQL condition: exact SOQL text per case, every literal read back with soql-parser-js, and every error message.
import { describe, expect, it } from 'vitest'
import { FilterError, parseFilter, type FilterNode } from '../../src/protocol/filter.js'
import { filterToSoql, translateFilter, type FieldType, type FilterSchema, type SingleAttr } from '../../src/salesforce/filter-soql.js'
import { ALWAYS_TRUE, select } from '../../src/salesforce/soql.js'
import { ANY, whereLeaves, type Leaf } from './soql-literals.js'

const R = String.raw
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User'
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'

const single = (field: string, type: FieldType = 'string'): SingleAttr => ({ kind: 'single', field, type })
const text = (field: string): { field: string, type: FieldType } => ({ field, type: 'string' })

/** Resembles the real User table (the mapping module builds the real one from configuration). */
const userSchema: FilterSchema = {
  coreSchema: CORE,
  attributes: {
    username: single('Username'),
    externalid: single('FederationIdentifier'),
    id: single('Id', 'id'),
    active: single('IsActive', 'boolean'),
    displayname: single('Name'),
    'name.givenname': single('FirstName'),
    'name.familyname': single('LastName'),
    title: single('Title'),
    emails: { kind: 'multi', entries: [{ constants: { type: 'work', primary: true }, fields: { value: text('Email') } }] },
    phonenumbers: {
      kind: 'multi',
      entries: [
        { constants: { type: 'work', primary: true }, fields: { value: text('Phone') } },
        { constants: { type: 'mobile' }, fields: { value: text('MobilePhone') } },
        { constants: { type: 'fax' }, fields: { value: text('Fax') } },
      ],
    },
    addresses: {
      kind: 'multi',
      entries: [{
        constants: { type: 'work', primary: true },
        fields: { streetAddress: text('Street'), locality: text('City'), region: text('State'), postalCode: text('PostalCode'), country: text('Country') },
      }],
    },
    'meta.lastmodified': single('LastModifiedDate', 'datetime'),
    'meta.created': single('CreatedDate', 'datetime'),
    // Keys are case-folded, so the schema may use the canonical spelling.
    [`${ENT}:employeeNumber`]: single('EmployeeNumber'),
    [`${ENT}:department`]: single('Department'),
    [`${ENT}:manager.value`]: single('ManagerId', 'reference'),
  },
}

/** The same table with a configured username suffix (Salesforce usernames are global, so orgs add one). */
const suffixedSchema: FilterSchema = {
  ...userSchema,
  attributes: { ...userSchema.attributes, username: { kind: 'single', field: 'Username', type: 'string', suffix: '.sf_dev' } },
}

interface Case { filter: string, soql: string, leaves?: Leaf[] }

/** Asserts the exact condition, that it is valid SOQL, and (when given) what each literal means. */
function check (c: Case, schema: FilterSchema = userSchema): void {
  const where = translateFilter(c.filter, schema)
  expect(where.text).toBe(c.soql)
  const query = select({ fields: ['Id'], from: 'User', where })
  expect(query).toBe(where === ALWAYS_TRUE ? 'SELECT Id FROM User' : `SELECT Id FROM User WHERE ${c.soql}`)
  const leaves = whereLeaves(`SELECT Id FROM User WHERE ${where.text}`)
  if (c.leaves !== undefined) expect(leaves).toEqual(c.leaves)
}

describe('what identity providers send', () => {
  it.each<Case>([
    // WSO2, after the compatibility normaliser rewrote `userName Eq john@x.com`.
    { filter: 'userName eq "john@x.com"', soql: "Username = 'john@x.com'", leaves: [{ field: 'Username', operator: '=', value: 'john@x.com' }] },
    // WSO2 group lookups carry a user-store prefix.
    { filter: 'displayName eq "PRIMARY/system"', soql: "Name = 'PRIMARY/system'" },
    // Entra: matching attribute externalId, and "Test Connection" with a random GUID.
    { filter: 'externalId eq "0d0b3c5e-8a53-4c0e-9d1a-2f1d3e4a5b6c"', soql: "FederationIdentifier = '0d0b3c5e-8a53-4c0e-9d1a-2f1d3e4a5b6c'" },
    { filter: 'userName eq "7c2f9f0e-2a5b-4c47-9a51-1f0f6f3f1e2d"', soql: "Username = '7c2f9f0e-2a5b-4c47-9a51-1f0f6f3f1e2d'" },
    // Entra with email as the matching attribute.
    { filter: 'emails[type eq "work"].value eq "a@b.c"', soql: "Email = 'a@b.c'", leaves: [{ field: 'Email', operator: '=', value: 'a@b.c' }] },
    // Entra combines with `and` only.
    { filter: 'userName eq "a@b.c" and externalId eq "e1"', soql: "Username = 'a@b.c' AND FederationIdentifier = 'e1'" },
    // Okta: eq only.
    { filter: 'userName eq "x"', soql: "Username = 'x'" },
    // Operators and attribute names are case-insensitive (SCIMMY lower-cases only the first letter).
    { filter: 'USERNAME EQ "x"', soql: "Username = 'x'" },
    { filter: 'UserName Eq "Bjensen"', soql: "Username = 'Bjensen'" },
    { filter: 'Emails[Type EQ "work"].Value eQ "a@b.c"', soql: "Email = 'a@b.c'" },
    { filter: 'meta.lastModified gt "2011-05-13T04:42:34Z"', soql: 'LastModifiedDate > 2011-05-13T04:42:34Z', leaves: [{ field: 'LastModifiedDate', operator: '>', value: { dateTime: '2011-05-13T04:42:34Z' } }] },
  ])('$filter', (c) => { check(c) })
})

describe('operators by type', () => {
  it.each<Case>([
    { filter: 'title eq "Engineer"', soql: "Title = 'Engineer'" },
    { filter: 'title ne "Engineer"', soql: "Title != 'Engineer'" },
    { filter: 'title co "eng"', soql: "Title LIKE '%eng%'", leaves: [{ field: 'Title', operator: 'LIKE', value: { like: [ANY, 'eng', ANY] } }] },
    { filter: 'title sw "Eng"', soql: "Title LIKE 'Eng%'", leaves: [{ field: 'Title', operator: 'LIKE', value: { like: ['Eng', ANY] } }] },
    { filter: 'title ew "eer"', soql: "Title LIKE '%eer'", leaves: [{ field: 'Title', operator: 'LIKE', value: { like: [ANY, 'eer'] } }] },
    { filter: 'title gt "m"', soql: "Title > 'm'" },
    { filter: 'title ge "m"', soql: "Title >= 'm'" },
    { filter: 'title lt "m"', soql: "Title < 'm'" },
    { filter: 'title le "m"', soql: "Title <= 'm'" },
    // SOQL stores empty text as null, so `!= null` is "present"; no `!= ''` needed.
    { filter: 'title pr', soql: 'Title != null' },
    { filter: 'title eq null', soql: 'Title = null' },
    { filter: 'title ne null', soql: 'Title != null' },
    { filter: 'title eq 42', soql: "Title = '42'" },
    { filter: 'name.givenName sw "Jo" and name.familyName eq "Smith"', soql: "FirstName LIKE 'Jo%' AND LastName = 'Smith'" },
    { filter: 'active eq true', soql: 'IsActive = true', leaves: [{ field: 'IsActive', operator: '=', value: true }] },
    { filter: 'active eq false', soql: 'IsActive = false' },
    { filter: 'active ne true', soql: 'IsActive != true' },
    // Entra sends string booleans.
    { filter: 'active eq "True"', soql: 'IsActive = true' },
    { filter: 'active eq "false"', soql: 'IsActive = false' },
    { filter: 'active eq TRUE', soql: 'IsActive = true' },
    { filter: 'active pr', soql: 'IsActive != null' },
    { filter: 'meta.created ge "2026-01-01T00:00:00Z" and meta.created lt "2026-02-01T00:00:00Z"', soql: 'CreatedDate >= 2026-01-01T00:00:00Z AND CreatedDate < 2026-02-01T00:00:00Z' },
    { filter: 'meta.lastModified le "2011-05-13T04:42:34Z"', soql: 'LastModifiedDate <= 2011-05-13T04:42:34Z' },
    { filter: 'meta.lastModified eq "2011-05-13T04:42:34Z"', soql: 'LastModifiedDate = 2011-05-13T04:42:34Z' },
    { filter: 'meta.lastModified ne "2011-05-13T04:42:34Z"', soql: 'LastModifiedDate != 2011-05-13T04:42:34Z' },
    { filter: 'meta.lastModified pr', soql: 'LastModifiedDate != null' },
    { filter: 'meta.lastModified eq null', soql: 'LastModifiedDate = null' },
  ])('$filter', (c) => { check(c) })
})

describe('dateTimes are normalised to whole seconds in UTC', () => {
  it.each<Case>([
    { filter: 'meta.lastModified gt "2011-05-13T06:42:34+02:00"', soql: 'LastModifiedDate > 2011-05-13T04:42:34Z' },
    { filter: 'meta.lastModified gt "2011-05-12T23:42:34-05:00"', soql: 'LastModifiedDate > 2011-05-13T04:42:34Z' },
    { filter: 'meta.lastModified gt "2011-05-13t04:42:34z"', soql: 'LastModifiedDate > 2011-05-13T04:42:34Z' },
    { filter: 'meta.lastModified gt "2011-05-13T04:42:34.000Z"', soql: 'LastModifiedDate > 2011-05-13T04:42:34Z' },
    { filter: 'meta.lastModified eq "2011-05-13T04:42:34.000Z"', soql: 'LastModifiedDate = 2011-05-13T04:42:34Z' },
    // Stored seconds s: s > 34.5 ⇔ s > 34; s >= 34.5 ⇔ s >= 35; s < 34.5 ⇔ s < 35; s <= 34.5 ⇔ s <= 34.
    { filter: 'meta.lastModified gt "2011-05-13T04:42:34.5Z"', soql: 'LastModifiedDate > 2011-05-13T04:42:34Z' },
    { filter: 'meta.lastModified ge "2011-05-13T04:42:34.5Z"', soql: 'LastModifiedDate >= 2011-05-13T04:42:35Z' },
    { filter: 'meta.lastModified lt "2011-05-13T04:42:34.5Z"', soql: 'LastModifiedDate < 2011-05-13T04:42:35Z' },
    { filter: 'meta.lastModified le "2011-05-13T04:42:34.5Z"', soql: 'LastModifiedDate <= 2011-05-13T04:42:34Z' },
    { filter: 'meta.lastModified eq "2011-05-13T04:42:34.123456Z"', soql: 'Id = null' },
    { filter: 'meta.lastModified ne "2011-05-13T04:42:34.5Z"', soql: 'Id != null' },
    { filter: 'meta.lastModified gt "2012-02-29T23:59:59.999+00:00"', soql: 'LastModifiedDate > 2012-02-29T23:59:59Z' },
    // Outside Salesforce's dateTime range (1700–4000) nothing is sent that Salesforce might reject.
    { filter: 'meta.lastModified gt "1600-01-01T00:00:00Z"', soql: 'LastModifiedDate != null' },
    { filter: 'meta.lastModified lt "1600-01-01T00:00:00Z"', soql: 'Id = null' },
    { filter: 'meta.lastModified gt "9999-12-31T00:00:00Z"', soql: 'Id = null' },
    { filter: 'meta.lastModified le "9999-12-31T00:00:00Z"', soql: 'LastModifiedDate != null' },
    { filter: 'meta.lastModified eq "0001-01-01T00:00:00Z"', soql: 'Id = null' },
  ])('$filter', (c) => { check(c) })
})

describe('ids are validated, never an error and never injected', () => {
  it.each<Case>([
    { filter: 'id eq "005D0000001KyEIIA0"', soql: "Id = '005D0000001KyEIIA0'" },
    // 15-character ids are case-sensitive and are sent in their 18-character form.
    { filter: 'id eq "005D0000001KyEI"', soql: "Id = '005D0000001KyEIIA0'" },
    // 18-character ids are case-insensitive: case is restored from the checksum.
    { filter: 'id eq "005d0000001kyeiia0"', soql: "Id = '005D0000001KyEIIA0'" },
    { filter: 'id ne "005D0000001KyEI"', soql: "Id != '005D0000001KyEIIA0'" },
    { filter: 'id eq "junk"', soql: 'Id = null' },
    { filter: "id eq \"005D0000001KyEI' OR Id != '\"", soql: 'Id = null' },
    { filter: 'id eq "005D0000001KyEIZAA"', soql: 'Id = null' },
    { filter: 'id eq 5', soql: 'Id = null' },
    { filter: 'id ne "junk"', soql: 'Id != null' },
    { filter: 'id pr', soql: 'Id != null' },
    { filter: 'not (id eq "junk")', soql: 'Id != null' },
    { filter: `${ENT}:manager.value eq "005D0000001KyEI"`, soql: "ManagerId = '005D0000001KyEIIA0'" },
    { filter: `${ENT}:manager.value eq "nope"`, soql: 'Id = null' },
    { filter: `${ENT}:manager.value eq null`, soql: 'ManagerId = null' },
  ])('$filter', (c) => { check(c) })
})

describe('multi-valued attributes map to a fixed set of fields', () => {
  it.each<Case>([
    // Without a sub-attribute, a multi-valued attribute compares `value` (RFC 7644 §3.4.2.2).
    { filter: 'emails eq "a@b.c"', soql: "Email = 'a@b.c'" },
    { filter: 'emails.value eq "a@b.c"', soql: "Email = 'a@b.c'" },
    { filter: 'emails co "example.com"', soql: "Email LIKE '%example.com%'" },
    { filter: 'emails[type eq "work" and value co "@example.com"]', soql: "Email LIKE '%@example.com%'" },
    { filter: 'emails[primary eq true].value eq "a@b.c"', soql: "Email = 'a@b.c'" },
    { filter: 'emails[primary eq "True"]', soql: 'Email != null' },
    // A value filter alone means "has such a value": the entry must exist.
    { filter: 'emails[type eq "work"]', soql: 'Email != null' },
    { filter: 'emails[type eq "WORK"]', soql: 'Email != null' },
    { filter: 'emails pr', soql: 'Email != null' },
    { filter: 'emails.type eq "work"', soql: 'Email != null' },
    // No Salesforce field can hold a home email: no user has one.
    { filter: 'emails[type eq "home"]', soql: 'Id = null' },
    { filter: 'emails[type eq "home"].value eq "a@b.c"', soql: 'Id = null' },
    { filter: 'emails[not (type eq "work")]', soql: 'Id = null' },
    { filter: 'not (emails[type eq "home"])', soql: 'Id != null' },
    { filter: 'title pr and not (emails[type eq "home"])', soql: 'Title != null' },
    // ne (and not) can hold on a null field, so the entry's existence is required explicitly.
    { filter: 'emails[value ne "a@b.c"]', soql: "Email != null AND Email != 'a@b.c'" },
    { filter: 'emails[not (value eq "a@b.c")]', soql: "Email != null AND (NOT Email = 'a@b.c')" },
    { filter: 'emails.value eq null', soql: 'Email != null AND Email = null' },
    { filter: 'phoneNumbers eq "+1 555"', soql: "Phone = '+1 555' OR MobilePhone = '+1 555' OR Fax = '+1 555'" },
    { filter: 'phoneNumbers[type eq "mobile" and value co "555"]', soql: "MobilePhone LIKE '%555%'" },
    { filter: 'phoneNumbers[type eq "mobile"].value sw "+44"', soql: "MobilePhone LIKE '+44%'" },
    { filter: 'phoneNumbers[type eq "work" or type eq "fax"].value sw "+1"', soql: "Phone LIKE '+1%' OR Fax LIKE '+1%'" },
    { filter: 'phoneNumbers[type ne "fax"]', soql: 'Phone != null OR MobilePhone != null' },
    // Only the work phone has `primary`; the others cannot match.
    { filter: 'phoneNumbers[primary eq true]', soql: 'Phone != null' },
    { filter: 'phoneNumbers pr', soql: 'Phone != null OR MobilePhone != null OR Fax != null' },
    { filter: 'phoneNumbers.value ne "1"', soql: "(Phone != null AND Phone != '1') OR (MobilePhone != null AND MobilePhone != '1') OR (Fax != null AND Fax != '1')" },
    // Without a `value` sub-attribute an entry exists when any of its fields is set.
    { filter: 'addresses[type eq "work"]', soql: 'Street != null OR City != null OR State != null OR PostalCode != null OR Country != null' },
    { filter: 'addresses[type eq "work"].locality eq "Paris"', soql: "City = 'Paris'" },
    { filter: 'addresses.country eq "FR" and addresses.postalCode sw "75"', soql: "Country = 'FR' AND PostalCode LIKE '75%'" },
    { filter: 'addresses[locality eq "Paris" and country eq "FR"]', soql: "City = 'Paris' AND Country = 'FR'" },
    { filter: 'addresses[type eq "home"].locality eq "Paris"', soql: 'Id = null' },
    // Different values may satisfy the two sides (RFC): separate ORs, not one entry.
    { filter: 'title eq "Employee" and (emails co "example.com" or emails.value co "example.org")', soql: "Title = 'Employee' AND (Email LIKE '%example.com%' OR Email LIKE '%example.org%')" },
  ])('$filter', (c) => { check(c) })
})

describe('schema URNs', () => {
  it.each<Case>([
    { filter: `${ENT}:employeeNumber eq "42"`, soql: "EmployeeNumber = '42'" },
    { filter: `${ENT.toUpperCase()}:EMPLOYEENUMBER eq "42"`, soql: "EmployeeNumber = '42'" },
    { filter: `${ENT}:department eq "Sales" and ${ENT}:manager.value pr`, soql: "Department = 'Sales' AND ManagerId != null" },
    // Core attributes may be qualified with the core schema URN.
    { filter: `${CORE}:userName eq "q"`, soql: "Username = 'q'" },
    { filter: `${CORE}:name.givenName eq "Jo"`, soql: "FirstName = 'Jo'" },
    { filter: `${CORE}:emails[type eq "work"].value eq "a@b.c"`, soql: "Email = 'a@b.c'" },
  ])('$filter', (c) => { check(c) })
})

describe('logic: not, nesting, precedence', () => {
  it.each<Case>([
    { filter: 'not (userName eq "a")', soql: "NOT Username = 'a'" },
    { filter: 'not (title pr)', soql: 'NOT Title != null' },
    { filter: 'not (title eq "a" or title eq "b")', soql: "NOT (Title = 'a' OR Title = 'b')" },
    { filter: 'not (not (title pr))', soql: 'Title != null' },
    // and binds tighter than or: a or b and c = a or (b and c).
    { filter: 'title eq "a" or title eq "b" and title eq "c"', soql: "Title = 'a' OR (Title = 'b' AND Title = 'c')" },
    { filter: 'title eq "a" and title eq "b" or title eq "c"', soql: "(Title = 'a' AND Title = 'b') OR Title = 'c'" },
    { filter: '(title eq "a" or title eq "b") and title eq "c"', soql: "(Title = 'a' OR Title = 'b') AND Title = 'c'" },
    { filter: 'title eq "a" and not (title eq "b")', soql: "Title = 'a' AND (NOT Title = 'b')" },
    { filter: '((((title pr))))', soql: 'Title != null' },
    { filter: 'userName eq "a" and (active eq true or (meta.lastModified gt "2011-05-13T04:42:34Z" and not (title pr)))', soql: "Username = 'a' AND (IsActive = true OR (LastModifiedDate > 2011-05-13T04:42:34Z AND (NOT Title != null)))" },
    { filter: 'title eq "a" or title eq "b" or title eq "c"', soql: "Title = 'a' OR Title = 'b' OR Title = 'c'" },
    // Whitespace is tolerated around and inside parentheses.
    { filter: ' (title eq "a")\tand\n(title eq "b") ', soql: "Title = 'a' AND Title = 'b'" },
  ])('$filter', (c) => { check(c) })
})

describe('escapes: the value reaches Salesforce exactly, as one literal', () => {
  it.each<Case>([
    { filter: R`userName eq "O'Brien \"Bob\""`, soql: R`Username = 'O\'Brien \"Bob\"'`, leaves: [{ field: 'Username', operator: '=', value: 'O\'Brien "Bob"' }] },
    { filter: R`userName eq "DOMAIN\\user"`, soql: R`Username = 'DOMAIN\\user'`, leaves: [{ field: 'Username', operator: '=', value: R`DOMAIN\user` }] },
    // The input that breaks jsforce's escaper (docs/salesforce-behaviour.md#soql), as a JSON string.
    { filter: R`userName eq "x\\' OR Name != '"`, soql: R`Username = 'x\\\' OR Name != \''`, leaves: [{ field: 'Username', operator: '=', value: R`x\' OR Name != '` }] },
    { filter: 'externalId eq "\' OR Id != \'"', soql: R`FederationIdentifier = '\' OR Id != \''`, leaves: [{ field: 'FederationIdentifier', operator: '=', value: "' OR Id != '" }] },
    { filter: 'title eq "\') OR (Name LIKE \'%"', soql: R`Title = '\') OR (Name LIKE \'%'`, leaves: [{ field: 'Title', operator: '=', value: "') OR (Name LIKE '%" }] },
    { filter: 'title eq "SELECT Id FROM User"', soql: "Title = 'SELECT Id FROM User'", leaves: [{ field: 'Title', operator: '=', value: 'SELECT Id FROM User' }] },
    { filter: 'title eq "and" or title eq "not ("', soql: "Title = 'and' OR Title = 'not ('" },
    { filter: 'title eq "50%_off"', soql: "Title = '50%_off'", leaves: [{ field: 'Title', operator: '=', value: '50%_off' }] },
    { filter: 'title co "50%_off"', soql: R`Title LIKE '%50\%\_off%'`, leaves: [{ field: 'Title', operator: 'LIKE', value: { like: [ANY, '50%_off', ANY] } }] },
    { filter: R`title sw "a\\%"`, soql: R`Title LIKE 'a\\\%%'`, leaves: [{ field: 'Title', operator: 'LIKE', value: { like: [R`a\%`, ANY] } }] },
    { filter: R`displayName eq "Zo\u00EB \ud83d\ude00"`, soql: "Name = 'Zoë 😀'", leaves: [{ field: 'Name', operator: '=', value: 'Zoë 😀' }] },
    { filter: 'displayName eq "Zoë 日本 😀"', soql: "Name = 'Zoë 日本 😀'" },
    { filter: R`title eq "a\nb\tc\r\b\f\/"`, soql: R`Title = 'a\nb\tc\r\b\f/'`, leaves: [{ field: 'Title', operator: '=', value: 'a\nb\tc\r\b\f/' }] },
    { filter: R`title eq "\u0000\u001B"`, soql: R`Title = '\u0000\u001b'`, leaves: [{ field: 'Title', operator: '=', value: '\u0000\u001b' }] },
    { filter: 'title eq ""', soql: "Title = ''", leaves: [{ field: 'Title', operator: '=', value: '' }] },
    { filter: R`emails[type eq "work"].value eq "a\"@b.c"`, soql: R`Email = 'a\"@b.c'`, leaves: [{ field: 'Email', operator: '=', value: 'a"@b.c' }] },
  ])('$filter', (c) => { check(c) })
})

describe('a username suffix is accounted for', () => {
  it.each<Case>([
    { filter: 'userName eq "john@x.com"', soql: "Username = 'john@x.com.sf_dev'", leaves: [{ field: 'Username', operator: '=', value: 'john@x.com.sf_dev' }] },
    { filter: 'userName ne "john@x.com"', soql: "Username != 'john@x.com.sf_dev'" },
    { filter: 'userName sw "jo"', soql: R`Username LIKE 'jo%.sf\_dev'`, leaves: [{ field: 'Username', operator: 'LIKE', value: { like: ['jo', ANY, '.sf_dev'] } }] },
    { filter: 'userName ew "@x.com"', soql: R`Username LIKE '%@x.com.sf\_dev'` },
    { filter: 'userName co "n@x"', soql: R`Username LIKE '%n@x%.sf\_dev'` },
    { filter: 'userName pr', soql: 'Username != null' },
  ])('$filter', (c) => { check(c, suffixedSchema) })

  it('refuses ordering, which the suffix changes', () => {
    expect(() => translateFilter('userName gt "a"', suffixedSchema)).toThrow("'gt' is not supported on userName: Salesforce stores it with a suffix, which changes the ordering")
  })
})

describe('errors are invalidFilter with a message that says what is wrong', () => {
  const comparisons51 = Array(51).fill('title pr').join(' or ')
  it.each<[string, string]>([
    ['', 'Filter is empty'],
    ['   ', 'Filter is empty'],
    // Unknown or unmapped attributes: an error, never "no match" (an IdP would create a duplicate).
    ['foo eq "x"', 'Filtering on foo is not supported (unknown or unmapped attribute)'],
    ['nickName eq "x"', 'Filtering on nickName is not supported (unknown or unmapped attribute)'],
    ['employeeNumber eq "42"', 'Filtering on employeeNumber is not supported (unknown or unmapped attribute)'],
    [`${ENT}:costCenter eq "x"`, `Filtering on ${ENT}:costCenter is not supported (unknown or unmapped attribute)`],
    ['urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"', 'Filtering on urn:ietf:params:scim:schemas:core:2.0:Group:displayName is not supported (unknown or unmapped attribute)'],
    ['name.middleName eq "x"', 'Filtering on name.middleName is not supported (unknown or unmapped attribute)'],
    ['name eq "x"', 'name is a complex attribute: filter on one of its sub-attributes, e.g. name.<sub-attribute>'],
    [`${ENT}:manager eq "x"`, `${ENT}:manager is a complex attribute: filter on one of its sub-attributes, e.g. ${ENT}:manager.<sub-attribute>`],
    ['emails[foo eq "x"]', 'Filtering on emails.foo is not supported (unknown or unmapped sub-attribute)'],
    ['emails.display eq "x"', 'Filtering on emails.display is not supported (unknown or unmapped sub-attribute)'],
    ['addresses eq "x"', "addresses has no 'value' sub-attribute: filter on addresses.<sub-attribute>"],
    ['addresses pr', "addresses has no 'value' sub-attribute: filter on addresses.<sub-attribute>"],
    ['title[value eq "x"]', 'title[…]: value filters apply to multi-valued attributes only'],
    ['emails[type eq "work"] eq "x"', 'emails[…] cannot be compared directly at character 24: name a sub-attribute, e.g. emails[type eq "work"].value eq "…"'],
    ['emails[type eq "work"] pr', 'emails[…] cannot be compared directly at character 24: name a sub-attribute, e.g. emails[type eq "work"].value eq "…"'],
    ['emails[value[type eq "a"] eq "x"]', "Value filters cannot be nested ('[' at character 13)"],
    ['name.givenName[value eq "x"]', 'A value filter applies to an attribute, not to the sub-attribute name.givenName (at character 15)'],
    ['emails[urn:a:b:type eq "work"]', 'Inside emails[…] name a sub-attribute of emails, not urn:a:b:type'],
    ['emails[type.x eq "work"]', 'Inside emails[…] name a sub-attribute of emails, not type.x'],
    ['emails[type eq "work"].value.x eq "a"', "Invalid sub-attribute '.value.x' at character 23"],
    // Syntax.
    ['userName eq', 'Expected a value (a "quoted string", a number, true, false or null) after \'eq\', but the filter ended'],
    ['userName eq john@x.com', 'Expected a value (a "quoted string", a number, true, false or null) after \'eq\' at character 13, found \'john@x.com\''],
    ['userName xx "a"', "Expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after 'userName' at character 10, found 'xx'"],
    ['userName', "Expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after 'userName', but the filter ended"],
    ['userName np', "Expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after 'userName' at character 10, found 'np'"],
    ['userName eq "a', 'Unterminated string starting at character 13'],
    [R`userName eq "a\"`, 'Unterminated string starting at character 13'],
    [R`userName eq "a\x"`, R`Invalid escape \x in string at character 15: use \", \\, \/, \b, \f, \n, \r, \t or \uXXXX`],
    [R`userName eq "a\'"`, R`Invalid escape \' in string at character 15: use \", \\, \/, \b, \f, \n, \r, \t or \uXXXX`],
    [R`userName eq "\u12"`, R`Invalid \u escape in string at character 14: expected four hex digits`],
    ['userName eq "a\tb"', 'Control character in string at character 15: escape it (JSON string rules)'],
    ['(userName eq "a"', "Expected ')' to close the '(' at character 1, but the filter ended"],
    ['(userName eq "a"]', "Expected ')' to close the '(' at character 1 at character 17, found ']'"],
    ['emails[type eq "work"', "Expected ']' to close the '[' at character 7, but the filter ended"],
    ['userName eq "a")', "Unexpected ')' at character 16: expected 'and', 'or' or the end of the filter"],
    ['userName eq "a" and', "Expected an attribute name, 'not' or '(', but the filter ended"],
    ['userName eq "a" userName eq "b"', "Unexpected 'userName' at character 17: expected 'and', 'or' or the end of the filter"],
    ['not userName eq "a"', "Expected '(' after 'not' (write not (expression)) at character 5, found 'userName'"],
    ['"a" eq userName', "Expected an attribute name, 'not' or '(' at character 1, found a string"],
    ['()', "Expected an attribute name, 'not' or '(' at character 2, found ')'"],
    ['user@name eq "a"', "Invalid attribute path 'user@name' at character 1"],
    ['name.givenName.x eq "a"', "Invalid attribute path 'name.givenName.x' at character 1"],
    // Operators that make no sense for the type.
    ['active co "x"', "'co' is not supported on active, a boolean attribute: use eq, ne or pr"],
    ['active gt true', "'gt' is not supported on active, a boolean attribute: use eq, ne or pr"],
    ['active eq "yes"', 'active is a boolean attribute: compare it with true or false, not "yes"'],
    ['active eq 1', 'active is a boolean attribute: compare it with true or false, not 1'],
    ['title eq true', 'title is a string attribute: compare it with a quoted string, not true'],
    ['title co null', "'co' cannot compare title with null: use eq null, ne null or pr"],
    ['meta.lastModified co "2011"', "'co' is not supported on meta.lastModified, a dateTime attribute: use eq, ne, gt, ge, lt, le or pr"],
    ['meta.lastModified gt "yesterday"', 'meta.lastModified is a dateTime attribute: "yesterday" is not a dateTime such as "2011-05-13T04:42:34Z"'],
    ['meta.lastModified gt "2011-05-13"', 'meta.lastModified is a dateTime attribute: "2011-05-13" is not a dateTime such as "2011-05-13T04:42:34Z"'],
    ['meta.lastModified gt "2011-05-13T04:42:34"', 'meta.lastModified is a dateTime attribute: "2011-05-13T04:42:34" is not a dateTime such as "2011-05-13T04:42:34Z"'],
    ['meta.lastModified gt "2011-02-29T00:00:00Z"', 'meta.lastModified is a dateTime attribute: "2011-02-29T00:00:00Z" is not a dateTime such as "2011-05-13T04:42:34Z"'],
    ['meta.lastModified gt "2011-05-13T24:00:00Z"', 'meta.lastModified is a dateTime attribute: "2011-05-13T24:00:00Z" is not a dateTime such as "2011-05-13T04:42:34Z"'],
    ['meta.lastModified gt 5', 'meta.lastModified is a dateTime attribute: 5 is not a dateTime such as "2011-05-13T04:42:34Z"'],
    ['meta.lastModified gt null', "'gt' cannot compare meta.lastModified with null: use eq null, ne null or pr"],
    ['id co "005"', "'co' is not supported on id, a Salesforce id: use eq, ne or pr"],
    ['id gt "005D0000001KyEI"', "'gt' is not supported on id, a Salesforce id: use eq, ne or pr"],
    ['emails[primary co "t"]', "'co' is not supported on emails.primary, a boolean attribute: use eq, ne or pr"],
    ['emails[type eq true]', 'emails.type is a string attribute: compare it with a quoted string, not true'],
    ['emails[type gt null]', "'gt' cannot compare emails.type with null: use eq null, ne null or pr"],
    // Limits.
    [`${'('.repeat(11)}title pr${')'.repeat(11)}`, 'Filter nests deeper than 10 levels (at character 11)'],
    [`${'not ('.repeat(11)}title pr${')'.repeat(11)}`, 'Filter nests deeper than 10 levels (at character 55)'],
    [`${'('.repeat(10)}emails[type eq "work"]${')'.repeat(10)}`, 'Filter nests deeper than 10 levels (at character 17)'],
    [comparisons51, 'Filter has more than 50 comparisons (at character 601)'],
  ])('%j', (filter, message) => {
    let error: unknown
    try {
      translateFilter(filter, userSchema)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(FilterError)
    expect(error).toMatchObject({ name: 'FilterError', scimType: 'invalidFilter', status: 400, message })
  })

  it('limits the length to 2048 characters by default', () => {
    expect(() => translateFilter(`title eq "${'a'.repeat(2039)}"`, userSchema)).toThrow(new FilterError('Filter is 2050 characters long; the limit is 2048'))
  })

  it('accepts filters just inside the default limits', () => {
    expect(translateFilter(`title eq "${'a'.repeat(2037)}"`, userSchema).text).toBe(`Title = '${'a'.repeat(2037)}'`)
    expect(translateFilter(`${'('.repeat(10)}title pr${')'.repeat(10)}`, userSchema).text).toBe('Title != null')
    expect(() => translateFilter(Array(50).fill('title pr').join(' or '), userSchema)).not.toThrow()
  })

  it('takes custom limits', () => {
    expect(() => translateFilter('title eq "abc"', userSchema, { maxLength: 10 })).toThrow('Filter is 14 characters long; the limit is 10')
    expect(() => translateFilter('(title pr)', userSchema, { maxDepth: 0 })).toThrow('Filter nests deeper than 0 levels (at character 1)')
    // Comparisons inside a value filter count too.
    expect(() => translateFilter('emails[type eq "work"].value eq "x"', userSchema, { maxComparisons: 1 })).toThrow('Filter has more than 1 comparisons (at character 8)')
  })
})

describe('parseFilter returns an AST for in-memory use', () => {
  it.each<[string, FilterNode]>([
    ['USERNAME EQ "x"', { type: 'compare', path: { attr: 'USERNAME' }, op: 'eq', value: 'x' }],
    ['title pr or active eq true and id eq "1"', {
      type: 'or',
      operands: [
        { type: 'present', path: { attr: 'title' } },
        { type: 'and', operands: [{ type: 'compare', path: { attr: 'active' }, op: 'eq', value: true }, { type: 'compare', path: { attr: 'id' }, op: 'eq', value: '1' }] },
      ],
    }],
    ['not (title pr)', { type: 'not', operand: { type: 'present', path: { attr: 'title' } } }],
    ['emails[type eq "work"].value eq "a@b.c"', {
      type: 'compare',
      path: { attr: 'emails', subAttr: 'value', valueFilter: { type: 'compare', path: { attr: 'type' }, op: 'eq', value: 'work' } },
      op: 'eq',
      value: 'a@b.c',
    }],
    ['members[value eq "1"]', { type: 'valuePath', path: { attr: 'members', valueFilter: { type: 'compare', path: { attr: 'value' }, op: 'eq', value: '1' } } }],
    [`${ENT}:manager.value eq "m"`, { type: 'compare', path: { urn: ENT, attr: 'manager', subAttr: 'value' }, op: 'eq', value: 'm' }],
    ['members.$ref eq "u"', { type: 'compare', path: { attr: 'members', subAttr: '$ref' }, op: 'eq', value: 'u' }],
    ['x-custom_1 eq -1.5e2', { type: 'compare', path: { attr: 'x-custom_1' }, op: 'eq', value: -150 }],
    ['a eq 0 or a eq False or a eq NULL', {
      type: 'or',
      operands: [
        { type: 'compare', path: { attr: 'a' }, op: 'eq', value: 0 },
        { type: 'compare', path: { attr: 'a' }, op: 'eq', value: false },
        { type: 'compare', path: { attr: 'a' }, op: 'eq', value: null },
      ],
    }],
    [R`a eq "q\"\\\u0041"`, { type: 'compare', path: { attr: 'a' }, op: 'eq', value: 'q"\\A' }],
  ])('%s', (filter, ast) => {
    expect(parseFilter(filter)).toEqual(ast)
  })

  it('translation is a pure function of (AST, schema)', () => {
    const ast = parseFilter('emails[type eq "work"].value eq "a@b.c" and not (active eq false)')
    const snapshot = JSON.stringify(ast)
    expect(filterToSoql(ast, userSchema).text).toBe("Email = 'a@b.c' AND (NOT IsActive = false)")
    expect(filterToSoql(ast, userSchema).text).toBe(translateFilter('emails[type eq "work"].value eq "a@b.c" and not (active eq false)', userSchema).text)
    expect(JSON.stringify(ast)).toBe(snapshot)
  })
})

describe('schema validation', () => {
  it('rejects a table that would put a non-identifier into SOQL', () => {
    const bad: FilterSchema = { coreSchema: CORE, attributes: { title: single('Title; DELETE') } }
    expect(() => translateFilter('title pr', bad)).toThrow(TypeError)
  })

  it('rejects a suffix on a non-string field and duplicate keys', () => {
    expect(() => translateFilter('active pr', { coreSchema: CORE, attributes: { active: { kind: 'single', field: 'IsActive', type: 'boolean', suffix: 'x' } } }))
      .toThrow('Filter schema active: a suffix is only meaningful on string fields')
    expect(() => translateFilter('title pr', { coreSchema: CORE, attributes: { title: single('Title'), Title: single('Title') } }))
      .toThrow('Filter schema: duplicate attribute Title')
  })
})
