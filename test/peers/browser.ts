// A tiny scripted browser for peers' login pages: cookie jar, manual redirects, HTML form submission.

interface Cookie { value: string, path: string }

export interface FollowResult {
  /** The final redirect to the client (the URL that carried code/state or error). */
  redirect: string
  params: URLSearchParams
}

export class Browser {
  private readonly jar = new Map<string, Map<string, Cookie>>()

  private cookieHeader (url: URL): string {
    const byName = this.jar.get(url.host)
    if (byName === undefined) return ''
    return [...byName].filter(([, c]) => url.pathname.startsWith(c.path)).map(([n, c]) => `${n}=${c.value}`).join('; ')
  }

  private store (url: URL, res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      let path = '/'
      let expired = value === ''
      for (const a of attrs) {
        const [k, v] = a.trim().split('=')
        if (k.toLowerCase() === 'path' && v) path = v
        if (k.toLowerCase() === 'expires' && v && Date.parse(v) < Date.now()) expired = true
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true
      }
      let byName = this.jar.get(url.host)
      if (byName === undefined) this.jar.set(url.host, byName = new Map())
      if (expired) byName.delete(name)
      else byName.set(name, { value, path })
    }
  }

  async request (method: 'GET' | 'POST', target: string, form?: Record<string, string>): Promise<Response> {
    const url = new URL(target)
    const headers: Record<string, string> = { accept: 'text/html,application/json' }
    const cookie = this.cookieHeader(url)
    if (cookie) headers.cookie = cookie
    let body: string | undefined
    if (form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(form).toString()
    }
    const res = await fetch(url, { method, headers, body, redirect: 'manual' })
    this.store(url, res)
    return res
  }

  /**
   * Follows redirects from `start`, filling each HTML form with `fill(fields)` and submitting it, until
   * a redirect leaves for `redirectUri`. Throws when the chain stalls or loops.
   */
  async follow (start: string, redirectUri: string, fill: (fields: Record<string, string>, html: string) => Record<string, string>): Promise<FollowResult> {
    let res = await this.request('GET', start)
    let current = start
    for (let hop = 0; hop < 25; hop++) {
      if (res.status >= 300 && res.status < 400) {
        const location = new URL(res.headers.get('location') ?? '', current).toString()
        await res.arrayBuffer()
        if (sameEndpoint(location, redirectUri)) return { redirect: location, params: new URL(location).searchParams }
        current = location
        res = await this.request('GET', location)
        continue
      }
      const html = await res.text()
      if (res.status !== 200) throw new Error(`login page ${current} answered ${res.status}: ${html.slice(0, 300)}`)
      const form = parseForm(html)
      if (form === null) throw new Error(`no form on ${current}: ${html.slice(0, 300)}`)
      const action = new URL(form.action || current, current).toString()
      current = action
      res = await this.request(form.method, action, fill(form.fields, html))
    }
    throw new Error('too many hops before reaching the redirect_uri')
  }
}

function sameEndpoint (a: string, b: string): boolean {
  const x = new URL(a)
  const y = new URL(b)
  return x.origin === y.origin && x.pathname === y.pathname
}

const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
const attr = (tag: string, name: string): string | undefined => {
  const m = new RegExp(`\\s${name}\\s*=\\s*"([^"]*)"`, 'i').exec(tag) ?? new RegExp(`\\s${name}\\s*=\\s*'([^']*)'`, 'i').exec(tag)
  return m ? decode(m[1]) : undefined
}

/** The first form on the page: action, method and its named inputs' current values. */
export function parseForm (html: string): { action: string, method: 'GET' | 'POST', fields: Record<string, string> } | null {
  const open = /<form\b[^>]*>/i.exec(html)
  if (open === null) return null
  const end = html.indexOf('</form>', open.index)
  const inner = html.slice(open.index, end === -1 ? undefined : end)
  const fields: Record<string, string> = {}
  for (const m of inner.matchAll(/<(input|button)\b[^>]*>/gi)) {
    const name = attr(m[0], 'name')
    if (name !== undefined) fields[name] = attr(m[0], 'value') ?? ''
  }
  return { action: attr(open[0], 'action') ?? '', method: (attr(open[0], 'method') ?? 'GET').toUpperCase() === 'POST' ? 'POST' : 'GET', fields }
}
