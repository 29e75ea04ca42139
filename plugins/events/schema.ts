// The tenant file's `events` section: how much of the client address audit events keep.
import { Type, type Static } from '@sinclair/typebox'

export const EventsSchema = Type.Object({
  clientAddress: Type.Union([Type.Literal('truncated'), Type.Literal('full'), Type.Literal('none')], {
    default: 'truncated',
    description: 'Client address stored with each audit event: `truncated` (IPv4 to its /24, IPv6 to its /48; the default), `full`, or `none`.'
  })
}, { additionalProperties: false, description: 'Audit events of this tenant (docs/events.md).' })

export type EventsConfig = Static<typeof EventsSchema>
