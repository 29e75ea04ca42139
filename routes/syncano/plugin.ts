// The syncano dialect (seed 003, DESIGN 5.4): social login with an instance API key, X-USER-KEY user endpoints.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { clientIpKey } from '../../plugins/client-ip.ts'
import { matchesAny } from '../../plugins/crypto.ts'
import { drfEnvelope, drfParsers, MSG } from '../../plugins/drf.ts'
import { installEnvelope } from '../../plugins/errors.ts'
import type { TenantContext } from '../../plugins/tenant/context.ts'
import authRoutes from './auth.ts'
import type { InstanceConfig, SyncanoOptions } from './options.ts'
import { DETAILS, refuse, resolved, USER_KEY_KIND, type Hook, type RouteOptions } from './shared.ts'
import userRoutes from './user.ts'

const USER_KEY_SHAPE = /^[0-9a-f]{40}$/

export default async function syncano (fastify: FastifyInstance, opts: SyncanoOptions): Promise<void> {
  const tenant: TenantContext = fastify.tenant
  const backends = opts?.backends ?? null
  if (backends) {
    const missing = backends.filter((b) => tenant.providers.get(b) === undefined)
    if (missing.length) throw Object.assign(new Error(`syncano: option backends names unconfigured providers: ${missing.join(', ')}`), { code: 'VST_ERR_SYNCANO_OPTIONS' })
  }

  // Everything under /v1.1 answers in the dialect's envelope, unknown paths included.
  await fastify.register(async (app) => {
    drfParsers(app)
    installEnvelope(app, drfEnvelope({
      invalidCredentials: { status: 401, body: { detail: DETAILS.badCredentials[1] } },
      unavailable: { status: 503, body: { detail: DETAILS.unavailable[1] } },
      notFound: true,
      // OAuth 1.0a backends also need the secret: report every missing field at once, as DRF does.
      moreFieldErrors (req, errors) {
        if (resolved.get(req)?.provider?.protocol !== 'oauth1' || errors.access_token_secret !== undefined) return errors
        const raw = (req.body as Record<string, unknown> | null | undefined)?.access_token_secret
        if (raw !== undefined && !(typeof raw === 'string' && raw.trim() === '')) return errors
        const { access_token: token, ...rest } = errors
        return { ...(token !== undefined ? { access_token: token } : {}), access_token_secret: [MSG.required], ...rest }
      }
    }))

    // Opt-in (tenant `rateLimits.login`): one counter per tenant and client address, before any key check,
    // so guessing API or user keys is throttled too.
    const limit = tenant.rateLimits.login
    const limited: Hook[] = limit ? [app.limitHook('syncano:ip', limit, (req) => clientIpKey(req.ip))] : []

    /** 404 unknown instance, then 403 missing/invalid API key (checked against that instance's keys only). */
    async function apiKey (req: FastifyRequest): Promise<void> {
      const name = (req.params as { instance?: unknown }).instance
      const instance = (tenant.section<InstanceConfig[] | undefined>('instances') ?? []).find((i) => i.name === name)
      if (!instance) throw refuse('notFound')
      const key = header(req, 'x-api-key')
      if (key === null) throw refuse('noApiKey')
      if (!matchesAny(key, instance.apiKeys)) throw refuse('badApiKey')
      resolved.set(req, { instance })
    }

    async function backend (req: FastifyRequest): Promise<void> {
      const name = String((req.params as { backend?: unknown }).backend)
      const provider = backends === null || backends.includes(name) ? tenant.providers.get(name) : undefined
      if (!provider) throw refuse('notFound')
      resolved.get(req)!.provider = provider
    }

    /** 403 missing/invalid user key; a key is valid only in the tenant and instance it was issued for. */
    async function userKey (req: FastifyRequest): Promise<void> {
      const r = resolved.get(req)!
      const key = header(req, 'x-user-key')
      if (key === null) throw refuse('noUserKey')
      if (!USER_KEY_SHAPE.test(key)) throw refuse('badUserKey')
      const session = await tenant.identity.verifySession([USER_KEY_KIND], key)
      if (!session || session.session.client_id !== r.instance.name) throw refuse('badUserKey')
      r.session = session
      r.userKey = key
    }

    const routeOpts: RouteOptions = { limited, apiKey, backend, userKey, rateLimited: limit !== undefined && limit !== null }
    await app.register(authRoutes, routeOpts)
    await app.register(userRoutes, routeOpts)
  }, { prefix: '/v1.1' })
}

function header (req: FastifyRequest, name: string): string | null {
  const v = req.headers[name]
  const s = Array.isArray(v) ? v[0] : v
  return typeof s === 'string' && s.length > 0 ? s : null
}
