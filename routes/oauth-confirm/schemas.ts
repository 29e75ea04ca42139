// TypeBox request/response schemas of the oauth-confirm dialect (seed 002); they validate and build the OpenAPI document.
import { Type, type Static } from '@sinclair/typebox'
import { SafeString } from '../../plugins/schemas.ts'

/** The seed's failures are a bare status: no body, so the OpenAPI document lists the status with no content. */
export const BareError = (description: string) => Type.Null({ description })

export const InitBody = Type.Object({
  provider: SafeString({ maxLength: 64, description: 'A configured OAuth2 provider key, e.g. `github` or `google`.' }),
  language: SafeString({ maxLength: 35, description: 'One of the accepted language codes (see the dialect options), e.g. `fr`.' })
}, { examples: [{ provider: 'github', language: 'fr' }] })
export type InitBodyType = Static<typeof InitBody>

export const InitReply = Type.Object({
  state: Type.String({ description: 'Opaque single-use state (32 lowercase hex characters, 128 random bits) the frontend passes to the provider.' }),
  url: Type.String({ description: 'The provider authorization URL carrying this state and Vestibule\'s callback URL, with a PKCE challenge (and an OIDC nonce) unless `providerUrls` is `frontend`.' })
}, { title: 'OAuthConfirmAuthorization', examples: [{ state: '5d5132041ad3f369443f1d7b', url: 'https://github.com/login/oauth/authorize?response_type=code&client_id=…&state=5d5132041ad3f369443f1d7b' }] })

export const CallbackParams = Type.Object({
  provider: SafeString({ maxLength: 64, description: 'The provider the state was issued for.' })
})
export type CallbackParamsType = Static<typeof CallbackParams>

export const CallbackQuery = Type.Object({
  code: Type.Optional(SafeString({ description: 'Authorization code from the provider.', examples: ['4/0AX4XfWh7Lk2pQ'] })),
  state: Type.Optional(SafeString({ maxLength: 256, description: 'The state `/oauth/init` returned.', examples: ['9f86d081884c7d659a2feaa0c55ad015'] })),
  error: Type.Optional(SafeString({ maxLength: 256, description: 'Set by the provider when the user refused or the request failed.', examples: ['access_denied'] })),
  error_description: Type.Optional(SafeString({ description: 'Provider\'s explanation of `error` (ignored).' }))
})
export type CallbackQueryType = Static<typeof CallbackQuery>

