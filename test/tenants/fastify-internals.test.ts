// What plugins/fastify-internals.ts shares between and within Fastify instances, looked up through Fastify's
// internal symbols: this fails when a Fastify or find-my-way upgrade stops the sharing (a built tenant would
// grow back by some 400 KB; docs/bench.md), or when sharing changes what a request is answered.
import { createRequire } from 'node:module'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import t from 'tap'
import { serializerCompiler, validatorCompiler } from '../../plugins/compilers.ts'
import { notFoundTreesShared, responseMapsShared, shareNotFoundTrees, sharedResponseMapCount, trimPluginTree } from '../../plugins/fastify-internals.ts'

const require = createRequire(import.meta.url)
const { kFourOhFour, kRouteContext, kSchemaResponse } = require('fastify/lib/symbols.js') as Record<string, symbol>

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

t.test('not-found handlers answer every method from one tree, each in its own scope', async (t) => {
  const app = Fastify()
  t.ok(shareNotFoundTrees(app), 'installed on a fresh instance')
  t.notOk(shareNotFoundTrees(app), 'once')
  app.setNotFoundHandler((req, reply) => { reply.code(404).send({ scope: 'root', method: req.method }) })
  app.get('/known', async () => ({ ok: true }))
  await app.register(async (scope) => {
    scope.setNotFoundHandler((req, reply) => { reply.code(404).send({ scope: 'v1', method: req.method }) })
    scope.get('/thing', async () => ({ thing: true }))
  }, { prefix: '/v1' })
  await app.ready()
  t.teardown(() => app.close())
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'SEARCH']) {
    for (const [url, scope] of [['/nothing', 'root'], ['/', 'root'], ['/v1', 'v1'], ['/v1/', 'v1'], ['/v1/nothing/deeper', 'v1'], ['/v10', 'root'], ['/known', 'root'], ['/v1/thing', 'v1']]) {
      if ((url === '/known' || url === '/v1/thing') && (method === 'GET' || method === 'HEAD')) continue
      const res = await app.inject({ method: method as 'GET', url })
      t.equal(res.statusCode, 404, `${method} ${url}`)
      if (method !== 'HEAD') t.same(res.json(), { scope, method }, `${method} ${url}: the ${scope} handler`)
    }
  }
  t.same((await app.inject('/v1/thing')).json(), { thing: true })
  t.ok(notFoundTreesShared(), 'no router fell back to a tree per method')
  const router = (app as unknown as Record<symbol, { router: { trees: Record<string, unknown>, routes: unknown[] } }>)[kFourOhFour].router
  t.equal(router.trees.PROPFIND, router.trees.GET, 'one tree')
  t.equal(router.routes.length, 4, 'two handlers, two paths each, once')
})

t.test('a trimmed plugin tree lists the plugins, not the after() callback of every route', async (t) => {
  async function build (trim: boolean) {
    const app = Fastify()
    if (trim) t.ok(trimPluginTree(app))
    const inner = async function innerRoutes (scope: FastifyInstance) { scope.get('/b', async () => 'b'); scope.get('/c', async () => 'c') }
    await app.register(async function outerPlugin (scope) {
      scope.get('/a', async () => 'a')
      await scope.register(inner)
      // A plugin registered from an after() callback: its parent is left out as well.
      scope.after(() => { scope.register(async function lateRoutes (late) { late.get('/d', async () => 'd') }) })
    })
    await app.ready()
    t.teardown(() => app.close())
    for (const url of ['/a', '/b', '/c', '/d']) t.equal((await app.inject(url)).body, url.slice(1), `${trim ? 'trimmed' : 'plain'}: ${url} served`)
    return app.printPlugins()
  }
  const plain = await build(false)
  const trimmed = await build(true)
  const afters = (tree: string) => tree.split('\n').filter((l) => l.includes('bound _after')).length
  t.ok(afters(plain) > 4, 'Fastify lists an after() per route')
  t.ok(afters(trimmed) <= 1, 'the trimmed tree does not (the instance\'s first one is queued before it is trimmed)')
  t.match(trimmed, /outerPlugin[^\n]*\n[^\n]*innerRoutes/, 'the plugins and their nesting are kept')
  t.match(trimmed.split('\n')[0], /^root /, 'one root')
})
