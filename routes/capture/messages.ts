// Error texts of the capture dialect in the two shipped locales (en-US, fr-FR), chosen by the request's `locale`.
import type { TenantContext } from '../../plugins/tenant/context.ts'
import type { FlowConfig } from './options.ts'

export type Lang = 'en-US' | 'fr-FR'

const en = {
  missing: (a: { list: string }) => `missing arguments: ${a.list}`,
  invalidToken: () => 'invalid token',
  noSuchUser: () => 'no such user',
  emailInUse: () => 'a user already exists with that email address',
  noFlow: (a: { flow: string, version: string, locale: string }) => `could not find a flow named '${a.flow}' with version '${a.version}' and locale '${a.locale}'`,
  permission: () => 'This client does not support log in and registration.',
  redirectUri: () => 'redirect_uri must begin with http: or https:',
  redirectUriNotListed: () => 'redirect_uri is not registered for this client',
  redirectUriNone: () => 'response_type code and code_with_token need a redirect_uri registered for this client',
  responseType: () => 'response_type must be one of: token, code, code_with_token',
  thinRegistration: () => 'thin_registration must be true or false',
  noForm: (a: { form: string }) => `could not find a form named '${a.form}'`,
  mergeOwned: () => 'the merge_token account is already linked to another user',
  invalidArgument: (a: { name: string }) => `invalid argument: ${a.name}`,
  invalidRequest: () => 'invalid request',
  invalidFormFields: () => 'some form fields are invalid',
  invalidCredentials: () => 'invalid credentials',
  accessToken: () => 'access token expired or invalid',
  refreshSecret: () => 'refresh_secret must be 16 to 256 printable characters',
  refreshDate: (a: { seconds: number }) => `date must be yyyy-MM-dd HH:mm:ss (UTC) within ${a.seconds} seconds of the server's clock`,
  refreshSignature: () => 'invalid signature',
  unexpected: () => 'unexpected error',
  rateLimited: (a: { seconds: number }) => `too many requests; try again in ${a.seconds} seconds`,
  // form field messages (invalid_fields)
  fieldRequired: () => 'Required',
  fieldEmail: () => 'Invalid email address',
  fieldConfirm: () => 'Does not match',
  fieldTooShort: (a: { min: number }) => `Must be at least ${a.min} characters`,
  fieldTooLong: (a: { max: number }) => `Must be at most ${a.max} characters`,
  fieldEmailInUse: () => 'Email address is already in use.',
  fieldBadCredentials: () => 'Incorrect username or password. Please try again.',
  fieldEmailNeedsRecentSignIn: () => 'Sign in again to change your email address.'
}

export type MessageKey = keyof typeof en

const fr: { [K in MessageKey]: (typeof en)[K] } = {
  missing: (a) => `arguments manquants : ${a.list}`,
  invalidToken: () => 'jeton invalide',
  noSuchUser: () => 'aucun utilisateur correspondant',
  emailInUse: () => 'un utilisateur existe déjà avec cette adresse e-mail',
  noFlow: (a) => `impossible de trouver un flux nommé '${a.flow}' avec la version '${a.version}' et la locale '${a.locale}'`,
  permission: () => "Ce client ne prend pas en charge la connexion et l'inscription.",
  redirectUri: () => 'redirect_uri doit commencer par http: ou https:',
  redirectUriNotListed: () => "redirect_uri n'est pas enregistrée pour ce client",
  redirectUriNone: () => 'les response_type code et code_with_token exigent une redirect_uri enregistrée pour ce client',
  responseType: () => 'response_type doit valoir token, code ou code_with_token',
  thinRegistration: () => 'thin_registration doit valoir true ou false',
  noForm: (a) => `impossible de trouver un formulaire nommé '${a.form}'`,
  mergeOwned: () => 'le compte du merge_token est déjà associé à un autre utilisateur',
  invalidArgument: (a) => `argument invalide : ${a.name}`,
  invalidRequest: () => 'requête invalide',
  invalidFormFields: () => 'certains champs du formulaire sont invalides',
  invalidCredentials: () => 'identifiants invalides',
  accessToken: () => "jeton d'accès expiré ou invalide",
  refreshSecret: () => 'refresh_secret doit compter de 16 à 256 caractères imprimables',
  refreshDate: (a) => `date doit être au format yyyy-MM-dd HH:mm:ss (UTC), à moins de ${a.seconds} secondes de l'horloge du serveur`,
  refreshSignature: () => 'signature invalide',
  unexpected: () => 'erreur inattendue',
  rateLimited: (a: { seconds: number }) => `trop de requêtes ; réessayez dans ${a.seconds} secondes`,
  fieldRequired: () => 'Obligatoire',
  fieldEmail: () => 'Adresse e-mail non valide',
  fieldConfirm: () => 'Ne correspond pas',
  fieldTooShort: (a) => `Doit contenir au moins ${a.min} caractères`,
  fieldTooLong: (a) => `Doit contenir au plus ${a.max} caractères`,
  fieldEmailInUse: () => 'Cette adresse e-mail est déjà utilisée.',
  fieldBadCredentials: () => 'Identifiant ou mot de passe incorrect. Veuillez réessayer.',
  fieldEmailNeedsRecentSignIn: () => 'Reconnectez-vous pour changer votre adresse e-mail.'
}

export type MessageArgs<K extends MessageKey> = Parameters<(typeof en)[K]>[0]

export function message<K extends MessageKey> (lang: Lang, key: K, args?: MessageArgs<K>): string {
  const table = lang === 'fr-FR' ? fr : en
  return (table[key] as (a: unknown) => string)(args)
}

/**
 * The language of an error: the request's `locale` when the tenant publishes it, else the tenant's
 * default locale (so an invalid locale is reported in the default one). French tags read French.
 */
export function errorLang (tenant: Pick<TenantContext, 'locales' | 'defaultLocale' | 'section'>, requested: unknown): Lang {
  const known = typeof requested === 'string' && (tenant.locales.includes(requested) ||
    tenant.section<FlowConfig[]>('flows').some((f) => f.versions.some((v) => v.locales.includes(requested))))
  const locale = known ? requested as string : tenant.defaultLocale
  return /^fr(-|$)/i.test(locale) ? 'fr-FR' : 'en-US'
}
