// syncano options: each rule rejects at registration with a message naming the option.
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { serializerCompiler, validatorCompiler } from '../../plugins/compilers.ts'
import { createProviderRegistry } from '../../plugins/providers/index.ts'
import syncano from '../../routes/syncano/plugin.ts'

// test/helpers/dialect-app.ts's bare app has no house validator compiler (bodySchema bodies need it) nor
// `tenant.section`: this dialect builds its own, with just enough tenant context to register.
function appWith (opts: unknown): FastifyInstance {
  const app = Fastify()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.decorate('tenant', {
    id: 'opt', publicUrl: 'http://opt.test', locales: ['en-US'], defaultLocale: 'en-US', linking: 'reject', rateLimits: {},
    section: () => [],
    providers: createProviderRegistry({ github: { type: 'github', clientId: 'c', clientSecret: 's' } })
  } as any)
  app.register(syncano, opts as any)
  return app
}

t.test('syncano: backends must name configured providers', async (t) => {
  await t.rejects(async () => { await appWith({ backends: ['github', 'myspace'] }).ready() }, { message: /option backends names unconfigured providers: myspace/ })
  const app = appWith({ backends: ['github'] })
  await t.resolves(async () => { await app.ready() })
  await app.close()
})
