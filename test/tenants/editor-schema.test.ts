// tenants/tenant.schema.json as an editor uses it: a standalone draft-07 validator (Ajv, as VS Code and
// yaml-language-server validate) accepts every shipped example and a minimal tenant, refuses what the
// loader refuses, and agrees with the loader's grammars on sample values.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { Ajv } from 'ajv'
import t from 'tap'
import YAML from 'yaml'
import { editorSchema, ENV_REFERENCE, grammarNames, grammarOf } from '../../tenants/grammar.ts'
import { parseTenant } from '../../tenants/loader.ts'
import { tenantSchema } from '../../tenants/schema.ts'
import { tenantJsonSchema } from '../../tenants/write-schema.ts'

const committed = JSON.parse(readFileSync('tenants/tenant.schema.json', 'utf8'))

function validator () {
  // Strict, so anything draft-07 does not know fails here; editors' own message keyword is declared.
  const ajv = new Ajv({ strict: true, allErrors: true })
  ajv.addKeyword('patternErrorMessage')
  return ajv.compile(committed)
}

t.test('the committed file is current and declares draft-07', async (t) => {
  t.equal(readFileSync('tenants/tenant.schema.json', 'utf8'), tenantJsonSchema(), 'run `npm run tenants:schema`')
  t.same(committed, editorSchema(tenantSchema()))
  t.equal(committed.$schema, 'http://json-schema.org/draft-07/schema#')
})

t.test('every shipped example validates as an editor sees it (raw, ${VAR} not substituted)', async (t) => {
  const validate = validator()
  const files = ['tenants/demo.json', ...readdirSync('tenants/examples').map((f) => path.join('tenants/examples', f))]
  t.ok(files.length >= 2)
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    const doc = file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text)
    t.ok(validate(doc), `${file}: ${JSON.stringify(validate.errors)}`)
    if (file.endsWith('.json')) {
      t.equal(path.resolve(path.dirname(file), doc.$schema), path.resolve('tenants/tenant.schema.json'), `${file} names the schema`)
    } else {
      const ref = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text)?.[1]
      t.ok(ref, `${file} has the yaml-language-server comment`)
      t.equal(path.resolve(path.dirname(file), ref!), path.resolve('tenants/tenant.schema.json'))
      t.notOk('$schema' in doc, `${file} has no $schema key (yaml-language-server reads the comment)`)
    }
  }
})

t.test('a minimal tenant validates; fields with defaults are not required', async (t) => {
  const validate = validator()
  t.ok(validate({ id: 'mini', email: { from: 'a@b.c' } }), JSON.stringify(validate.errors))
  t.ok(validate({ id: 'mini', email: { from: 'a@b.c' }, clients: [{ id: 'c' }], dialects: { 'by-link': { linkUrl: 'https://x.test/{token}' }, capture: {}, 'oauth-confirm': { confirmUrl: 'https://x.test/{confirmation}' } } }), JSON.stringify(validate.errors))
  t.ok(validate({ id: 'env', email: { from: '${FROM}' }, publicUrl: '${PUBLIC_URL}', providers: { gh: { type: 'github', clientId: '${GH_ID}', clientSecret: '${GH_SECRET}', endpoints: { token: '${GH_TOKEN_URL:-https://github.com/login/oauth/access_token}' } } }, instances: [{ name: 'i', apiKeys: ['${KEY}'] }] }), JSON.stringify(validate.errors))
})

t.test('the editor flags what the loader refuses', async (t) => {
  const validate = validator()
  const bad: Array<[string, Record<string, unknown>]> = [
    ['/rateLimits/link/timeWindow', { rateLimits: { link: { max: 5, timeWindow: '15 minutez' } } }],
    ['/linking', { linking: 'sometimes' }],
    ['/dialects', { dialects: { bylink: {} } }],
    ['', { dialect: {} }],
    ['/id', { id: 'Bad_ID' }],
    ['/dialects/by-link/linkUrl', { clients: [{ id: 'c' }], dialects: { 'by-link': { linkUrl: 'https://x.test/' } } }],
    ['/email/from', { email: { from: 'nobody' } }],
    ['/cors/origins/0', { cors: { origins: ['https://acme.app/'] } }],
    ['/hosts/0', { hosts: ['acme.test:8080'] }]
  ]
  for (const [where, extra] of bad) {
    const doc = { id: 'x', email: { from: 'a@b.c' }, ...extra }
    t.notOk(validate(doc), `editor flags ${JSON.stringify(extra)}`)
    t.ok(validate.errors?.some((e) => e.instancePath === where), `at ${where}: ${JSON.stringify(validate.errors?.map((e) => e.instancePath))}`)
    t.ok(parseTenant('x.json', JSON.stringify(doc)).errors.length > 0, `and the loader refuses ${JSON.stringify(extra)}`)
  }
})

