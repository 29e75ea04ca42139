// Tenants stored in PostgreSQL, next to tenant files: the current document of each, every numbered version
// (history and rollback), the hosts each claims. A document is validated exactly as `tenants:check` validates
// a file (same schema, same cross-checks, same `path: reason` errors) plus what only the database can know
// (ids and hosts unique across files and stored tenants). The fields the tenant schema marks `writeOnly`
// (client secrets, provider secrets, API keys) are sealed at rest (db/sealing.ts) and leave only as
// `vst-secret:<fingerprint>` placeholders, which a later write may send back to mean "keep this one".
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/index.ts'
import { isUniqueViolation } from '../plugins/identity/executor.ts'
import { recordEvent } from '../plugins/identity/users.ts'
import { hasNul } from '../plugins/schemas.ts'
import { fingerprint, isSealed, open, seal, SecretKeyError, type SecretKeyring } from '../db/sealing.ts'
import { parseTenant } from './loader.ts'
import { tenantSchema, type TenantConfig } from './schema.ts'

export type Doc = Record<string, unknown>

export type StoreErrorKind = 'invalid' | 'not-found' | 'defined-outside' | 'exists' | 'precondition-failed' | 'secret-key' | 'forbidden'

/** Why a store call refused; the admin API maps each kind to its status. */
export class TenantStoreError extends Error {
  constructor (readonly kind: StoreErrorKind, message: string, readonly errors: Array<{ path: string, message: string }> = []) {
    super(message)
    this.name = 'TenantStoreError'
  }
}

/** What the store must know about tenants it does not hold (files, inline documents) and the admin host. */
export interface OutsideTenants {
  /** Who defines `id` outside the database (a file path, or `the app options`), or null. */
  definedOutside (id: string): string | null
  /** The tenant (file path or id) other than `id` serving `host`, or null. */
  hostOwner (host: string, id: string): string | null
  /** Hosts no stored tenant may claim (the host the admin API and `/t/<id>` paths are served on). */
  reservedHosts (): string[]
}

export interface StoredTenant {
  id: string
  version: number
  /** The document as given (no defaults filled in), secrets in plain text: never send this out as is. */
  doc: Doc
  createdAt: Date
  updatedAt: Date
}

/** A stored document as a node serves it: its config, or the errors that keep it from serving. */
export interface LoadedStored { version: number, config?: TenantConfig, errors: Array<{ path: string, message: string }> }

export interface VersionInfo { version: number, action: string, actor: string | null, createdAt: Date }

export interface WriteOptions {
  /** The version the caller last saw (If-Match); a different current version refuses the write. */
  ifMatch?: number[] | '*'
  /** Who writes (an admin token id, `cli`); kept in the history. */
  actor?: string | null
  /**
   * The writer holds a token restricted to this tenant: it changes the tenant's settings but not which
   * hosts route to it (the deployment's to decide: otherwise it could claim any host not yet claimed), and
   * it cannot bring a deleted tenant back (that creates one).
   */
  restricted?: boolean
  /** What the write does (the admin API's operationId, e.g. `createClient`), for the audit event. */
  what?: string
}

// ---- secret fields ----

type Pattern = string[]
const patternCache = new WeakMap<object, Pattern[]>()

/** JSON paths (with `*` for any key or index) of the values the tenant schema marks writeOnly. */
export function secretPatterns (schema: object = tenantSchema()): Pattern[] {
  let found = patternCache.get(schema)
  if (!found) {
    const out: Pattern[] = []
    collect(schema as Schemaish, [], out, 0)
    const keys = new Set<string>()
    found = out.filter((p) => { const k = p.join('/'); if (keys.has(k)) return false; keys.add(k); return true })
    patternCache.set(schema, found)
  }
  return found
}

interface Schemaish {
  writeOnly?: boolean
  properties?: Record<string, Schemaish>
  patternProperties?: Record<string, Schemaish>
  additionalProperties?: boolean | Schemaish
  items?: Schemaish
  anyOf?: Schemaish[]
  allOf?: Schemaish[]
  oneOf?: Schemaish[]
}

