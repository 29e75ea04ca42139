// Migrations while other schemas of the same database are created and dropped (other apps, parallel
// test runs): Kysely's introspection reads every schema and fails with 3F000 when one vanishes under
// it; migrateToLatest retries that case, so a migration never fails because of someone else's schema.
import pg from 'pg'
import t from 'tap'
import { createDatabase, migrateToLatest } from '../../db/index.ts'
import { TEST_DATABASE_URL, uniqueName } from '../helpers/build.ts'

t.test('migrations succeed while other schemas churn', async (t) => {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  t.teardown(() => admin.end())
  let stop = false
  let churned = 0
  const churn = (async () => {
    while (!stop) {
      const s = uniqueName('churn')
      await admin.query(`create schema "${s}"; create table "${s}".t (id bigserial primary key, x text)`)
      await admin.query(`drop schema "${s}" cascade`)
      churned++
    }
  })()
  const failures: string[] = []
  for (let i = 0; i < 12; i++) {
    const schema = uniqueName('race')
    const h = await createDatabase({ url: TEST_DATABASE_URL, schema })
    try { await migrateToLatest(h.db, schema) } catch (err) { failures.push((err as Error).message) }
    await h.close()
    const cleanup = new pg.Client({ connectionString: TEST_DATABASE_URL })
    await cleanup.connect()
    await cleanup.query(`drop schema "${schema}" cascade`)
    await cleanup.end()
  }
  stop = true
  await churn
  t.ok(churned > 12, `${churned} schemas created and dropped meanwhile`)
  t.same(failures, [], 'no migration failed')
})
