// What the syncano route files share: the detail bodies, the user-key session kind, the auth hooks'
// per-request results, and how one URL answers every method as the platform's views do (kept apart
// from plugin.ts, which imports the route files).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { DialectError, MethodNotAllowedError } from '../../plugins/errors.ts'
import type { VerifiedSession } from '../../plugins/identity/index.ts'
import type { InstanceConfig } from './options.ts'
import { methodOf } from './parsers.ts'

export const USER_KEY_KIND = 'user_key'

/**
 * Every `{"detail": …}` body this dialect sends, with its status. Texts are the platform's
 * (apps/core/exceptions.py, DRF 3.7's exceptions) except where seed 003 gives its own.
 */
export const DETAILS = {
  // DRF PermissionDenied: no API key, or a user route without a (valid) user key (permissions fail).
  permissionDenied: [403, 'You do not have permission to perform this action.'],
  // apps/core/authentication.py: AuthenticationFailed, answered 403 (the class sends no WWW-Authenticate).
  noSuchApiKey: [403, 'No such API Key.'],
  // apps/instances/mixins.py InstanceBasedMixin: ModelNotFound(Instance).
  instanceNotFound: [404, 'Instance was not found.'],
  notFound: [404, 'Not found.'],
  // apps/core/exceptions.py WrongTokenCredentials: the body has no usable access_token.
  badToken: [401, 'Invalid authorization token.'],
  // Seed 003: the provider rejected the token.
  badCredentials: [401, 'Invalid username or password.'],
  unsupportedBackend: [400, 'Unsupported social backend.'],
  missingEmail: [400, 'Invalid social scope, missing email.'],
  emailInUse: [400, 'A user with this email address already exists.'],
  unavailable: [503, 'Service temporarily unavailable, try again later.'],
  tooLarge: [413, 'Request body is too large.'],
  serverError: [500, 'A server error occurred.']
} as const satisfies Record<string, readonly [number, string]>

export const refuse = (which: keyof typeof DETAILS) => new DialectError({ status: DETAILS[which][0], body: { detail: DETAILS[which][1] } })

export interface Resolved { instance: InstanceConfig, apiKeyChecked: boolean, session?: VerifiedSession, userKey?: string }
// Per-request results of the auth hooks; private to this dialect.
export const resolved = new WeakMap<FastifyRequest, Resolved>()
export const resolvedOf = (req: FastifyRequest): Resolved => resolved.get(req)!

export type Hook = (req: FastifyRequest) => Promise<void>
/** What the route files get: the hooks they put in front of their routes. */
export interface RouteOptions {
  /** onRequest: rate limit, instance, the API key of the request's head. */
  head: Hook[]
  /** preHandler (the body is parsed): the API key of the body, when the head had none. */
  apiKey: Hook
  /** preHandler: the user key (head, then body). */
  userKey: Hook
  rateLimited: boolean
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH'
const ALL: string[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']
// DRF's Allow header lists methods in View.http_method_names order.
const ORDER = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']

export interface Resource {
  url: string
  onRequest: Hook[]
  preHandler: Hook[]
  /** The methods this URL serves: their (documented) schema and handler. */
  methods: Partial<Record<Method, { schema: Record<string, unknown>, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown> }>>
  /** Methods the platform's permissions refuse (403) before its view could say 405. */
  denied?: string[]
}

/**
 * Registers one URL the way a DRF view answers it: every method passes the same authentication first
 * (so an unauthenticated DELETE is 403, not 405), a text/plain POST is served as its `_method`, and a
 * method the view lacks is `405 Method "X" not allowed.` with an Allow header.
 */
export function registerResource (app: FastifyInstance, r: Resource): void {
  const served = Object.keys(r.methods)
  const allow = ORDER.filter((m) => served.includes(m) || (m === 'HEAD' && served.includes('GET')))
  const dispatch = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    let method = methodOf(req)
    if (method === 'HEAD' && r.methods.GET) method = 'GET'
    if (r.denied?.includes(method)) throw refuse('permissionDenied')
    const route = r.methods[method as Method]
    if (!route) throw new MethodNotAllowedError(method, allow)
    return route.handler(req, reply)
  }
  for (const [method, route] of Object.entries(r.methods)) {
    app.route({ method, url: r.url, onRequest: r.onRequest, preHandler: r.preHandler, schema: route.schema, handler: dispatch })
  }
  const others = ALL.filter((m) => !served.includes(m))
  app.route({ method: others, url: r.url, onRequest: r.onRequest, preHandler: r.preHandler, schema: { hide: true } as Record<string, unknown>, handler: dispatch })
}
