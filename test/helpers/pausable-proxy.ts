// A TCP proxy in front of the shared PostgreSQL that a test can pause: while paused, nothing passes in
// either direction and new connections hang, as with a stopped (SIGSTOP) or unreachable server, but
// without touching the server other test files use.
import net from 'node:net'

export interface PausableProxy { port: number, url (db?: string): string, pause (): void, resume (): void, close (): Promise<void> }

export async function pausableProxy (t: { teardown (fn: () => unknown): void }, target = { host: '127.0.0.1', port: 5432 }): Promise<PausableProxy> {
  let paused = false
  const held: Array<{ to: net.Socket, chunk: Buffer }> = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host)
    const drop = () => { sockets.delete(client); sockets.delete(upstream); client.destroy(); upstream.destroy() }
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from)
      from.on('error', drop).on('close', drop)
      // While paused, bytes are held back in both directions, as a stopped server would leave them.
      from.on('data', (chunk: Buffer) => { if (paused) held.push({ to, chunk }); else to.write(chunk) })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  const api: PausableProxy = {
    port,
    url: (db = 'test') => `postgres://postgres@127.0.0.1:${port}/${db}`,
    pause () { paused = true },
    resume () { paused = false; for (const h of held.splice(0)) if (!h.to.destroyed) h.to.write(h.chunk) },
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()) })
  }
  t.teardown(() => api.close())
  return api
}
