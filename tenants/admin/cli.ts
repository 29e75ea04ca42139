// The operator's admin CLI: `npm run admin -- <command>`. Admin API tokens (created here and only here,
// shown once), and the at-rest key of stored tenants' secrets.
//   token create --scope <scope>[,<scope>…] [--scope …] [--tenant <id>] [--name <text>] [--expires-days <n>]
//   token list [--all]
//   token revoke <id>
//   secrets generate-key
//   secrets reseal
//   signing-keys list|rotate|retire --tenant <id> [--alg ES256|RS256] [<kid>]
//   signing-keys reseal
import { parseArgs } from 'node:util'
import { createDatabase, migrateToLatest } from '../../db/index.ts'
import { generateKey, keyringFromEnv } from '../../db/sealing.ts'
import { JWT_ALGORITHMS, listSigningKeys, recordEvent, resealSigningKeys, retireSigningKey, rotateSigningKey, SigningKeyError, type JwtAlgorithm } from '../../plugins/identity/index.ts'
import { resealAll } from '../db-store.ts'
import { AdminTokenInputError, createAdminToken, listAdminTokens, revokeAdminToken, SCOPES } from './tokens.ts'

const USAGE = `usage: npm run admin -- <command>
  token create --scope <scope>[,<scope>] [--scope …] [--tenant <id>] [--name <text>] [--expires-days <n>]
  token list [--all]
  token revoke <id>
  secrets generate-key     print a new VESTIBULE_SECRET_KEY
  secrets reseal           re-encrypt stored tenants' secrets with VESTIBULE_SECRET_KEY (after a rotation)
  signing-keys list --tenant <id>                   a tenant's JWT signing keys (kid, alg, state)
  signing-keys rotate --tenant <id> [--alg ES256|RS256]   a new key signs; the old one still verifies
  signing-keys retire --tenant <id> <kid>           a rotated key stops verifying (its tokens are refused)
  signing-keys reseal                               re-encrypt every tenant's signing keys with VESTIBULE_SECRET_KEY
scopes: ${SCOPES.join(', ')}
database: DATABASE_URL, or the embedded PGlite under DATA_DIR (default .data)`

function fail (message: string): never {
  console.error(message)
  process.exit(1)
}

async function withDb<T> (fn: (db: Awaited<ReturnType<typeof createDatabase>>['db']) => Promise<T>): Promise<T> {
  const handle = await createDatabase({ url: process.env.DATABASE_URL || undefined, dataDir: `${process.env.DATA_DIR || '.data'}/pglite` })
  try {
    await migrateToLatest(handle.db)
    return await fn(handle.db)
  } finally { await handle.close() }
}

const [group, command, ...rest] = process.argv.slice(2)
const when = (d: Date | null) => (d ? d.toISOString() : '-')

