// The by-link dialect (seed 001): magic-link email login, social login with a client key, me/ and logout/ with `Authorization: Token`.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { User } from '../../db/index.ts'
import {
  consumeOneTimeToken, createOneTimeToken, createUser, findUserByEmail, inTransaction, issueSession, transactionWithRaceRetry,
  recordEvent, resolveSocialLogin, revokeSession, updateUser
} from '../../plugins/identity/index.ts'
import type { ProviderFailure } from '../../plugins/providers/types.ts'
import { clientIpKey } from '../../plugins/client-ip.ts'
import { RateLimitedError } from '../../plugins/rate-limit.ts'
import { JSON_AND_FORM } from '../../plugins/schemas.ts'
import { auth, DETAIL, installErrorHandler, rawBody, tokenAuth, validateFields, type FieldSpec } from '../../plugins/drf.ts'
import { pickLocale, renderMagicLinkMail } from './mail.ts'
import type { ByLinkOptions } from './options.ts'
import {
  Detail, LINK_FIELDS, LinkBody, LinkErrors, LinkResponse, LOGIN_FIELDS, LoginBody, LoginErrors, LoginResponse, ProviderParams,
  SOCIAL_FIELDS, SOCIAL_PATH_FIELDS, SocialBody, SocialErrors, SocialPathBody, Throttled, Unauthorized, Unavailable, UserResponse
} from './schemas.ts'

const TAGS = ['by-link']
const SECURITY = [{ TokenAuth: [] }]
const SESSION_KINDS = ['token'] as const
const DEFAULT_LINK_LIMIT = { max: 5, timeWindow: '15 minutes' }

const E = {
  invalidToken: { token: ['Invalid or expired token.'] },
  invalidClient: { client_key: ['Invalid client key.'] },
  invalidProvider: { provider: ['Invalid provider'] },
  redirectNotAllowed: { redirect_uri: ['This redirect_uri is not allowed for this client.'] },
  invalidCredentials: { non_field_errors: ['Invalid credentials.'] },
  noEmail: { non_field_errors: ['The provider did not give an email address.'] },
  emailInUse: { non_field_errors: ['This email address is already used by another account.'] },
  unavailable: { detail: 'The authentication provider is unavailable. Try again later.' }
}

const COMMON_ERRORS = { 413: Detail, 415: Detail }

