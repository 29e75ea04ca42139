// Process concerns server.ts shares across commands: boot failures told in one line (what is wrong and
// what to do, exit 1, no stack), and a watch on the parent process so a server whose launcher died
// (npm killed by SIGTERM leaves its `sh -c` child's child behind) shuts down instead of serving on.

/** A failure the operator can fix, already worded for them. */
export class BootError extends Error {
  override name = 'BootError'
}

interface Errno { code?: string, errno?: number, syscall?: string, address?: string, port?: number, hostname?: string, message?: string }

/**
 * One line for a failure at start: known causes (a port taken, an unreachable or malformed database,
 * a missing folder, a locked data directory) say what to do; anything else keeps its own message,
 * never its stack.
 */
export function describeBootError (err: unknown, ctx: { port?: number, host?: string, databaseUrl?: string, tenantsDir?: string } = {}): string {
  if (err instanceof BootError) return err.message
  const e = rootCause(err)
  const msg = String(e.message ?? err).split('\n')[0]
  const db = ctx.databaseUrl ? ` (DATABASE_URL ${redactUrl(ctx.databaseUrl)})` : ''
  switch (e.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${e.address ?? ctx.host ?? ''}:${e.port ?? ctx.port ?? ''}: the port is already in use by another process; stop it or set PORT to a free port`
    case 'EACCES':
      if (e.syscall === 'listen') return `cannot listen on ${e.address ?? ctx.host ?? ''}:${e.port ?? ctx.port ?? ''}: permission denied; use a port above 1023 or grant the capability`
      break
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${e.address ?? ctx.host ?? ''}: no such address on this machine; set HOST (e.g. 127.0.0.1 or 0.0.0.0)`
    case 'ENOTFOUND': case 'EAI_AGAIN':
      return `cannot reach the database${db}: host ${JSON.stringify(e.hostname ?? '')} not found; check the host name in DATABASE_URL`
    case 'ECONNREFUSED':
      return `cannot reach the database${db}: connection refused at ${e.address ?? ''}:${e.port ?? ''}; is PostgreSQL running there?`
    case 'ETIMEDOUT':
      return `cannot reach the database${db}: timed out; check DATABASE_URL and the network`
    case '28P01': case '28000':
      return `the database refused the login${db}: ${msg}; check the user and password in DATABASE_URL`
    case '3D000':
      return `the database does not exist${db}: ${msg}; create it (createdb) or fix DATABASE_URL`
  }
  return msg
}

/** The error that carries a code: through `cause` (a failed migration wraps the driver's) and AggregateError (a host with several addresses). */
function rootCause (err: unknown): Errno {
  let e = err as (Errno & { cause?: unknown, errors?: unknown[] }) | undefined
  for (let depth = 0; e && depth < 5; depth++) {
    if (e.code) return e
    if (Array.isArray(e.errors) && e.errors.length) e = e.errors[0] as typeof e
    else if (e.cause) e = e.cause as typeof e
    else break
  }
  return (err ?? {}) as Errno
}

/** A postgres:// URL with its password hidden, for messages. */
export function redactUrl (url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch { return JSON.stringify(url) }
}

/** Checks DATABASE_URL before anything connects: pg reads a non-URL as a host name ("base" → ENOTFOUND). */
export function checkDatabaseUrl (url: string | undefined): void {
  if (!url) return
  let u: URL
  try { u = new URL(url) } catch {
    throw new BootError(`DATABASE_URL is not a URL (${JSON.stringify(url.length > 80 ? url.slice(0, 80) + '…' : url)}); expected postgres://user:password@host:5432/database, or unset it for the embedded database`)
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new BootError(`DATABASE_URL must start with postgres:// or postgresql:// (got ${u.protocol}//); or unset it for the embedded database`)
  }
}

/**
 * Calls `onOrphaned` once when this process's parent exits. A process started by a service manager or
 * a container (parent 0 or 1) is not watched; one started by npm, a shell or a test is.
 */
export function watchParent (onOrphaned: () => void, everyMs = 500): void {
  const parent = process.ppid
  if (parent <= 1) return
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    onOrphaned()
  }, everyMs)
  timer.unref()
}
