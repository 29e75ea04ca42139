// /admin/v1/tenants/:id/users and /events: accounts of one tenant (filled in below).
import type { FastifyInstance } from 'fastify'
import type { AdminContext } from './context.ts'

export default async function userRoutes (_app: FastifyInstance, _ctx: AdminContext): Promise<void> {}
