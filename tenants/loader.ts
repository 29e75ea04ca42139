// Loads tenant files (JSON or YAML) from a folder: ${ENV} interpolation, schema defaults and checks,
// and cross-field rules. Every error names the file, the JSON path and the reason.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import { Value } from '@sinclair/typebox/value'
import type { TSchema } from '@sinclair/typebox'
import YAML from 'yaml'
import type { TenantDocument } from '../plugins/dialect.ts'
import { createProviderRegistry, ProviderConfigError } from '../plugins/providers/index.ts'
import { PUBLIC_EVENT_NAMES, secretProblem } from '../plugins/events/catalogue.ts'
import { nonPublicHost } from '../plugins/providers/address-policy.ts'
import { dialectManifests, dialectNames, registryVersion } from './dialects.ts'
import { grammarErrors } from './grammar.ts'
import { tenantSchema, type TenantConfig } from './schema.ts'

export interface TenantError { file: string, path: string, message: string }
export interface LoadedTenant { file: string, config: TenantConfig }

export class TenantConfigError extends Error {
  readonly errors: TenantError[]
  constructor (errors: TenantError[]) {
    super(errors.map(formatTenantError).join('\n'))
    this.name = 'TenantConfigError'
    this.errors = errors
  }
}

export function formatTenantError (e: TenantError): string {
  return `${e.file}: ${e.path || '/'}: ${e.message}`
}

let compiled: { version: number, checker: ReturnType<typeof TypeCompiler.Compile> } | null = null
/** The compiled check of the tenant schema as the registered dialects compose it. */
function checker (): ReturnType<typeof TypeCompiler.Compile> {
  if (!compiled || compiled.version !== registryVersion()) compiled = { version: registryVersion(), checker: TypeCompiler.Compile(tenantSchema()) }
  return compiled.checker
}
const TENANT_FILE = /\.(json|ya?ml)$/i

export function isTenantFile (name: string): boolean {
  return TENANT_FILE.test(name) && !name.endsWith('.schema.json') && !name.startsWith('.')
}

/** Parses, interpolates and validates one tenant document. */
export function parseTenant (file: string, text: string, env: NodeJS.ProcessEnv = process.env): { config?: TenantConfig, errors: TenantError[] } {
  let raw: unknown
  try {
    raw = /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text)
  } catch (err) {
    return { errors: [{ file, path: '', message: `cannot parse: ${(err as Error).message}` }] }
  }
  const errors: TenantError[] = []
  const interpolated = interpolate(raw, '', env, (p, name) => errors.push({ file, path: p, message: `environment variable ${name} is not set` }))
  if (errors.length) return { errors }
  const withDefaults = Value.Default(tenantSchema(), interpolated)
  const seen = new Set<string>()
  // The compiled check first: Errors() walks the schema interpretively and is only needed for a bad file.
  const check = checker()
  const valid = check.Check(withDefaults)
  for (const e of valid ? [] : explain(check.Errors(withDefaults))) {
    if (seen.has(e.path)) continue // TypeBox may say one thing twice ("required" and "expected string")
    seen.add(e.path)
    errors.push({ file, path: e.path, message: e.message })
    if (errors.length >= 20) break
  }
  if (errors.length) return { errors }
  // Strings with a grammar (URLs, templates, durations, addresses…) parse now, not at request time.
  for (const e of grammarErrors(tenantSchema(), withDefaults).slice(0, 20)) errors.push({ file, ...e })
  if (errors.length) return { errors }
  const config = withDefaults as TenantConfig
  errors.push(...crossChecks(file, config))
  if (!errors.length && env.NODE_ENV === 'production' && env.VESTIBULE_ALLOW_DEMO !== '1' && isDemo(config)) {
    errors.push({ file, path: '', message: 'the demo tenant (placeholder secrets, the local demo identity provider) is not served with NODE_ENV=production; point TENANTS_DIR at your own tenant files, or set VESTIBULE_ALLOW_DEMO=1 to serve it anyway' })
  }
  return errors.length ? { errors } : { config, errors }
}

/**
 * Errors as an operator can act on them: a union failure ("Expected union value") is replaced by
 * the errors of the member its `type` names (or the closest member), so a provider with a bad field
 * reports /providers/<key>/<field>, not just /providers/<key>.
 */
