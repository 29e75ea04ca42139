// syncano options: each rule rejects at registration with a message naming the option.
import t from 'tap'
import Fastify from 'fastify'
import syncano from '../../routes/syncano/index.ts'
import { createProviderRegistry } from '../../plugins/providers/index.ts'

function appWith (plugin: any, opts: unknown) {
  const app = Fastify()
  app.decorate('tenant', {
    id: 'opt', publicUrl: 'http://opt.test', locales: ['en-US'], defaultLocale: 'en-US', linking: 'reject', instances: [], rateLimits: {},
    providers: createProviderRegistry({ github: { type: 'github', clientId: 'c', clientSecret: 's' } })
  } as any)
  app.register(plugin, opts as any)
  return app
}

t.test('syncano: backends must name configured providers', async (t) => {
  await t.rejects(async () => { await appWith(syncano, { backends: ['github', 'myspace'] }).ready() }, { message: /option backends names unconfigured providers: myspace/ })
  const app = appWith(syncano, { backends: ['github'] })
  await t.resolves(async () => { await app.ready() })
  await app.close()
})
