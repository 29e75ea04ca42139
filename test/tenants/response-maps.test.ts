// Fastify instances share each route's status → serializer map (plugins/response-maps.ts): the map is looked up
// through Fastify's internal symbols, so this fails when a Fastify upgrade stops the sharing (each route would
// get its own map again, about a fifth of a built tenant's heap; docs/bench.md).
import { createRequire } from 'node:module'
import Fastify, { type FastifyRequest } from 'fastify'
import t from 'tap'
import { serializerCompiler, validatorCompiler } from '../../plugins/compilers.ts'
import { responseMapsShared, sharedResponseMapCount } from '../../plugins/response-maps.ts'

const require = createRequire(import.meta.url)
const { kRouteContext, kSchemaResponse } = require('fastify/lib/symbols.js') as Record<string, symbol>

const ok = { type: 'object', properties: { id: { type: 'string' } } }
const err = { type: 'object', properties: { error: { type: 'string' } } }

async function build (response: Record<string, object>) {
  const app = Fastify()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  let map: unknown
  app.addHook('onRequest', async (req: FastifyRequest) => { map = (req as unknown as Record<symbol, Record<symbol, unknown>>)[kRouteContext][kSchemaResponse] })
  app.get('/r', { schema: { response } }, async () => {
    return { id: 'a', secret: 'dropped by the schema' }
  })
  app.get('/plain', async () => ({ id: 'b', kept: true }))
  await app.ready()
  return { app, map: async (url: string) => { const res = await app.inject(url); return { map, body: res.json() } } }
}

t.test('routes with the same response schemas share one map; the serializers still apply', async (t) => {
  t.ok(responseMapsShared, 'installed on this Fastify')
  const a = await build({ 200: ok, 400: err })
  const b = await build({ 200: ok, 400: err })
  const c = await build({ 200: ok })
  t.teardown(() => Promise.all([a.app.close(), b.app.close(), c.app.close()]))
  const before = sharedResponseMapCount()
  const ma = await a.map('/r')
  const mb = await b.map('/r')
  const mc = await c.map('/r')
  t.same(ma.body, { id: 'a' }, 'the 200 serializer drops what its schema does not name')
  t.same(mb.body, { id: 'a' })
  t.type((ma.map as Record<string, unknown>)[200], 'function')
  t.type((ma.map as Record<string, unknown>)[400], 'function')
  t.equal(ma.map, mb.map, 'two instances, one map')
  t.not(ma.map, mc.map, 'other serializers, another map')
  t.equal(sharedResponseMapCount(), before, 'maps are shared when built, not when first used')
  const plain = await a.map('/plain')
  t.equal(plain.map, undefined, 'a route without response schemas has no map')
  t.same(plain.body, { id: 'b', kept: true })
})
