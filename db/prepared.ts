// Named prepared statements for the hot paths' fixed SQL. A statement registered here is sent by
// node-postgres as a named statement: parsed and planned once per connection, then only bound and run
// (an unnamed statement is parsed and planned on every request). Kysely hands pg the SQL text; the
// pool's connections swap a registered text for its name (db/index.ts), so the same statement runs
// named inside a Kysely transaction too. PGlite runs the texts as they are.
//
// PgBouncer in transaction mode hands each transaction any server connection, where a statement
// prepared on another one does not exist: run PgBouncer ≥ 1.21 with `max_prepared_statements` set
// (it tracks protocol-level named statements), session mode, or DATABASE_PREPARED_STATEMENTS=off.

const names = new Map<string, string>()

/** Registers `text` under `name` (unique) and returns the text, so statement tables stay plain strings. */
export function preparedStatement (name: string, text: string): string {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid prepared statement name ${JSON.stringify(name)}`)
  for (const [t, n] of names) if (n === name && t !== text) throw new Error(`prepared statement ${name} registered twice with different texts`)
  names.set(text, name)
  return text
}

/** The name a text was registered under, if any. */
export function preparedName (text: string): string | undefined {
  return names.get(text)
}

/** DATABASE_PREPARED_STATEMENTS: `on` (default) or `off`. */
export function preparedStatementsFromEnv (value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'on' || value === 'true') return true
  if (value === 'off' || value === 'false') return false
  throw new Error(`DATABASE_PREPARED_STATEMENTS must be on or off, got ${JSON.stringify(value)}`)
}