function collect (s: Schemaish, path: Pattern, out: Pattern[], depth: number): void {
  if (!s || typeof s !== 'object' || depth > 32) return
  if (s.writeOnly) { out.push(path); return }
  for (const [k, v] of Object.entries(s.properties ?? {})) collect(v, [...path, k], out, depth + 1)
  for (const v of Object.values(s.patternProperties ?? {})) collect(v, [...path, '*'], out, depth + 1)
  if (s.additionalProperties && typeof s.additionalProperties === 'object') collect(s.additionalProperties, [...path, '*'], out, depth + 1)
  if (s.items) collect(s.items, [...path, '*'], out, depth + 1)
  for (const v of [...(s.anyOf ?? []), ...(s.allOf ?? []), ...(s.oneOf ?? [])]) collect(v, path, out, depth + 1)
}

const escape = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1')
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A copy of `doc` with every string at a secret position replaced by fn(value, JSON pointer). */
export function mapSecrets (doc: unknown, fn: (value: string, pointer: string) => string): unknown {
  const copy = structuredClone(doc)
  const done = new Set<string>()
  const strings = (node: unknown, ptr: string, set: (v: unknown) => void): void => {
    if (typeof node === 'string') { if (!done.has(ptr)) { done.add(ptr); set(fn(node, ptr)) } return }
    if (Array.isArray(node)) node.forEach((v, i) => strings(v, `${ptr}/${i}`, (x) => { node[i] = x }))
    else if (isObject(node)) for (const k of Object.keys(node)) strings(node[k], `${ptr}/${escape(k)}`, (x) => { node[k] = x })
  }
  const walk = (node: unknown, pat: Pattern, i: number, ptr: string, set: (v: unknown) => void): void => {
    if (i === pat.length) { strings(node, ptr, set); return }
    const seg = pat[i]
    if (Array.isArray(node)) {
      if (seg === '*') node.forEach((v, j) => walk(v, pat, i + 1, `${ptr}/${j}`, (x) => { node[j] = x }))
    } else if (isObject(node)) {
      const keys = seg === '*' ? Object.keys(node) : Object.prototype.hasOwnProperty.call(node, seg) ? [seg] : []
      for (const k of keys) walk(node[k], pat, i + 1, `${ptr}/${escape(k)}`, (x) => { node[k] = x })
    }
  }
  for (const p of secretPatterns()) walk(copy, p, 0, '', () => {})
  return copy
}

const PLACEHOLDER = /^vst-secret:([0-9a-f]{12})$/
const PLACEHOLDER_FILE = 'vst-secret'

/** The document as the admin API shows it: each secret replaced by `vst-secret:<fingerprint>`. */
export function redact (ring: SecretKeyring, plain: unknown, tenantId: string): unknown {
  return mapSecrets(plain, (v) => (ring.current ? `vst-secret:${fingerprint(ring, v, tenantId)}` : PLACEHOLDER_FILE))
}

/** Fingerprint → plaintext of every secret in a document. */
export function secretsByFingerprint (ring: SecretKeyring, plain: unknown, tenantId: string): Map<string, string> {
  const out = new Map<string, string>()
  if (!ring.current) return out
  mapSecrets(plain, (v) => { out.set(fingerprint(ring, v, tenantId), v); return v })
  return out
}

/** Seals the secret fields of a plain document, bound to its tenant (what a write stores; also the bench's seeding). */
export function sealDoc (ring: SecretKeyring, plain: Doc, tenantId: string): Doc {
  return mapSecrets(plain, (v) => seal(ring, v, tenantId)) as Doc
}

/** Opens a stored document; a sealed value that cannot be opened fails with its path. */
export function openDoc (ring: SecretKeyring, sealed: Doc, tenantId: string): Doc {
  return mapSecrets(sealed, (v, ptr) => {
    if (!isSealed(v, 'v1')) return v
    try { return open(ring, v, tenantId) } catch (err) {
      throw new TenantStoreError('secret-key', `${ptr}: ${(err as Error).message}`, [{ path: ptr, message: (err as Error).message }])
    }
  }) as Doc
}

