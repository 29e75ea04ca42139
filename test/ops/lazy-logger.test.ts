// The per-request logger (plugins/request-log.ts lazyChildLoggerFactory): a pino child is made only when the
// request logs at an enabled level, and what it writes carries the request's bindings like a real child.
import { Writable } from 'node:stream'
import t from 'tap'
import pino from 'pino'
import { lazyChildLoggerFactory } from '../../plugins/request-log.ts'

function logger (level: string) {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb() } })
  const log = pino({ level }, stream).child({ tenant: 'acme' })
  // Count the children made of this logger (its own children inherit the wrapper: count only its calls).
  let children = 0
  const child = log.child as (this: unknown, b: object, o?: object) => unknown
  ;(log as unknown as { child: typeof child }).child = function (this: unknown, b: object, o?: object) { if (this === log) children++; return child.call(this, b, o) }
  return { log, lines, children: () => children }
}

t.test('no child until something is logged at an enabled level; then one, with the bindings', async (t) => {
  const { log, lines, children } = logger('warn')
  const req = lazyChildLoggerFactory.call(null, log, { reqId: 'r-1' }, {})
  req.info({ a: 1 }, 'skipped')
  req.debug('skipped')
  t.equal(children(), 0, 'nothing logged, no child made')
  t.equal(req.level, 'warn')
  t.equal((req as unknown as { isLevelEnabled (l: string): boolean }).isLevelEnabled('info'), false)
  req.warn({ b: 2 }, 'kept')
  req.error(new Error('boom'), 'failed')
  t.equal(children(), 1, 'one child for the request')
  t.match(lines, [{ level: 40, tenant: 'acme', reqId: 'r-1', b: 2, msg: 'kept' }, { level: 50, tenant: 'acme', reqId: 'r-1', msg: 'failed', err: { message: 'boom' } }])
  const sub = req.child({ step: 'x' })
  sub.warn('from a grandchild')
  t.match(lines[2], { reqId: 'r-1', step: 'x', msg: 'from a grandchild' })
})

t.test('a route with its own level or serializers gets a real child at once', async (t) => {
  const { log, lines, children } = logger('warn')
  const req = lazyChildLoggerFactory.call(null, log, { reqId: 'r-2' }, { level: 'info' })
  t.equal(children(), 1)
  req.info('at the route level')
  t.match(lines, [{ level: 30, reqId: 'r-2', msg: 'at the route level' }])
})

t.test('setting the level makes the child and applies to it only', async (t) => {
  const { log, lines } = logger('warn')
  const req = lazyChildLoggerFactory.call(null, log, { reqId: 'r-3' }, {})
  req.level = 'info'
  req.info('now on')
  t.equal(log.level, 'warn', 'the parent keeps its level')
  t.match(lines, [{ level: 30, reqId: 'r-3', msg: 'now on' }])
})
