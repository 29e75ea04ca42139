// The by-link dialect (seed 001): magic-link email login, social login with a client key, me/ and logout/ with `Authorization: Token`.
import type { FastifyInstance } from 'fastify'
import { drfEnvelope, drfMultipart, drfParsers } from '../../plugins/drf.ts'
import { installEnvelope } from '../../plugins/errors.ts'
import accountRoutes from './account.ts'
import magicLinkRoutes from './magic-link.ts'
import type { ByLinkOptions } from './options.ts'
import socialRoutes, { E } from './social.ts'
import { routeGroups } from '../../plugins/plugin-name.ts'

routeGroups(magicLinkRoutes, socialRoutes, accountRoutes)

export default async function byLink (app: FastifyInstance, opts: ByLinkOptions): Promise<void> {
  if (opts.debugLinks) {
    app.log.warn({ tenant: app.tenant.id }, 'by-link debugLinks is ON: magic links are returned in API responses (_debug_auth_link). Never enable this in production.')
  }
  drfParsers(app)
  await drfMultipart(app)
  installEnvelope(app, drfEnvelope({ invalidCredentials: { status: 400, body: E.invalidCredentials }, unavailable: { status: 503, body: E.unavailable } }))
  await app.register(magicLinkRoutes, opts)
  await app.register(socialRoutes, opts)
  await app.register(accountRoutes, opts)
}
