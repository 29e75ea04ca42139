// The grammars of tenant-file strings (plugins/tenant/strings.ts marks them): each parses a value at
// load time and says what was expected, so a file that passes `tenants:check` works at request time
// (a duration @fastify/rate-limit cannot read, a link template without `{token}`, a URL that is not one
// are refused with their JSON path). Also the editor schema: draft-07, grammars as patterns, `${VAR}`
// accepted wherever the loader substitutes it, fields with defaults not required.
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import type { TSchema } from '@sinclair/typebox'
import { parse as parseDuration } from '@lukeed/ms'
import addressparser from 'nodemailer/lib/addressparser'
import type { GrammarName } from '../plugins/tenant/strings.ts'

interface Grammar {
  /** What a valid value looks like, for messages and editor hovers. */
  expected (schema: GrammarSchema): string
  /** Null when `value` is valid, else why not (the message after the path). */
  check (value: string, schema: GrammarSchema): string | null
  /** An ECMAScript pattern accepting the same values, for editors. */
  pattern (schema: GrammarSchema): string
}
type GrammarSchema = TSchema & { grammar: GrammarName, tokens?: string[], requiredTokens?: string[] }

const MAX_DURATION_MS = 366 * 24 * 3600 * 1000
const CONTROL_OR_SPACE = /[\s\u0000-\u001f\u007f]/
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** A pattern matching `word` in any letter case (JSON Schema patterns have no flags). */
const anyCase = (word: string) => [...word].map((c) => /[a-z]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : escape(c)).join('')
const list = (xs: string[]) => xs.map((x) => `\`${x}\``).join(', ')
const placeholders = (s: GrammarSchema) => list((s.tokens ?? []).map((t) => `{${t}}`))

