// TypeBox building blocks every dialect uses, so request strings are bounded and NUL-free
// (PostgreSQL text refuses U+0000: unchecked, it would surface as a 500).
import { Type, type StringOptions } from '@sinclair/typebox'

/** A string without NUL bytes, at most `maxLength` (default 2048) characters. */
export function SafeString (opts: StringOptions = {}) {
  return Type.String({ maxLength: 2048, ...opts, pattern: opts.pattern ?? '^[^\\u0000]*$' })
}

/** Media types of routes that take both JSON and form bodies (the OpenAPI document lists both). */
export const JSON_AND_FORM = ['application/json', 'application/x-www-form-urlencoded']
export const FORM_ONLY = ['application/x-www-form-urlencoded']
/** DRF's default parsers: JSON, form and multipart (JSONParser, FormParser, MultiPartParser). */
export const DRF_BODIES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data']

/** True when a value (string, or strings nested in objects/arrays) contains U+0000. */
export function hasNul (v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\u0000')
  if (Array.isArray(v)) return v.some(hasNul)
  if (v && typeof v === 'object') return Object.values(v).some(hasNul)
  return false
}
