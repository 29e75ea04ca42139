// The syncano dialect (seed 003, DESIGN 5.4): social login with an instance API key, user-key user endpoints,
// in the order the platform's views check things (docs/syncano.md, "Checks and their order").
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { clientIpKey } from '../../plugins/client-ip.ts'
import { matchesAny } from '../../plugins/crypto.ts'
import { drfEnvelope } from '../../plugins/drf.ts'
import { installEnvelope } from '../../plugins/errors.ts'
import type { TenantContext } from '../../plugins/tenant/context.ts'
import authRoutes from './auth.ts'
import { apiKeyFromHead, KEY_MAX, keyFromBody, userKeyFromHead } from './keys.ts'
import type { InstanceConfig, SyncanoOptions } from './options.ts'
import { syncanoParsers } from './parsers.ts'
import { DETAILS, refuse, resolved, USER_KEY_KIND, type Hook, type RouteOptions } from './shared.ts'
import userRoutes from './user.ts'
import { named, routeGroups } from '../../plugins/plugin-name.ts'

const USER_KEY_SHAPE = /^[0-9a-f]{40}$/

routeGroups(authRoutes, userRoutes)

export default async function syncano (fastify: FastifyInstance, opts: SyncanoOptions): Promise<void> {
  const tenant: TenantContext = fastify.tenant
  const backends = opts?.backends ?? null
  if (backends) {
    const missing = backends.filter((b) => tenant.providers.get(b) === undefined)
    if (missing.length) throw Object.assign(new Error(`syncano: option backends names unconfigured providers: ${missing.join(', ')}`), { code: 'VST_ERR_SYNCANO_OPTIONS' })
  }

  // Everything under /v1.1 answers in the dialect's envelope, unknown paths included.
  await fastify.register(named(async function syncanoApi (app: FastifyInstance) {
    await syncanoParsers(app)
    installEnvelope(app, drfEnvelope({
      invalidCredentials: { status: 401, body: { detail: DETAILS.badCredentials[1] } },
      unavailable: { status: 503, body: { detail: DETAILS.unavailable[1] } },
      notFound: true
    }))

    // Opt-in (tenant `rateLimits.login`): one counter per tenant and client address, before any key check,
    // so guessing API or user keys is throttled too.
    const limit = tenant.rateLimits.login
    const limited: Hook[] = limit ? [app.limitHook('syncano:ip', limit, (req) => clientIpKey(req.ip))] : []

    const checkApiKey = (req: FastifyRequest, key: string | null): void => {
      // ApiKeyAuthentication without a key leaves the request anonymous; the view's permissions refuse it.
      if (key === null) throw refuse('permissionDenied')
      // Only the keys of the instance in the path: a key of another instance is no such key here.
      if (key.length > KEY_MAX || !matchesAny(key, resolved.get(req)!.instance.apiKeys)) throw refuse('noSuchApiKey')
      resolved.get(req)!.apiKeyChecked = true
    }

    /** InstanceBasedMixin: the instance (names are lowercase on the platform) before anything else. */
    async function instance (req: FastifyRequest): Promise<void> {
      const name = String((req.params as { instance?: unknown }).instance ?? '').toLowerCase()
      const found = (tenant.section<InstanceConfig[] | undefined>('instances') ?? []).find((i) => i.name.toLowerCase() === name)
      if (!found) throw refuse('instanceNotFound')
      resolved.set(req, { instance: found, apiKeyChecked: false })
    }

    /** A key in the head (header, query, Authorization) is checked before the body is read, as DRF does. */
    async function apiKeyOfHead (req: FastifyRequest): Promise<void> {
      const key = apiKeyFromHead(req)
      if (key !== null) checkApiKey(req, key)
    }

    /** No key in the head: `_api_key` in the parsed body (PreflightParser, forms). */
    async function apiKey (req: FastifyRequest): Promise<void> {
      if (!resolved.get(req)!.apiKeyChecked) checkApiKey(req, keyFromBody(req.body, '_api_key'))
    }

    /** The user key: valid only in the tenant and instance it was issued for; without one, HasUser refuses. */
    async function userKey (req: FastifyRequest): Promise<void> {
      const r = resolved.get(req)!
      const key = userKeyFromHead(req) ?? keyFromBody(req.body, '_user_key')
      if (key === null || !USER_KEY_SHAPE.test(key)) throw refuse('permissionDenied')
      const session = await tenant.identity.verifySession([USER_KEY_KIND], key)
      if (!session || session.session.client_id !== r.instance.name) throw refuse('permissionDenied')
      r.session = session
      r.userKey = key
    }

    const routeOpts: RouteOptions = { head: [...limited, instance, apiKeyOfHead], apiKey, userKey, rateLimited: limit !== undefined && limit !== null }
    await app.register(authRoutes, { ...routeOpts, backends })
    await app.register(userRoutes, routeOpts)
  }), { prefix: '/v1.1' })
}
