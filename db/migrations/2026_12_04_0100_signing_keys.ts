// Per-tenant JWT signing keys (issue 17): the private key sealed (AES-256-GCM, plugins/crypto.ts), the public
// JWK in the clear for the tenant's JWKS. One current key per tenant signs; rotated keys still verify until
// retired. Frozen once landed: later changes go in a new migration.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('signing_keys')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    // RFC 7638 thumbprint of the public key: the JWT header's `kid`.
    .addColumn('kid', 'text', (c) => c.notNull())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'jsonb', (c) => c.notNull())
    .addColumn('private_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Set when a newer key took over signing: this one still verifies.
    .addColumn('rotated_at', 'timestamptz')
    // Set when it stops verifying: gone from the JWKS, tokens it signed are refused.
    .addColumn('retired_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('signing_keys_kid_uq').unique().on('signing_keys').columns(['tenant_id', 'kid']).execute()
  // At most one signing key per tenant: concurrent first uses create one.
  await db.schema.createIndex('signing_keys_current_uq').unique().on('signing_keys').column('tenant_id')
    .where(sql.ref('rotated_at'), 'is', null).execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('signing_keys').ifExists().execute()
}
