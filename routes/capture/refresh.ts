// The Janrain mobile SDKs' refresh: `refresh_secret` sent at sign-in, then POST /oauth/refresh_access_token signed
// with it (jump.android CaptureRecord.java refreshAccessToken / getRefreshSignature, jump.ios JRCapture.m
// refreshAccessTokenForDelegate / base64SignatureForRefreshWithDate).
//
// The secret is an HMAC key Vestibule must read back, so it cannot be hashed: it is kept in a one-time token of
// purpose `capture-refresh-secret` whose data is sealed (AES-256-GCM, plugins/crypto.ts, as every one-time token's
// data) and whose lookup key is the access token it is bound to (stored as its SHA-256, like every token). The row
// names the user, so erasing the user deletes it (one_time_tokens.user_id cascades).
import { createHmac } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { TenantIdentity } from '../../plugins/identity/tenant-identity.ts'
import { safeEqual } from '../../plugins/crypto.ts'
import { FORM_ONLY } from '../../plugins/schemas.ts'
import { CaptureError, invalidArgument, missingArguments, permissionError } from './errors.ts'
import type { CaptureClient, CaptureOptions } from './options.ts'
import { RefreshBody, RefreshResponse } from './schemas.ts'

export const REFRESH_SECRET = 'capture-refresh-secret'
/** How far the signed `date` may be from the server's clock, either way. */
export const REFRESH_SKEW_SECONDS = 300

type Body = Record<string, string | undefined>
/** `auth_time`: when the user signed in (ISO); rotation keeps it, so a refreshed token is no fresher a sign-in. */
interface RefreshData { secret: string, client_id: string, source: string | null, auth_time?: string }

/**
 * A `refresh_secret` argument, checked: 16 to 256 printable ASCII characters (both SDKs send 40 hex digits).
 * Shorter is refused: it is the only key of the signature. Absent → undefined.
 */
export function refreshSecretArg (body: Body): string | undefined {
  const v = body.refresh_secret
  if (v === undefined || v === '') return undefined
  if (!/^[\x21-\x7e]{16,256}$/.test(v)) throw invalidArgument('refresh_secret', 'refreshSecret')
  return v
}

/** Binds `secret` to a freshly issued access token (inside the transaction that issued it). */
export async function bindRefreshSecret (tx: TenantIdentity, opts: CaptureOptions, input: { accessToken: string, userId: string, clientId: string, source: string | null, secret: string, authTime?: string }): Promise<void> {
  const data: RefreshData = { secret: input.secret, client_id: input.clientId, source: input.source, auth_time: input.authTime ?? new Date().toISOString() }
  await tx.createToken(REFRESH_SECRET, { token: input.accessToken, userId: input.userId, ttlSeconds: opts.refreshTokenTtlSeconds, data: data as unknown as Record<string, unknown> })
}

/**
 * When the holder of this access token signed in: the sign-in time its refresh binding carries (a token rotated by
 * /oauth/refresh_access_token is new, the sign-in is not), else the session's own creation.
 */
export async function signedInAt (identity: TenantIdentity, accessToken: string, sessionCreated: Date): Promise<Date> {
  const row = await identity.peekToken(REFRESH_SECRET, accessToken)
  const at = (row?.data as RefreshData | undefined)?.auth_time
  return at ? new Date(at) : new Date(sessionCreated)
}

/** base64(HMAC-SHA1(refresh_secret, "refresh_access_token\n" + date + "\n" + access_token + "\n")), as both SDKs sign. */
export function refreshSignature (secret: string, date: string, accessToken: string): string {
  return createHmac('sha1', Buffer.from(secret, 'utf8')).update(`refresh_access_token\n${date}\n${accessToken}\n`, 'utf8').digest('base64')
}

/** `yyyy-MM-dd HH:mm:ss` in UTC (SimpleDateFormat / NSDateFormatter in the SDKs) → epoch ms, or null. */
export function parseRefreshDate (date: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(date)
  if (!m) return null
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number)
  const ms = Date.UTC(y, mo - 1, d, h, mi, s)
  const back = new Date(ms)
  // 2026-02-30 and 25:00:00 are not dates.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== s) return null
  return ms
}

export default async function refreshRoutes (app: FastifyInstance, opts: CaptureOptions): Promise<void> {
  const tenant = app.tenant

  app.post('/oauth/refresh_access_token', {
    schema: {
      operationId: 'captureRefreshAccessToken',
      tags: ['capture'],
      summary: 'Rotate an access token with the refresh_secret given at sign-in (Janrain mobile SDKs)',
      description: `\`signature\` = base64(HMAC-SHA1(refresh_secret, "refresh_access_token\\n" + date + "\\n" + access_token + "\\n")); \`date\` is \`yyyy-MM-dd HH:mm:ss\` in UTC and must be within ${REFRESH_SKEW_SECONDS} seconds of the server's clock. Works after the access token expired, not after it was revoked (or the account blocked or erased). The old access token is revoked and each signature works once. Errors: 100, 200 (\`date\`, \`signature\`), 403.`,
      consumes: FORM_ONLY,
      body: RefreshBody,
      response: { 200: RefreshResponse }
    }
  }, async (req, reply) => {
    reply.header('cache-control', 'no-store')
    const body = req.body as Body
    const missing = ['access_token', 'client_id', 'date', 'locale', 'signature'].filter((k) => !body[k])
    if (missing.length > 0) throw missingArguments(missing)
    const client = tenant.client(body.client_id!) as CaptureClient | undefined
    if (!client || !client.features.includes('login_client')) throw permissionError()

    const when = parseRefreshDate(body.date!)
    if (when === null || Math.abs(Date.now() - when) > REFRESH_SKEW_SECONDS * 1000) throw invalidArgument('date', 'refreshDate', { seconds: REFRESH_SKEW_SECONDS })

    const accessToken = body.access_token!
    // One answer for an unknown, revoked, already rotated, other client's or other tenant's token and a wrong
    // signature: none of them says which.
    const refused = (): CaptureError => invalidArgument('signature', 'refreshSignature')
    const row = await tenant.identity.peekToken(REFRESH_SECRET, accessToken)
    const data = row?.data as RefreshData | undefined
    // The compare runs whatever the row, against a throwaway key when there is none.
    const expected = refreshSignature(data?.secret ?? 'no-refresh-secret-bound-here', body.date!, accessToken)
    const signed = safeEqual(body.signature!, expected)
    if (!row || !data || !row.user_id || !signed || data.client_id !== client.id) throw refused()
    const userId = row.user_id

    return tenant.identity.transaction(async (tx) => {
      // Single use: of two requests with one signature only the one that consumes the binding rotates.
      const consumed = await tx.consumeToken(REFRESH_SECRET, accessToken)
      if (!consumed.ok) throw refused()
      // The access token must still be live or merely expired: a revoked one (sign-out, block, email change) stays dead.
      if (!await tx.revokeSession(accessToken)) throw refused()
      const next = await tx.issueSession({ userId, kind: 'access', ttlSeconds: opts.accessTokenTtlSeconds, clientId: client.id, source: data.source })
      await bindRefreshSecret(tx, opts, { accessToken: next.token, userId, clientId: client.id, source: data.source, secret: data.secret, authTime: data.auth_time })
      return { stat: 'ok' as const, access_token: next.token, expires_in: opts.accessTokenTtlSeconds }
    })
  })
}
