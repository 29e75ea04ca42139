// Where Syncano reads its keys (the platform's apps/core/authentication.py, ApiKeyAuthentication):
// the API key from X-API-KEY, ?api_key=, ?apikey=, `Authorization: <scheme> <key>`, then `_api_key` in
// the body; the user key from X-USER-KEY, ?user_key=, ?userkey=, then `_user_key` in the body.
// Kept apart from plugin.ts so the manifest (loaded for every tenant) can read keys for rate limiting.
import type { FastifyRequest } from 'fastify'

/** Longer keys are no keys of ours: never hashed or compared. */
export const KEY_MAX = 512

function header (req: FastifyRequest, name: string): string | null {
  const v = req.headers[name]
  const s = Array.isArray(v) ? v[0] : v
  return typeof s === 'string' && s.length > 0 ? s : null
}

/** Django's QueryDict.get: the last value of a repeated parameter; an empty one counts as absent. */
function query (req: FastifyRequest, name: string): string | null {
  const q = req.query as Record<string, unknown> | null | undefined
  const v = q && typeof q === 'object' ? q[name] : undefined
  const s = Array.isArray(v) ? v[v.length - 1] : v
  return typeof s === 'string' && s.length > 0 ? s : null
}

/**
 * The API key from the request's head, in the platform's order, or null (then the body may carry one).
 * `Authorization` counts only when it is exactly `<scheme> <key>` (Python's `split(' ', 2)` unpacked
 * into two names; HTTP strips trailing spaces, so the key part is never empty).
 */
export function apiKeyFromHead (req: FastifyRequest): string | null {
  const direct = header(req, 'x-api-key') ?? query(req, 'api_key') ?? query(req, 'apikey')
  if (direct !== null) return direct
  const parts = header(req, 'authorization')?.split(' ')
  return parts?.length === 2 && parts[1] !== '' ? parts[1] : null
}

/** The user key from the request's head (header, then query string). */
export function userKeyFromHead (req: FastifyRequest): string | null {
  return header(req, 'x-user-key') ?? query(req, 'user_key') ?? query(req, 'userkey')
}

/** `_api_key` / `_user_key` of a parsed body, read only when the body is a dictionary (as the platform does). */
export function keyFromBody (body: unknown, name: '_api_key' | '_user_key'): string | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null
  const v = (body as Record<string, unknown>)[name]
  const s = Array.isArray(v) ? v[v.length - 1] : v
  return typeof s === 'string' && s.length > 0 ? s : null
}
