// /admin/v1/tenants/:id/signing-keys: the tenant's JWT signing keys (plugins/identity/signing-keys.ts): list them,
// rotate (a new key signs, the old one still verifies), retire a rotated key (its tokens are refused from then on).
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import {
  JWT_ALGORITHMS, listSigningKeys, recordEvent, retireSigningKey, rotateSigningKey, SigningKeyError, type JwtAlgorithm, type SigningKeyInfo
} from '../../plugins/identity/index.ts'
import type { AdminContext } from './context.ts'
import { AdminError, notFound } from './errors.ts'
import { ErrorBody, TenantParams } from './schemas.ts'

const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ErrorBody]))
const TAG = ['signing-keys']

const SigningKeyView = Type.Object({
  kid: Type.String({ description: 'The `kid` of the tokens it signs (RFC 7638 thumbprint).' }),
  alg: Type.String({ description: '`ES256` or `RS256`.' }),
  state: Type.Union([Type.Literal('current'), Type.Literal('previous'), Type.Literal('retired')], { description: '`current` signs; `previous` only verifies; `retired` neither.' }),
  createdAt: Type.String({ format: 'date-time' }),
  rotatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  retiredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
}, { title: 'AdminSigningKey' })
const SigningKeyList = Type.Object({ items: Type.Array(SigningKeyView) }, { title: 'AdminSigningKeyList' })
const Rotated = Type.Object({ current: SigningKeyView, previous: Type.Union([SigningKeyView, Type.Null()]) }, { title: 'AdminSigningKeyRotated' })
const RotateBody = Type.Object({
  algorithm: Type.Optional(Type.Union(JWT_ALGORITHMS.map((a) => Type.Literal(a)), { description: 'Algorithm of the new key; default: the old key\'s (ES256 for a first key).' }))
}, { additionalProperties: false, title: 'AdminSigningKeyRotate' })
const KeyParams = Type.Object({ ...TenantParams.properties, kid: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'The key\'s `kid`.' }) })

const view = (k: SigningKeyInfo) => ({ ...k, createdAt: k.createdAt.toISOString(), rotatedAt: k.rotatedAt?.toISOString() ?? null, retiredAt: k.retiredAt?.toISOString() ?? null })

export default async function keyRoutes (app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const actor = (req: FastifyRequest) => (req.adminToken ? `token:${req.adminToken.id}` : null)
  async function tenantOf (req: FastifyRequest): Promise<string> {
    const { id } = req.params as { id: string }
    if (!ctx.router.get(id) && !(await ctx.db.selectFrom('tenant_configs').select('id').where('id', '=', id).executeTakeFirst())) throw notFound(`no tenant "${id}"`)
    return id
  }

  app.get('/tenants/:id/signing-keys', {
    config: { adminScope: 'tenants:read' },
    schema: {
      operationId: 'listSigningKeys', tags: TAG, summary: 'The tenant\'s JWT signing keys, newest first (public data only)',
      params: TenantParams, response: { 200: SigningKeyList, ...errors(401, 403, 404, 429) }
    }
  }, async (req) => ({ items: (await listSigningKeys(ctx.db, await tenantOf(req))).map(view) }))

  app.post('/tenants/:id/signing-keys/rotate', {
    config: { adminScope: 'tenants:write' },
    schema: {
      operationId: 'rotateSigningKey', tags: TAG, summary: 'A new signing key; the old one still verifies until retired',
      description: 'Tokens signed from now on carry the new `kid`; the JWKS lists both keys. Retire the old key once its tokens have expired or may be refused.',
      params: TenantParams, body: Type.Optional(RotateBody), response: { 200: Rotated, ...errors(400, 401, 403, 404, 429) }
    }
  }, async (req) => {
    const id = await tenantOf(req)
    const alg = (req.body as { algorithm?: JwtAlgorithm } | undefined)?.algorithm
    const r = await ctx.db.transaction().execute(async (tx) => {
      const rotated = await rotateSigningKey(tx, id, alg)
      await recordEvent(tx, id, 'signing-key-rotated', null, { by: actor(req), kid: rotated.current.kid, previous: rotated.previous?.kid ?? null })
      return rotated
    })
    return { current: view(r.current), previous: r.previous ? view(r.previous) : null }
  })

  app.post('/tenants/:id/signing-keys/:kid/retire', {
    config: { adminScope: 'tenants:write' },
    schema: {
      operationId: 'retireSigningKey', tags: TAG, summary: 'Retire a rotated key: it leaves the JWKS and the tokens it signed are refused',
      params: KeyParams, response: { 200: SigningKeyView, ...errors(401, 403, 404, 409, 429) }
    }
  }, async (req) => {
    const id = await tenantOf(req)
    const { kid } = req.params as { kid: string }
    try {
      return view(await ctx.db.transaction().execute(async (tx) => {
        const k = await retireSigningKey(tx, id, kid)
        await recordEvent(tx, id, 'signing-key-retired', null, { by: actor(req), kid })
        return k
      }))
    } catch (err) {
      if (err instanceof SigningKeyError && err.code === 'VST_ERR_SIGNING_KEY_UNKNOWN') throw notFound(err.message)
      if (err instanceof SigningKeyError && err.code === 'VST_ERR_SIGNING_KEY_CURRENT') throw new AdminError(409, 'conflict', err.message)
      throw err
    }
  })
}
