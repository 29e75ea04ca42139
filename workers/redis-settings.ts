// What Redis must be configured with for the queues to keep their jobs: append-only persistence, and
// no eviction (an evicted key is a lost job or schedule). Checked when the first connection is ready.
import type { Redis } from 'ioredis'

interface Log { warn: (o: object, m?: string) => void }

export interface RedisSettings { appendonly: boolean | null, maxmemoryPolicy: string | null }

/** Reads the settings through INFO (CONFIG is often disabled on managed Redis). */
export async function readRedisSettings (redis: Redis): Promise<RedisSettings> {
  const info = await redis.info()
  const field = (name: string): string | null => info.match(new RegExp(`^${name}:(.*)$`, 'm'))?.[1]?.trim() ?? null
  const aof = field('aof_enabled')
  return { appendonly: aof === null ? null : aof === '1', maxmemoryPolicy: field('maxmemory_policy') }
}

// Once per logger: a process has one (the app and the workers it runs share it), a test has one per app.
const warned = new WeakSet<Log>()

/** Logs one warning per process when Redis would lose jobs on a restart or under memory pressure. */
export async function warnOnUnsafeRedis (redis: Redis, log: Log): Promise<void> {
  if (warned.has(log)) return
  let s: RedisSettings
  try { s = await readRedisSettings(redis) } catch { return } // not reachable yet: nothing to say about it
  const problems: string[] = []
  if (s.appendonly === false) problems.push('appendonly is no (a restart loses every queued job and schedule)')
  if (s.maxmemoryPolicy !== null && s.maxmemoryPolicy !== 'noeviction') problems.push(`maxmemory-policy is ${s.maxmemoryPolicy} (keys of queued jobs can be evicted)`)
  if (problems.length === 0 || warned.has(log)) return
  warned.add(log)
  log.warn({ redis: s }, `Redis is not configured for durable queues: ${problems.join('; ')}. Mail is not lost (the outbox relay re-enqueues it from PostgreSQL), but it waits for the relay; set appendonly yes and maxmemory-policy noeviction (docs/operations.md)`)
}
