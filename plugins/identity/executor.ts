// What every repository function takes: the database or a transaction, so callers compose them.
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../../db/index.ts'

export type Executor = Kysely<Database> | Transaction<Database>

/** Runs fn in a transaction, or inside the caller's if it already is one. */
export async function inTransaction<T> (db: Executor, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db as Transaction<Database>)
  return (db as Kysely<Database>).transaction().execute(fn)
}

/** PostgreSQL unique_violation, whichever driver raised it. */
export function isUniqueViolation (err: unknown, constraint?: string): boolean {
  const e = err as { code?: string, constraint?: string, message?: string } | null
  if (!e || e.code !== '23505') return false
  return constraint === undefined || e.constraint === constraint || (e.message ?? '').includes(constraint)
}

/**
 * Runs fn in its own transaction; when it loses a unique-key race (another writer committed the same
 * identity, email or username first), runs it once more in a fresh transaction, where it sees the
 * winner's rows and decides again. For callers that compose resolveSocialLogin with their own writes.
 */
export async function transactionWithRaceRetry<T> (db: Kysely<Database>, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  try {
    return await db.transaction().execute(fn)
  } catch (err) {
    if (!isUniqueViolation(err)) throw err
    return db.transaction().execute(fn)
  }
}
