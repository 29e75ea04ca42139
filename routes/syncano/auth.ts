// Syncano social login (seed 003): an instance API key and a backend access token in, a user object with a new user_key out.
import { randomInt } from 'node:crypto'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { MSG } from '../../plugins/drf.ts'
import { DialectError, unwrapProvider } from '../../plugins/errors.ts'
import { JSON_AND_FORM } from '../../plugins/schemas.ts'
import { DETAILS, refuse, resolvedOf, type RouteOptions, USER_KEY_KIND } from './shared.ts'
import { ApiKeyHeaders, AuthBody, type AuthBodyType, AuthParams, BadRequest, Detail, UserObject } from './schemas.ts'
import { errorResponses, newUserKey, TAGS, userObject } from './user.ts'

export default async function authRoutes (scope: FastifyInstance, opts: RouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>()
  const tenant = scope.tenant

  app.post('/instances/:instance/user/auth/:backend/', {
    onRequest: [...opts.limited, opts.apiKey, opts.backend],
    schema: {
      operationId: 'syncanoUserSocialLogin',
      tags: TAGS,
      summary: 'User - social log in: log in (or sign up) with a social backend access token',
      description: 'The provider validates the token; a new user is created on first login. Each login issues a new `user_key` bound to this instance; earlier keys stay valid until reset_key.',
      security: [{ SyncanoApiKey: [] }],
      consumes: JSON_AND_FORM,
      params: AuthParams,
      headers: ApiKeyHeaders,
      body: AuthBody,
      response: {
        200: UserObject,
        400: BadRequest,
        401: Detail('The provider rejected the token.', DETAILS.badCredentials[1]),
        ...errorResponses(opts.rateLimited),
        503: Detail('The provider could not be reached (timeout, 5xx): try again.', DETAILS.unavailable[1])
      }
    }
  }, async (req, reply) => {
    const { instance, provider } = resolvedOf(req)
    const { access_token: accessToken, access_token_secret: secret } = req.body as unknown as AuthBodyType
    if (provider!.protocol === 'oauth1' && secret === undefined) throw new DialectError({ status: 400, body: { access_token_secret: [MSG.required] } })
    const profile = unwrapProvider(provider!.protocol === 'oauth1'
      ? await provider!.profileFromAccessToken(accessToken, secret!)
      : await provider!.profileFromAccessToken(accessToken), provider!.name)
    // Account, username and user key commit together: a refused outcome writes nothing.
    const outcome = await tenant.identity.signInWithProfile(profile, {
      session: { kind: USER_KEY_KIND, clientId: instance.name, token: newUserKey() },
      then: async (tx, s) => { if (s.user.username === null) await tx.updateUser(s.user.id, { username: generatedUsername() }) }
    })
    if (outcome.kind !== 'signed-in') {
      req.log.info({ backend: provider!.name, outcome: outcome.kind }, 'syncano: sign-in refused')
      throw refuse(outcome.kind === 'email-in-use' ? 'emailInUse' : 'badCredentials')
    }
    return reply.code(200).send(userObject(outcome.user, instance.name, outcome.token!))
  })
}

/** The seed's shape, user_<17 digits>_0; 10^17 random values make a clash within a tenant negligible. */
function generatedUsername (): string {
  let digits = String(randomInt(1, 10))
  for (let i = 0; i < 16; i++) digits += String(randomInt(0, 10))
  return `user_${digits}_0`
}
