// Tenant-file strings that have a grammar (URLs, URL templates, durations, addresses, names…), as
// TypeBox string schemas carrying a `grammar` keyword. The loader (tenants/grammar.ts) parses every such
// string at load time and refuses it with its JSON path and what was expected; the editor schema turns
// each grammar into a pattern. A dialect marks its own option strings with these instead of a raw regex.
import { Type, type SchemaOptions, type TString } from '@sinclair/typebox'

export type GrammarName =
  | 'tenant-id' | 'name' | 'hostname' | 'locale'
  | 'url' | 'base-url' | 'origin' | 'redirect-uri' | 'url-template'
  | 'text-template' | 'duration' | 'mailbox'

export interface GrammarOptions extends SchemaOptions {
  /** Templates: the `{placeholders}` allowed. */
  tokens?: string[]
  /** Templates: the placeholders that must appear (default for a URL template: all of `tokens`). */
  requiredTokens?: string[]
}

/** A string whose value must parse under the named grammar. */
export function Grammar (grammar: GrammarName, opts: GrammarOptions = {}): TString {
  return Type.String({ ...opts, grammar })
}

/** An absolute http:// or https:// URL. */
export const Url = (opts: SchemaOptions = {}) => Grammar('url', opts)
/** An http(s) URL with the given `{placeholders}`, each present once filled in. */
export const UrlTemplate = (tokens: string[], opts: SchemaOptions = {}) => Grammar('url-template', { ...opts, tokens })
/** A text with `{placeholders}` among `tokens`; `required` ones must appear. */
export const TextTemplate = (tokens: string[], required: string[], opts: SchemaOptions = {}) => Grammar('text-template', { ...opts, tokens, requiredTokens: required })
/** A duration such as `1 minute` or `15m` (the @lukeed/ms grammar @fastify/rate-limit reads). */
export const Duration = (opts: SchemaOptions = {}) => Grammar('duration', opts)
/** A short identifier: letters, digits, `_` and `-`. */
export const Name = (opts: SchemaOptions = {}) => Grammar('name', opts)
