// A refused tenant file is visible to operators beyond the log: /readyz lists it (file and JSON path;
// the node stays ready for its good tenants), a metric counts refused files, and a file fixed back to
// its last good content logs that its tenant is served from it again.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { build, tenantDoc } from '../helpers/build.ts'

t.test('refused files in /readyz and /metrics; fixed back, the tenant is logged as served again', async (t) => {
  const d = mkdtempSync(path.join(tmpdir(), 'vst-refused-'))
  const good = JSON.stringify(tenantDoc('one'))
  writeFileSync(path.join(d, 'one.json'), good)
  writeFileSync(path.join(d, 'two.json'), JSON.stringify(tenantDoc('two')))
  const lines: any[] = []
  const sink = new Writable({ write (chunk, _e, done) { for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l)); done() } })
  const { app, api } = await build(t, { tenantsDir: d, logger: pino({ level: 'info' }, sink) as never })
  const ready = async () => { const r = await api('/readyz'); return { status: r.status, body: await r.json() as any } }
  const refusedMetric = async () => Number(/^vestibule_tenant_files\{state="refused"\} (\d+)$/m.exec(await (await api('/metrics')).text())?.[1])

  t.same((await ready()).body.tenants, { served: 2, refused: [] })
  t.equal(await refusedMetric(), 0)

  writeFileSync(path.join(d, 'one.json'), JSON.stringify(tenantDoc('one', { linking: 'sometimes' })))
  await app.reloadTenants()
  const r = await ready()
  t.equal(r.status, 200, 'still ready: the good tenants serve (and "one" keeps its last good config)')
  t.same(r.body.tenants, { served: 2, refused: [{ file: 'one.json', path: '/linking' }] }, 'the refused file and its path, no reason text')
  t.equal(await refusedMetric(), 1, 'the metric counts it')

  lines.length = 0
  writeFileSync(path.join(d, 'one.json'), good)
  await app.reloadTenants()
  t.same((await ready()).body.tenants, { served: 2, refused: [] })
  t.equal(await refusedMetric(), 0)
  t.match(lines, [{ tenant: 'one', file: path.join(d, 'one.json'), msg: 'tenant file is valid again; serving it' }], 'a file fixed back says so')
})
