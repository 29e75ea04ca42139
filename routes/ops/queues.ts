// Bull Board for operators at /admin/queues: the deployment's queues, behind HTTP Basic admin credentials.
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import type { Queue } from 'bullmq'
import type { FastifyInstance } from 'fastify'
import { safeEqual } from '../../plugins/crypto.ts'
import { basicCredentials } from '../../plugins/http-auth.ts'

export interface QueueBoardOptions {
  queues: Queue[]
  user: string
  password: string
  basePath?: string
}

export default async function queueBoard (app: FastifyInstance, opts: QueueBoardOptions): Promise<void> {
  const basePath = opts.basePath ?? '/admin/queues'
  const adapter = new FastifyAdapter()
  adapter.setBasePath(basePath)
  createBullBoard({ queues: opts.queues.map((q) => new BullMQAdapter(q)), serverAdapter: adapter, options: { uiConfig: { boardTitle: 'Vestibule queues' } } })
  await app.register(async (board) => {
    board.addHook('onRequest', async (req, reply) => {
      const given = basicCredentials(req.headers.authorization)
      // Both compared every time, so timing says nothing about which half was wrong.
      const ok = given !== null && [safeEqual(given.id, opts.user), safeEqual(given.secret, opts.password)].every(Boolean)
      if (!ok) return reply.code(401).header('www-authenticate', 'Basic realm="vestibule-admin", charset="UTF-8"').send({ error: 'unauthorized' })
    })
    await board.register(adapter.registerPlugin() as never, { prefix: basePath })
  })
}