/** Express `sendStatus`: the status's reason phrase as a text/plain body. */
/** A text/plain reason phrase; the description starts with it in backticks, which is also its example. */
export const ReasonPhrase = (description: string) => {
  const phrase = /^`([^`]+)`/.exec(description)?.[1]
  return Type.String({ description, ...(phrase !== undefined ? { examples: [phrase] } : {}) })
}

export const LoginBody = Type.Object({
  confirmation: SafeString({ maxLength: 256, description: 'The confirmation the callback put in the frontend redirect.' }),
  validation: Type.Optional(SafeString({ maxLength: 256, description: 'The validation the redirect carried (`{validation}` in the template); required then.' }))
}, { examples: [{ confirmation: '98e132041ad3f369443f1d3d98e13204', validation: '5d5132041ad3f369443f1d7b9e04c2a1' }] })
export type LoginBodyType = Static<typeof LoginBody>

const Nullable = (description?: string) => Type.Union([Type.String(), Type.Null()], description ? { description } : {})

/** freesewing's account (src/models/user.js `account()`), then Vestibule's own fields. */
export const Account = Type.Object({
  _id: Type.String({ description: 'The account UUID (freesewing: the Mongo id).' }),
  handle: Type.String({ description: 'The account UUID (freesewing: a 5-letter handle; Vestibule stores none).' }),
  username: Nullable('Username, from the provider or another dialect; null when none is known.'),
  email: Nullable('Email address; null when the provider gave none.'),
  role: Type.String({ description: 'Always `user`.' }),
  patron: Type.Integer({ description: 'Always 0.' }),
  bio: Type.String({ description: 'Always empty.' }),
  picture: Type.String({ description: 'The provider\'s avatar URL, or empty (freesewing: a file name).' }),
  status: Type.String({ description: 'Always `active` (a blocked account gets 403 instead).' }),
  settings: Type.Object({ language: Type.String(), units: Type.String({ description: 'Always `metric`.' }) }),
  consent: Type.Object({ profile: Type.Boolean(), measurements: Type.Boolean(), openData: Type.Boolean() }, { description: 'freesewing\'s defaults: false, false, true.' }),
  time: Type.Object({ created: Type.String({ format: 'date-time' }), login: Type.String({ format: 'date-time' }) }),
  social: Type.Object({ github: Type.String(), twitter: Type.String(), instagram: Type.String() }, { description: '`github`: the GitHub login when this sign-in came through `github`.' }),
  newsletter: Type.Boolean({ description: 'Always false.' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  pictureUris: Type.Object({ l: Type.String(), m: Type.String(), s: Type.String(), xs: Type.String() }, { description: 'Each the provider\'s avatar URL (Vestibule keeps no resized copies), or empty.' }),
  id: Type.String({ description: 'Stable public account id (a UUID).' }),
  emailVerified: Type.Boolean({ description: 'True only when a provider asserted the address verified.' }),
  language: Type.String({ description: 'The account language: chosen at `/oauth/init` when the account was created (or had none).' }),
  name: Nullable('Display name.'),
  givenName: Nullable(),
  familyName: Nullable(),
  provider: Type.String({ description: 'The provider this sign-in went through.' }),
  isNew: Type.Boolean({ description: 'True when this sign-in created the account (sign-up), false for a log-in.' })
}, { title: 'OAuthConfirmAccount' })
export type AccountType = Static<typeof Account>

export const LoginReply = Type.Object({
  account: Account,
  people: Type.Object({}, { additionalProperties: false, description: 'Always `{}`: Vestibule keeps no people (freesewing\'s measurement sets).' }),
  token: Type.String({ description: 'A JWT (ES256 or RS256) signed with the tenant\'s key, verifiable with the public keys at `/.well-known/jwks.json`: `iss` the tenant\'s public URL, `sub`, `_id` and `handle` the account UUID, `aud` when configured, `iat`, `exp` after `sessionTtlSeconds` (none when null), `jti` its session. Send it as `Authorization: Bearer <token>`; it dies with its session (logout, block, erase, revocation).' }),
  signup: Type.Boolean({ description: 'True when this sign-in created the account (freesewing.org then shows its welcome page).' })
}, {
  title: 'OAuthConfirmSession'
})

/** A public key of the tenant's JWKS (RFC 7517): EC P-256 (`crv`, `x`, `y`) or RSA (`n`, `e`). */
export const Jwk = Type.Object({
  kty: Type.String({ description: '`EC` or `RSA`.' }),
  kid: Type.String({ description: 'The key id in the token header: the key\'s RFC 7638 thumbprint.' }),
  alg: Type.String({ description: '`ES256` or `RS256`.' }),
  use: Type.String({ description: 'Always `sig`.' }),
  crv: Type.Optional(Type.String()),
  x: Type.Optional(Type.String()),
  y: Type.Optional(Type.String()),
  n: Type.Optional(Type.String()),
  e: Type.Optional(Type.String())
}, { title: 'OAuthConfirmJwk' })

export const Jwks = Type.Object({
  keys: Type.Array(Jwk, { description: 'The signing key first, then rotated keys that still verify (until retired).' })
}, {
  title: 'OAuthConfirmJwks',
  examples: [{ keys: [{ kty: 'EC', kid: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs', alg: 'ES256', use: 'sig', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }] }]
})

export const AccountReply = Type.Object({
  account: Account,
  people: Type.Object({}, { additionalProperties: false, description: 'Always `{}`.' }),
  patterns: Type.Object({}, { additionalProperties: false, description: 'Always `{}`: Vestibule keeps no patterns.' })
}, { title: 'OAuthConfirmAccountReply' })
