// How many nodes of a deployment are alive, learnt without a round trip per request: each node adds
// itself to a sorted set in Redis (`<prefix>:nodes`, scored by the time of its last heartbeat) every
// `intervalMs`, drops members not heard of for three intervals, and reads the count back in the same
// MULTI. The tenant-wide rate limit shares its budget out by this count (plugins/rate-limit.ts).
// Redis down: the last count read stays (the node keeps going on it); never fewer than one (itself).
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'

export interface NodeCensus {
  /** Live nodes of this deployment, this one included (1 before the first heartbeat is answered). */
  count (): number
  /** Resolves after the next heartbeat (tests: wait for another node to be seen). */
  refresh (): Promise<number>
  /** Stops the heartbeat and leaves the set. */
  close (): Promise<void>
}

export const DEFAULT_HEARTBEAT_MS = 5000

/** A census of one: single-node mode (no Redis). */
export const SINGLE_NODE: NodeCensus = { count: () => 1, refresh: async () => 1, close: async () => {} }

export function startNodeCensus (redis: Redis, prefix: string, intervalMs = DEFAULT_HEARTBEAT_MS): NodeCensus {
  const key = `${prefix}:nodes`
  const me = randomUUID()
  let nodes = 1
  let closed = false
  const beat = async (): Promise<number> => {
    if (closed || redis.status !== 'ready') return nodes
    const now = Date.now()
    try {
      const res = await redis.multi()
        .zadd(key, now, me)
        .zremrangebyscore(key, '-inf', now - 3 * intervalMs)
        .zcard(key)
        .pexpire(key, 3 * intervalMs)
        .exec()
      const card = res?.[2]?.[1]
      if (typeof card === 'number' && card >= 1) nodes = card
    } catch { /* Redis unreachable: keep the last count */ }
    return nodes
  }
  const timer = setInterval(() => { void beat() }, intervalMs)
  timer.unref()
  if (redis.status === 'ready') void beat()
  else redis.once('ready', () => { void beat() })
  return {
    count: () => nodes,
    refresh: beat,
    async close () {
      if (closed) return
      closed = true
      clearInterval(timer)
      if (redis.status === 'ready') await redis.zrem(key, me).catch(() => {})
    }
  }
}
