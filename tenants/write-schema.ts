// Writes tenants/tenant.schema.json from the TypeBox tenant schema (run: npm run tenants:schema).
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { tenantSchema } from './schema.ts'

export function tenantJsonSchema (): string {
  return JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...tenantSchema() }, null, 2) + '\n'
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = new URL('./tenant.schema.json', import.meta.url)
  writeFileSync(out, tenantJsonSchema())
  console.log(`wrote ${fileURLToPath(out)}`)
}