// ---- validation ----

function eachString (v: unknown, ptr: string, fn: (s: string, ptr: string) => void): void {
  if (typeof v === 'string') fn(v, ptr)
  else if (Array.isArray(v)) v.forEach((x, i) => eachString(x, `${ptr}/${i}`, fn))
  else if (isObject(v)) for (const [k, x] of Object.entries(v)) eachString(x, `${ptr}/${escape(k)}`, fn)
}

function hostOf (url: string): string | null {
  try { return new URL(url).hostname.toLowerCase() } catch { return null }
}

/**
 * Validates a document (secrets in plain text) as `tenants:check` would, plus the rules of stored tenants.
 * `id`: the tenant the caller names (the URL's); the document must carry the same.
 */
export function checkDocument (plain: unknown, outside: OutsideTenants, id?: string): TenantConfig {
  const errors: Array<{ path: string, message: string }> = []
  if (!isObject(plain)) throw new TenantStoreError('invalid', 'the tenant document must be a JSON object', [{ path: '', message: 'expected an object' }])
  if (hasNul(plain)) eachString(plain, '', (s, p) => { if (s.includes('\u0000')) errors.push({ path: p, message: 'contains a NUL character' }) })
  eachString(plain, '', (s, p) => {
    // Tenant files may say ${NAME}; a document sent over the API must not read the server's environment.
    if (s.includes('${')) errors.push({ path: p, message: '"${…}" is not interpolated in stored tenants: send the value itself (secrets are encrypted at rest)' })
    if (isSealed(s, 'v1')) errors.push({ path: p, message: 'a sealed value cannot be written' })
  })
  if (id !== undefined && plain.id !== id) errors.push({ path: '/id', message: `must be "${id}", the tenant this request names` })
  if (errors.length) throw new TenantStoreError('invalid', 'the tenant document is invalid', errors)
  const res = parseTenant('', JSON.stringify(plain), {})
  if (!res.config) throw new TenantStoreError('invalid', 'the tenant document is invalid', res.errors.map((e) => ({ path: e.path, message: e.message })))
  const config = res.config
  const reserved = new Set(outside.reservedHosts().map((h) => h.toLowerCase()))
  config.hosts.forEach((h, i) => {
    const host = h.toLowerCase()
    if (reserved.has(host)) errors.push({ path: `/hosts/${i}`, message: `host "${h}" is where this deployment serves its admin API and /t/<id> paths` })
    const owner = outside.hostOwner(host, config.id)
    if (owner) errors.push({ path: `/hosts/${i}`, message: `host "${h}" is already served by ${owner}` })
    if (config.hosts.findIndex((x) => x.toLowerCase() === host) !== i) errors.push({ path: `/hosts/${i}`, message: `host "${h}" is listed twice` })
  })
  if (errors.length) throw new TenantStoreError('invalid', 'the tenant document is invalid', errors)
  return config
}

/** A JSON merge patch (RFC 7396) applied to a copy of `target`. */
export function mergePatch (target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch)
  const out: Record<string, unknown> = isObject(target) ? structuredClone(target) : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

// ---- the store ----

export class TenantStore {
  constructor (readonly db: Kysely<Database>, readonly ring: SecretKeyring, readonly outside: OutsideTenants) {}

  async get (id: string): Promise<StoredTenant | undefined> {
    const row = await this.db.selectFrom('tenant_configs').selectAll().where('id', '=', id).executeTakeFirst()
    if (!row) return undefined
    return { id: row.id, version: row.version, doc: openDoc(this.ring, row.doc, row.id), createdAt: row.created_at, updatedAt: row.updated_at }
  }

  /** The stored document for serving: its config, or the errors that keep it from serving. */
  async load (id: string): Promise<LoadedStored | undefined> {
    const row = await this.db.selectFrom('tenant_configs').select(['id', 'version', 'doc']).where('id', '=', id).executeTakeFirst()
    return row ? this.#parse(row) : undefined
  }

