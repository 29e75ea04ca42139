// The syncano dialect's manifest (seed 003): its `instances` section, the key headers it reads, and how
// the tenant-wide rate limit tells its clients apart; the plugin loads on first use.
import { hashToken } from '../../plugins/crypto.ts'
import type { DialectManifest } from '../../plugins/dialect.ts'
import { apiKeyFromHead, KEY_MAX } from './keys.ts'
import { type InstanceConfig, sections, securitySchemes, SyncanoOptionsSchema, type SyncanoOptions } from './options.ts'

export default {
  name: 'syncano',
  options: SyncanoOptionsSchema,
  sections,
  securitySchemes,
  // Keys may also come in the query string (?api_key=, ?user_key=): the request log drops query strings
  // (plugins/request-log.ts), test/security/syncano-keys-never-logged.test.ts holds it to that.
  headers: { cors: ['X-API-KEY', 'X-USER-KEY'], secret: ['x-api-key', 'x-user-key'] },
  crossChecks (doc, error) {
    const instances = (doc.instances ?? []) as InstanceConfig[]
    const names = new Set<string>()
    instances.forEach((inst, i) => {
      if (names.has(inst.name)) error(`/instances/${i}/name`, `duplicate instance "${inst.name}"`)
      names.add(inst.name)
    })
    const options = doc.dialects.syncano as SyncanoOptions | undefined
    ;(options?.backends ?? []).forEach((b, i) => { if (!doc.providers[b]) error(`/dialects/syncano/backends/${i}`, `no provider named "${b}"`) })
    if (options && instances.length === 0) error('/instances', 'the syncano dialect needs at least one instance')
  },
  // A request speaks for the instance whose API key its head carries (header, query string or
  // Authorization; the body is not parsed yet: the limit runs first, before any key check).
  rateLimitClient (doc) {
    const instanceOfKey = new Map(((doc.instances ?? []) as InstanceConfig[]).flatMap((i) => i.apiKeys.map((k) => [hashToken(k), i.name] as const)))
    return (req) => {
      const key = apiKeyFromHead(req)
      if (key === null || key.length > KEY_MAX) return null
      const instance = instanceOfKey.get(hashToken(key))
      return instance ? `i:${instance}` : null
    }
  },
  load: () => import('./plugin.ts')
} satisfies DialectManifest
