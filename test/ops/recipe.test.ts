// The production recipe: the Dockerfile passes a Dockerfile linter (dockerfile-utils, the validator of
// the Docker language server), has two stages, ends as a non-root user with a /healthz HEALTHCHECK, and
// runs only steps this suite runs. With no image builder on the machine, this test runs the runtime
// stage's steps itself: `npm ci --omit=dev` in a scratch folder, the build's dist/ copied in, the
// image's ENV and CMD (`node --max-semi-space-size=32 dist/server.js serve`, no tsx), and the HEALTHCHECK command as written.
import { execFile, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { DockerfileParser } from 'dockerfile-ast'
import { validate } from 'dockerfile-utils'
import pg from 'pg'
import t from 'tap'
import YAML from 'yaml'
import { builtDist } from '../helpers/built.ts'
import { TEST_DATABASE_URL, tenantDoc, uniqueName } from '../helpers/build.ts'
import { freePort } from '../helpers/redis.ts'

t.setTimeout(600_000) // a build and an npm ci of the production dependencies, on a loaded 2-core machine
const run = promisify(execFile)
const text = readFileSync('Dockerfile', 'utf8')
const dockerfile = DockerfileParser.parse(text)
const instructions = dockerfile.getInstructions()
const froms = instructions.map((x, i) => [x, i] as const).filter(([x]) => x.getKeyword() === 'FROM').map(([, i]) => i)
const runtime = instructions.slice(froms[froms.length - 1])
const lineOf = (x: { getRange (): { start: { line: number } } }) => text.split('\n')[x.getRange().start.line]
const args = (keyword: string, from = instructions) => from.filter((x) => x.getKeyword() === keyword).map((x) => x.getArgumentsContent() ?? '')

/** Every RUN of the Dockerfile, and where this suite runs the same command. */
const STEPS_THE_SUITE_RUNS: Record<string, string> = {
  'npm ci --no-audit --no-fund': '.ci/run (before every test)',
  'npm run build': 'test/helpers/built.ts (this test and test/ops/multi-node.test.ts)',
  'npm ci --omit=dev --no-audit --no-fund': 'this test, in a scratch folder'
}

t.test('the Dockerfile lints clean', async (t) => {
  t.same(validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`), [])
})

t.test('two stages; the image runs plain node on dist/ as a non-root user with a /healthz check', async (t) => {
  t.ok(froms.length >= 2, 'multi-stage')
  for (const from of args('FROM')) t.match(from, /^node:\d+\.\d+\.\d+-\S+( AS \w+)?$/, `${from}: a pinned Node image`)
  const user = args('USER', runtime)
  t.equal(user.length, 1)
  t.notMatch(user[0], /^(root|0)(:|$)/, 'not root')
  t.same(runtime.filter((x) => x.getKeyword() === 'CMD').map((x) => JSON.parse(x.getArgumentsContent()!)), [['node', '--max-semi-space-size=32', 'dist/server.js', 'serve']])
  const health = args('HEALTHCHECK', runtime)
  t.equal(health.length, 1)
  t.match(health[0], /\/healthz/)
  t.notMatch(instructions.map(lineOf).join('\n'), /\btsx\b|--import/, 'no tsx at runtime')
  t.match(readFileSync('.dockerignore', 'utf8'), /^node_modules$/m, 'the host\'s node_modules never enter the build context')
})

t.test('every RUN is a step the suite runs', async (t) => {
  const runs = args('RUN')
  t.ok(runs.length > 0)
  for (const r of runs) t.ok(STEPS_THE_SUITE_RUNS[r], `RUN ${r}: ${STEPS_THE_SUITE_RUNS[r] ?? 'run by no test'}`)
  t.match(readFileSync('.ci/run', 'utf8'), /^npm ci --no-audit --no-fund /m, '.ci/run installs the way the build stage does')
})

t.test('compose.yaml has PostgreSQL, Redis, the server and a worker from the same image', async (t) => {
  const compose = YAML.parse(readFileSync('compose.yaml', 'utf8'))
  t.same(Object.keys(compose.services).sort(), ['postgres', 'redis', 'server', 'worker'])
  t.same(compose.services.server.command, ['node', '--max-semi-space-size=32', 'dist/server.js', 'serve'])
  t.same(compose.services.worker.command, ['node', 'dist/server.js', 'worker'])
  t.equal(compose.services.worker.image, compose.services.server.image)
  t.match(compose.services.server.environment, { DATABASE_URL: /@postgres:5432\//, REDIS_URL: 'redis://redis:6379' })
  const unit = readFileSync('deploy/vestibule.service', 'utf8')
  t.match(unit, /^ExecStart=\/usr\/bin\/node --max-semi-space-size=32 dist\/server\.js serve$/m, 'the systemd unit runs the build')
  t.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m, 'reload is SIGHUP')
})

t.test('the runtime stage, step by step: production dependencies only, ENV, CMD and HEALTHCHECK', async (t) => {
  const dist = await builtDist()
  const app = mkdtempSync(path.join(tmpdir(), 'vst-image-'))
  for (const copy of runtime.filter((x) => x.getKeyword() === 'COPY')) {
    if (lineOf(copy).includes('--from=')) continue // the build stage's output: dist/ below
    for (const f of copy.getArgumentsContent()!.split(/\s+/).slice(0, -1)) cpSync(f, path.join(app, f))
  }
  for (const r of args('RUN', runtime)) {
    const [cmd, ...rest] = r.split(' ')
    await run(cmd, rest, { cwd: app, maxBuffer: 16 * 1024 * 1024 })
  }
  cpSync(dist, path.join(app, 'dist'), { recursive: true })
  t.notOk(existsSync(path.join(app, 'node_modules', 'tsx')), 'tsx is not installed in the image')
  t.notOk(existsSync(path.join(app, 'node_modules', 'tap')), 'nor are the test tools')

  const imageEnv: Record<string, string> = {}
  for (const env of dockerfile.getENVs().filter((e) => runtime.includes(e))) for (const p of env.getProperties()) imageEnv[p.getName()] = p.getValue() ?? ''
  t.match(imageEnv, { NODE_ENV: 'production', PORT: '3000' })
  const schema = uniqueName('vst')
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  await admin.query(`CREATE SCHEMA "${schema}"`)
  t.teardown(async () => { await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`); await admin.end() })
  const tenants = mkdtempSync(path.join(tmpdir(), 'vst-image-tenants-'))
  writeFileSync(path.join(tenants, 'img.json'), JSON.stringify(tenantDoc('img', { clients: [{ id: 'img-client' }], dialects: { 'by-link': { linkUrl: 'https://img.test/l/{token}' }, 'rest-social-auth': {} } })))
  const port = String(await freePort())
  // The image's environment, with what an operator adds; on loopback here instead of 0.0.0.0.
  const env = {
    PATH: process.env.PATH!, ...imageEnv, HOST: '127.0.0.1', PORT: port, TENANTS_DIR: tenants, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'vst-image-data-')),
    DATABASE_URL: `${TEST_DATABASE_URL}?options=-c%20search_path%3D${schema}`, TENANTS_WATCH: '0',
    VESTIBULE_SECRET_KEY: '2AQ08y7ThUgabZCi9dHbf7q0DcxA4HQ9DhL8dYBEnrI='
  }
  const [cmd, ...cmdArgs] = JSON.parse(runtime.find((x) => x.getKeyword() === 'CMD')!.getArgumentsContent()!) as string[]
  const server = spawn(cmd === 'node' ? process.execPath : cmd, cmdArgs, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  server.stdout.on('data', (c) => { out += c })
  server.stderr.on('data', (c) => { out += c })
  const exited = new Promise((resolve) => server.once('exit', resolve))
  t.teardown(() => { if (server.exitCode === null) server.kill('SIGKILL') })
  for (let i = 0; i < 600 && !out.includes('Vestibule listening') && server.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100))
  t.match(out, /Vestibule listening/, out.slice(-2000))

  const health = runtime.find((x) => x.getKeyword() === 'HEALTHCHECK')!.getArgumentsContent()!
  const healthArgv = JSON.parse(health.slice(health.indexOf('CMD') + 3).trim()) as string[]
  const check = await run(process.execPath, healthArgv.slice(1), { cwd: app, env }).then(() => 0, (e) => e.code)
  t.equal(check, 0, 'the HEALTHCHECK command passes')
  const base = `http://127.0.0.1:${port}/t/img`
  t.equal((await fetch(`${base}/openapi.json`)).status, 200, 'a tenant serves (its dialects load from dist/)')
  t.equal((await fetch(`${base}/v1/auth/by-link/link/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'img@x.test' }) })).status, 200)

  server.kill('SIGTERM')
  t.equal(await exited, 0, 'SIGTERM drains and exits 0')
  const after = await run(process.execPath, healthArgv.slice(1), { cwd: app, env }).then(() => 0, (e) => e.code)
  t.equal(after, 1, 'and the HEALTHCHECK fails once it is gone')
})