  /** The stored tenant claiming `host` (lower-cased, no port), read in one statement through the hosts' index. */
  async loadByHost (host: string): Promise<(LoadedStored & { id: string }) | undefined> {
    const row = await this.db.selectFrom('tenant_hosts').innerJoin('tenant_configs', 'tenant_configs.id', 'tenant_hosts.tenant_id')
      .select(['tenant_configs.id', 'tenant_configs.version', 'tenant_configs.doc']).where('tenant_hosts.host', '=', host.toLowerCase()).executeTakeFirst()
    return row ? { id: row.id, ...this.#parse(row) } : undefined
  }

  #parse (row: { id: string, version: number, doc: Doc }): LoadedStored {
    try {
      const plain = openDoc(this.ring, row.doc, row.id)
      const res = parseTenant('', JSON.stringify(plain), {})
      return { version: row.version, config: res.config, errors: res.errors.map((e) => ({ path: e.path, message: e.message })) }
    } catch (err) {
      if (err instanceof TenantStoreError) return { version: row.version, errors: err.errors }
      throw err
    }
  }

  /** id → current version of these stored tenants (of every one when `ids` is omitted). */
  async index (ids?: string[]): Promise<Map<string, number>> {
    if (ids && ids.length === 0) return new Map()
    let q = this.db.selectFrom('tenant_configs').select(['id', 'version'])
    if (ids) q = q.where('id', 'in', ids)
    const rows = await q.execute()
    return new Map(rows.map((r) => [r.id, r.version]))
  }

  async list (opts: { after?: string, limit: number, only?: string | null }): Promise<Array<{ id: string, version: number, hosts: string[], createdAt: Date, updatedAt: Date }>> {
    let q = this.db.selectFrom('tenant_configs').select(['id', 'version', 'doc', 'created_at', 'updated_at']).orderBy('id').limit(opts.limit)
    if (opts.after !== undefined) q = q.where('id', '>', opts.after)
    if (opts.only) q = q.where('id', '=', opts.only)
    return (await q.execute()).map((r) => ({ id: r.id, version: r.version, hosts: Array.isArray(r.doc.hosts) ? r.doc.hosts as string[] : [], createdAt: r.created_at, updatedAt: r.updated_at }))
  }

  async versions (id: string, opts: { before?: number, limit: number }): Promise<VersionInfo[]> {
    let q = this.db.selectFrom('tenant_config_versions').select(['version', 'action', 'actor', 'created_at'])
      .where('tenant_id', '=', id).orderBy('version', 'desc').limit(opts.limit)
    if (opts.before !== undefined) q = q.where('version', '<', opts.before)
    return (await q.execute()).map((r) => ({ version: r.version, action: r.action, actor: r.actor, createdAt: r.created_at }))
  }

  async version (id: string, n: number): Promise<(VersionInfo & { doc: Doc | null }) | undefined> {
    const r = await this.db.selectFrom('tenant_config_versions').selectAll().where('tenant_id', '=', id).where('version', '=', n).executeTakeFirst()
    if (!r) return undefined
    return { version: r.version, action: r.action, actor: r.actor, createdAt: r.created_at, doc: r.doc ? openDoc(this.ring, r.doc, id) : null }
  }

