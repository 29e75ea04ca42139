// POST /v1/auth/social/login/ and /v1/auth/social/login/:provider/: social sign-in with a client key.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { DETAIL, MSG, providerMissing, tokenAuth } from '../../plugins/drf.ts'
import { DialectError, unwrapProvider } from '../../plugins/errors.ts'
import { DRF_BODIES } from '../../plugins/schemas.ts'
import type { ByLinkOptions } from './options.ts'
import { COMMON_ERRORS, Detail, LoginResponse, ProviderParams, SocialBody, SocialErrors, SocialPathBody, serializeUser, Unauthorized, Unavailable } from './schemas.ts'

export const E = {
  invalidClient: { client_key: ['Invalid client key.'] },
  invalidProvider: { provider: ['Invalid provider'] },
  redirectNotAllowed: { redirect_uri: ['This redirect_uri is not allowed for this client.'] },
  invalidCredentials: { non_field_errors: ['Invalid credentials.'] },
  noEmail: { non_field_errors: ['The provider did not give an email address.'] },
  emailInUse: { non_field_errors: ['This email address is already used by another account.'] },
  unavailable: { detail: 'The authentication provider is unavailable. Try again later.' },
  noProvider: 'Provider is not specified'
}

const refuse = (body: unknown) => new DialectError({ status: 400, body })

export default async function socialRoutes (app: FastifyInstance, opts: ByLinkOptions): Promise<void> {
  const tenant = app.tenant
  const sessionTtl = opts.sessionTtlSeconds ?? null
  // The upstream view's TokenAuthentication runs first (rest_social_auth/views.py SocialTokenUserAuthView):
  // no header is fine, a stale or malformed `Authorization: Token` is 401.
  const staleToken = tokenAuth(app, ['token'], { optional: true })

  /** The redirect_uri of the exchange: the body's, else the tenant's `redirectUri`, else the request's Origin + `/`
   *  (django-rest-social-auth views.py get_object: REST_SOCIAL_OAUTH_ABSOLUTE_REDIRECT_URI, then DOMAIN_FROM_ORIGIN). */
  function redirectUriFor (req: FastifyRequest, values: Record<string, string | undefined>): string | undefined {
    if (values.redirect_uri !== undefined) return values.redirect_uri
    if (opts.redirectUri) return opts.redirectUri
    const origin = req.headers.origin
    if (typeof origin !== 'string' || origin.length > 2048) return undefined
    try {
      const u = new URL(origin)
      if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '') return undefined
      return `${u.protocol}//${u.host}/`
    } catch { return undefined }
  }

  async function socialLogin (req: FastifyRequest, providerName: string, values: Record<string, string | undefined>) {
    const redirectUri = redirectUriFor(req, values)
    if (redirectUri === undefined) throw refuse({ redirect_uri: [MSG.required] })
    const client = tenant.client(values.client_key)
    if (!client) throw refuse(E.invalidClient)
    const provider = tenant.providers.get(providerName)
    if (!provider || provider.protocol !== 'oauth2') throw refuse(E.invalidProvider)
    // Whichever way the redirect_uri was found, the client's allow-list decides (never widened by a default or an Origin).
    if (client.redirectUris.length > 0 && !client.redirectUris.includes(redirectUri)) throw refuse(E.redirectNotAllowed)
    const tokens = unwrapProvider(await provider.exchangeCode({ code: values.code!, redirectUri }), providerName)
    const profile = unwrapProvider(await provider.profileFromTokens(tokens), providerName)
    const outcome = await tenant.identity.signInWithProfile(profile, { requireEmail: true, session: { kind: 'token', clientId: client.id, ttlSeconds: sessionTtl } })
    if (outcome.kind === 'no-email') throw refuse(E.noEmail)
    if (outcome.kind === 'email-in-use') throw refuse(E.emailInUse)
    if (outcome.kind !== 'signed-in') throw new Error(`unexpected outcome ${outcome.kind}`)
    return { token: outcome.token!, ...serializeUser(outcome.user) }
  }

  const socialResponses = { 200: LoginResponse, 400: SocialErrors, 401: Unauthorized, 404: Detail, 503: Unavailable, ...COMMON_ERRORS }

  app.post('/v1/auth/social/login/', {
    onRequest: staleToken,
    // No provider at all: django-rest-social-auth answers before its serializer, 400 with the JSON string
    // "Provider is not specified" (views.py post(): respond_error("Provider is not specified") -> Response(data=message)).
    preValidation: async (req, reply) => {
      if (providerMissing(req.body)) await reply.code(400).type('application/json; charset=utf-8').serializer((p: unknown) => JSON.stringify(p)).send(E.noProvider)
    },
    schema: {
      operationId: 'byLinkSocialLogin',
      tags: ['by-link'],
      summary: 'Sign in or sign up with an OAuth2 provider\'s authorization code',
      consumes: DRF_BODIES,
      body: SocialBody,
      response: socialResponses
    }
  }, async (req) => {
    const values = req.body as Record<string, string | undefined>
    return socialLogin(req, values.provider!, values)
  })

  app.post<{ Params: { provider: string } }>('/v1/auth/social/login/:provider/', {
    onRequest: staleToken,
    schema: {
      operationId: 'byLinkSocialLoginWithProvider',
      tags: ['by-link'],
      summary: 'Same as social/login/, with the provider in the URL',
      consumes: DRF_BODIES,
      params: ProviderParams,
      body: SocialPathBody,
      response: socialResponses
    }
  }, async (req) => {
    // An unknown provider in the URL is Django's 404 (upstream decorate_request, test_unknown_provider_session).
    if (!tenant.providers.get(req.params.provider)) throw new DialectError({ status: 404, body: { detail: DETAIL.notFound } })
    return socialLogin(req, req.params.provider, req.body as Record<string, string | undefined>)
  })
}
