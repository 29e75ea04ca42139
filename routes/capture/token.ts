// POST /oauth/token (authorization_code and refresh_token grants, client authentication) and POST /entity.
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TenantIdentity } from '../../plugins/identity/tenant-identity.ts'
import { hashToken, matchesAny } from '../../plugins/crypto.ts'
import { basicCredentials } from '../../plugins/http-auth.ts'
import { accessTokenOf } from './args.ts'
import { FORM_ONLY } from '../../plugins/schemas.ts'
import type { CaptureClient as ClientConfig } from './options.ts'
import { CaptureError, invalidArgument, missingArguments, OAuthError } from './errors.ts'
import type { CaptureClient, CaptureOptions } from './options.ts'
import { EntityBody, EntityResponse, OAuthErrorBody, TokenBody, TokenSuccess } from './schemas.ts'
import { bindRefreshSecret, refreshSecretArg } from './refresh.ts'
import { loadCaptureUser } from './user.ts'

type Body = Record<string, string | undefined>

// A constant the compare can run against when the client is unknown, so timing says nothing about which ids exist.
const NO_SECRET = hashToken('capture-no-client-secret')

export default async function tokenRoutes (app: FastifyInstance, opts: CaptureOptions): Promise<void> {
  const tenant = app.tenant

  function authenticateClient (authorization: string | undefined, body: Body): CaptureClient {
    const basic = basicCredentials(authorization)
    const id = basic?.id ?? body.client_id
    const secret = basic?.secret ?? body.client_secret
    const client = (id ? tenant.client(id) : undefined) as ClientConfig | undefined
    // During a rotation the previous secrets are accepted too, until the operator retires them.
    const ok = matchesAny(secret ?? '', [client?.secret ?? NO_SECRET, ...(client?.previousSecrets ?? [])])
    if (!id || !secret || !client || !client.secret || !ok) throw new OAuthError('invalid_client', 'client authentication failed', 402)
    return client
  }

  const tokenHandler = async (req: FastifyRequest, reply: FastifyReply) => {
    // GET /oauth/token reads the query string (Janrain's documentation shows it); POST bodies also get the query's arguments, body winning.
    const body = (req.method === 'GET' ? req.query : req.body) as Body
    reply.header('cache-control', 'no-store')
    const client = authenticateClient(req.headers.authorization, body)
    const grantType = body.grant_type
    if (!grantType) throw OAuthError.missing('grant_type')

    const issue = async (tx: TenantIdentity, userId: string, source: string | null, refreshSecret?: string) => {
      const access = await tx.issueSession({ userId, kind: 'access', ttlSeconds: opts.accessTokenTtlSeconds, clientId: client.id, source })
      if (refreshSecret) await bindRefreshSecret(tx, opts, { accessToken: access.token, userId, clientId: client.id, source, secret: refreshSecret })
      const refresh = await tx.issueSession({ userId, kind: 'refresh', ttlSeconds: opts.refreshTokenTtlSeconds, clientId: client.id, source })
      return { access_token: access.token, token_type: 'Bearer' as const, expires_in: opts.accessTokenTtlSeconds, refresh_token: refresh.token }
    }

    if (grantType === 'authorization_code') {
      const code = body.code
      if (!code) throw OAuthError.missing('code')
      if (!body.redirect_uri) throw OAuthError.missing('redirect_uri')
      let bodySecret: string | undefined
      try { bodySecret = refreshSecretArg(body) } catch { throw OAuthError.invalid('refresh_secret') }
      // Consume and issue in one transaction: a concurrent replay waits for it, then finds the tokens to revoke.
      const result = await tenant.identity.redeem('authorization-code', code, async (row, tx, source) => {
        const data = row.data as { client_id?: string, redirect_uri?: string, refresh_secret?: string }
        // A code shown by another client or for another redirect_uri is spent and refused.
        if (data.client_id !== client.id || data.redirect_uri !== body.redirect_uri || !row.user_id) return null
        const user = await tx.getUser(row.user_id)
        if (!user) return null
        return issue(tx, user.id, source, bodySecret ?? data.refresh_secret)
      })
      if (result.ok) return result.value
      if (result.reason === 'replayed') req.log.warn({ revoked: result.revoked }, 'capture: authorization code replayed; revoked what it issued')
      throw new OAuthError('invalid_grant', 'the authorization code is invalid, expired or already used', 415, 'code')
    }

    if (grantType === 'refresh_token') {
      const refreshToken = body.refresh_token
      if (!refreshToken) throw OAuthError.missing('refresh_token')
      return tenant.identity.transaction(async (tx) => {
        const v = await tx.verifySession(['refresh'], refreshToken)
        const bad = () => new OAuthError('invalid_grant', 'the refresh token is invalid, expired or revoked', 200, 'refresh_token')
        if (!v || v.session.client_id !== client.id) throw bad()
        // Rotation: of two concurrent uses only the one that revokes it gets new tokens.
        if (!await tx.revokeSession(refreshToken)) throw bad()
        return issue(tx, v.user.id, v.session.source)
      })
    }

    throw new OAuthError('unsupported_grant_type', `unsupported grant_type: ${grantType}`, 200, 'grant_type')
  }

  // The route config names the error envelope (plugin.ts bodyOf); typed loosely for the shared handler.
  const oauthConfig = { envelope: 'oauth' } as unknown as FastifyContextConfig
  app.post('/oauth/token', {
    config: oauthConfig,
    schema: {
      operationId: 'captureOauthToken',
      tags: ['capture'],
      summary: 'Exchange an authorization code or a refresh token for an access token',
      description: 'grant_type `authorization_code` (code, redirect_uri) or `refresh_token` (refresh_token; the refresh token rotates). The client authenticates with HTTP Basic or client_id/client_secret in the body. A reused authorization code is refused and revokes every token it issued.',
      consumes: FORM_ONLY,
      security: [{ CaptureClientCredentials: [] }],
      body: TokenBody,
      response: { 200: TokenSuccess, 400: OAuthErrorBody, 401: OAuthErrorBody, 500: OAuthErrorBody }
    }
  }, tokenHandler)

  // GET with query arguments too, as Janrain's /oauth/token documentation shows it.
  app.get('/oauth/token', {
    config: oauthConfig,
    schema: {
      operationId: 'captureOauthTokenGet',
      tags: ['capture'],
      summary: 'Exchange an authorization code or a refresh token (query-string arguments)',
      description: 'grant_type `authorization_code` (code, redirect_uri) or `refresh_token` (refresh_token; the refresh token rotates). The client authenticates with HTTP Basic or client_id/client_secret in the query string. A reused authorization code is refused and revokes every token it issued.',
      security: [{ CaptureClientCredentials: [] }],
      querystring: TokenBody,
      response: { 200: TokenSuccess, 400: OAuthErrorBody, 401: OAuthErrorBody, 500: OAuthErrorBody }
    }
  }, tokenHandler)

  app.post('/entity', {
    schema: {
      operationId: 'captureEntity',
      tags: ['capture'],
      summary: 'Read the signed-in user',
      description: 'Returns the user an access token belongs to as `result`. The token comes as `access_token` in the body or query string, or as `Authorization: Bearer` or `Authorization: OAuth`. An unknown, expired or revoked token is 414 access_token_expired.',
      consumes: FORM_ONLY,
      security: [{ CaptureAccessToken: [] }],
      body: EntityBody,
      response: { 200: EntityResponse }
    }
  }, async (req) => {
    const body = req.body as Body
    const token = accessTokenOf(req.headers.authorization, body)
    if (!token) throw missingArguments(['access_token'])
    if (body.type_name && body.type_name !== 'user') throw invalidArgument('type_name', 'invalidArgument', { name: 'type_name' })
    const v = await tenant.identity.verifySession(['access'], token)
    if (!v) throw CaptureError.of(414, 'access_token_expired', 'accessToken')
    return { stat: 'ok', result: await loadCaptureUser(tenant.identity, v.user) }
  })
}