export default async function byLink (app: FastifyInstance, opts: ByLinkOptions): Promise<void> {
  const tenant = app.tenant
  const linkTtl = opts.tokenTtlSeconds ?? 900
  const sessionTtl = opts.sessionTtlSeconds ?? null
  if (opts.debugLinks) {
    app.log.warn({ tenant: tenant.id }, 'by-link debugLinks is ON: magic links are returned in API responses (_debug_auth_link). Never enable this in production.')
  }

  const fieldsByRoute = new Map<string, FieldSpec[]>([
    ['POST /v1/auth/by-link/link/', LINK_FIELDS],
    ['POST /v1/auth/by-link/login/', LOGIN_FIELDS],
    ['POST /v1/auth/social/login/', SOCIAL_FIELDS],
    ['POST /v1/auth/social/login/:provider/', SOCIAL_PATH_FIELDS]
  ])
  installErrorHandler(app, (req) => fieldsByRoute.get(`${req.routeOptions.method} ${req.routeOptions.url}`))
  const authenticate = tokenAuth(app, SESSION_KINDS)

  // Limits on link/: one counter per client address and one per address mailed, so neither many
  // addresses from one client nor one address from many clients floods a mailbox.
  const limit = tenant.rateLimits.link ?? DEFAULT_LINK_LIMIT
  const byIp = app.limiter('by-link:ip', limit, (req) => clientIpKey(req.ip))
  const byEmail = app.limiter('by-link:email', limit, (req) => emailKey(req.body))
  async function throttle (req: FastifyRequest, reply: FastifyReply): Promise<void> {
    // A blank address is refused by the handler; do not pool all blanks in one counter.
    const retryAfter = (await byIp(req)) ?? (emailKey(req.body) === '' ? null : await byEmail(req))
    if (retryAfter !== null) {
      return reply.code(429).header('retry-after', String(retryAfter)).send({ detail: new RateLimitedError(retryAfter).message })
    }
  }

  app.post('/v1/auth/by-link/link/', {
    preHandler: throttle,
    schema: {
      operationId: 'byLinkSendLink',
      tags: TAGS,
      summary: 'Mail a one-time login link to an address',
      description: 'Always 200 for a well-formed address, whether or not an account exists. The link is `linkUrl` with `{token}` filled in; it works once and expires after `tokenTtlSeconds`.',
      consumes: JSON_AND_FORM,
      body: LinkBody,
      response: { 200: LinkResponse, 400: LinkErrors, 429: Throttled, ...COMMON_ERRORS }
    }
  }, async (req, reply) => {
    const v = validateFields(LINK_FIELDS, rawBody(req))
    if (!v.ok) return reply.code(400).send(v.errors)
    const email = v.values.email!
    const locale = pickLocale(req.headers['accept-language'], tenant.locales, tenant.defaultLocale)
    // The token and its mail commit together: no mail without a usable token, no token without its mail.
    const { outboxId, link } = await inTransaction(tenant.db, async (trx) => {
      const { token } = await createOneTimeToken(trx, { tenantId: tenant.id, purpose: 'magic-link', ttlSeconds: linkTtl, data: { email } })
      const link = opts.linkUrl.replace('{token}', encodeURIComponent(token))
      const mail = renderMagicLinkMail(tenant.email, tenant.id, locale, link, linkTtl)
      const outboxId = await tenant.mail.write(trx, { tenantId: tenant.id, to: email, from: tenant.email.from, subject: mail.subject, text: mail.text })
      return { outboxId, link }
    })
    await tenant.mail.dispatch([outboxId])
    return opts.debugLinks ? { email, _debug_auth_link: link } : { email }
  })

  app.post('/v1/auth/by-link/login/', {
    schema: {
      operationId: 'byLinkLogin',
      tags: TAGS,
      summary: 'Exchange a magic-link token for an auth token',
      description: 'The account is the address the link was mailed to; it is created on first login. A token is single use, expires, and belongs to its tenant.',
      consumes: JSON_AND_FORM,
      body: LoginBody,
      response: { 200: LoginResponse, 400: LoginErrors, ...COMMON_ERRORS }
    }
  }, async (req, reply) => {
    const v = validateFields(LOGIN_FIELDS, rawBody(req))
    if (!v.ok) return reply.code(400).send(v.errors)
    // Checked first, so a wrong client_key does not burn the user's link.
    const client = tenant.client(v.values.client_key)
    if (!client) return reply.code(400).send(E.invalidClient)

    // Two first logins of one address may race: the loser decides again once the winner has committed.
    const result = await transactionWithRaceRetry(tenant.db, async (trx) => {
      const consumed = await consumeOneTimeToken(trx, tenant.id, 'magic-link', v.values.token!)
      if (!consumed.ok) return null
      const email = String(consumed.row.data.email)
      let user = await findUserByEmail(trx, tenant.id, email)
      if (user && !user.email_verified) {
        // Pre-hijack defence: an account holding this address unproven may be controlled by whoever
        // typed it (a social login or a password). Proving the address takes the address, not that account.
        await updateUser(trx, tenant.id, user.id, { email: null })
        await recordEvent(trx, tenant.id, 'email-released', user.id, { reason: 'proven-by-magic-link' })
        user = undefined
      }
      if (!user) {
        user = await createUser(trx, tenant.id, { email, email_verified: true })
        await recordEvent(trx, tenant.id, 'register', user.id, { via: 'magic-link' })
      } else {
        await recordEvent(trx, tenant.id, 'login', user.id, { via: 'magic-link' })
      }
      const { token } = await issueSession(trx, { tenantId: tenant.id, userId: user.id, kind: 'token', clientId: client.id, ttlSeconds: sessionTtl })
      return { token, user }
    })
    if (!result) return reply.code(400).send(E.invalidToken)
    return { token: result.token, ...serializeUser(result.user) }
  })

  async function socialLogin (req: FastifyRequest, reply: FastifyReply, providerName: string, values: Record<string, string | undefined>) {
    const client = tenant.client(values.client_key)
    if (!client) return reply.code(400).send(E.invalidClient)
    const provider = tenant.providers.get(providerName)
    if (!provider || provider.protocol !== 'oauth2') return reply.code(400).send(E.invalidProvider)
    if (client.redirectUris.length > 0 && !client.redirectUris.includes(values.redirect_uri!)) return reply.code(400).send(E.redirectNotAllowed)

    const fail = (f: ProviderFailure) => {
      if (f.error === 'unavailable') {
        req.log.warn({ provider: providerName, detail: f.detail }, 'provider unavailable')
        return reply.code(503).send(E.unavailable)
      }
      req.log.info({ provider: providerName, detail: f.detail }, 'provider refused the credentials')
      return reply.code(400).send(E.invalidCredentials)
    }
    const tokens = await provider.exchangeCode({ code: values.code!, redirectUri: values.redirect_uri! })
    if (!tokens.ok) return fail(tokens)
    const profile = await provider.profileFromTokens(tokens.value)
    if (!profile.ok) return fail(profile)

    // Two first logins of one identity or address may race: the loser decides again once the winner has committed.
    const result = await transactionWithRaceRetry(tenant.db, async (trx) => {
      const outcome = await resolveSocialLogin(trx, { tenantId: tenant.id, linking: tenant.linking, profile: profile.value, requireEmail: true })
      if (outcome.kind !== 'login' && outcome.kind !== 'linked' && outcome.kind !== 'created') return { outcome, token: null, user: null }
      const { token } = await issueSession(trx, { tenantId: tenant.id, userId: outcome.user.id, kind: 'token', clientId: client.id, ttlSeconds: sessionTtl })
      return { outcome, token, user: outcome.user }
    })
    if (result.outcome.kind === 'no-email') return reply.code(400).send(E.noEmail)
    if (result.outcome.kind === 'email-in-use') return reply.code(400).send(E.emailInUse)
    if (result.token === null || result.user === null) throw new Error(`unexpected outcome ${result.outcome.kind}`)
    return reply.code(200).send({ token: result.token, ...serializeUser(result.user) })
  }

  const socialResponses = { 200: LoginResponse, 400: SocialErrors, 503: Unavailable, ...COMMON_ERRORS }

  app.post('/v1/auth/social/login/', {
    schema: {
      operationId: 'byLinkSocialLogin',
      tags: TAGS,
      summary: 'Sign in or sign up with an OAuth2 provider\'s authorization code',
      consumes: JSON_AND_FORM,
      body: SocialBody,
      response: socialResponses
    }
  }, async (req, reply) => {
    const v = validateFields(SOCIAL_FIELDS, rawBody(req))
    if (!v.ok) return reply.code(400).send(v.errors)
    return socialLogin(req, reply, v.values.provider!, v.values)
  })

  app.post<{ Params: { provider: string } }>('/v1/auth/social/login/:provider/', {
    schema: {
      operationId: 'byLinkSocialLoginWithProvider',
      tags: TAGS,
      summary: 'Same as social/login/, with the provider in the URL',
      consumes: JSON_AND_FORM,
      params: ProviderParams,
      body: SocialPathBody,
      response: socialResponses
    }
  }, async (req, reply) => {
    const v = validateFields(SOCIAL_PATH_FIELDS, rawBody(req))
    if (!v.ok) return reply.code(400).send(v.errors)
    return socialLogin(req, reply, req.params.provider, v.values)
  })

  app.get('/v1/auth/me/', {
    onRequest: authenticate,
    schema: {
      operationId: 'byLinkMe',
      tags: TAGS,
      summary: 'The authenticated user',
      security: SECURITY,
      response: { 200: UserResponse, 401: Unauthorized }
    }
  }, async (req) => serializeUser(auth(req).user))

  app.post('/v1/auth/logout/', {
    onRequest: authenticate,
    schema: {
      operationId: 'byLinkLogout',
      tags: TAGS,
      summary: 'Revoke the token used for this request',
      security: SECURITY,
      response: { 200: Detail, 401: Unauthorized, ...COMMON_ERRORS }
    }
  }, async (req) => {
    await revokeSession(tenant.db, tenant.id, auth(req).token)
    return { detail: DETAIL.loggedOut }
  })
}

function emailKey (body: unknown): string {
  const raw = body && typeof body === 'object' ? (body as Record<string, unknown>).email : undefined
  return typeof raw === 'string' ? raw.trim().toLowerCase().slice(0, 254) : ''
}

function serializeUser (u: User) {
  return { id: Number(u.id), email: u.email, first_name: u.given_name ?? '', last_name: u.family_name ?? '' }
}