try {
  if (group === 'token' && command === 'create') {
    const { values } = parseArgs({ args: rest, options: { scope: { type: 'string', multiple: true }, tenant: { type: 'string' }, name: { type: 'string' }, 'expires-days': { type: 'string' } } })
    const scopes = (values.scope ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)
    const { token, info } = await withDb((db) => createAdminToken(db, {
      scopes, tenantId: values.tenant ?? null, name: values.name ?? null, expiresInDays: values['expires-days'] !== undefined ? Number(values['expires-days']) : null
    }))
    console.error(`admin token ${info.id} created: scopes ${info.scopes.join(', ')}; ${info.tenantId ? `tenant ${info.tenantId} only` : 'every tenant'}${info.expiresAt ? `; expires ${when(info.expiresAt)}` : ''}`)
    console.error('It is shown this once and stored only as a hash: keep it now.')
    console.log(token)
  } else if (group === 'token' && command === 'list') {
    const { values } = parseArgs({ args: rest, options: { all: { type: 'boolean' } } })
    const tokens = await withDb((db) => listAdminTokens(db, { includeRevoked: values.all }))
    console.log(['id', 'name', 'scopes', 'tenant', 'created', 'expires', 'last used', 'revoked'].join('\t'))
    for (const t of tokens) console.log([t.id, t.name ?? '-', t.scopes.join(','), t.tenantId ?? '*', when(t.createdAt), when(t.expiresAt), when(t.lastUsedAt), when(t.revokedAt)].join('\t'))
  } else if (group === 'token' && command === 'revoke') {
    const id = rest[0]
    if (!id) fail('usage: npm run admin -- token revoke <id>')
    if (!await withDb((db) => revokeAdminToken(db, id))) fail(`no live admin token ${JSON.stringify(id)}`)
    console.log(`admin token ${id} revoked`)
  } else if (group === 'secrets' && command === 'generate-key') {
    console.log(generateKey())
  } else if (group === 'secrets' && command === 'reseal') {
    const ring = keyringFromEnv()
    const r = await withDb((db) => resealAll(db, ring))
    console.log(`re-sealed ${r.tenants} tenant(s) and ${r.versions} version(s) with key ${ring.current!.id}; keys in VESTIBULE_OLD_SECRET_KEYS are no longer needed`)
  } else if (group === 'signing-keys' && command === 'reseal') {
    const n = await withDb((db) => resealSigningKeys(db))
    console.log(`re-sealed ${n} signing key(s) with VESTIBULE_SECRET_KEY; for them, VESTIBULE_OLD_SECRET_KEYS is no longer needed`)
  } else if (group === 'signing-keys' && ['list', 'rotate', 'retire'].includes(command)) {
    // A kid is a base64url thumbprint and may begin with '-', which parseArgs would read as an option: the
    // argument that is neither an option nor an option's value is taken as the kid before parsing.
    const kidAt = rest.findIndex((a, i) => !a.startsWith('--') && !(i > 0 && ['--tenant', '--alg'].includes(rest[i - 1])))
    const kidArg = kidAt >= 0 ? rest[kidAt] : undefined
    const { values } = parseArgs({ args: rest.filter((_, i) => i !== kidAt), options: { tenant: { type: 'string' }, alg: { type: 'string' } } })
    const positionals = kidArg === undefined ? [] : [kidArg]
    const tenant = values.tenant
    if (!tenant || !/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(tenant)) fail(`usage: npm run admin -- signing-keys ${command} --tenant <id>${command === 'retire' ? ' <kid>' : ''}`)
    if (values.alg !== undefined && !(JWT_ALGORITHMS as readonly string[]).includes(values.alg)) fail(`--alg must be ${JWT_ALGORITHMS.join(' or ')}`)
    if (command === 'list') {
      const keys = await withDb((db) => listSigningKeys(db, tenant))
      console.log(['kid', 'alg', 'state', 'created', 'rotated', 'retired'].join('\t'))
      for (const k of keys) console.log([k.kid, k.alg, k.state, when(k.createdAt), when(k.rotatedAt), when(k.retiredAt)].join('\t'))
    } else if (command === 'rotate') {
      const r = await withDb((db) => db.transaction().execute(async (tx) => {
        const rotated = await rotateSigningKey(tx, tenant, values.alg as JwtAlgorithm | undefined)
        await recordEvent(tx, tenant, 'signing-key-rotated', null, { by: 'cli', kid: rotated.current.kid, previous: rotated.previous?.kid ?? null })
        return rotated
      }))
      console.log(`tenant ${tenant}: ${r.current.alg} key ${r.current.kid} signs now${r.previous ? `; ${r.previous.kid} still verifies until retired` : ''}`)
    } else {
      const kid = positionals[0]
      if (!kid) fail('usage: npm run admin -- signing-keys retire --tenant <id> <kid>')
      try {
        await withDb((db) => db.transaction().execute(async (tx) => {
          await retireSigningKey(tx, tenant, kid)
          await recordEvent(tx, tenant, 'signing-key-retired', null, { by: 'cli', kid })
        }))
      } catch (err) {
        if (err instanceof SigningKeyError) fail(err.message)
        throw err
      }
      console.log(`tenant ${tenant}: key ${kid} retired; tokens it signed are refused`)
    }
  } else {
    fail(USAGE)
  }
} catch (err) {
  if (err instanceof AdminTokenInputError) fail(err.message)
  fail(`admin: ${(err as Error).message}`)
}
