// /admin/v1/tenants/:id/webhooks: each configured endpoint's health (failing or not, failures in a row, what it
// still owes) and re-enabling an endpoint marked failing (docs/events.md).
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { enableEndpoint, endpointKey, endpointStatus } from '../../plugins/events/webhooks.ts'
import { recordEvent } from '../../plugins/identity/users.ts'
import type { AdminContext } from './context.ts'
import { notFound } from './errors.ts'
import { ErrorBody, TenantParams } from './schemas.ts'

const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ErrorBody]))
const Nullable = (s: ReturnType<typeof Type.String>) => Type.Union([s, Type.Null()])

const WebhookStatusList = Type.Object({
  items: Type.Array(Type.Object({
    url: Type.String(),
    events: Type.Array(Type.String()),
    failing: Type.Boolean({ description: 'Marked failing: skipped until re-enabled here or by a change of its config.' }),
    failingSince: Nullable(Type.String({ format: 'date-time' })),
    consecutiveFailures: Type.Integer(),
    lastSuccessAt: Nullable(Type.String({ format: 'date-time' })),
    pending: Type.Integer({ description: 'Deliveries still owed (waiting, retrying or held by a failing endpoint).' }),
    dead: Type.Integer({ description: 'Deliveries given up (retries exhausted, address refused, event gone).' })
  }))
}, { title: 'WebhookStatusList' })

const EnableWebhook = Type.Object({ url: Type.String({ description: 'The endpoint\'s URL as configured.' }) }, { additionalProperties: false, title: 'EnableWebhook' })
const WebhookEnabled = Type.Object({ enabled: Type.Literal(true) }, { title: 'WebhookEnabled' })

export default async function webhookRoutes (app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const configOf = async (id: string) => {
    const c = await ctx.router.lookup(id)
    if (!c) throw notFound(`no tenant "${id}"`)
    return c
  }

  app.get('/tenants/:id/webhooks', {
    config: { adminScope: 'events:read' },
    schema: {
      operationId: 'listWebhooks', tags: ['events'], summary: 'Webhook endpoints of a tenant with their delivery health',
      params: TenantParams, response: { 200: WebhookStatusList, ...errors(401, 403, 404, 429) }
    }
  }, async (req) => {
    const { id } = req.params as { id: string }
    return { items: await endpointStatus(ctx.db, id, (await configOf(id)).webhooks ?? []) }
  })

  app.post('/tenants/:id/webhooks/enable', {
    config: { adminScope: 'tenants:write' },
    schema: {
      operationId: 'enableWebhook', tags: ['events'], summary: 'Re-enable an endpoint marked failing; what it owes is delivered again',
      params: TenantParams, body: EnableWebhook, response: { 200: WebhookEnabled, ...errors(400, 401, 403, 404, 429) }
    }
  }, async (req) => {
    const { id } = req.params as { id: string }
    const { url } = req.body as { url: string }
    if (!((await configOf(id)).webhooks ?? []).some((w) => w.url === url)) throw notFound(`tenant "${id}" has no webhook endpoint ${JSON.stringify(url)}`)
    // An admin change: recorded with who did it (the endpoint by its key: a URL may carry a receiver's token).
    await ctx.db.transaction().execute(async (tx) => {
      await enableEndpoint(tx, id, url)
      await recordEvent(tx, id, 'webhook-enabled', null, { by: req.adminToken ? `token:${req.adminToken.id}` : null, endpoint: endpointKey(url) })
    })
    return { enabled: true as const }
  })
}
