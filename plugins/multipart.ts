// multipart/form-data bodies read as plain form fields (@fastify/multipart): shared by the dialects that accept
// them (syncano, capture). Multipart bodies skip Fastify's bodyLimit: busboy's limits bound each part, the
// collector the total; files are read within the limit, then dropped (no route takes a file).
import multipart from '@fastify/multipart'
import type { FastifyInstance } from 'fastify'

export const MULTIPART_BODY_LIMIT = 64 * 1024

class MultipartTooLarge extends Error {
  readonly statusCode = 413
  constructor () { super('multipart body over the limit') }
}

export interface MultipartOptions {
  /** Total size of the fields and files (default 64 KiB); over it the request is a 413 for the envelope. */
  limit?: number
  /** The dialect's error for a body that is not valid multipart/form-data. */
  invalid: () => Error
}

export async function multipartBodies (app: FastifyInstance, opts: MultipartOptions): Promise<void> {
  const limit = opts.limit ?? MULTIPART_BODY_LIMIT
  await app.register(multipart, {
    limits: { fieldNameSize: 200, fieldSize: limit, fields: 50, fileSize: limit, files: 5, parts: 60, headerPairs: 100 }
  })
  app.addHook('preValidation', async (req) => {
    if (!req.isMultipart()) return
    const body: Record<string, unknown> = {}
    let size = 0
    try {
      for await (const part of req.parts()) {
        if (part.type === 'file') {
          size += (await part.toBuffer()).length
        } else {
          if (part.valueTruncated) throw new MultipartTooLarge()
          size += Buffer.byteLength(typeof part.value === 'string' ? part.value : JSON.stringify(part.value) ?? '')
          // The last of repeated fields (Django's QueryDict.get; Capture arguments are single-valued).
          body[part.fieldname] = part.value
        }
        if (size > limit) throw new MultipartTooLarge()
      }
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 413) throw err
      throw opts.invalid()
    }
    req.body = body
  })
}