function * explain (errors: Iterable<ValueError>): Generator<{ path: string, message: string }> {
  for (const e of errors) {
    const choices = literals(e.schema)
    if (choices) { yield { path: e.path, message: `${JSON.stringify(e.value)} is not one of ${choices.map((c) => JSON.stringify(c)).join(', ')}` }; continue }
    const variants = (e.errors ?? []).map((it) => [...it])
    if (variants.length === 0) { yield { path: e.path, message: word(e) }; continue }
    const typeMatches = variants.filter((v) => !v.some((x) => x.path === `${e.path}/type`))
    const pool = typeMatches.length > 0 ? typeMatches : variants
    const best = pool.reduce((a, b) => (b.length < a.length ? b : a))
    if (best.length === 0 || typeMatches.length === 0) {
      const t = (e.value as { type?: unknown } | null)?.type
      const types = (e.schema.anyOf as TSchema[] | undefined ?? []).flatMap((m) => literals(m.properties?.type) ?? [])
      yield {
        path: `${e.path}${t === undefined ? '' : '/type'}`,
        message: t === undefined ? word(e) : `unknown type ${JSON.stringify(t)}${types.length ? `; the types are ${types.join(', ')}` : ''}`
      }
      continue
    }
    yield * explain(best)
  }
}

/** The quickstart's tenant: id `demo`, or a provider of the local `demo` type. */
function isDemo (c: TenantConfig): boolean {
  return c.id === 'demo' || Object.values(c.providers).some((p) => p.type === 'demo')
}

/** The values of a union of literals (`linking`, a provider `type`), else undefined. */
function literals (schema: TSchema | undefined): Array<string | number | boolean> | undefined {
  if (!schema) return undefined
  if (schema.const !== undefined) return [schema.const]
  const members = schema.anyOf as TSchema[] | undefined
  return members?.length && members.every((m) => m.const !== undefined) ? members.map((m) => m.const) : undefined
}

/** A TypeBox error in an operator's words: what the field is, never the regex it failed. */
function word (e: ValueError): string {
  const key = e.path.split('/').pop()!.replace(/~1/g, '/').replace(/~0/g, '~')
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const parent = e.path.slice(0, e.path.lastIndexOf('/'))
      if (parent === '/dialects') {
        const names = dialectNames()
        const near = nearest(key, names)
        return `unknown dialect ${JSON.stringify(key)}${near ? `; did you mean ${JSON.stringify(near)}? The dialects are` : '; the dialects are'} ${names.join(', ')}`
      }
      const known = Object.keys((e.schema.properties ?? {}) as object)
      const near = nearest(key, known)
      return `unknown key ${JSON.stringify(key)}${near ? `; did you mean ${JSON.stringify(near)}?` : known.length ? ` (the keys here are ${known.join(', ')})` : ''}`
    }
    case ValueErrorType.ObjectRequiredProperty: {
      const description = (e.schema as TSchema & { description?: string }).description
      return `is required${description ? ` (${description.replace(/\.$/, '')})` : ''}`
    }
    case ValueErrorType.StringPattern: case ValueErrorType.StringFormat: {
      const description = (e.schema as TSchema & { description?: string }).description
      return `${JSON.stringify(e.value)} does not have the expected form${description ? `: ${description}` : ''}`
    }
    default: return e.message
  }
}

/** The known name a typo most likely meant: same letters ignoring case and separators, or an edit or two away. */
export function nearest (name: string, known: string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '')
  const exact = known.find((k) => norm(k) === norm(name))
  if (exact) return exact
  const limit = name.length <= 4 ? 1 : 2
  let best: { k: string, d: number } | undefined
  for (const k of known) {
    const d = distance(norm(name), norm(k))
    if (d <= limit && (!best || d < best.d)) best = { k, d }
  }
  return best?.k
}

function distance (a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]++
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]
}

/** Reads every tenant file in `dir`; a bad file is reported and skipped, the others load. */
export async function loadTenantDir (dir: string, env: NodeJS.ProcessEnv = process.env): Promise<{ tenants: LoadedTenant[], errors: TenantError[] }> {
  const names = (await fs.readdir(dir)).filter(isTenantFile).sort()
  const tenants: LoadedTenant[] = []
  const errors: TenantError[] = []
  // Bounded concurrency: 10,000 reads at once queue on libuv's four threads and take ten times longer.
  const texts: string[] = []
  for (let i = 0; i < names.length; i += 128) {
    texts.push(...await Promise.all(names.slice(i, i + 128).map((n) => fs.readFile(path.join(dir, n), 'utf8'))))
  }
  const ids = new Map<string, string>()
  const hosts = new Map<string, string>()
  names.forEach((name, i) => {
    const file = path.join(dir, name)
    const res = parseTenant(file, texts[i], env)
    if (!res.config) { errors.push(...res.errors); return }
    const clash = uniqueness(file, res.config, ids, hosts)
    if (clash.length) { errors.push(...clash); return }
    tenants.push({ file, config: res.config })
  })
  return { tenants, errors }
}

