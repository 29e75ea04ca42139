// Syncano social login (seed 003; the platform's SocialAuthView in apps/users/v1/views.py and
// apps/core/social_helpers.py): an instance API key and a backend access token in, a user object with a
// new user_key out.
import { randomInt } from 'node:crypto'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { validateFields } from '../../plugins/drf.ts'
import { unwrapProvider } from '../../plugins/errors.ts'
import type { Provider } from '../../plugins/providers/types.ts'
import { bodyOf } from './parsers.ts'
import { DETAILS, refuse, registerResource, resolvedOf, type RouteOptions, USER_KEY_KIND } from './shared.ts'
import { ApiKeyHeaders, AUTH_FIELDS, AuthBadRequest, AuthBody, AuthParams, Detail, SYNCANO_BODIES, UserObject } from './schemas.ts'
import { errorResponses, newUserKey, TAGS, userObject } from './user.ts'

// The platform makes up an address for these when the provider gives none (`<id>@twitter.com`,
// `<id>@linkedin.com`); we store none instead of an invented one, and let the login through as it does.
const NO_EMAIL_NEEDED = new Set(['twitter', 'linkedin'])

export default async function authRoutes (scope: FastifyInstance, opts: RouteOptions & { backends: string[] | null }): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>()
  const tenant = scope.tenant
  const backendOf = (name: string): Provider | undefined =>
    opts.backends === null || opts.backends.includes(name) ? tenant.providers.get(name) : undefined

  registerResource(app, {
    url: '/instances/:instance/user/auth/:backend/',
    onRequest: opts.head,
    preHandler: [opts.apiKey],
    methods: {
      POST: {
        schema: {
          operationId: 'syncanoUserSocialLogin',
          tags: TAGS,
          summary: 'User - social log in: log in (or sign up) with a social backend access token',
          description: 'The provider validates the token; a new user is created on first login. Each login issues a new `user_key` bound to this instance; earlier keys stay valid until reset_key. The API key may also come as `?api_key=`, `?apikey=`, `Authorization: <scheme> <key>` or `_api_key` in the body.',
          security: [{ SyncanoApiKey: [] }],
          consumes: SYNCANO_BODIES,
          params: AuthParams,
          headers: ApiKeyHeaders,
          body: AuthBody,
          response: {
            200: UserObject,
            400: AuthBadRequest,
            401: Detail('No usable access_token (`Invalid authorization token.`), or the provider rejected it (`Invalid username or password.`).', DETAILS.badCredentials[1]),
            ...errorResponses(opts.rateLimited),
            503: Detail('The provider could not be reached (timeout, 5xx): try again.', DETAILS.unavailable[1])
          }
        },
        handler: async (req: FastifyRequest, reply) => {
          const { instance } = resolvedOf(req)
          // SocialAuthView: an invalid serializer is WrongTokenCredentials, before the backend is looked at.
          const v = validateFields(AUTH_FIELDS, bodyOf(req))
          if (!v.ok) throw refuse('badToken')
          const provider = backendOf(String((req.params as { backend?: unknown }).backend))
          if (!provider) throw refuse('unsupportedBackend')

          let profileResult
          if (provider.protocol === 'oauth1') {
            const pair = tokenPair(v.values.access_token!, v.values.access_token_secret)
            if (!pair) throw refuse('badToken')
            profileResult = await provider.profileFromAccessToken(pair.token, pair.secret)
          } else {
            profileResult = await provider.profileFromAccessToken(v.values.access_token!)
          }
          const profile = unwrapProvider(profileResult, provider.name)
          // Account, username and user key commit together: a refused outcome writes nothing.
          const outcome = await tenant.identity.signInWithProfile(profile, {
            requireEmail: !NO_EMAIL_NEEDED.has(provider.type),
            session: { kind: USER_KEY_KIND, clientId: instance.name, token: newUserKey() },
            then: async (tx, s) => { if (s.user.username === null) await tx.updateUser(s.user.id, { username: generatedUsername() }) }
          })
          if (outcome.kind !== 'signed-in') {
            req.log.info({ backend: provider.name, outcome: outcome.kind }, 'syncano: sign-in refused')
            throw refuse(outcome.kind === 'no-email' ? 'missingEmail' : outcome.kind === 'email-in-use' ? 'emailInUse' : 'badCredentials')
          }
          return reply.code(200).send(userObject(outcome.user, instance.name, outcome.token!))
        }
      }
    }
  })
}

/**
 * An OAuth 1.0a pair: the separate access_token_secret when given, else the platform's one field
 * `<token>:<secret>` split at its first colon (social_helpers.py); either half empty is no pair.
 */
function tokenPair (accessToken: string, secret: string | undefined): { token: string, secret: string } | null {
  if (secret !== undefined) return { token: accessToken, secret }
  const i = accessToken.indexOf(':')
  if (i <= 0 || i === accessToken.length - 1) return null
  return { token: accessToken.slice(0, i), secret: accessToken.slice(i + 1) }
}

/** The seed's shape, user_<17 digits>_0; 10^17 random values make a clash within a tenant negligible. */
function generatedUsername (): string {
  let digits = String(randomInt(1, 10))
  for (let i = 0; i < 16; i++) digits += String(randomInt(0, 10))
  return `user_${digits}_0`
}
