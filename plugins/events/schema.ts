// The tenant file's `events` section (what audit events keep, how long) and its `webhooks` list.
import { Type, type Static } from '@sinclair/typebox'
import { DEFAULT_EVENT_RETENTION_DAYS } from '../../workers/cleanup.processor.ts'
import { Url } from '../tenant/strings.ts'

export const DEFAULT_RETENTION_DAYS = DEFAULT_EVENT_RETENTION_DAYS

export const EventsSchema = Type.Object({
  clientAddress: Type.Union([Type.Literal('truncated'), Type.Literal('full'), Type.Literal('none')], {
    default: 'truncated',
    description: 'Client address stored with each audit event: `truncated` (IPv4 to its /24, IPv6 to its /48; the default), `full`, or `none`.'
  }),
  retentionDays: Type.Integer({
    minimum: 1, maximum: 3650, default: DEFAULT_RETENTION_DAYS,
    description: `Days audit events are kept; older ones are deleted in batches by the maintenance worker (default ${DEFAULT_RETENTION_DAYS}). Takes effect once the webhook relay has read an event of this tenant after the change (docs/events.md).`
  })
}, { additionalProperties: false, description: 'Audit events of this tenant (docs/events.md).' })

export type EventsConfig = Static<typeof EventsSchema>

export const WebhookSchema = Type.Object({
  url: Url({ description: 'Where events are POSTed (Standard Webhooks). Must reach a public address unless allowPrivateNetwork is true; one entry per URL.' }),
  events: Type.Array(Type.String(), {
    minItems: 1,
    description: 'Public event names to send (`user.registered`, `user.signed_in`, … see docs/events.md), or `["*"]` for all of them.'
  }),
  secret: Type.String({ writeOnly: true, description: 'Signing secret: "whsec_" + base64 of 24 to 64 random bytes; use "${ENV_VAR}" rather than a literal. Sealed at rest in stored tenants.' }),
  allowPrivateNetwork: Type.Optional(Type.Boolean({ description: 'Allow the URL to reach loopback, private, link-local and unique-local addresses (an endpoint on the operator\'s own network; tests). Default false.' }))
}, { additionalProperties: false, description: 'One webhook endpoint.' })

export const WebhooksSchema = Type.Array(WebhookSchema, {
  default: [],
  description: 'Webhook endpoints this tenant\'s events are sent to, signed per the Standard Webhooks specification (docs/events.md).'
})

export type WebhookConfig = Static<typeof WebhookSchema>