  /** Stores a new tenant; its id must be free among files, inline documents and stored tenants. */
  create (doc: unknown, opts: WriteOptions = {}): Promise<StoredTenant> {
    const id = isObject(doc) && typeof doc.id === 'string' ? doc.id : undefined
    if (id === undefined) {
      try { checkDocument(doc, this.outside) } catch (err) { return Promise.reject(err) }
      return Promise.reject(new TenantStoreError('invalid', 'the tenant document is invalid', [{ path: '/id', message: 'required' }]))
    }
    return this.#write(id, 'create', opts, async (current) => {
      if (current) throw new TenantStoreError('exists', `tenant "${id}" already exists`)
      return resolvePlaceholders(this.ring, doc, null, id)
    })
  }

  /** Replaces a stored tenant's document (PUT). */
  replace (id: string, doc: unknown, opts: WriteOptions = {}): Promise<StoredTenant> {
    return this.#write(id, 'update', opts, async (current) => {
      if (!current) throw this.#notFound(id)
      return resolvePlaceholders(this.ring, doc, current.doc, id)
    })
  }

  /** Applies a JSON merge patch to a stored tenant's document (PATCH). */
  patch (id: string, patch: unknown, opts: WriteOptions = {}): Promise<StoredTenant> {
    if (!isObject(patch)) return Promise.reject(new TenantStoreError('invalid', 'a merge patch must be a JSON object', [{ path: '', message: 'expected an object' }]))
    return this.#write(id, 'update', opts, async (current) => {
      if (!current) throw this.#notFound(id)
      return resolvePlaceholders(this.ring, mergePatch(current.doc, patch), current.doc, id)
    })
  }

  /** Changes a stored tenant's document in code (clients, keys): fn gets a copy of the current document. */
  change (id: string, fn: (doc: Doc) => Doc | Promise<Doc>, opts: WriteOptions = {}): Promise<StoredTenant> {
    return this.#write(id, 'update', opts, async (current) => {
      if (!current) throw this.#notFound(id)
      return fn(structuredClone(current.doc))
    })
  }

  /** Rolls back: stores version `n`'s document as a new version (re-validated: files and hosts may have changed). */
  restore (id: string, n: number, opts: WriteOptions = {}): Promise<StoredTenant> {
    return this.#write(id, 'restore', opts, async (_current, tx) => {
      const r = await tx.selectFrom('tenant_config_versions').select('doc').where('tenant_id', '=', id).where('version', '=', n).executeTakeFirst()
      if (!r) throw new TenantStoreError('not-found', `tenant "${id}" has no version ${n}`)
      if (!r.doc) throw new TenantStoreError('not-found', `version ${n} of tenant "${id}" is a deletion; restore an earlier version`)
      return openDoc(this.ring, r.doc, id)
    })
  }

  /** Deletes a stored tenant; its history and its accounts stay (a restore serves them again; a create continues
   *  the numbering, and is refused while accounts of the deleted tenant remain). */
  async remove (id: string, opts: WriteOptions = {}): Promise<{ version: number }> {
    this.#refuseOutside(id)
    try {
      return await this.db.transaction().execute(async (tx) => {
        const current = await tx.selectFrom('tenant_configs').select('version').where('id', '=', id).forUpdate().executeTakeFirst()
        if (!current) throw this.#notFound(id)
        checkIfMatch(opts.ifMatch, current.version)
        const version = current.version + 1
        await tx.deleteFrom('tenant_configs').where('id', '=', id).execute()
        await tx.insertInto('tenant_config_versions').values({ tenant_id: id, version, action: 'delete', doc: null, actor: opts.actor ?? null }).execute()
        await recordEvent(tx, id, 'tenant-deleted', null, { by: opts.actor ?? null, what: opts.what ?? 'delete', beforeVersion: current.version, afterVersion: version })
        return { version }
      })
    } catch (err) { throw mapWriteError(err, id) }
  }

  #notFound (id: string): TenantStoreError {
    return new TenantStoreError('not-found', `no stored tenant "${id}"`)
  }

  #refuseOutside (id: string): void {
    const where = this.outside.definedOutside(id)
    if (where) throw new TenantStoreError('defined-outside', `tenant "${id}" is defined by ${where}: change it there`)
  }

  async #write (id: string, action: string, opts: WriteOptions, next: (current: { version: number, doc: Doc } | null, tx: Transaction<Database>) => Promise<Doc>): Promise<StoredTenant> {
    this.#refuseOutside(id)
    try {
      return await this.db.transaction().execute(async (tx) => {
        const row = await tx.selectFrom('tenant_configs').select(['version', 'doc', 'created_at']).where('id', '=', id).forUpdate().executeTakeFirst()
        if (row) checkIfMatch(opts.ifMatch, row.version)
        else if (opts.ifMatch !== undefined && action !== 'restore') throw new TenantStoreError('precondition-failed', `tenant "${id}" does not exist`)
        const current = row ? { version: row.version, doc: openDoc(this.ring, row.doc, id) } : null
        if (opts.restricted && !row) throw new TenantStoreError('forbidden', `creating tenant "${id}" needs a token for every tenant`)
        const plain = await next(current, tx)
        const config = checkDocument(plain, this.outside, id)
        if (opts.restricted && current && !sameHosts(current.doc.hosts, config.hosts)) {
          throw new TenantStoreError('forbidden', 'a token restricted to this tenant cannot change its hosts; an operator with a token for every tenant can')
        }
        const sealed = sealDoc(this.ring, plain, id)
        let version: number
        if (row) {
          version = row.version + 1
          await tx.updateTable('tenant_configs').set({ version, doc: JSON.stringify(sealed), updated_at: new Date() }).where('id', '=', id).execute()
          await tx.deleteFrom('tenant_hosts').where('tenant_id', '=', id).execute()
        } else {
          // History survives a deletion, so a tenant created again continues its numbering (ETags never repeat).
          const last = await tx.selectFrom('tenant_config_versions').select((eb) => eb.fn.max('version').as('v')).where('tenant_id', '=', id).executeTakeFirst()
          version = Number(last?.v ?? 0) + 1
          // A deleted tenant's accounts stay (a restore serves them again, sessions and all): a document created
          // anew under its id would take them over, whoever it is for. Restore it, or erase them first.
          if (action === 'create' && last?.v !== null && last?.v !== undefined) {
            const kept = await tx.selectFrom('users').select('id').where('tenant_id', '=', id).limit(1).executeTakeFirst()
            if (kept) {
              throw new TenantStoreError('exists', `tenant "${id}" was deleted but its accounts remain: restore it (POST /admin/v1/tenants/${id}/versions/<n>/restore) to serve them again, or restore it, erase its users and delete it before creating "${id}" anew`)
            }
          }
          await tx.insertInto('tenant_configs').values({ id, version, doc: JSON.stringify(sealed) }).execute()
        }
        const hosts = [...new Set(config.hosts.map((h) => h.toLowerCase()))]
        if (hosts.length) {
          const taken = await tx.selectFrom('tenant_hosts').select(['host', 'tenant_id']).where('host', 'in', hosts).where('tenant_id', '<>', id).execute()
          if (taken.length) {
            throw new TenantStoreError('invalid', 'the tenant document is invalid', taken.map((t) => ({
              path: `/hosts/${config.hosts.findIndex((h) => h.toLowerCase() === t.host)}`, message: `host "${t.host}" is already served by tenant "${t.tenant_id}"`
            })))
          }
          await tx.insertInto('tenant_hosts').values(hosts.map((host) => ({ host, tenant_id: id }))).execute()
        }
        const stored = row ? action : action === 'restore' ? 'restore' : 'create'
        await tx.insertInto('tenant_config_versions').values({ tenant_id: id, version, action: stored, doc: JSON.stringify(sealed), actor: opts.actor ?? null }).execute()
        // In the same transaction: no change without its event. Versions, never the document (it holds secrets).
        await recordEvent(tx, id, `tenant-${stored === 'create' ? 'created' : stored === 'restore' ? 'restored' : 'updated'}`, null, { by: opts.actor ?? null, what: opts.what ?? stored, beforeVersion: row?.version ?? null, afterVersion: version })
        const now = new Date()
        return { id, version, doc: plain, createdAt: row?.created_at ?? now, updatedAt: now }
      })
    } catch (err) { throw mapWriteError(err, id) }
  }
}

