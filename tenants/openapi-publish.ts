// The published form of a tenant's OpenAPI document (issue 20: clients from mainstream generators —
// openapi-typescript, @hey-api/openapi-ts, orval — work without hand edits; Spectral reports nothing).
// @fastify/swagger builds the raw document from the routes' TypeBox schemas; this pass, run as its
// transformObject, turns it into what SDK generators expect:
// - internal `x-vst-*` keywords (validator routing, DRF field rules) are removed;
// - every schema carrying a `title` becomes a named component (`#/components/schemas/<title>`), shared by
//   every operation that uses it; its description/examples stay beside the `$ref` at each use;
// - each mounted dialect's tag is declared with its description; `info.contact` is set;
// - every operation gets a description (its own, or one derived from its summary, security and answers) and
//   every response a description (the schema's, or the HTTP status phrase, never "Default Response");
// - body properties described "… Required." are listed in `required` (Capture checks them in its handler, to
//   answer code 100 naming all missing arguments, so its validation schema cannot list them);
// - each content type of a request body gets its own schema object (generators key body types by media type);
// - each mounted dialect may then add what only the tenant's configuration knows (DialectManifest.openapi:
//   Capture lists the tenant's form fields as real properties).
import { STATUS_CODES } from 'node:http'
import type { DialectManifest, TenantDocument } from '../plugins/dialect.ts'

type Json = any
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

/** Removes every `x-vst-*` key at any depth (in place). */
function stripInternal (node: Json): void {
  if (Array.isArray(node)) { node.forEach(stripInternal); return }
  if (!node || typeof node !== 'object') return
  for (const key of Object.keys(node)) {
    if (key.startsWith('x-vst-')) delete node[key]
    else stripInternal(node[key])
  }
}

const stable = (v: unknown): string => JSON.stringify(v, (_k, val) =>
  val && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => a.localeCompare(b))) : val)

/** Replaces titled schemas by `$ref`s to components.schemas (in place); two different shapes under one title throw. */
function hoistNamed (doc: Json): void {
  const schemas: Record<string, Json> = (doc.components.schemas ??= {})
  const shapes = new Map<string, string>()
  const visit = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(visit)
    if (!node || typeof node !== 'object') return node
    const out: Json = {}
    for (const [k, v] of Object.entries(node)) out[k] = k === 'examples' || k === 'example' ? v : visit(v)
    if (typeof out.title === 'string' && (out.type !== undefined || out.anyOf || out.oneOf || out.allOf)) {
      const { description, examples, ...shape } = out
      const name = out.title.replace(/[^A-Za-z0-9_.-]/g, '')
      const key = stable(shape)
      const known = shapes.get(name)
      if (known !== undefined && known !== key) throw new Error(`OpenAPI: two different schemas are titled ${name}`)
      if (known === undefined) {
        shapes.set(name, key)
        schemas[name] = { ...shape, ...(examples ? { examples } : {}) }
      }
      return { $ref: `#/components/schemas/${name}`, ...(description ? { description } : {}), ...(examples ? { examples } : {}) }
    }
    return out
  }
  for (const item of Object.values<Json>(doc.paths ?? {})) {
    for (const m of METHODS) if (item[m]) item[m] = visit(item[m])
  }
  doc.components.schemas = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)))
}

/** Lists in `required` the body properties whose description says they are required. */
function requiredFromDescriptions (schema: Json): void {
  if (!schema || schema.type !== 'object' || !schema.properties) return
  const required = new Set<string>(schema.required ?? [])
  for (const [name, prop] of Object.entries<Json>(schema.properties)) {
    if (typeof prop.description === 'string' && /(^|\s)Required\.$/.test(prop.description.trim())) required.add(name)
  }
  if (required.size > 0) schema.required = [...required]
}

function describeOperation (doc: Json, op: Json): string {
  const parts = [op.summary ? `${op.summary.replace(/\.$/, '')}.` : '']
  const schemes = (op.security ?? []).flatMap((req: Json) => Object.keys(req))
  for (const name of [...new Set<string>(schemes)]) {
    const s = doc.components.securitySchemes?.[name]
    if (s?.description) parts.push(`Authentication (${name}): ${s.description}`)
  }
  const errors = Object.keys(op.responses ?? {}).filter((c) => /^[45]/.test(c))
  if (errors.length) parts.push(`Errors: ${errors.map((c) => `${c} ${STATUS_CODES[c] ?? ''}`.trim()).join(', ')} (see the responses).`)
  return parts.filter(Boolean).join('\n\n')
}

export interface PublishContext {
  tenant: TenantDocument
  mounted: DialectManifest[]
  contactUrl: string
}

/** The document generators and linters get (the input is not modified). */
export function publishOpenApi (raw: Json, ctx: PublishContext): Json {
  const doc = structuredClone(raw)
  stripInternal(doc)
  doc.components ??= {}
  doc.info.contact ??= { name: `Vestibule — ${ctx.tenant.id}`, url: ctx.contactUrl }
  doc.tags = ctx.mounted.map((m) => ({ name: m.name, description: m.openapi?.tagDescription ?? (m.options as { description?: string }).description ?? m.name }))

  for (const item of Object.values<Json>(doc.paths ?? {})) {
    for (const m of METHODS) {
      const op = item[m]
      if (!op) continue
      const content = op.requestBody?.content
      if (content) {
        // One schema object per media type: no generator sees two media types share (and merge) one body type.
        for (const type of Object.keys(content)) {
          content[type] = structuredClone(content[type])
          requiredFromDescriptions(content[type].schema)
        }
      }
      for (const [code, res] of Object.entries<Json>(op.responses ?? {})) {
        if (!res.description || res.description === 'Default Response') {
          const fromSchema = Object.values<Json>(res.content ?? {})[0]?.schema?.description
          res.description = fromSchema ?? STATUS_CODES[code] ?? 'Response'
        }
      }
    }
  }
  for (const m of ctx.mounted) m.openapi?.publish?.(doc, ctx.tenant)
  for (const item of Object.values<Json>(doc.paths ?? {})) {
    for (const m of METHODS) if (item[m] && !item[m].description) item[m].description = describeOperation(doc, item[m])
  }
  hoistNamed(doc)
  shareRequestBodies(doc)
  return doc
}

/** A body accepted in several media types becomes a named request body (`#/components/requestBodies/<Operation>Request`)
 *  with `application/json` first. orval types and sends a `$ref` request body by its first media type (with that
 *  Content-Type); an inline body of several media types would become a union sent as JSON with no Content-Type (415).
 *  openapi-typescript and @hey-api/openapi-ts read either form the same way. */
function shareRequestBodies (doc: Json): void {
  const bodies: Record<string, Json> = {}
  for (const item of Object.values<Json>(doc.paths ?? {})) {
    for (const m of METHODS) {
      const op = item[m]
      const body = op?.requestBody
      if (!body?.content || Object.keys(body.content).length < 2 || !op.operationId) continue
      const types = Object.keys(body.content).sort((a, b) => Number(b === 'application/json') - Number(a === 'application/json'))
      const name = `${op.operationId[0].toUpperCase()}${op.operationId.slice(1)}Request`
      if (bodies[name]) throw new Error(`OpenAPI: two request bodies are named ${name}`)
      bodies[name] = { ...body, content: Object.fromEntries(types.map((t) => [t, body.content[t]])) }
      op.requestBody = { $ref: `#/components/requestBodies/${name}` }
    }
  }
  if (Object.keys(bodies).length) doc.components.requestBodies = Object.fromEntries(Object.entries(bodies).sort(([a], [b]) => a.localeCompare(b)))
}
