// A bare Fastify app with just enough tenant context to register one dialect plugin, for tests of
// option validation at registration (ready() rejects, naming the option).
import Fastify, { type FastifyInstance } from 'fastify'
import { serializerCompiler, validatorCompiler } from '../../plugins/compilers.ts'
import { createProviderRegistry } from '../../plugins/providers/index.ts'

export function appWith (plugin: any, opts: unknown): FastifyInstance {
  const app = Fastify()
  // The house compilers, as every tenant instance has them (DRF bodies carry validator keywords Ajv alone refuses).
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.decorate('tenant', {
    id: 'opt', publicUrl: 'http://opt.test', locales: ['en-US'], defaultLocale: 'en-US', linking: 'reject', instances: [], rateLimits: {}, section: () => [],
    providers: createProviderRegistry({ github: { type: 'github', clientId: 'c', clientSecret: 's' } })
  } as any)
  app.register(plugin, opts as any)
  return app
}
