// Minimal ambient types for oidc-provider v9, which ships none (and @types/oidc-provider is not installed).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  export interface InteractionDetails {
    uid: string
    prompt: { name: string, reasons: string[], details: Record<string, unknown> }
    params: Record<string, unknown>
    session?: { accountId?: string }
    grantId?: string
  }

  export interface GrantInstance {
    addOIDCScope (scope: string): void
    addOIDCClaims (claims: string[]): void
    addResourceScope (indicator: string, scope: string): void
    save (): Promise<string>
  }

  export default class Provider {
    constructor (issuer: string, configuration?: Record<string, unknown>)
    readonly issuer: string
    proxy: boolean
    callback (): (req: IncomingMessage, res: ServerResponse) => void
    interactionDetails (req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>
    interactionFinished (req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>
    interactionResult (req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<string>
    on (event: string, listener: (...args: any[]) => void): this
    AccessToken: {
      find (value: string): Promise<{ clientId: string, accountId: string, scope?: string, exp?: number, readonly isValid: boolean } | undefined>
    }
    Grant: {
      new (properties: { accountId: string, clientId: string }): GrantInstance
      find (id: string): Promise<GrantInstance | undefined>
    }
  }
  export { Provider }
}
