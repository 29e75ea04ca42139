// An HTTP server on 127.0.0.1:0 that never finishes answering, for provider timeout tests.
//
//   const peer = await startHangingPeer({ mode: 'no-response' })  // or 'headers-then-stall'
//   peer.url  (any path hangs)   peer.hits  (requests received)   await peer.close()
//
// 'no-response' accepts the request and never writes; 'headers-then-stall' sends 200 + JSON headers and
// half a body, then stalls. close() destroys the held sockets so tests end promptly.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface HangingPeer { url: string, hits: number, close (): Promise<void> }

export async function startHangingPeer (opts: { mode?: 'no-response' | 'headers-then-stall' } = {}): Promise<HangingPeer> {
  const held = new Set<ServerResponse>()
  const peer = { url: '', hits: 0, close: async () => {} }
  const server = createServer((req, res) => {
    peer.hits++
    held.add(res)
    req.resume()
    if (opts.mode === 'headers-then-stall') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' })
      res.write('{"id": "12')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  peer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  peer.close = () => new Promise<void>((resolve) => {
    held.clear()
    server.closeAllConnections()
    server.close(() => resolve())
  })
  return peer
}
