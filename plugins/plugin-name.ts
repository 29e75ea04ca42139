// Names for encapsulated plugins. Fastify names every plugin it registers (for its errors and avvio's tree); a
// plugin without a display name costs a scan of the whole of require.cache, then the function's source text,
// on every registration. Route plugins are registered once per tenant build, so that scan was about a sixth
// of a tenant's first-request CPU. The symbol is the one fastify-plugin sets; unlike fp() this keeps the
// plugin encapsulated.
const DISPLAY_NAME = Symbol.for('fastify.display-name')

/** Gives each plugin its function name (or `name`) as Fastify's display name; returns the first. */
export function named<F extends (...args: never[]) => unknown> (fn: F, ...more: Array<(...args: never[]) => unknown>): F {
  for (const f of [fn, ...more]) (f as unknown as Record<symbol, string>)[DISPLAY_NAME] ??= f.name || 'anonymous plugin'
  return fn
}

const SKIP_OVERRIDE = Symbol.for('skip-override')

/**
 * Route groups: plugins that only add routes to the scope they are registered in (no hooks, decorators, body
 * parsers, error or not-found handlers, prefixes of their own). Named as above, and registered into their parent's
 * context instead of an encapsulated one (the symbol fastify-plugin sets): an encapsulated context is a few KB of
 * every built tenant instance (hooks, schema controller, body parsers, request and reply classes). A group that
 * needs one of those must go back to named().
 */
export function routeGroups<F extends (...args: never[]) => unknown> (fn: F, ...more: Array<(...args: never[]) => unknown>): F {
  named(fn, ...more)
  for (const f of [fn, ...more]) (f as unknown as Record<symbol, boolean>)[SKIP_OVERRIDE] = true
  return fn
}
