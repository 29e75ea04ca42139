// Writes tenants/tenant.schema.json from the TypeBox tenant schema (run: npm run tenants:schema).
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { editorSchema } from './grammar.ts'
import { tenantSchema } from './schema.ts'

/** The editor schema (draft-07, what VS Code and yaml-language-server read) of the tenant schema. */
export function tenantJsonSchema (): string {
  return JSON.stringify(editorSchema(tenantSchema()), null, 2) + '\n'
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = new URL('./tenant.schema.json', import.meta.url)
  writeFileSync(out, tenantJsonSchema())
  console.log(`wrote ${fileURLToPath(out)}`)
}
