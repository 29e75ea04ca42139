// oauth-confirm login: the frontend trades the confirmation from the callback redirect for the account and a token.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { User } from '../../db/index.ts'
import { DialectError } from '../../plugins/errors.ts'
import { JSON_AND_FORM } from '../../plugins/schemas.ts'
import { TAGS, type Shared } from './shared.ts'
import { type AccountType, BareError, LoginBody, LoginReply } from './schemas.ts'
import { CONFIRMATION_PURPOSE, Throttled, type ConfirmationData } from './sign-in.ts'

const SESSION_KIND = 'oauth-confirm'

export default async function loginRoutes (fastify: FastifyInstance, shared: Shared): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const tenant = app.tenant
  const sessionTtl = shared.opts.sessionTtlSeconds ?? null
  const limit = tenant.rateLimits.login

  app.post('/oauth/login', {
    onRequest: shared.throttle,
    schema: {
      operationId: 'oauthConfirmLogin',
      tags: TAGS,
      summary: 'Trade the confirmation from the frontend redirect for the account and a token',
      description: 'The confirmation is single use and expires after `confirmationTtlSeconds`. Presenting a used confirmation again revokes the token it issued.',
      consumes: JSON_AND_FORM,
      body: LoginBody,
      response: {
        200: LoginReply,
        400: BareError('Unknown, used or expired confirmation, or a malformed body (empty body).'),
        ...(limit ? { 429: Throttled } : {})
      }
    }
  }, async (req) => {
    const result = await tenant.identity.redeem(CONFIRMATION_PURPOSE, req.body.confirmation, async (row, tx, source) => {
      const user = row.user_id === null ? undefined : await tx.getUser(row.user_id)
      if (!user) return null
      const { token } = await tx.issueSession({ userId: user.id, kind: SESSION_KIND, ttlSeconds: sessionTtl, source })
      return { user, token, data: row.data as unknown as ConfirmationData }
    })
    if (!result.ok) {
      // A second use means the confirmation leaked: whoever used it first has lost the token it got (redeem revoked it).
      if (result.reason === 'replayed') req.log.warn({ revoked: result.revoked }, 'oauth-confirm: confirmation replayed; its token is revoked')
      throw new DialectError({ status: 400 })
    }
    return { account: account(result.value.user, result.value.data), token: result.value.token }
  })
}

function account (user: User, data: ConfirmationData): AccountType {
  return {
    id: user.uuid,
    username: user.username,
    email: user.email,
    emailVerified: user.email_verified,
    language: user.locale ?? data.language,
    name: user.display_name,
    givenName: user.given_name,
    familyName: user.family_name,
    picture: user.photo,
    provider: data.provider,
    isNew: data.isNew,
    createdAt: new Date(user.created_at).toISOString()
  }
}
