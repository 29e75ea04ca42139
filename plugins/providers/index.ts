// The provider layer's door: createProviderRegistry builds one provider object per configured key.
import type { Provider, ProviderRegistry, ProviderResult } from './types.ts'
import type { OAuth1ProviderConfig, OAuth2ProviderConfig, ProviderConfig } from './schema.ts'
import { DEFAULT_TIMEOUT_MS } from './http.ts'
import { ProviderConfigError, validUrl } from './oauth2-common.ts'
import { nonPublicHost } from './address-policy.ts'
import { createOidcProvider, DEMO_DEFAULT_ISSUER } from './oidc.ts'
import { createFacebookProvider } from './facebook.ts'
import { createGithubProvider } from './github.ts'
import { createLinkedinProvider } from './linkedin.ts'
import { createTwitterProvider } from './twitter.ts'

export type * from './types.ts'
export type { ProviderConfig, OAuth1ProviderConfig, OAuth2ProviderConfig } from './schema.ts'
export { ProviderConfigSchema, OAuth1ProviderConfigSchema, OAuth2ProviderConfigSchema, OAuth2EndpointsSchema } from './schema.ts'
export { ProviderConfigError, pkceChallenge } from './oauth2-common.ts'
export { providerAgent, privateNetworkAgent, DEFAULT_TIMEOUT_MS } from './http.ts'
export { nonPublicRange, nonPublicHost, NonPublicAddressError } from './address-policy.ts'
export { GOOGLE_DEFAULTS, DEMO_DEFAULT_ISSUER } from './oidc.ts'
export { FACEBOOK_DEFAULTS } from './facebook.ts'
export { GITHUB_DEFAULTS } from './github.ts'
export { LINKEDIN_DEFAULTS } from './linkedin.ts'
export { TWITTER_DEFAULTS } from './twitter.ts'

export interface ProviderRegistryOptions {
  /** Timeout for providers whose config has no timeoutMs (default 10000). */
  defaultTimeoutMs?: number
}

export interface ProviderRegistryWithReady extends ProviderRegistry {
  /**
   * Fetches OIDC discovery for every provider that needs it. Only `oidc` providers configured without
   * endpoints.authorize need this before authorizeUrl; everything else resolves lazily on first use.
   * Resolves to the failures by provider key (empty when all are ready); never rejects.
   */
  ready (): Promise<Record<string, Extract<ProviderResult<never>, { ok: false }>>>
}

const OAUTH2_TYPES = new Set(['google', 'facebook', 'github', 'linkedin', 'oidc', 'demo'])

export function createProviderRegistry (providers: Record<string, ProviderConfig>, opts: ProviderRegistryOptions = {}): ProviderRegistryWithReady {
  const byName = new Map<string, Provider>()
  const readies = new Map<string, () => Promise<ProviderResult<void>>>()
  for (const [name, config] of Object.entries(providers)) {
    const provider = createProvider(name, config, opts)
    byName.set(name, provider)
    if ('ready' in provider && typeof provider.ready === 'function') readies.set(name, provider.ready as () => Promise<ProviderResult<void>>)
  }
  return {
    get: (name) => byName.get(name),
    names: () => [...byName.keys()],
    async ready () {
      const failures: Record<string, Extract<ProviderResult<never>, { ok: false }>> = {}
      await Promise.all([...readies].map(async ([name, ready]) => {
        const r = await ready()
        if (!r.ok) failures[name] = r
      }))
      return failures
    }
  }
}

