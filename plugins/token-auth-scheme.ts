// The OpenAPI security scheme of DRF's TokenAuthentication (`Authorization: Token <token>`), shared by the by-link and
// rest-social-auth dialects. OpenAPI has no http scheme named `Token` that generators fill in (@hey-api/openapi-ts
// knows only `bearer` and `basic` and drops any other http scheme; openapi-fetch and orval fill in no scheme), and
// `Bearer` is not part of the wire contract: so it is an apiKey on `Authorization` whose value is the whole header,
// and the description carries each generator's one auth line (README "Generating a client"; test/openapi/generators.test.ts
// drives the server with exactly these lines).
export const TOKEN_AUTH_LINES = {
  heyApi: 'auth: () => `Token ${token}`',
  headers: 'headers: { Authorization: `Token ${token}` }'
} as const

export const tokenAuthScheme = {
  type: 'apiKey',
  in: 'header',
  name: 'Authorization',
  description: 'The word `Token`, a space, then the token a login returned: `Authorization: Token <token>` (`Bearer` is refused). ' +
    'The value is the whole header, prefix included: with @hey-api/openapi-ts pass `' + TOKEN_AUTH_LINES.heyApi + '`; ' +
    'with openapi-fetch or orval pass `' + TOKEN_AUTH_LINES.headers + '` in the call\'s options.'
} as const