export async function loadTenantFile (file: string, env: NodeJS.ProcessEnv = process.env): Promise<{ config?: TenantConfig, errors: TenantError[] }> {
  let text: string
  try { text = await fs.readFile(file, 'utf8') } catch (err) {
    return { errors: [{ file, path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }] }
  }
  return parseTenant(file, text, env)
}

function uniqueness (file: string, c: TenantConfig, ids: Map<string, string>, hosts: Map<string, string>): TenantError[] {
  const out: TenantError[] = []
  const other = ids.get(c.id)
  if (other) out.push({ file, path: '/id', message: `tenant id "${c.id}" is already used by ${other}` })
  c.hosts.forEach((h, i) => {
    const owner = hosts.get(h.toLowerCase())
    if (owner) out.push({ file, path: `/hosts/${i}`, message: `host "${h}" is already served by ${owner}` })
  })
  if (!out.length) {
    ids.set(c.id, file)
    for (const h of c.hosts) hosts.set(h.toLowerCase(), file)
  }
  return out
}

// ${NAME} must be set; ${NAME:-fallback} uses the fallback when NAME is unset or empty (as in sh).
const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g
function interpolate (v: unknown, p: string, env: NodeJS.ProcessEnv, missing: (path: string, name: string) => void): unknown {
  if (typeof v === 'string') {
    return v.replace(VAR, (_m, name: string, fallback: string | undefined) => {
      const val = env[name]
      if (fallback !== undefined && (val === undefined || val === '')) return fallback
      if (val === undefined) { missing(p, name); return '' }
      return val
    })
  }
  if (Array.isArray(v)) return v.map((x, i) => interpolate(x, `${p}/${i}`, env, missing))
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolate(x, `${p}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, env, missing)]))
  }
  return v
}

/** Rules a JSON schema cannot say: references between sections must resolve. Each dialect adds its own. */
// Webhook endpoints: one per URL, known event names, a Standard Webhooks secret, and no private address a
// URL shows by itself unless allowed (names are checked again when resolved, at every connection).
function webhookChecks (c: TenantConfig, err: (p: string, message: string) => void): void {
  const urls = new Set<string>()
  ;(c.webhooks ?? []).forEach((w, i) => {
    const p = `/webhooks/${i}`
    if (urls.has(w.url)) err(`${p}/url`, `duplicate webhook url "${w.url}"`)
    urls.add(w.url)
    const host = new URL(w.url).hostname
    const range = w.allowPrivateNetwork === true ? null : nonPublicHost(host.replace(/^\[|\]$/g, ''))
    if (range !== null) err(`${p}/url`, `points at ${host}, in the ${range} range; webhooks may not reach loopback, private, link-local or unique-local addresses unless the endpoint sets allowPrivateNetwork: true`)
    if (!/^https?:$/.test(new URL(w.url).protocol)) err(`${p}/url`, 'must be an http(s) URL')
    w.events.forEach((e, j) => {
      if (e === '*' ? w.events.length > 1 : !PUBLIC_EVENT_NAMES.has(e)) err(`${p}/events/${j}`, e === '*' ? '"*" stands alone' : `unknown event "${e}"; the events are ${[...PUBLIC_EVENT_NAMES].join(', ')}`)
    })
    const bad = secretProblem(w.secret)
    if (bad) err(`${p}/secret`, bad)
  })
}

function crossChecks (file: string, c: TenantConfig): TenantError[] {
  const out: TenantError[] = []
  const err = (p: string, message: string) => { out.push({ file, path: p, message }) }
  if (!c.locales.includes(c.defaultLocale)) err('/defaultLocale', `"${c.defaultLocale}" is not one of locales (${c.locales.join(', ')})`)
  const clientIds = new Set<string>()
  c.clients.forEach((cl, i) => {
    if (clientIds.has(cl.id)) err(`/clients/${i}/id`, `duplicate client id "${cl.id}"`)
    clientIds.add(cl.id)
  })
  for (const m of dialectManifests()) m.crossChecks?.(c as unknown as TenantDocument, err)
  webhookChecks(c, err)
  try {
    createProviderRegistry(c.providers)
  } catch (e) {
    if (!(e instanceof ProviderConfigError)) throw e
    err(`/providers/${e.provider}`, e.message)
  }
  return out
}
