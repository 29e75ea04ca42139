// Bull Board for operators at /admin/queues: the deployment's queues, behind HTTP Basic admin credentials.
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import type { Queue } from 'bullmq'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { clientIpKey } from '../../plugins/client-ip.ts'
import { safeEqual } from '../../plugins/crypto.ts'
import { basicCredentials } from '../../plugins/http-auth.ts'

export interface QueueBoardOptions {
  queues: Queue[]
  user: string
  password: string
  basePath?: string
  /** Where failed sign-ins are counted (the queues' Redis), under `keyPrefix` (not `prefix`: Fastify reads that as a route prefix). */
  redis: Redis
  keyPrefix: string
  /** Failed sign-ins allowed per client address and window before 429 (default 10 per 15 minutes). */
  failures?: { max: number, windowMs: number }
}

/** Counts failed Basic sign-ins per client address in Redis (shared by every node); fails open when Redis does. */
function failureCounter (redis: Redis, prefix: string, max: number, windowMs: number) {
  const key = (ip: string) => `${prefix}:admin-auth-failures:${ip}`
  return {
    /** Milliseconds until this address may try again, or 0. */
    async blockedFor (ip: string): Promise<number> {
      const [count, ttl] = await Promise.all([redis.get(key(ip)), redis.pttl(key(ip))])
      return Number(count ?? 0) >= max ? Math.max(ttl, 1000) : 0
    },
    async failed (ip: string): Promise<void> {
      const n = await redis.incr(key(ip))
      if (n === 1) await redis.pexpire(key(ip), windowMs)
    }
  }
}

export default async function queueBoard (app: FastifyInstance, opts: QueueBoardOptions): Promise<void> {
  const basePath = opts.basePath ?? '/admin/queues'
  const adapter = new FastifyAdapter()
  adapter.setBasePath(basePath)
  createBullBoard({ queues: opts.queues.map((q) => new BullMQAdapter(q)), serverAdapter: adapter, options: { uiConfig: { boardTitle: 'Vestibule queues' } } })
  const { max, windowMs } = opts.failures ?? { max: 10, windowMs: 15 * 60_000 }
  const failures = failureCounter(opts.redis, opts.keyPrefix, max, windowMs)
  await app.register(async (board) => {
    board.addHook('onRequest', async (req, reply) => {
      const ip = clientIpKey(req.ip)
      // Guessing the password is throttled per address: past `max` failures in the window every attempt, right
      // or wrong, is refused until the window ends. Redis down: the check is skipped (logged), as the tenant limits do.
      const blocked = await failures.blockedFor(ip).catch((err: Error) => { req.log.warn({ err: err.message }, 'admin sign-in limiter unavailable'); return 0 })
      if (blocked > 0) {
        const seconds = Math.ceil(blocked / 1000)
        return reply.code(429).header('retry-after', String(seconds)).send({ error: 'rate_limited', message: `Too many failed sign-ins; try again in ${seconds} seconds.` })
      }
      const given = basicCredentials(req.headers.authorization)
      // Both compared every time, so timing says nothing about which half was wrong.
      const ok = given !== null && [safeEqual(given.id, opts.user), safeEqual(given.secret, opts.password)].every(Boolean)
      if (!ok) {
        // A request without credentials is the browser asking for the dialog, not a guess.
        if (given !== null) await failures.failed(ip).catch((err: Error) => req.log.warn({ err: err.message }, 'admin sign-in limiter unavailable'))
        return reply.code(401).header('www-authenticate', 'Basic realm="vestibule-admin", charset="UTF-8"').send({ error: 'unauthorized' })
      }
    })
    await board.register(adapter.registerPlugin() as never, { prefix: basePath })
  })
}
