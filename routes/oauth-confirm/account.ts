// oauth-confirm's token routes: the tenant's JWKS (so apps verify tokens without calling Vestibule), and the
// routes authenticated with `Authorization: Bearer <jwt>` (freesewing's GET /account; a logout of our own).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { JWTPayload } from 'jose'
import { DialectError } from '../../plugins/errors.ts'
import type { VerifiedSession } from '../../plugins/identity/index.ts'
import { account, SESSION_KIND } from './login.ts'
import { AccountReply, BareError, Jwks, ReasonPhrase } from './schemas.ts'
import { ACCOUNT_ROUTE, JWKS_ROUTE, LOGOUT_ROUTE, sendStatus, TAGS, type Shared } from './shared.ts'

const SECURITY = [{ OAuthConfirmBearer: [] }]
/** How long apps and caches may keep the JWKS. A rotated key is published the moment it signs (apps refetch on an
 *  unknown kid); a retired key can still be held this long by a cache. */
export const JWKS_MAX_AGE = 300
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+) *$/i

const authenticated = new WeakMap<FastifyRequest, VerifiedSession & { claims: JWTPayload }>()

export default async function accountRoutes (app: FastifyInstance, shared: Shared): Promise<void> {
  const tenant = app.tenant
  const { issuer, audience, alg } = shared.jwt

  app.get(JWKS_ROUTE, {
    schema: {
      operationId: 'oauthConfirmJwks',
      tags: TAGS,
      summary: 'The tenant\'s public signing keys (JWKS) that verify the tokens `/oauth/login` returns',
      description: `The key that signs first, then rotated keys that still verify. Cacheable for ${JWKS_MAX_AGE} seconds; refetch on an unknown \`kid\`.`,
      response: {
        200: Jwks,
        429: ReasonPhrase('`Too Many Requests`: over the tenant-wide rate limit; see Retry-After.'),
        500: ReasonPhrase('`Internal Server Error`.')
      }
    }
  }, async (_req, reply) => {
    const jwks = await tenant.identity.jwks(alg)
    return reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE}`).send(jwks)
  })

  /** passport-jwt's `fromAuthHeaderAsBearerToken`: anything else, or a token that does not verify, is 401 `Unauthorized`. */
  async function bearer (req: FastifyRequest): Promise<void> {
    const m = BEARER.exec(String(req.headers.authorization ?? ''))
    const v = m ? await tenant.identity.verifySignedSession([SESSION_KIND], m[1], { issuer, ...(audience !== undefined ? { audience } : {}) }) : undefined
    if (!v) throw new DialectError(sendStatus(401))
    authenticated.set(req, v)
  }
  const who = (req: FastifyRequest) => authenticated.get(req)!

  app.get(ACCOUNT_ROUTE, {
    onRequest: bearer,
    schema: {
      operationId: 'oauthConfirmAccount',
      tags: TAGS,
      summary: 'The signed-in account (freesewing\'s `GET /account`)',
      security: SECURITY,
      response: { 200: AccountReply, 401: ReasonPhrase('`Unauthorized`: no `Authorization: Bearer` token, or one that does not verify or whose session is gone.') }
    }
  }, async (req, reply) => {
    const { user, claims } = who(req)
    const provider = typeof claims.provider === 'string' ? claims.provider : ''
    reply.header('cache-control', 'no-store')
    return { account: account(user, { provider, language: user.locale ?? tenant.defaultLocale, isNew: false }), people: {}, patterns: {} }
  })

  app.post(LOGOUT_ROUTE, {
    onRequest: bearer,
    schema: {
      operationId: 'oauthConfirmLogout',
      tags: TAGS,
      summary: 'Revoke the session of this token (a Vestibule addition: freesewing\'s tokens cannot be revoked)',
      security: SECURITY,
      response: { 204: BareError('Revoked: the token is refused from now on.'), 401: ReasonPhrase('`Unauthorized`.') }
    }
  }, async (req, reply) => {
    await tenant.identity.revokeSessionById(who(req).session.id)
    return reply.status(204).send()
  })
}
