// The capture dialect's manifest (seed 004, Janrain): its `flows` section, the client fields it adds,
// the references between them it checks; the plugin loads on first use.
import type { DialectManifest } from '../../plugins/dialect.ts'
import { publishCapture } from './openapi.ts'
import { CaptureOptionsSchema, clientFields, sections, securitySchemes, type CaptureClient, type FlowConfig } from './options.ts'

export default {
  name: 'capture',
  options: CaptureOptionsSchema,
  sections,
  clientFields,
  securitySchemes,
  crossChecks (doc, error) {
    const flows = (doc.flows ?? []) as FlowConfig[]
    ;(doc.clients as CaptureClient[]).forEach((cl, i) => {
      if (cl.defaultFlow === undefined) return
      const flow = flows.find((f) => f.name === cl.defaultFlow)
      if (!flow) error(`/clients/${i}/defaultFlow`, `no flow named "${cl.defaultFlow}"`)
      else if (cl.defaultFlowVersion !== undefined && !flow.versions.some((v) => v.version === cl.defaultFlowVersion)) {
        error(`/clients/${i}/defaultFlowVersion`, `flow "${cl.defaultFlow}" has no version "${cl.defaultFlowVersion}"`)
      }
    })
    flows.forEach((f, i) => f.versions.forEach((v, j) => {
      if (v.version === 'HEAD') error(`/flows/${i}/versions/${j}/version`, 'HEAD is not a publishable version')
    }))
    if (doc.dialects.capture && doc.clients.length === 0) error('/clients', 'the capture dialect needs at least one client')
  },
  openapi: { publish: publishCapture },
  callbackPaths: (provider) => [`/social/${provider}/callback`],
  load: () => import('./plugin.ts')
} satisfies DialectManifest