/** The same set of hosts, in any order or case. */
function sameHosts (before: unknown, after: readonly string[]): boolean {
  const norm = (hs: readonly unknown[]) => [...new Set(hs.map((h) => String(h).toLowerCase()))].sort().join('\n')
  return norm(Array.isArray(before) ? before : []) === norm(after)
}

function checkIfMatch (ifMatch: WriteOptions['ifMatch'], version: number): void {
  if (ifMatch === undefined || ifMatch === '*') return
  if (!ifMatch.includes(version)) throw new TenantStoreError('precondition-failed', `the tenant is at version ${version}, not ${ifMatch.join(' or ')}`)
}

function mapWriteError (err: unknown, id: string): unknown {
  if (err instanceof TenantStoreError) return err
  if (err instanceof SecretKeyError) return new TenantStoreError('secret-key', err.message)
  if (isUniqueViolation(err, 'tenant_configs_pkey')) return new TenantStoreError('exists', `tenant "${id}" already exists`)
  if (isUniqueViolation(err, 'tenant_hosts_pkey')) return new TenantStoreError('invalid', 'the tenant document is invalid', [{ path: '/hosts', message: 'a host is already served by another tenant' }])
  // Two writers raced for the same next version (one created while the other restored): the caller retries.
  if (isUniqueViolation(err, 'tenant_config_versions_pk')) return new TenantStoreError('precondition-failed', `tenant "${id}" changed meanwhile`)
  return err
}

