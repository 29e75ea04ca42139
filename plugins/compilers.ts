// Process-wide validator and serializer caches: N tenant instances share one compiled function per
// schema instead of compiling the same TypeBox schema N times (DESIGN 2, "Tenancy").
import { createRequire } from 'node:module'
import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify'
import fastJson from 'fast-json-stringify'
// Routes with the same schemas also share Fastify's status → serializer map (see there).
import './fastify-internals.ts'

const require = createRequire(import.meta.url)
const Ajv = require('ajv').default as typeof import('ajv').default
const addFormats = require('ajv-formats').default as typeof import('ajv-formats').default

// Fastify's own defaults (@fastify/ajv-compiler), so routes behave as they would on a plain instance.
const ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: true, uriResolver: undefined, addUsedSchema: false, allErrors: false, strict: false })
addFormats(ajv)
ajv.addKeyword({ keyword: 'x-examples' })
ajv.addKeyword({ keyword: 'x-vst-validator' })
ajv.addKeyword({ keyword: 'x-vst-fields' })

const validators = new Map<string, ReturnType<FastifySchemaCompiler<unknown>>>()
const serializers = new Map<string, (data: unknown) => string>()
const identity = new WeakMap<object, string>()

function keyOf (schema: object): string {
  let k = identity.get(schema)
  if (k === undefined) { k = JSON.stringify(schema); identity.set(schema, k) }
  return k
}

type BodyValidator = (data: unknown) => { value: unknown } | { error: Error }
const bodyValidators = new Map<string, (schema: object) => BodyValidator>()

/**
 * A family of request bodies validated by its own function instead of Ajv (e.g. DRF serializers, which
 * report every field at once in their own words). A body schema opts in with `x-vst-validator: <name>`;
 * the schema still describes the body in OpenAPI.
 */
export function registerBodyValidator (name: string, build: (schema: object) => BodyValidator): void {
  bodyValidators.set(name, build)
}

export const validatorCompiler: FastifySchemaCompiler<any> = ({ schema, httpPart }) => {
  const key = `${httpPart ?? ''}\u0000${keyOf(schema as object)}`
  let fn = validators.get(key)
  if (!fn) {
    const custom = httpPart === 'body' ? bodyValidators.get((schema as { 'x-vst-validator'?: string })['x-vst-validator'] ?? '') : undefined
    fn = (custom ? custom(schema as object) : ajv.compile(schema as object)) as ReturnType<FastifySchemaCompiler<unknown>>
    validators.set(key, fn)
  }
  return fn
}

export const serializerCompiler: FastifySerializerCompiler<any> = ({ schema }) => {
  const key = keyOf(schema as object)
  let fn = serializers.get(key)
  if (!fn) {
    fn = fastJson(schema as any, { ajv: { strict: false } }) as (data: unknown) => string
    serializers.set(key, fn)
  }
  return fn
}

export function compilerCacheSize (): { validators: number, serializers: number } {
  return { validators: validators.size, serializers: serializers.size }
}
