// Swagger UI's static files, served once per process for every tenant's /docs page.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'

const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui/package.json')), 'static')
const TYPES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png'
}

export default async function docsAssets (app: FastifyInstance, opts: { base: string }): Promise<void> {
  const cache = new Map<string, Promise<Buffer>>()
  app.get(`${opts.base}/:file`, { schema: { hide: true } }, async (req, reply) => {
    const file = (req.params as { file: string }).file
    const type = Object.hasOwn(TYPES, file) ? TYPES[file] : undefined // `constructor` is no asset
    if (!type) return reply.code(404).send({ error: 'not_found' })
    let body = cache.get(file)
    if (!body) { body = readFile(path.join(dir, file)); cache.set(file, body) }
    return reply.type(type).header('cache-control', 'public, max-age=86400').send(await body)
  })
}
