// A minimal "IdP" on 127.0.0.1:0 that serves a JWKS and mints id_tokens, trusted or forged, for id_token tests.
//
//   const idp = await startJwksPeer()
//   idp.issuer, idp.jwksUrl, idp.userinfoUrl, idp.jwksHits
//   const jwt = await idp.sign({ sub: 'u1', aud: 'client', nonce: 'n' })             // signed with the published key
//   const forged = await idp.sign({ ... }, { key: 'rogue' })                          // same kid, unpublished key
//   const other = await idp.sign({ ... }, { key: 'rogue', kid: 'unknown' })          // a kid the JWKS lacks
//   await idp.close()
//
// `iss` defaults to idp.issuer, `iat` to now and `exp` to now + 1 h unless the claims set them.
// userinfoUrl answers every bearer token with `userinfo` (settable) so fallbacks can be exercised.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose'

export interface JwksPeer {
  issuer: string
  jwksUrl: string
  userinfoUrl: string
  jwksHits: number
  userinfo: Record<string, unknown>
  sign (claims: JWTPayload, opts?: { key?: 'trusted' | 'rogue', kid?: string, alg?: string }): Promise<string>
  close (): Promise<void>
}

export async function startJwksPeer (): Promise<JwksPeer> {
  const trusted = await generateKeyPair('RS256', { extractable: true })
  const rogue = await generateKeyPair('RS256', { extractable: true })
  const kid = 'trusted-key'
  const jwks = { keys: [{ ...(await exportJWK(trusted.publicKey)), kid, alg: 'RS256', use: 'sig' }] }
  const peer: JwksPeer = {
    issuer: '',
    jwksUrl: '',
    userinfoUrl: '',
    jwksHits: 0,
    userinfo: {},
    async sign (claims, opts = {}) {
      const now = Math.floor(Date.now() / 1000)
      return new SignJWT({ iss: peer.issuer, iat: now, exp: now + 3600, ...claims })
        .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? kid, typ: 'JWT' })
        .sign(opts.key === 'rogue' ? rogue.privateKey : trusted.privateKey)
    },
    close: async () => {}
  }
  const server = createServer((req, res) => {
    if (req.url === '/jwks') {
      peer.jwksHits++
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end(JSON.stringify(jwks))
    }
    if (req.url === '/userinfo' && (req.headers.authorization ?? '').startsWith('Bearer ')) {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end(JSON.stringify(peer.userinfo))
    }
    res.writeHead(404)
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  peer.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  peer.jwksUrl = `${peer.issuer}/jwks`
  peer.userinfoUrl = `${peer.issuer}/userinfo`
  peer.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
  return peer
}
