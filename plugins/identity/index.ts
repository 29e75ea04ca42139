// The identity core's door: everything a dialect may call to read or change accounts and tokens.
export * from './executor.ts'
export * from './tokens.ts'
export * from './sessions.ts'
export * from './users.ts'
export * from './social.ts'
export * from './signing-keys.ts'
export { SQL } from './statements.ts'
export * from './tenant-identity.ts'
