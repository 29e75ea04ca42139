// The demo tenant (placeholder secrets, the local demo IdP) is refused with NODE_ENV=production, in one
// log line, unless VESTIBULE_ALLOW_DEMO=1; the other tenants of the folder serve.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import t from 'tap'
import { parseTenant } from '../../tenants/loader.ts'
import { TEST_DATABASE_URL, uniqueName } from '../helpers/build.ts'
import { freePort } from '../helpers/redis.ts'

const demo = readFileSync('tenants/demo.json', 'utf8')
const MESSAGE = 'the demo tenant (placeholder secrets, the local demo identity provider) is not served with NODE_ENV=production; point TENANTS_DIR at your own tenant files, or set VESTIBULE_ALLOW_DEMO=1 to serve it anyway'

t.test('the loader refuses the demo in production, accepts it elsewhere or when allowed', async (t) => {
  t.same(parseTenant('tenants/demo.json', demo, { NODE_ENV: 'production' }).errors, [{ file: 'tenants/demo.json', path: '', message: MESSAGE }])
  t.same(parseTenant('tenants/demo.json', demo, {}).errors, [])
  t.same(parseTenant('tenants/demo.json', demo, { NODE_ENV: 'production', VESTIBULE_ALLOW_DEMO: '1' }).errors, [])
  const demoProvider = JSON.stringify({ id: 'acme', email: { from: 'a@b.c' }, providers: { d: { type: 'demo', clientId: 'x', clientSecret: 'y', allowPrivateNetwork: true } } })
  t.match(parseTenant('acme.json', demoProvider, { NODE_ENV: 'production' }).errors, [{ message: MESSAGE }], 'any tenant using the local demo provider')
})

t.test('npm start in production with the default TENANTS_DIR does not serve the demo', async (t) => {
  const schema = uniqueName('vst')
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  await admin.query(`CREATE SCHEMA "${schema}"`)
  t.teardown(async () => { await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`); await admin.end() })
  const port = await freePort()
  const env: Record<string, string | undefined> = { ...process.env, NODE_ENV: 'production', VESTIBULE_SECRET_KEY: 'TwlFWy9C1GXabeoxzXEiU1vAmZQtVqXFJmnTt1OYr7s=', PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: `${TEST_DATABASE_URL}?options=-c%20search_path%3D${schema}`, REDIS_URL: '', TENANTS_WATCH: '0' }
  delete env.TENANTS_DIR
  delete env.VESTIBULE_ALLOW_DEMO
  const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts', 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (c) => { out += c })
  child.stderr.on('data', (c) => { out += c })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  for (let i = 0; i < 600 && !out.includes('Vestibule listening'); i++) await new Promise((r) => setTimeout(r, 100))
  const refusals = out.split('\n').filter((l) => l.includes('demo tenant'))
  t.equal(refusals.length, 1, 'one line')
  t.match(JSON.parse(refusals[0]), { level: 50, msg: `tenant refused: tenants/demo.json: /: ${MESSAGE}` })
  t.equal((await fetch(`http://127.0.0.1:${port}/t/demo/openapi.json`)).status, 404, 'the demo is not served')
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  t.equal(await exited, 0)
})
