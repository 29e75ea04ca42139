// Retention of audit events (issue 22): the maintenance worker's cleanup deletes, in batches, events older than
// their tenant's events.retentionDays (event_settings, kept by the webhook relay from the tenant config) or the
// default; finished webhook deliveries go after the outbox retention, owed ones stay. Both engines.
import t from 'tap'
import { sql } from 'kysely'
import { cleanupExpired, DEFAULT_EVENT_RETENTION_DAYS } from '../../workers/cleanup.processor.ts'
import { build, tenantDoc, testDatabase, type Engine } from '../helpers/build.ts'
import { until } from '../helpers/processes.ts'

for (const engine of ['postgres', 'pglite'] as Engine[]) {
  t.test(`${engine}: events past their tenant's retention are deleted in batches`, async (t) => {
    const { db } = await testDatabase(t, engine)
    const event = (tenant: string, daysAgo: number) => db.insertInto('audit_events').values({
      tenant_id: tenant, user_id: null, type: 'login', data: JSON.stringify({ daysAgo }), created_at: sql`now() - make_interval(days => ${daysAgo})`
    } as never).execute()
    await db.insertInto('event_settings').values([{ tenant_id: 'short', retention_days: 7 }, { tenant_id: 'long', retention_days: 365 }]).execute()
    for (const d of [1, 6, 8, 30, 100]) await event('short', d)
    for (const d of [1, 30, 89, 91, 200]) await event('default', d)
    for (const d of [1, 100, 300, 400]) await event('long', d)
    const r = await cleanupExpired(db, { batchSize: 2, pauseMs: 0 })
    t.equal(r.events, 3 + 2 + 1, 'short: 8, 30, 100; default: 91, 200; long: 400')
    const left = await db.selectFrom('audit_events').select(['tenant_id', 'data']).orderBy('id').execute()
    const days = (tenant: string) => left.filter((e) => e.tenant_id === tenant).map((e) => (e.data as { daysAgo: number }).daysAgo)
    t.same(days('short'), [1, 6])
    t.same(days('default'), [1, 30, 89])
    t.same(days('long'), [1, 100, 300])
    t.equal(DEFAULT_EVENT_RETENTION_DAYS, 90)

    // Webhook deliveries: delivered or dead past the outbox retention go; owed ones stay however old.
    const delivery = (eventId: number, state: 'delivered' | 'dead' | 'owed', daysAgo: number) => db.insertInto('webhook_deliveries').values({
      tenant_id: 'short', endpoint: 'e', event_id: String(eventId), user_id: null,
      delivered_at: state === 'delivered' ? sql`now() - make_interval(days => ${daysAgo})` : null,
      dead_at: state === 'dead' ? sql`now() - make_interval(days => ${daysAgo})` : null
    } as never).execute()
    await delivery(1, 'delivered', 8); await delivery(2, 'dead', 8); await delivery(3, 'delivered', 1); await delivery(4, 'owed', 30)
    const r2 = await cleanupExpired(db, { batchSize: 2, pauseMs: 0 })
    t.equal(r2.webhookDeliveries, 2)
    t.same((await db.selectFrom('webhook_deliveries').select('event_id').orderBy('event_id').execute()).map((d) => String(d.event_id)), ['3', '4'])
    t.equal(r2.events, 0, 'nothing more to delete')
  })
}

t.test('the relay keeps event_settings from the tenant config for the maintenance worker', async (t) => {
  const b = await build(t, { tenants: [tenantDoc('keep', { events: { retentionDays: 7 } }), tenantDoc('dflt')], webhooks: { relayEveryMs: 100 } })
  for (const tenantId of ['keep', 'dflt']) {
    const { createTenantIdentity } = await import('../../plugins/identity/index.ts')
    const id = createTenantIdentity(b.app.db.db, { tenantId, linking: 'reject', mail: b.app.mail })
    await id.verifyPassword(`nobody@${tenantId}.test`, 'x') // one login-failed event
  }
  await until('settings written', async () => (await b.app.db.db.selectFrom('event_settings').select('tenant_id').execute()).length === 2, 10_000)
  const rows = await b.app.db.db.selectFrom('event_settings').select(['tenant_id', 'retention_days']).orderBy('tenant_id').execute()
  t.same(rows, [{ tenant_id: 'dflt', retention_days: 90 }, { tenant_id: 'keep', retention_days: 7 }])
  await b.app.db.db.updateTable('audit_events').set({ created_at: sql`now() - interval '8 days'` } as never).execute()
  const r = await cleanupExpired(b.app.db.db, { pauseMs: 0 })
  t.equal(r.events, 1, 'the 7-day tenant\'s 8-day-old event goes; the default tenant\'s stays')
  t.same((await b.app.db.db.selectFrom('audit_events').select('tenant_id').execute()).map((e) => e.tenant_id), ['dflt'])
})