function httpUrl (value: string): URL | string {
  if (CONTROL_OR_SPACE.test(value)) return 'contains a space or a control character'
  let u: URL
  try { u = new URL(value) } catch { return 'is not a URL' }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `must start with http:// or https:// (not ${u.protocol}//)`
  if (!/^https?:\/\/[^/?#]/i.test(value)) return 'has no host'
  return u
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
const DURATION_UNITS = ['milliseconds', 'millisecond', 'msecs', 'msec', 'ms', 'seconds', 'second', 'secs', 'sec', 's',
  'minutes', 'minute', 'mins', 'min', 'm', 'hours', 'hour', 'hrs', 'hr', 'h', 'days', 'day', 'd', 'weeks', 'week', 'wks', 'wk', 'w', 'years', 'year', 'yrs', 'yr', 'y']

const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`)
const DURATION = new RegExp(`^(?=[^1-9]*[1-9])(?:[0-9]+|[0-9]*\\.[0-9]+) *(?:${DURATION_UNITS.map(anyCase).join('|')})?$`)

const GRAMMARS: Record<GrammarName, Grammar> = {
  'tenant-id': {
    expected: () => 'lowercase letters, digits and dashes (not first or last), at most 64 characters, e.g. `acme`',
    check: (v) => /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(v) ? null : 'is not a tenant id',
    pattern: () => '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'
  },
  name: {
    expected: () => 'letters, digits, `_` and `-`, 1 to 64 characters',
    check: (v) => /^[A-Za-z0-9_-]{1,64}$/.test(v) ? null : 'is not a name',
    pattern: () => '^[A-Za-z0-9_-]{1,64}$'
  },
  hostname: {
    expected: () => 'a host name without scheme, port or path, e.g. `acme.id.example.com`',
    check: (v) => v.length <= 253 && HOSTNAME.test(v) ? null : (/[:/]/.test(v) ? 'is not a host name (no scheme, port or path here)' : 'is not a host name'),
    pattern: () => `^${LABEL}(?:\\.${LABEL})*$`
  },
  locale: {
    expected: () => 'a BCP 47 language tag such as `en-US` or `fr`',
    check: (v) => {
      if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(v)) return 'is not a language tag'
      try { Intl.getCanonicalLocales(v) } catch { return 'is not a valid language tag' }
      return null
    },
    pattern: () => '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'
  },
  url: {
    expected: () => 'an absolute http:// or https:// URL',
    check: (v) => { const u = httpUrl(v); return typeof u === 'string' ? u : null },
    pattern: () => '^[hH][tT][tT][pP][sS]?://[^\\s/?#]+(?:[/?#]\\S*)?$'
  },
  'base-url': {
    expected: () => 'an http:// or https:// URL without query, fragment or trailing slash, e.g. `https://id.example.com`',
    check: (v) => {
      const u = httpUrl(v)
      if (typeof u === 'string') return u
      if (/[?#]/.test(v)) return 'must not have a query string or fragment'
      if (v.endsWith('/')) return 'must not end with a slash'
      return null
    },
    pattern: () => '^[hH][tT][tT][pP][sS]?://[^\\s/?#]+(?:/[^\\s?#]*[^\\s/?#])?$'
  },
  origin: {
    expected: () => 'a browser origin: scheme://host[:port], no path, e.g. `https://acme.app`',
    check: (v) => {
      const u = httpUrl(v)
      if (typeof u === 'string') return u
      if (u.origin !== v) return u.origin.toLowerCase() === v.toLowerCase().replace(/\/$/, '') || `${u.origin}/` === v ? `is not written as browsers send it: use ${u.origin}` : 'is not an origin (no path, query or trailing slash)'
      return null
    },
    pattern: () => '^https?://[a-z0-9.-]+(?::[0-9]{1,5})?$|^https?://\\[[0-9a-f:.]+\\](?::[0-9]{1,5})?$'
  },
  'redirect-uri': {
    expected: () => 'an absolute URI without a fragment (http(s) or an app\'s own scheme, e.g. `com.acme.app:/callback`)',
    check: (v) => {
      if (CONTROL_OR_SPACE.test(v)) return 'contains a space or a control character'
      if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(v)) return 'is not an absolute URI (it needs a scheme, e.g. https:)'
      try { new URL(v) } catch { return 'is not a URI' }
      if (v.includes('#')) return 'must not have a fragment (#…)'
      return null
    },
    pattern: () => '^[A-Za-z][A-Za-z0-9+.-]*:[^\\s#]+$'
  },
  'url-template': {
    expected: (s) => `an http:// or https:// URL containing ${placeholders(s)}`,
    check: (v, s) => templateProblem(v, s) ?? (() => {
      const u = httpUrl((s.tokens ?? []).reduce((x, t) => x.split(`{${t}}`).join('x'), v))
      return typeof u === 'string' ? u : null
    })(),
    pattern: (s) => `^${required(s)}[hH][tT][tT][pP][sS]?://[^\\s/?#]+(?:[/?#]\\S*)?$`
  },
  'text-template': {
    expected: (s) => `a text whose placeholders are among ${placeholders(s)}${s.requiredTokens?.length ? ` and that contains ${list(s.requiredTokens.map((t) => `{${t}}`))}` : ''}`,
    check: (v, s) => templateProblem(v, s),
    pattern: (s) => `^${required(s)}(?:[^{]|\\{(?:${(s.tokens ?? []).map(escape).join('|')})\\}|\\{(?![A-Za-z_][A-Za-z0-9_]*\\}))*$`
  },
  duration: {
    expected: () => 'a duration such as `1 minute`, `15 minutes`, `30s`, `2 hours` or `1 day` (at most a year)',
    check: (v) => {
      // One number and one unit: @lukeed/ms also reads run-together units ("5hd") we do not promise.
      if (!DURATION.test(v)) return 'is not a duration'
      const ms = parseDuration(v)
      if (ms === undefined || !Number.isFinite(ms)) return 'is not a duration'
      if (ms < 1) return 'must be longer than zero'
      if (!Number.isInteger(ms)) return 'is not a whole number of milliseconds'
      if (ms > MAX_DURATION_MS) return 'is longer than a year'
      return null
    },
    pattern: () => DURATION.source
  },
  mailbox: {
    expected: () => 'one address, e.g. `Acme <no-reply@acme.app>` or `no-reply@acme.app`',
    check: (v) => {
      const parsed = addressparser(v) as Array<{ address?: string, group?: unknown }>
      if (parsed.length !== 1 || parsed[0].group) return parsed.length > 1 ? 'must be one address, not several' : 'is not an address'
      return /^[^\s@<>]+@[^\s@<>]+$/.test(parsed[0].address ?? '') ? null : 'has no valid address (name@domain)'
    },
    pattern: () => '^(?:[^<>@]*<[^\\s<>@]+@[^\\s<>@]+>|[^\\s<>@,]+@[^\\s<>@,]+)\\s*$'
  }
}

const required = (s: GrammarSchema) => (s.requiredTokens ?? s.tokens ?? []).map((t) => `(?=[\\s\\S]*\\{${escape(t)}\\})`).join('')

function templateProblem (v: string, s: GrammarSchema): string | null {
  const tokens = s.tokens ?? []
  const unknown = [...v.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]).filter((t) => !tokens.includes(t))
  if (unknown.length) return `has an unknown placeholder {${unknown[0]}}: the placeholders are ${placeholders(s)}`
  const missing = (s.requiredTokens ?? tokens).filter((t) => !v.includes(`{${t}}`))
  if (missing.length) return `must contain {${missing[0]}}`
  return null
}

// Checks are pure: a value seen before (a locale, a shared endpoint in 10,000 files) is not parsed again.
const memo = new Map<string, string | null>()
function memoCheck (g: Grammar, value: string, schema: GrammarSchema): string | null {
  const key = `${schema.grammar}\u0000${schema.tokens?.join(',') ?? ''}\u0000${schema.requiredTokens?.join(',') ?? ''}\u0000${value}`
  let r = memo.get(key)
  if (r === undefined) {
    if (memo.size >= 100_000) memo.clear()
    memo.set(key, r = g.check(value, schema))
  }
  return r
}

export function grammarOf (name: string): Grammar | undefined {
  return (GRAMMARS as Record<string, Grammar>)[name]
}
export function grammarNames (): string[] { return Object.keys(GRAMMARS) }

/** Why a value fails its grammar, as the loader words it: `"15 minutez" is not a duration; expected …`. */
export function grammarMessage (schema: GrammarSchema, value: string): string | null {
  const g = grammarOf(schema.grammar)
  if (!g) throw new Error(`unknown grammar ${schema.grammar}`)
  const problem = memoCheck(g, value, schema)
  return problem === null ? null : `${JSON.stringify(value)} ${problem}; expected ${g.expected(schema)}`
}

// Which subtrees have a grammar somewhere, so the walk skips the rest (10,000 tenants load at boot).
const hasGrammarCache = new WeakMap<object, boolean>()
function hasGrammar (s: any): boolean {
  if (!s || typeof s !== 'object') return false
  let v = hasGrammarCache.get(s)
  if (v === undefined) {
    hasGrammarCache.set(s, false) // no recursion through cycles
    v = Boolean(typeof s.grammar === 'string' || typeof s.keyGrammar === 'string' ||
      Object.values(s.properties ?? {}).some(hasGrammar) || Object.values(s.patternProperties ?? {}).some(hasGrammar) ||
      hasGrammar(s.items) || (s.anyOf ?? []).some(hasGrammar) || (s.allOf ?? []).some(hasGrammar) ||
      (typeof s.additionalProperties === 'object' && hasGrammar(s.additionalProperties)))
    hasGrammarCache.set(s, v)
  }
  return v
}

// Union members are told apart by a compiled check (the loader walks 10,000 files at boot).
const checks = new WeakMap<object, TypeCheck<TSchema>>()
function compiled (s: TSchema): TypeCheck<TSchema> {
  let c = checks.get(s)
  if (!c) checks.set(s, c = TypeCompiler.Compile(s))
  return c
}

const pointer = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1')

/** Every grammar failure in `value` (already checked against `schema`'s structure), with its JSON path. */
export function grammarErrors (schema: TSchema, value: unknown, path = ''): Array<{ path: string, message: string }> {
  const out: Array<{ path: string, message: string }> = []
  walk(schema, value, path, out)
  return out
}

function walk (s: any, v: unknown, p: string, out: Array<{ path: string, message: string }>): void {
  if (!hasGrammar(s) || v === undefined) return
  if (typeof s.grammar === 'string' && typeof v === 'string') {
    const m = grammarMessage(s, v)
    if (m) out.push({ path: p, message: m })
    return
  }
  if (s.anyOf) {
    const member = s.anyOf.find((m: TSchema) => compiled(m).Check(v))
    if (member) walk(member, v, p, out)
    return
  }
  if (s.allOf) { for (const m of s.allOf) walk(m, v, p, out); return }
  if (Array.isArray(v)) { if (s.items) v.forEach((x, i) => walk(s.items, x, `${p}/${i}`, out)); return }
  if (v && typeof v === 'object') {
    const record = s.patternProperties ? Object.values(s.patternProperties)[0] : undefined
    for (const [k, x] of Object.entries(v)) {
      if (typeof s.keyGrammar === 'string') {
        const m = grammarMessage({ grammar: s.keyGrammar } as GrammarSchema, k)
        if (m) out.push({ path: `${p}/${pointer(k)}`, message: `the key ${m}` })
      }
      const child = s.properties?.[k] ?? record
      if (child) walk(child, x, `${p}/${pointer(k)}`, out)
    }
  }
}

// ${NAME} and ${NAME:-fallback}, as the loader substitutes them.
export const ENV_REFERENCE = '\\$\\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\\}'

/**
 * The tenant schema as editors read it (VS Code, yaml-language-server): JSON Schema draft-07; a grammar
 * becomes a pattern (with `patternErrorMessage` saying what is expected) that also accepts a `${VAR}`
 * reference; a string with a length bound also accepts one; a field with a default is not required.
 */
export function editorSchema (schema: TSchema): Record<string, unknown> {
  const { $id, ...rest } = toEditor(schema) as Record<string, unknown>
  return { $schema: 'http://json-schema.org/draft-07/schema#', $id, ...rest }
}

function toEditor (s: any): unknown {
  if (Array.isArray(s)) return s.map(toEditor)
  if (!s || typeof s !== 'object') return s
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(s)) {
    if (k === 'grammar' || k === 'tokens' || k === 'requiredTokens' || k === 'keyGrammar') continue
    out[k] = k === 'properties' || k === 'patternProperties'
      ? Object.fromEntries(Object.entries(v as object).map(([name, sub]) => [name, toEditor(sub)]))
      : toEditor(v)
  }
  if (typeof s.grammar === 'string') {
    const g = grammarOf(s.grammar)!
    out.pattern = `${g.pattern(s)}|${ENV_REFERENCE}`
    out.patternErrorMessage = `Expected ${g.expected(s)} (or a \${VAR} reference).`
  }
  if (typeof s.keyGrammar === 'string') {
    const g = grammarOf(s.keyGrammar)!
    out.propertyNames = { pattern: g.pattern(s) }
  }
  if (s.type === 'string' && (s.minLength !== undefined || s.maxLength !== undefined) && typeof s.grammar !== 'string') {
    const { minLength, maxLength, ...plain } = out
    return { ...plain, anyOf: [{ ...(minLength !== undefined ? { minLength } : {}), ...(maxLength !== undefined ? { maxLength } : {}) }, { pattern: ENV_REFERENCE }] }
  }
  if (Array.isArray(s.required) && s.properties) {
    const required = s.required.filter((name: string) => s.properties[name]?.default === undefined)
    if (required.length) out.required = required
    else delete out.required
  }
  return out
}
