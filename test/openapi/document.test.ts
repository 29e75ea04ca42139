// Each example tenant's OpenAPI document: valid OpenAPI 3.1, only that tenant's dialects, stable unique
// operation ids, JSON and form bodies where a route takes both, error bodies, security schemes, server URL.
import t from 'tap'
import { compileErrors, validate } from '@readme/openapi-parser'
import { VERSION } from '../../app.ts'
import { loadTenantFile, parseTenant } from '../../tenants/loader.ts'
import { tenantOpenApi } from '../../tenants/openapi.ts'
import { tenantDoc } from '../helpers/build.ts'
import { requestBodyOf } from '../helpers/openapi.ts'

const EXAMPLE_ENV = {
  ...process.env,
  ACME_GOOGLE_SECRET: 'g', ACME_FACEBOOK_SECRET: 'f', ACME_GITHUB_SECRET: 'h', ACME_LINKEDIN_SECRET: 'l', ACME_TWITTER_SECRET: 't',
  ACME_WEB_SECRET: 'w', ACME_SOCIAL_LOGIN_API_KEY: 'apikey-0123456789abcdef', ACME_SYNCANO_KEY: 'syncano-0123456789'
}
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

async function documentOf (file: string): Promise<any> {
  const { config, errors } = await loadTenantFile(file, EXAMPLE_ENV)
  if (!config) throw new Error(errors.map((e) => e.message).join('; '))
  return tenantOpenApi(config, 'https://id.example.com', VERSION)
}

function operations (doc: any): Array<{ path: string, method: string, op: any }> {
  return Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] })))
}

for (const file of ['tenants/demo.json', 'tenants/examples/acme.yaml']) {
  t.test(file, async (t) => {
    const doc = await documentOf(file)
    const result = await validate(structuredClone(doc))
    t.ok(result.valid, result.valid ? 'valid OpenAPI' : compileErrors(result))
    t.equal(doc.openapi, '3.1.0')

    const ops = operations(doc)
    t.ok(ops.length >= 24, `${ops.length} operations`)
    const ids = ops.map((o) => o.op.operationId)
    t.same(ids.filter((id) => typeof id !== 'string'), [], 'every operation has an id')
    t.equal(new Set(ids).size, ids.length, 'operation ids are unique')
    for (const { path, method, op } of ops) {
      const where = `${method.toUpperCase()} ${path}`
      t.ok(op.tags?.length === 1, `${where} is tagged with its dialect`)
      t.ok(op.summary, `${where} has a summary`)
      const codes = Object.keys(op.responses ?? {})
      t.ok(codes.some((c) => c.startsWith('2') || c.startsWith('3')), `${where} documents success`)
      t.ok(codes.some((c) => c.startsWith('4')) || op.tags[0] === 'capture', `${where} documents its errors`)
      for (const req of op.security ?? []) {
        for (const scheme of Object.keys(req)) t.ok(doc.components.securitySchemes[scheme], `${where}: security scheme ${scheme} is defined`)
      }
      const types = Object.keys(requestBodyOf(doc, op)?.content ?? {})
      if (types.length > 1) {
        // orval sends a $ref body by its first media type, with that Content-Type; an inline union would go out as JSON without one.
        t.match(op.requestBody, { $ref: /^#\/components\/requestBodies\// }, `${where}: a body of several media types is a named request body`)
        t.equal(types[0], 'application/json', `${where}: JSON is its first media type`)
      }
    }
    // Capture answers errors with HTTP 200 and a stat/code body: its 200 lists both shapes.
    const authNative = doc.paths['/oauth/auth_native'].post
    t.same(Object.keys(requestBodyOf(doc, authNative).content), ['application/x-www-form-urlencoded'], 'capture takes form bodies only')
    t.match(JSON.stringify(authNative.responses['200']), /record_not_found|"stat"/)
    const social = doc.paths['/social-auth'].post
    t.same(Object.keys(requestBodyOf(doc, social).content).sort(), ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'], 'rest-social-auth takes JSON, form and multipart')
    t.ok(social.responses['400'], 'rest-social-auth documents its 400 body')
    t.same(Object.keys(doc.components.securitySchemes).sort(), ['CaptureAccessToken', 'CaptureClientCredentials', 'OAuthConfirmBearer', 'SyncanoApiKey', 'SyncanoUserKey', 'TokenAuth'])
    t.match(doc.servers, [{ url: /^https?:\/\// }])
  })
}

t.test('only the mounted dialects appear; the server URL is the tenant publicUrl', async (t) => {
  const { config } = parseTenant('x.json', JSON.stringify(tenantDoc('solo', {
    publicUrl: 'https://solo.example.com', clients: [{ id: 'k' }], dialects: { 'by-link': { linkUrl: 'https://solo.app/l/{token}' } }
  })))
  const doc: any = await tenantOpenApi(config!, 'https://ignored.example.com', VERSION)
  t.same(doc.servers, [{ url: 'https://solo.example.com' }])
  t.same([...new Set(operations(doc).map((o) => o.op.tags[0]))], ['by-link'])
  t.same(Object.keys(doc.components.securitySchemes), ['TokenAuth'])
  t.ok((await validate(structuredClone(doc))).valid)
})
