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
  url: Type.String({ description: 'The provider authorization URL carrying this state, PKCE challenge and Vestibule\'s callback URL.' })
}, { title: 'OAuthConfirmAuthorization', examples: [{ state: '5d5132041ad3f369443f1d7b', url: 'https://github.com/login/oauth/authorize?response_type=code&client_id=…&state=5d5132041ad3f369443f1d7b' }] })

export const CallbackParams = Type.Object({
  provider: SafeString({ maxLength: 64, description: 'The provider the state was issued for.' })
})
export type CallbackParamsType = Static<typeof CallbackParams>

export const CallbackQuery = Type.Object({
  code: Type.Optional(SafeString({ description: 'Authorization code from the provider.' })),
  state: Type.Optional(SafeString({ maxLength: 256, description: 'The state `/oauth/init` returned.' })),
  error: Type.Optional(SafeString({ maxLength: 256, description: 'Set by the provider when the user refused or the request failed.' })),
  error_description: Type.Optional(SafeString({ description: 'Provider\'s explanation of `error` (ignored).' }))
})
export type CallbackQueryType = Static<typeof CallbackQuery>

export const LoginBody = Type.Object({
  confirmation: SafeString({ maxLength: 256, description: 'The confirmation the callback put in the frontend redirect.' })
}, { examples: [{ confirmation: '98e132041ad3f369443f1d3d' }] })
export type LoginBodyType = Static<typeof LoginBody>

export const Account = Type.Object({
  id: Type.String({ description: 'Stable public account id (a UUID).' }),
  username: Type.Union([Type.String(), Type.Null()], { description: 'Username, from the provider or another dialect; null when none is known.' }),
  email: Type.Union([Type.String(), Type.Null()], { description: 'Email address; null when the provider gave none.' }),
  emailVerified: Type.Boolean({ description: 'True only when a provider asserted the address verified.' }),
  language: Type.String({ description: 'The account language: chosen at `/oauth/init` when the account was created (or had none).' }),
  name: Type.Union([Type.String(), Type.Null()], { description: 'Display name.' }),
  givenName: Type.Union([Type.String(), Type.Null()]),
  familyName: Type.Union([Type.String(), Type.Null()]),
  picture: Type.Union([Type.String(), Type.Null()], { description: 'Avatar URL from the provider.' }),
  provider: Type.String({ description: 'The provider this sign-in went through.' }),
  isNew: Type.Boolean({ description: 'True when this sign-in created the account (sign-up), false for a log-in.' }),
  createdAt: Type.String({ format: 'date-time' })
}, { title: 'OAuthConfirmAccount' })
export type AccountType = Static<typeof Account>

export const LoginReply = Type.Object({
  account: Account,
  token: Type.String({ description: 'Opaque bearer token (session kind `oauth-confirm`), stored hashed; lives `sessionTtlSeconds` or until revoked.' })
}, {
  title: 'OAuthConfirmSession',
  examples: [{
    account: { id: '0b0f3c1e-8d5a-4a57-9f63-2a1d5f0c9e11', username: 'alice', email: 'alice@example.com', emailVerified: true, language: 'fr', name: 'Alice Liddell', givenName: 'Alice', familyName: 'Liddell', picture: null, provider: 'github', isNew: true, createdAt: '2026-01-01T12:00:00.000Z' },
    token: 'q2Vb1c…'
  }]
})