// Values each grammar accepts and refuses; the editor pattern must say the same as the loader.
const SAMPLES: Record<string, { schema?: Record<string, unknown>, good: string[], bad: string[] }> = {
  'tenant-id': { good: ['acme', 'a', 'acme-2'], bad: ['Acme', '-acme', 'acme-', 'ac_me', ''] },
  name: { good: ['google-oauth2', 'gh_1'], bad: ['my key', '', 'x'.repeat(65)] },
  hostname: { good: ['localhost', 'acme.id.example.com', 'ACME.test', '127.0.0.1'], bad: ['acme.test:8080', 'https://acme.test', 'a..b', '-a.test', ''] },
  locale: { good: ['en-US', 'fr', 'zh-Hant-TW'], bad: ['english', 'EN-us', 'en_US', ''] },
  url: { good: ['https://acme.app', 'http://127.0.0.1:3000/x?y=1#z', 'https://[::1]:3001/'], bad: ['acme.app', 'ftp://x.test/', 'https://', 'https://a b.test/', 'https://x.test/\n'] },
  'base-url': { good: ['https://id.acme.app', 'http://127.0.0.1:3000/t/acme'], bad: ['https://id.acme.app/', 'https://x.test/?a=1', 'https://x.test/#f', 'x.test'] },
  origin: { good: ['https://acme.app', 'http://localhost:5173'], bad: ['https://acme.app/', 'https://acme.app/path', 'HTTPS://ACME.APP', 'acme.app'] },
  'redirect-uri': { good: ['https://acme.app/cb', 'com.acme.app:/oauth', 'http://127.0.0.1:1/cb'], bad: ['/cb', 'https://acme.app/cb#x', 'https://acme.app/c b', ''] },
  'url-template': { schema: { tokens: ['token'] }, good: ['https://acme.app/l/{token}', 'http://x.test/?t={token}'], bad: ['https://acme.app/l/', 'https://acme.app/{tokne}', '{token}', 'acme.app/{token}'] },
  'text-template': { schema: { tokens: ['link', 'tenant', 'minutes'], requiredTokens: ['link'] }, good: ['Go: {link}', 'Hi {tenant},\n{link}\n{minutes} min; {"json"} ok'], bad: ['no link here', 'Go: {link} {lnik}'] },
  duration: { good: ['1 minute', '15 minutes', '15m', '30s', '2 hours', '1 day', '1.5s', '10 MINUTES', '1000', '1 week', '1 year'], bad: ['15 minutez', '', 'soon', '0', '0 minutes', '-1 minute', '5hd', '1,5 s'] },
  mailbox: { good: ['a@b.c', 'Acme <no-reply@acme.app>', '"Vestibule demo" <no-reply@demo.localhost>'], bad: ['nobody', 'Acme <>', 'a@b.c, d@e.f', 'x@'] }
}

t.test('each grammar: the editor pattern agrees with the loader', async (t) => {
  t.same(Object.keys(SAMPLES).sort(), grammarNames().sort(), 'every grammar has samples')
  for (const [name, { schema = {}, good, bad }] of Object.entries(SAMPLES)) {
    const g = grammarOf(name)!
    const s = { grammar: name, ...schema } as never
    const pattern = new RegExp(`${g.pattern(s)}|${ENV_REFERENCE}`, 'u')
    for (const v of good) {
      t.equal(g.check(v, s), null, `${name}: loader accepts ${JSON.stringify(v)}`)
      t.ok(pattern.test(v), `${name}: editor accepts ${JSON.stringify(v)}`)
    }
    for (const v of bad) {
      t.type(g.check(v, s), 'string', `${name}: loader refuses ${JSON.stringify(v)}`)
      t.notOk(pattern.test(v), `${name}: editor refuses ${JSON.stringify(v)}`)
    }
  }
  // The one bound a pattern cannot say: a window longer than a year is the loader's alone.
  t.match(grammarOf('duration')!.check('2 years', { grammar: 'duration' } as never), /longer than a year/)
})
