// The by-link dialect's manifest (seed 001): what the house needs to know; the plugin loads on first use.
import type { DialectManifest } from '../../plugins/dialect.ts'
import { ByLinkOptionsSchema, securitySchemes } from './options.ts'

export default {
  name: 'by-link',
  options: ByLinkOptionsSchema,
  securitySchemes,
  crossChecks (doc, error) {
    if (doc.dialects['by-link'] && doc.clients.length === 0) error('/clients', 'the by-link dialect needs at least one client (client_key)')
  },
  load: () => import('./plugin.ts')
} satisfies DialectManifest