/**
 * Secrets sent back as `vst-secret:<fingerprint>` mean "keep the one with this fingerprint": they are
 * replaced by the current version's secrets. An unknown fingerprint is an error naming its path.
 */
function resolvePlaceholders (ring: SecretKeyring, doc: unknown, current: Doc | null, tenantId: string): Doc {
  const known = current ? secretsByFingerprint(ring, current, tenantId) : new Map<string, string>()
  const errors: Array<{ path: string, message: string }> = []
  const out = mapSecrets(doc, (v, ptr) => {
    if (v === PLACEHOLDER_FILE) { errors.push({ path: ptr, message: 'send the secret itself' }); return v }
    const m = PLACEHOLDER.exec(v)
    if (!m) return v
    const plain = known.get(m[1])
    if (plain === undefined) errors.push({ path: ptr, message: `no secret with fingerprint ${m[1]} in the current version` })
    return plain ?? v
  })
  if (errors.length) throw new TenantStoreError('invalid', 'the tenant document is invalid', errors)
  return out as Doc
}

/**
 * Key rotation: re-seals every stored secret (current documents and their whole history) with the current
 * key, so keys in VESTIBULE_OLD_SECRET_KEYS can then be dropped. Each tenant in its own short transaction.
 */
export async function resealAll (db: Kysely<Database>, ring: SecretKeyring): Promise<{ tenants: number, versions: number }> {
  if (!ring.current) throw new SecretKeyError('VST_ERR_SECRET_KEY_MISSING', 'VESTIBULE_SECRET_KEY is not set')
  const ids = new Set((await db.selectFrom('tenant_config_versions').select('tenant_id').distinct().execute()).map((r) => r.tenant_id))
  let tenants = 0
  let versions = 0
  const reseal = (doc: Doc, id: string) => sealDoc(ring, openDoc(ring, doc, id), id)
  for (const id of ids) {
    await db.transaction().execute(async (tx) => {
      const cur = await tx.selectFrom('tenant_configs').select('doc').where('id', '=', id).forUpdate().executeTakeFirst()
      if (cur) { await tx.updateTable('tenant_configs').set({ doc: JSON.stringify(reseal(cur.doc, id)) }).where('id', '=', id).execute(); tenants++ }
      for (const v of await tx.selectFrom('tenant_config_versions').select(['version', 'doc']).where('tenant_id', '=', id).where('doc', 'is not', null).execute()) {
        await tx.updateTable('tenant_config_versions').set({ doc: JSON.stringify(reseal(v.doc!, id)) }).where('tenant_id', '=', id).where('version', '=', v.version).execute()
        versions++
      }
    })
  }
  return { tenants, versions }
}
