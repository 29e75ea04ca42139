// POST /v1/auth/by-link/link/ (mail a one-time link) and /v1/auth/by-link/login/ (trade it for a Token).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { clientIpKey } from '../../plugins/client-ip.ts'
import { DialectError } from '../../plugins/errors.ts'
import { DRF_BODIES } from '../../plugins/schemas.ts'
import { pickLocale, renderMagicLinkMail } from './mail.ts'
import type { ByLinkOptions } from './options.ts'
import { COMMON_ERRORS, Detail, LinkBody, LinkErrors, LinkResponse, LoginBody, LoginErrors, LoginResponse, serializeUser, Throttled } from './schemas.ts'

const DEFAULT_LINK_LIMIT = { max: 5, timeWindow: '15 minutes' }
const E = {
  invalidToken: { token: ['Invalid or expired token.'] },
  invalidClient: { client_key: ['Invalid client key.'] }
}
export default async function magicLinkRoutes (app: FastifyInstance, opts: ByLinkOptions): Promise<void> {
  const tenant = app.tenant
  const linkTtl = opts.tokenTtlSeconds ?? 600
  const sessionTtl = opts.sessionTtlSeconds ?? null
  const linkFor = (token: string) => opts.linkUrl.replace('{token}', encodeURIComponent(token))

  // Limits on link/: one counter per client address and one per address mailed, so neither many
  // addresses from one client nor one address from many clients floods a mailbox.
  const limit = tenant.rateLimits.link ?? DEFAULT_LINK_LIMIT
  const byIp = app.limitHook('by-link:ip', limit, (req) => clientIpKey(req.ip))
  const byEmail = app.limitHook('by-link:email', limit, (req) => emailKey(req.body))
  async function throttle (req: FastifyRequest): Promise<void> {
    await byIp(req)
    // Runs after validation, so a refused body counts only against the tenant-wide limit.
    if (emailKey(req.body) !== '') await byEmail(req)
  }

  app.post('/v1/auth/by-link/link/', {
    preHandler: throttle,
    schema: {
      operationId: 'byLinkSendLink',
      tags: ['by-link'],
      summary: 'Mail a one-time login link to an address',
      description: 'Always 200 for a well-formed address, whether or not an account exists. The link is `linkUrl` with `{token}` filled in; it works once and expires after `tokenTtlSeconds`.',
      consumes: DRF_BODIES,
      body: LinkBody,
      response: { 200: LinkResponse, 400: LinkErrors, 429: Throttled, ...COMMON_ERRORS }
    }
  }, async (req) => {
    const { email } = req.body as { email: string }
    const locale = pickLocale(req.headers['accept-language'], tenant.locales, tenant.defaultLocale)
    const { token } = await tenant.identity.sendMagicLink({
      email,
      ttlSeconds: linkTtl,
      compose: (token) => ({ from: tenant.email.from, ...renderMagicLinkMail(tenant.email, tenant.id, locale, linkFor(token), linkTtl) })
    })
    return opts.debugLinks ? { email, _debug_auth_link: linkFor(token) } : { email }
  })

  app.post('/v1/auth/by-link/login/', {
    schema: {
      operationId: 'byLinkLogin',
      tags: ['by-link'],
      summary: 'Exchange a magic-link token for an auth token',
      description: 'The account is the address the link was mailed to; it is created on first login. A token is single use, expires, and belongs to its tenant.',
      consumes: DRF_BODIES,
      body: LoginBody,
      response: { 200: LoginResponse, 400: LoginErrors, ...COMMON_ERRORS }
    }
  }, async (req) => {
    const values = req.body as { token: string, client_key: string }
    // Checked first, so a wrong client_key does not burn the user's link.
    const client = tenant.client(values.client_key)
    if (!client) throw new DialectError({ status: 400, body: E.invalidClient })
    const result = await tenant.identity.signInWithMagicLink(values.token, { kind: 'token', clientId: client.id, ttlSeconds: sessionTtl })
    if (result.kind !== 'signed-in') throw new DialectError({ status: 400, body: E.invalidToken })
    return { token: result.token, ...serializeUser(result.user) }
  })
}

function emailKey (body: unknown): string {
  const raw = body && typeof body === 'object' ? (body as Record<string, unknown>).email : undefined
  return typeof raw === 'string' ? raw.trim().toLowerCase().slice(0, 254) : ''
}
