// Admin API test helpers: a keyring, tokens made the way the CLI makes them, and authorised JSON calls.
import { createKeyring } from '../../db/sealing.ts'
import { createAdminToken } from '../../tenants/admin/tokens.ts'
import type { Built } from '../helpers/build.ts'

export const keyring = () => createKeyring({ current: Buffer.alloc(32, 7).toString('base64') })

export async function token (b: Built, scopes: string[], tenantId: string | null = null): Promise<string> {
  return (await createAdminToken(b.app.db.db, { scopes, tenantId })).token
}

export const ALL = ['tenants:read', 'tenants:write', 'users:read', 'users:write', 'events:read']

/** An admin call: JSON in and out, with the token. */
export async function call (b: Built, tok: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, body: any, headers: Headers }> {
  const res = await b.api('/admin/v1' + path, {
    method,
    headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined
  })
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = text ? JSON.parse(text) : undefined } catch { /* not JSON */ }
  return { status: res.status, body: parsed, headers: res.headers }
}
