// A lock file beside the embedded database's folder (`<dataDir>.lock`): PGlite is single-process, and a
// second process opening the same folder aborts deep inside its WebAssembly (or corrupts it). The file
// holds the owner's pid and host; a lock whose process is gone (killed, crashed) is taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import os from 'node:os'

export class DataDirLockedError extends Error {
  readonly code = 'VST_ERR_DATA_DIR_LOCKED'
}

interface Owner { pid: number, host: string, since: string, command: string }

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}

/** Takes the lock of `dataDir` or throws DataDirLockedError naming its owner; returns the release. */
export function lockDataDir (dataDir: string): () => void {
  const file = `${dataDir.replace(/[/\\]+$/, '')}.lock`
  const me: Owner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), command: process.argv.slice(2).join(' ') }
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number
    try {
      fd = openSync(file, 'wx')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      let owner: Partial<Owner> = {}
      try { owner = JSON.parse(readFileSync(file, 'utf8')) } catch { /* half-written or foreign: treated as stale below */ }
      const sameHost = owner.host === undefined || owner.host === me.host
      if (typeof owner.pid === 'number' && (!sameHost || alive(owner.pid))) {
        const who = `${owner.command ? `"${owner.command}", ` : ''}pid ${owner.pid}${sameHost ? '' : ` on ${owner.host}`}`
        throw new DataDirLockedError(`the embedded database ${dataDir} is in use by another process (${who}); stop it first, or set DATA_DIR to another folder (or DATABASE_URL for PostgreSQL)${sameHost ? '' : `; if that process is gone, delete ${file}`}`)
      }
      try { unlinkSync(file) } catch { /* another process took it over first: retry */ }
      continue
    }
    writeSync(fd, JSON.stringify(me))
    closeSync(fd)
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      process.off('exit', release)
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as Owner).pid === process.pid) unlinkSync(file)
      } catch { /* already gone */ }
    }
    process.on('exit', release)
    return release
  }
  throw new DataDirLockedError(`cannot take the lock ${file} of the embedded database ${dataDir}; another process keeps taking it`)
}
