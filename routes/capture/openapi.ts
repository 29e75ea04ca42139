// What the published OpenAPI document of a Capture tenant adds from the tenant's own flows (issue 20):
// each form's fields as real body properties of the operations that read that kind of form (with `required`
// where the form requires them), and the HTTP-200 answers as unions discriminated by `stat`.
import type { TenantDocument } from '../../plugins/dialect.ts'
import type { FlowConfig, FormFieldConfig } from './options.ts'

type Json = any
interface NamedForm { where: string, name: string, fields: FormFieldConfig[] }

const isPassword = (f: FormFieldConfig) => f.attribute === 'password'

function forms (tenant: TenantDocument): NamedForm[] {
  return ((tenant.flows ?? []) as FlowConfig[]).flatMap((flow) => flow.versions.flatMap((v) =>
    Object.entries(v.forms).map(([name, form]) => ({ where: `${flow.name} ${v.version}`, name, fields: form.fields }))))
}

/** Which forms each operation's `form` argument may name (sign-in uses `signInForm`; see docs/capture.md). */
const KINDS: Record<string, { pick: (f: NamedForm) => boolean, alwaysRequired: string[] }> = {
  // register_native: a social registration form — no password field.
  captureRegisterNative: { pick: (f) => !f.fields.some(isPassword), alwaysRequired: [] },
  // register_native_traditional: a registration form with a password (not the sign-in form); email and password always required.
  captureRegisterNativeTraditional: { pick: (f) => f.name !== 'signInForm' && f.fields.some(isPassword), alwaysRequired: ['email', 'password'] },
  captureAuthNativeTraditional: { pick: (f) => f.name === 'signInForm', alwaysRequired: ['email', 'password'] }
}

function addFormFields (schema: Json, candidates: NamedForm[], alwaysRequired: string[]): void {
  if (!schema?.properties || candidates.length === 0) return
  const names = [...new Set(candidates.map((f) => f.name))]
  if (schema.properties.form) schema.properties.form = { ...schema.properties.form, examples: names }
  const requiredEverywhere = new Map<string, number>()
  for (const form of candidates) {
    for (const field of form.fields) {
      const existing = schema.properties[field.name]
      if (!existing || existing['x-form-field']) {
        const usedIn = candidates.filter((c) => c.fields.some((f) => f.name === field.name)).map((c) => `\`${c.name}\` (${c.where})`)
        schema.properties[field.name] = {
          type: 'string',
          maxLength: field.maxLength ?? 256,
          ...(field.minLength !== undefined ? { minLength: field.minLength } : {}),
          description: `${field.label ? `${field.label}: f` : 'F'}ield of ${[...new Set(usedIn)].join(', ')}; user attribute \`${field.attribute}\`${field.confirms ? `; must equal \`${field.confirms}\`` : ''}.`,
          'x-form-field': true
        }
      }
      if (field.required || (alwaysRequired.includes(field.attribute) && !field.confirms)) {
        requiredEverywhere.set(field.name, (requiredEverywhere.get(field.name) ?? 0) + 1)
      }
    }
  }
  // Required by the schema only when every form the operation may name requires it.
  const required = new Set<string>(schema.required ?? [])
  for (const [name, count] of requiredEverywhere) if (count === candidates.length) required.add(name)
  schema.required = [...required]
  for (const p of Object.values<Json>(schema.properties)) delete p['x-form-field']
}

/** Replaces a body's "any other field is a string" schema by words: beside optional properties, orval's
 *  `[key: string]: string` index signature does not compile under strict tsc. The form fields the tenant configures
 *  are listed as properties (addFormFields); other fields are still read as strings. */
function dropFieldIndex (schema: Json): void {
  if (!schema?.additionalProperties || typeof schema.additionalProperties !== 'object') return
  delete schema.additionalProperties
  schema.description = `${schema.description ? `${schema.description} ` : ''}Fields of the named form travel beside these arguments (the tenant's forms are listed as properties); every field is read as a string.`
}

/** Several answers sharing one `stat` as one object schema: the members' common required members (`stat`, `code`,
 *  `error`, …; a member whose schemas differ, such as each `code` const, keeps only its type), narrowed by anyOf.
 *  openapi-typescript accepts a discriminator mapping only to an object schema, and the common members stay
 *  readable on the union without narrowing it first. */
function envelopeGroup (title: string, stat: string, members: Json[]): Json {
  const common = (members[0].required ?? []).filter((k: string) => members.every((m) => m.required?.includes(k) && m.properties?.[k]))
  const properties: Record<string, Json> = {}
  for (const key of common) {
    const shapes = members.map((m) => m.properties[key])
    const same = shapes.every((x) => JSON.stringify(x) === JSON.stringify(shapes[0]))
    properties[key] = same ? shapes[0] : { type: shapes[0].type }
  }
  properties.stat = { type: 'string', enum: [stat] }
  return { title, description: `Every \`stat: "${stat}"\` answer, told apart by \`code\`.`, type: 'object', properties, required: [...new Set(['stat', ...common])], anyOf: members }
}

/** A union of `stat` envelopes (anyOf of objects with a `stat` const) as oneOf success | error groups with a discriminator. */
function discriminateByStat (schema: Json, errorGroupTitle: string): Json {
  const branches: Json[] | undefined = schema?.anyOf
  // @fastify/swagger shows a TypeBox literal as a one-value enum.
  const statOf = (b: Json): string | undefined => b.properties?.stat?.const ?? (b.properties?.stat?.enum?.length === 1 ? b.properties.stat.enum[0] : undefined)
  if (!branches || !branches.every((b) => statOf(b) !== undefined && b.title)) return schema
  const groups = new Map<string, Json[]>()
  for (const b of branches) groups.set(statOf(b)!, [...(groups.get(statOf(b)!) ?? []), b])
  const mapping: Record<string, string> = {}
  const oneOf = [...groups].map(([stat, members]) => {
    const s = members.length === 1 ? members[0] : envelopeGroup(errorGroupTitle, stat, members)
    mapping[stat] = `#/components/schemas/${s.title}`
    return s
  })
  const { anyOf: _a, ...rest } = schema
  return { ...rest, oneOf, discriminator: { propertyName: 'stat', mapping } }
}

export function publishCapture (doc: Json, tenant: TenantDocument): void {
  const all = forms(tenant)
  for (const item of Object.values<Json>(doc.paths ?? {})) {
    for (const op of Object.values<Json>(item)) {
      if (!op?.tags?.includes('capture')) continue
      const kind = KINDS[op.operationId]
      for (const media of Object.values<Json>(op.requestBody?.content ?? {})) {
        if (kind) addFormFields(media.schema, all.filter(kind.pick), kind.alwaysRequired)
        dropFieldIndex(media.schema)
      }
      const ok = op.responses?.['200']?.content?.['application/json']
      // The group of error answers is named per set of answers: the login calls share one, update_profile_native has its own.
      if (ok?.schema) ok.schema = discriminateByStat(ok.schema, op.operationId === 'captureUpdateProfileNative' ? 'CaptureUpdateProfileError' : 'CaptureAuthError')
    }
  }
}