export function createProvider (name: string, config: ProviderConfig, opts: ProviderRegistryOptions = {}): Provider {
  if (typeof config !== 'object' || config === null) throw new ProviderConfigError(name, 'type', 'is missing (the provider entry is not an object)')
  const type = (config as { type?: unknown }).type
  const timeoutMs = checkTimeout(name, config.timeoutMs ?? opts.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS)
  if (type === 'twitter') {
    const c = config as OAuth1ProviderConfig
    requireString(name, 'consumerKey', c.consumerKey, true)
    requireString(name, 'consumerSecret', c.consumerSecret, false)
    const allowPrivate = checkAllowPrivate(name, c.allowPrivateNetwork)
    for (const [k, v] of Object.entries(c.endpoints ?? {})) {
      validUrl(name, `endpoints.${k}`, v)
      publicUnlessAllowed(name, `endpoints.${k}`, v, allowPrivate)
    }
    return createTwitterProvider({ name, config: c, timeoutMs })
  }
  if (typeof type !== 'string' || !OAUTH2_TYPES.has(type)) {
    throw new ProviderConfigError(name, 'type', `must be one of google, facebook, github, linkedin, oidc, demo, twitter (got ${JSON.stringify(type)})`)
  }
  const c = config as OAuth2ProviderConfig
  requireString(name, 'clientId', c.clientId, true)
  requireString(name, 'clientSecret', c.clientSecret, false)
  const allowPrivate = checkAllowPrivate(name, c.allowPrivateNetwork)
  for (const [k, v] of Object.entries(c.endpoints ?? {})) {
    // The issuer is an identifier, but it is also where discovery is fetched from.
    if (k !== 'issuer') validUrl(name, `endpoints.${k}`, v)
    publicUnlessAllowed(name, `endpoints.${k}`, v, allowPrivate)
  }
  if (c.type === 'demo' && c.endpoints?.issuer === undefined && c.endpoints?.discovery === undefined) {
    publicUnlessAllowed(name, 'endpoints.issuer', DEMO_DEFAULT_ISSUER, allowPrivate, ' (the demo type\'s default)')
  }
  checkAccessTokenOptions(name, c)
  if (c.scope !== undefined && (!Array.isArray(c.scope) || c.scope.some((s) => typeof s !== 'string'))) {
    throw new ProviderConfigError(name, 'scope', 'must be an array of strings')
  }
  switch (c.type) {
    case 'google':
    case 'oidc':
    case 'demo':
      return createOidcProvider({ name, type: c.type, config: c, timeoutMs })
    case 'facebook':
      return createFacebookProvider({ name, config: c, timeoutMs })
    case 'github':
      return createGithubProvider({ name, config: c, timeoutMs })
    case 'linkedin':
      return createLinkedinProvider({ name, config: c, timeoutMs })
  }
  throw new ProviderConfigError(name, 'type', 'is not supported')
}

function requireString (name: string, field: string, value: unknown, nonEmpty: boolean): void {
  if (typeof value !== 'string' || (nonEmpty && value.length === 0)) {
    throw new ProviderConfigError(name, field, nonEmpty ? 'is required (a non-empty string)' : 'is required (a string)')
  }
}

function checkAllowPrivate (name: string, v: unknown): boolean {
  if (v !== undefined && typeof v !== 'boolean') throw new ProviderConfigError(name, 'allowPrivateNetwork', 'must be a boolean')
  return v === true
}

// At load time only what the URL itself shows (an IP literal, localhost); names are checked when resolved.
function publicUnlessAllowed (name: string, field: string, value: unknown, allowPrivate: boolean, note = ''): void {
  if (allowPrivate || typeof value !== 'string') return
  let host: string
  try { host = new URL(value).hostname } catch { return }
  const range = nonPublicHost(host.replace(/^\[|\]$/g, ''))
  if (range === null) return
  throw new ProviderConfigError(name, field, `points at ${host}${note}, in the ${range} range; provider endpoints may not reach loopback, private, link-local or unique-local addresses unless the provider sets allowPrivateNetwork: true`)
}

const ACCESS_TOKEN_CHECKS = new Set(['auto', 'introspection', 'jwt', 'refuse'])
const AUDIENCE_TYPES = new Set(['google', 'oidc', 'demo', 'linkedin'])

function checkAccessTokenOptions (name: string, c: OAuth2ProviderConfig): void {
  const check = c.accessTokenCheck
  if (check !== undefined) {
    if (typeof check !== 'string' || !ACCESS_TOKEN_CHECKS.has(check)) throw new ProviderConfigError(name, 'accessTokenCheck', 'must be one of auto, introspection, jwt, refuse')
    if ((check === 'introspection' || check === 'jwt') && c.type !== 'oidc' && c.type !== 'demo') {
      throw new ProviderConfigError(name, 'accessTokenCheck', `"${check}" is for types oidc and demo; type "${c.type}" takes auto or refuse`)
    }
  }
  const ids = c.acceptedClientIds
  if (ids !== undefined) {
    if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string' || x.length === 0)) throw new ProviderConfigError(name, 'acceptedClientIds', 'must be an array of non-empty strings')
    if (!AUDIENCE_TYPES.has(c.type)) throw new ProviderConfigError(name, 'acceptedClientIds', `applies to types google, oidc, demo and linkedin, not "${c.type}"`)
  }
}

function checkTimeout (name: string, ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 100 || ms > 60_000) {
    throw new ProviderConfigError(name, 'timeoutMs', 'must be an integer between 100 and 60000')
  }
  return ms
}
export { authorizationFlow, type AuthorizationFlow, type FlowOptions, type FlowResult, type FlowFailure, type FlowStore } from './flow.ts'
