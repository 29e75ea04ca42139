// The capture dialect's three error envelopes: Capture API errors (HTTP 200, stat "error"), OAuth token
// errors (HTTP 400/401) and Engage errors (stat "fail"), thrown as values and rendered by the dialect's handler.
import { randomAlnum } from '../../plugins/crypto.ts'
import { message, type Lang, type MessageArgs, type MessageKey } from './messages.ts'

/** A Capture API error: `code`/`error` pair, a localized description and any extra members (prereg_fields, …). */
export class CaptureError extends Error {
  readonly render: (lang: Lang) => Record<string, unknown>
  constructor (readonly code: number, readonly error: string, describe: (lang: Lang) => string, extra: (lang: Lang) => Record<string, unknown> = () => ({})) {
    super(error)
    this.render = (lang) => ({ stat: 'error', code, error, error_description: describe(lang), ...extra(lang), request_id: requestId() })
  }

  static of<K extends MessageKey> (code: number, error: string, key: K, args?: MessageArgs<K>, extra?: (lang: Lang) => Record<string, unknown>): CaptureError {
    return new CaptureError(code, error, (lang) => message(lang, key, args), extra)
  }
}

// 100 and 200 carry `argument_name` (jump.ios JRCaptureError.m copies it for these two codes): the first missing
// argument, or the one that was refused.
export const missingArguments = (names: string[]) => CaptureError.of(100, 'missing_argument', 'missing', { list: names.join(', ') }, () => ({ argument_name: names[0] }))
export const invalidArgument = <K extends MessageKey>(argumentName: string, key: K, args?: MessageArgs<K>) => CaptureError.of(200, 'invalid_argument', key, args, () => ({ argument_name: argumentName }))
export const invalidToken = (argumentName: 'token' | 'merge_token' = 'token') => invalidArgument(argumentName, 'invalidToken')
export const unexpectedError = () => CaptureError.of(500, 'unexpected_error', 'unexpected')
export const permissionError = () => CaptureError.of(403, 'permission_error', 'permission')
/** Capture's catalogue code for throttling (510 rate_limit_exceeded), still HTTP 200 like every API error. */
export const rateLimited = (seconds: number) => CaptureError.of(510, 'rate_limit_exceeded', 'rateLimited', { seconds })

/** 390 (or 210 for a failed sign-in): per-field messages, each localized. */
export type FieldProblems = Record<string, Array<(lang: Lang) => string>>
export function formError (code: 390 | 210, problems: FieldProblems): CaptureError {
  return new CaptureError(code, code === 390 ? 'invalid_form_fields' : 'invalid_credentials',
    (lang) => message(lang, code === 390 ? 'invalidFormFields' : 'invalidCredentials'),
    (lang) => ({ invalid_fields: Object.fromEntries(Object.entries(problems).map(([k, v]) => [k, v.map((f) => f(lang))])) }))
}

/** The 16-character id every Capture error carries (logged with the request so support can find it). */
export function requestId (): string {
  return randomAlnum(16)
}

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'unauthorized_client' | 'server_error'

/**
 * RFC 6749 5.2 error of /oauth/token, in both envelopes: the OAuth members (`error`, `error_description`) and
 * Capture's (`stat: "error"`, `code`, `request_id`, `argument_name` for 100/200), because the janrain_capture
 * PHP modules (janrain_capture_api.php `call`) detect a failure by `stat == "error"` only.
 */
export class OAuthError extends Error {
  constructor (readonly error: OAuthErrorCode, readonly description: string, readonly captureCode = 200, readonly argumentName?: string, readonly status = error === 'invalid_client' ? 401 : error === 'server_error' ? 500 : 400) {
    super(error)
  }

  static missing (name: string): OAuthError { return new OAuthError('invalid_request', `missing ${name}`, 100, name) }
  static invalid (name: string): OAuthError { return new OAuthError('invalid_request', `invalid ${name}`, 200, name) }

  render (): Record<string, unknown> {
    return {
      stat: 'error',
      code: this.captureCode,
      error: this.error,
      error_description: this.description,
      ...(this.argumentName !== undefined ? { argument_name: this.argumentName } : {}),
      request_id: requestId()
    }
  }
}

/** Janrain Engage error (`/api/v2/auth_info`, hosted Social Login pages): {stat: "fail", err: {code, msg}}. */
export class EngageError extends Error {
  constructor (readonly code: number, readonly msg: string, readonly status = 200) {
    super(msg)
  }
}
