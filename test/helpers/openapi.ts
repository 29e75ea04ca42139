// Reading a published OpenAPI document in tests: a request body may be inline or a `$ref` to
// components.requestBodies (bodies of several media types are published that way, JSON first).

/** The request body object of `op`, with a `$ref` to components.requestBodies resolved. */
export function requestBodyOf (doc: any, op: any): any {
  const body = op?.requestBody
  const ref: unknown = body?.$ref
  if (typeof ref !== 'string') return body
  const prefix = '#/components/requestBodies/'
  if (!ref.startsWith(prefix)) throw new Error(`unexpected request body reference ${ref}`)
  return doc.components.requestBodies[ref.slice(prefix.length)]
}
