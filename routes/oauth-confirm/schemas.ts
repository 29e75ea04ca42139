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
export const ReasonPhrase = (description: string) => Type.String({ description })

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
  token: Type.String({ description: 'Opaque bearer token (session kind `oauth-confirm`), stored hashed; lives `sessionTtlSeconds` or until revoked.' }),
  signup: Type.Boolean({ description: 'True when this sign-in created the account (freesewing.org then shows its welcome page).' })
}, {
  title: 'OAuthConfirmSession'
})
