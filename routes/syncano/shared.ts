// What the syncano route files share: the detail bodies, the user-key session kind and the auth hooks'
// per-request results (kept apart from plugin.ts, which imports the route files).
import type { FastifyRequest } from 'fastify'
import { DialectError } from '../../plugins/errors.ts'
import type { VerifiedSession } from '../../plugins/identity/index.ts'
import type { Provider } from '../../plugins/providers/types.ts'
import type { InstanceConfig } from './options.ts'

export const USER_KEY_KIND = 'user_key'

/** Every `{"detail": …}` body this dialect sends, with its status. */
export const DETAILS = {
  noApiKey: [403, 'No API key provided.'],
  badApiKey: [403, 'Invalid API key.'],
  noUserKey: [403, 'No user key provided.'],
  badUserKey: [403, 'Invalid user key.'],
  notFound: [404, 'Not found.'],
  badCredentials: [401, 'Invalid username or password.'],
  emailInUse: [400, 'A user with this email address already exists.'],
  unavailable: [503, 'Service temporarily unavailable, try again later.'],
  tooLarge: [413, 'Request body is too large.'],
  serverError: [500, 'A server error occurred.']
} as const satisfies Record<string, readonly [number, string]>

export const refuse = (which: keyof typeof DETAILS) => new DialectError({ status: DETAILS[which][0], body: { detail: DETAILS[which][1] } })

export interface Resolved { instance: InstanceConfig, provider?: Provider, session?: VerifiedSession, userKey?: string }
// Per-request results of the auth hooks; private to this dialect.
export const resolved = new WeakMap<FastifyRequest, Resolved>()
export const resolvedOf = (req: FastifyRequest): Resolved => resolved.get(req)!

export type Hook = (req: FastifyRequest) => Promise<void>
/** What the route files get: the hooks they put in front of their routes. */
export interface RouteOptions { limited: Hook[], apiKey: Hook, backend: Hook, userKey: Hook, rateLimited: boolean }
