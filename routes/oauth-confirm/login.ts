// oauth-confirm login: the frontend trades the confirmation from the callback redirect for the account and a token.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { User } from '../../db/index.ts'
import { DialectError } from '../../plugins/errors.ts'
import { JSON_AND_FORM } from '../../plugins/schemas.ts'
import { hashToken, safeEqual } from '../../plugins/crypto.ts'
import { LOGIN_ROUTE, sendStatus, TAGS, type Shared } from './shared.ts'
import { type AccountType, LoginBody, LoginReply, ReasonPhrase } from './schemas.ts'
import { CONFIRMATION_PURPOSE, Throttled, type ConfirmationData } from './sign-in.ts'

export const SESSION_KIND = 'oauth-confirm'
/** The shape of our confirmations (and validations): anything else is malformed, 400 before any lookup. */
const SEED_TOKEN = /^[0-9a-f]{32}$/

export default async function loginRoutes (fastify: FastifyInstance, shared: Shared): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const tenant = app.tenant
  const sessionTtl = shared.opts.sessionTtlSeconds ?? null
  const limit = tenant.rateLimits.login

  app.post(LOGIN_ROUTE, {
    onRequest: shared.throttle,
    schema: {
      operationId: 'oauthConfirmLogin',
      tags: TAGS,
      summary: 'Trade the confirmation from the frontend redirect for the account and a token',
      description: 'The confirmation is single use and expires after `confirmationTtlSeconds`; when the redirect carried a validation, it must come with it. Presenting a used confirmation again revokes the token it issued. Failures are text/plain reason phrases (Express `sendStatus`).',
      consumes: JSON_AND_FORM,
      body: LoginBody,
      response: {
        200: LoginReply,
        400: ReasonPhrase('`Bad Request`: a malformed confirmation or validation, or a malformed body.'),
        401: ReasonPhrase('`Unauthorized`: an unknown, used, expired or other-tenant confirmation, or a missing or wrong validation.'),
        403: ReasonPhrase('`Forbidden`: the account is blocked (freesewing: a user who is not active).'),
        ...(limit ? { 429: Throttled } : {})
      }
    }
  }, async (req) => {
    const { confirmation, validation } = req.body
    if (!SEED_TOKEN.test(confirmation) || (validation !== undefined && !SEED_TOKEN.test(validation))) throw new DialectError(sendStatus(400))
    const result = await tenant.identity.redeem(CONFIRMATION_PURPOSE, confirmation, async (row, tx, source) => {
      const data = row.data as unknown as ConfirmationData
      // freesewing's loginOauth: a validation that is not the one the redirect carried is 401 (the confirmation stays spent).
      const expected = data.validation
      if (expected === undefined ? validation !== undefined : validation === undefined || !safeEqual(hashToken(validation), expected)) return null
      const user = row.user_id === null ? undefined : await tx.getUser(row.user_id)
      if (!user) return null
      // freesewing's getToken signs {_id, handle, aud, iss}; ours adds sub, iat, exp and jti (the session: revocable).
      const { token } = await tx.issueSignedSession({ userId: user.id, kind: SESSION_KIND, ttlSeconds: sessionTtl, source }, {
        ...shared.jwt, claims: { _id: user.uuid, handle: user.uuid, provider: data.provider }
      })
      return { user, token, data: row.data as unknown as ConfirmationData }
    })
    if (!result.ok) {
      // A second use means the confirmation leaked: whoever used it first has lost the token it got (redeem revoked it).
      if (result.reason === 'replayed') req.log.warn({ revoked: result.revoked }, 'oauth-confirm: confirmation replayed; its token is revoked')
      throw new DialectError(sendStatus(401))
    }
    const { user, data, token } = result.value
    // freesewing answers {account, people, token, signup}; Vestibule keeps no people (measurement sets): always {}.
    return { account: account(user, data), people: {}, token, signup: data.isNew }
  })
}

/** freesewing's `user.account()` (src/models/user.js) with defaults for what Vestibule does not store, plus Vestibule's own fields. */
export function account (user: User, data: Pick<ConfirmationData, 'provider' | 'language' | 'isNew'>): AccountType {
  const created = new Date(user.created_at).toISOString()
  const picture = user.photo ?? ''
  return {
    _id: user.uuid,
    handle: user.uuid,
    username: user.username,
    email: user.email,
    role: 'user',
    patron: 0,
    bio: '',
    picture,
    status: 'active',
    settings: { language: user.locale ?? data.language, units: 'metric' },
    consent: { profile: false, measurements: false, openData: true },
    time: { created, login: new Date().toISOString() },
    social: { github: data.provider === 'github' ? (user.username ?? '') : '', twitter: '', instagram: '' },
    newsletter: false,
    createdAt: created,
    updatedAt: new Date(user.updated_at).toISOString(),
    pictureUris: { l: picture, m: picture, s: picture, xs: picture },
    id: user.uuid,
    emailVerified: user.email_verified,
    language: user.locale ?? data.language,
    name: user.display_name,
    givenName: user.given_name,
    familyName: user.family_name,
    provider: data.provider,
    isNew: data.isNew
  }
}
