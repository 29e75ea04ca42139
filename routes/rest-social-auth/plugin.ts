// The rest-social-auth dialect (seed 000): POST /social-auth (OAuth1 two-step, OAuth2 code), GET/PATCH /user, POST /logout.
import type { FastifyInstance } from 'fastify'
import { drfEnvelope, drfMultipart, drfParsers } from '../../plugins/drf.ts'
import { installEnvelope } from '../../plugins/errors.ts'
import type { RestSocialAuthOptions } from './options.ts'
import socialAuthRoutes, { E } from './social-auth.ts'
import userRoutes from './user.ts'
import { routeGroups } from '../../plugins/plugin-name.ts'

routeGroups(socialAuthRoutes, userRoutes)

export default async function restSocialAuth (app: FastifyInstance, opts: RestSocialAuthOptions): Promise<void> {
  drfParsers(app)
  await drfMultipart(app)
  installEnvelope(app, drfEnvelope({ invalidCredentials: { status: 400, body: E.invalidCredentials }, unavailable: { status: 503, body: E.unavailable } }))
  await app.register(socialAuthRoutes, opts)
  await app.register(userRoutes, opts)
}
