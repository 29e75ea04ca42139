// Statements of concurrent requests sent as one: every call made in the same turn of the event loop
// waits for that turn's end (setImmediate), then one statement carries all of their parameters and each
// caller gets the rows of its own. One round trip (one write, one read, one statement for PostgreSQL to
// bind and run) for the many lookups or logins a busy node makes at once, instead of one each. A lone call goes
// alone, a few microseconds later than it would have: no request waits for another.
//
// A batched statement reads its calls from a VALUES list, one row per call: `(values ($1, $2, 1), ($3, $4, 2))
// as h(a, b, i)`, where `i` is the call's position (1-based), which the statement returns with each row. The
// list has a fixed number of rows per statement text (1, 2, 4, … MAX_BATCH; the unused rows are all NULL and
// match nothing), so each size is one named prepared statement whose generic plan PostgreSQL keeps. (With
// the calls in array parameters instead, PostgreSQL estimates ten rows for any array and, finding that plan
// dearer than one made for the actual arrays, plans the statement again on every execution: 0.2 ms each.)
//
// A statement that fails fails every call of its batch with the same error, as each would have failed alone
// (a lost connection, a timeout). A batched statement is one statement, so a failed batch wrote nothing: when
// its error may be one call's own (callsOwnError: a value out of range, a constraint, a deadlock with another
// writer), each call of the batch runs again by itself, in the statement of one row, and gets its own answer
// or error: one request's bad value (or one tenant's) never fails the others it shared a batch with.
import type { PoolQuery } from './index.ts'
import { preparedStatement } from './prepared.ts'

/** At most this many calls share one statement; a busier turn sends several. */
export const MAX_BATCH = 256
/** The VALUES list sizes a batched statement is prepared in; a batch takes the smallest that holds it. */
export const BATCH_SIZES: readonly number[] = Array.from({ length: Math.log2(MAX_BATCH) + 1 }, (_, k) => 2 ** k)

export interface BatchedStatement {
  readonly name: string
  /** Parameters per call. */
  readonly arity: number
  /** The statement for `size` calls (one of BATCH_SIZES), registered as the named statement `<name>_<size>`. */
  text (size: number): string
}

/**
 * An error that may be one call's and not the whole batch's: SQLSTATE class 22 (data exception: a value out of
 * range), 23 (integrity constraint) or 40 (deadlock, serialization failure). A lost connection, a timeout or a
 * cancelled statement is everyone's.
 */
export function callsOwnError (err: unknown): boolean {
  return /^(22|23|40)/.test(String((err as { code?: unknown } | null)?.code ?? ''))
}

/**
 * A batched statement: `types` are the PostgreSQL types of one call's parameters, `build` gets the VALUES list
 * (`(values …) as h(<columns>, i)` is the caller's to write, so it names the columns) and returns the statement.
 */
export function batchedStatement (name: string, types: readonly string[], build: (values: string) => string): BatchedStatement {
  const texts = new Map<number, string>()
  for (const size of BATCH_SIZES) {
    const rows = Array.from({ length: size }, (_, j) => `(${types.map((t, c) => `$${j * types.length + c + 1}::${t}`).join(', ')}, ${j + 1})`)
    texts.set(size, preparedStatement(`${name}_${size}`, build(`values ${rows.join(', ')}`)))
  }
  return {
    name,
    arity: types.length,
    text (size) {
      const text = texts.get(size)
      if (text === undefined) throw new Error(`${name}: no statement for ${size} calls`)
      return text
    }
  }
}

/** The smallest prepared size that holds n calls (n ≤ MAX_BATCH). */
export function batchSize (n: number): number {
  for (const size of BATCH_SIZES) if (size >= n) return size
  throw new Error(`batch of ${n} exceeds ${MAX_BATCH}`)
}

interface Pending<R> { params: readonly unknown[], resolve: (rows: R[]) => void, reject: (err: unknown) => void }

export class Batched<R extends { i: number }> {
  readonly #query: PoolQuery
  readonly #statement: BatchedStatement
  #pending: Array<Pending<R>> = []
  #scheduled = false

  constructor (query: PoolQuery, statement: BatchedStatement) {
    this.#query = query
    this.#statement = statement
  }

  /** The rows of this call's parameters. */
  run (params: readonly unknown[]): Promise<R[]> {
    if (params.length !== this.#statement.arity) throw new Error(`${this.#statement.name} takes ${this.#statement.arity} parameters, got ${params.length}`)
    return new Promise<R[]>((resolve, reject) => {
      this.#pending.push({ params, resolve, reject })
      if (!this.#scheduled) { this.#scheduled = true; setImmediate(this.#flush) }
    })
  }

  #flush = (): void => {
    this.#scheduled = false
    const all = this.#pending
    this.#pending = []
    for (let at = 0; at < all.length; at += MAX_BATCH) this.#send(all.slice(at, at + MAX_BATCH))
  }

  #send (batch: Array<Pending<R>>): void {
    const size = batchSize(batch.length)
    const arity = this.#statement.arity
    const values: unknown[] = new Array(size * arity).fill(null)
    for (let j = 0; j < batch.length; j++) {
      const p = batch[j].params
      for (let c = 0; c < arity; c++) values[j * arity + c] = p[c]
    }
    this.#query<R>(this.#statement.text(size), values).then((rows) => {
      const mine: R[][] = Array.from({ length: batch.length }, () => [])
      for (const row of rows) mine[Number(row.i) - 1]?.push(row)
      for (let j = 0; j < batch.length; j++) batch[j].resolve(mine[j])
    }, (err: unknown) => {
      if (batch.length > 1 && callsOwnError(err)) { for (const p of batch) this.#send([p]); return }
      for (const p of batch) p.reject(err)
    })
  }
}
