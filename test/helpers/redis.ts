// A private redis-server on a free loopback port, for tests that stop and restart Redis without
// disturbing the shared one other test files use.
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { Redis } from 'ioredis'

export async function freePort (): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

export interface PrivateRedis { url: string, port: number, start (): Promise<void>, stop (): Promise<void> }

/** `args` are appended to redis-server's command line (a later setting wins), e.g. ['--appendonly', 'yes']. */
export async function privateRedis (t: { teardown (fn: () => unknown): void }, args: string[] = []): Promise<PrivateRedis> {
  const port = await freePort()
  let proc: ChildProcess | null = null
  const api: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start () {
      proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], { stdio: 'ignore' })
      for (let i = 0; i < 100; i++) {
        const c = new Redis(api.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
        c.on('error', () => {})
        const ok = await c.connect().then(() => c.ping()).then(() => true, () => false)
        c.disconnect()
        if (ok) return
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error('private redis-server did not start')
    },
    async stop () {
      const p = proc
      proc = null
      if (!p || p.exitCode !== null) return
      await new Promise<void>((resolve) => { p.once('exit', () => resolve()); p.kill('SIGKILL') })
    }
  }
  await api.start()
  t.teardown(() => api.stop())
  return api
}
