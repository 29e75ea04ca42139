// The magic-link mail: locale chosen from Accept-Language among the tenant's locales, tenant templates else built-in en/fr.
import type { EmailConfig } from '../../plugins/tenant/schema-parts.ts'

interface Template { subject: string, text: string }

const BUILT_IN: Record<string, Template> = {
  en: {
    subject: 'Your login link for {tenant}',
    text: 'Hello,\n\nUse this link to log in to {tenant}:\n\n{link}\n\nThe link works once and expires in {minutes} minutes. If you did not ask for it, you can ignore this message.\n'
  },
  fr: {
    subject: 'Votre lien de connexion à {tenant}',
    text: 'Bonjour,\n\nUtilisez ce lien pour vous connecter à {tenant} :\n\n{link}\n\nLe lien ne sert qu’une fois et expire dans {minutes} minutes. Si vous ne l’avez pas demandé, ignorez ce message.\n'
  }
}

const primary = (tag: string) => tag.split('-')[0].toLowerCase()

/** The tenant locale that best matches Accept-Language (exact tag, then language), else the default. */
export function pickLocale (acceptLanguage: string | string[] | undefined, locales: string[], defaultLocale: string): string {
  if (typeof acceptLanguage !== 'string' || acceptLanguage.length > 512) return defaultLocale
  const wanted = acceptLanguage.split(',').map((part, i) => {
    const [tag, ...params] = part.trim().split(';')
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    return { tag: tag.trim(), q: q ? Number(q.slice(2)) || 0 : 1, i }
  }).filter((w) => w.tag !== '' && w.tag !== '*' && w.q > 0).sort((a, b) => b.q - a.q || a.i - b.i)
  for (const w of wanted) {
    const exact = locales.find((l) => l.toLowerCase() === w.tag.toLowerCase())
    if (exact) return exact
    const sameLanguage = locales.find((l) => primary(l) === primary(w.tag))
    if (sameLanguage) return sameLanguage
  }
  return defaultLocale
}

/** The display name of the From header ("Acme <no-reply@acme.app>" → "Acme"), else the tenant id. */
function senderName (from: string, tenantId: string): string {
  const m = /^\s*"?([^"<]+?)"?\s*</.exec(from)
  return m ? m[1] : tenantId
}

export function renderMagicLinkMail (email: EmailConfig, tenantId: string, locale: string, link: string, ttlSeconds: number): Template {
  const templates = email.templates ?? {}
  const own = templates[locale] ?? Object.entries(templates).find(([l]) => primary(l) === primary(locale))?.[1]
  const template = own ?? BUILT_IN[primary(locale)] ?? BUILT_IN.en
  const vars: Record<string, string> = { link, tenant: senderName(email.from, tenantId), minutes: String(Math.max(1, Math.round(ttlSeconds / 60))) }
  // One pass, so a replaced value is never scanned again for placeholders.
  const fill = (s: string) => s.replace(/\{(link|tenant|minutes)\}/g, (_, k: string) => vars[k])
  return { subject: fill(template.subject).replace(/[\r\n]+/g, ' '), text: fill(template.text) }
}
