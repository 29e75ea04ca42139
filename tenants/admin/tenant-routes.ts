// /admin/v1/tenants: list, create, read, replace, merge-patch, delete, and the numbered history with restore.
// Writes apply on this node before they answer and are announced to every other node.
import type { FastifyInstance } from 'fastify'
import { redact } from '../db-store.ts'
import { restrictedTo } from './auth.ts'
import { decodeCursor, encodeCursor, outsideView, storedView, writeOptions, type AdminContext } from './context.ts'
import { notFound } from './errors.ts'
import {
  Deleted, errorResponses, IfMatch, MergePatchBody, Page, tenantBody, TenantList, TenantParams, TenantResource, VersionList, VersionParams, VersionResource
} from './schemas.ts'

const errors = errorResponses
const TAG = ['tenants']

export default async function tenantRoutes (app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const { store, source, router } = ctx

  app.get('/tenants', {
    config: { adminScope: 'tenants:read' },
    schema: {
      operationId: 'listTenants', tags: TAG, summary: 'List tenants (stored ones and those defined by files), by id',
      querystring: Page, response: { 200: TenantList, ...errors(400, 401, 403, 429) }
    }
  }, async (req) => {
    const { cursor, limit = 50 } = req.query as { cursor?: string, limit?: number }
    const after = decodeCursor(cursor)
    const only = restrictedTo(req)
    const stored = (await store.list({ after, limit, only })).map((t) => ({
      id: t.id, source: 'database' as const, version: t.version, hosts: t.hosts, serving: source.refusal(t.id)?.version !== t.version, updatedAt: t.updatedAt.toISOString()
    }))
    const storedIds = new Set(stored.map((t) => t.id))
    const outside = router.ids()
      .filter((id) => !source.serves(id) && !storedIds.has(id) && (after === undefined || id > after) && (only === null || id === only))
      .sort().slice(0, limit)
      .map((id) => {
        const file = router.fileOf(id)
        return { id, source: (file ? 'file' : 'inline') as 'file' | 'inline', ...(file ? { file } : {}), hosts: router.get(id)!.hosts, serving: true }
      })
    const items = [...stored, ...outside].sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, limit)
    return { items, nextCursor: items.length === limit ? encodeCursor(items[items.length - 1].id) : null }
  })

  app.post('/tenants', {
    config: { adminScope: 'tenants:write', adminAllTenants: true },
    schema: {
      operationId: 'createTenant', tags: TAG, summary: 'Create a stored tenant',
      description: 'Validated as `npm run tenants:check` validates a file (400 with `path: reason` errors). The id must not be used by a file. Secrets are encrypted at rest. Served by every node within a moment.',
      body: tenantBody('The tenant document (same schema as tenant files; `${NAME}` is not interpolated).'),
      response: { 201: TenantResource, ...errors(400, 401, 403, 409, 429, 503) }
    }
  }, async (req, reply) => {
    const t = await store.create(req.body, writeOptions(req))
    await source.announce(t.id)
    return reply.code(201).header('location', `/admin/v1/tenants/${t.id}`).send(storedView(ctx, t, reply))
  })

  app.get('/tenants/:id', {
    config: { adminScope: 'tenants:read' },
    schema: {
      operationId: 'getTenant', tags: TAG, summary: 'Read a tenant (secrets redacted); the ETag is its version',
      params: TenantParams, response: { 200: TenantResource, ...errors(401, 403, 404, 429, 503) }
    }
  }, async (req, reply) => {
    const { id } = req.params as { id: string }
    const outside = outsideView(ctx, id)
    if (outside) return outside
    const t = await store.get(id)
    if (!t) throw notFound(`no tenant "${id}"`)
    return storedView(ctx, t, reply)
  })

  app.put('/tenants/:id', {
    config: { adminScope: 'tenants:write' },
    schema: {
      operationId: 'replaceTenant', tags: TAG, summary: 'Replace a stored tenant\'s document (a new version)',
      description: 'Send `If-Match: "<version>"` to refuse the change (412) when someone else changed the tenant since you read it. A tenant defined by a file answers 409.',
      params: TenantParams, headers: IfMatch, body: tenantBody('The whole new document; secrets may be the `vst-secret:<fingerprint>` placeholders GET showed, to keep them.'),
      response: { 200: TenantResource, ...errors(400, 401, 403, 404, 409, 412, 429, 503) }
    }
  }, async (req, reply) => {
    const { id } = req.params as { id: string }
    const t = await store.replace(id, req.body, writeOptions(req))
    await source.announce(id)
    return storedView(ctx, t, reply)
  })

  app.patch('/tenants/:id', {
    config: { adminScope: 'tenants:write' },
    schema: {
      operationId: 'patchTenant', tags: TAG, summary: 'Change part of a stored tenant\'s document (JSON merge patch; a new version)',
      consumes: ['application/merge-patch+json', 'application/json'],
      params: TenantParams, headers: IfMatch, body: MergePatchBody,
      response: { 200: TenantResource, ...errors(400, 401, 403, 404, 409, 412, 429, 503) }
    }
  }, async (req, reply) => {
    const { id } = req.params as { id: string }
    const t = await store.patch(id, req.body, writeOptions(req))
    await source.announce(id)
    return storedView(ctx, t, reply)
  })

  app.delete('/tenants/:id', {
    config: { adminScope: 'tenants:write', adminAllTenants: true },
    schema: {
      operationId: 'deleteTenant', tags: TAG, summary: 'Delete a stored tenant (its history stays; restore brings it back)',
      params: TenantParams, headers: IfMatch, response: { 200: Deleted, ...errors(401, 403, 404, 409, 412, 429) }
    }
  }, async (req) => {
    const { id } = req.params as { id: string }
    const { version } = await store.remove(id, writeOptions(req))
    await source.announce(id)
    return { id, version, deleted: true as const }
  })

  app.get('/tenants/:id/versions', {
    config: { adminScope: 'tenants:read' },
    schema: {
      operationId: 'listTenantVersions', tags: TAG, summary: 'A stored tenant\'s versions, newest first',
      params: TenantParams, querystring: Page, response: { 200: VersionList, ...errors(400, 401, 403, 404, 429) }
    }
  }, async (req) => {
    const { id } = req.params as { id: string }
    const { cursor, limit = 50 } = req.query as { cursor?: string, limit?: number }
    const before = cursor === undefined ? undefined : Number(decodeCursor(cursor))
    const items = await store.versions(id, { before: Number.isInteger(before) ? before : undefined, limit })
    if (items.length === 0 && before === undefined) throw notFound(`no stored tenant "${id}"`)
    return {
      items: items.map((v) => ({ ...v, createdAt: v.createdAt.toISOString() })),
      nextCursor: items.length === limit ? encodeCursor(items[items.length - 1].version) : null
    }
  })

  app.get('/tenants/:id/versions/:version', {
    config: { adminScope: 'tenants:read' },
    schema: {
      operationId: 'getTenantVersion', tags: TAG, summary: 'One version of a stored tenant (secrets redacted)',
      params: VersionParams, response: { 200: VersionResource, ...errors(401, 403, 404, 429, 503) }
    }
  }, async (req) => {
    const { id, version } = req.params as { id: string, version: number }
    const v = await store.version(id, version)
    if (!v) throw notFound(`tenant "${id}" has no version ${version}`)
    return { ...v, createdAt: v.createdAt.toISOString(), config: v.doc ? redact(ctx.ring, v.doc, id) : null }
  })

  app.post('/tenants/:id/versions/:version/restore', {
    config: { adminScope: 'tenants:write' },
    schema: {
      operationId: 'restoreTenantVersion', tags: TAG, summary: 'Roll back: store version N\'s document as a new version',
      description: 'Validated again (files and other tenants\' hosts may have changed since). If-Match applies to the current version.',
      params: VersionParams, headers: IfMatch,
      response: { 200: TenantResource, ...errors(400, 401, 403, 404, 409, 412, 429, 503) }
    }
  }, async (req, reply) => {
    const { id, version } = req.params as { id: string, version: number }
    const t = await store.restore(id, version, writeOptions(req))
    await source.announce(id)
    return storedView(ctx, t, reply)
  })
}
