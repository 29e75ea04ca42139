// Prometheus metrics for the process: requests by tenant, dialect, route and status; login outcomes;
// queue depth (read on scrape) and job outcomes. One registry per process, shared by every tenant.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export const registry = new Registry()
collectDefaultMetrics({ register: registry, prefix: 'vestibule_' })

export const httpRequests = new Counter({
  name: 'vestibule_http_requests_total',
  help: 'HTTP requests answered, by tenant, dialect, route pattern and status code.',
  labelNames: ['tenant', 'dialect', 'route', 'status'] as const,
  registers: [registry]
})

export const httpDuration = new Histogram({
  name: 'vestibule_http_request_duration_seconds',
  help: 'Request duration by dialect and route pattern (no tenant label, to bound cardinality).',
  labelNames: ['dialect', 'route'] as const,
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry]
})

export const logins = new Counter({
  name: 'vestibule_social_login_outcomes_total',
  help: 'Social login resolutions by tenant and outcome (login, linked, created, email-in-use, no-email, not-registered).',
  labelNames: ['tenant', 'outcome'] as const,
  registers: [registry]
})

export const jobs = new Counter({
  name: 'vestibule_jobs_total',
  help: 'Background jobs finished in this process, by queue and outcome (completed, failed).',
  labelNames: ['queue', 'outcome'] as const,
  registers: [registry]
})

/** Queue depth is read when Prometheus scrapes: `source` returns counts by queue and state. */
export function setQueueDepthSource (source: () => Promise<Array<{ queue: string, state: string, count: number }>>): void {
  registry.removeSingleMetric('vestibule_queue_jobs')
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'vestibule_queue_jobs',
    help: 'Jobs per queue and state (BullMQ), or pending outbox rows in single-node mode.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect () {
      this.reset()
      try {
        for (const r of await source()) this.set({ queue: r.queue, state: r.state }, r.count)
      } catch { /* a scrape while Redis is down reports no depth rather than failing */ }
    }
  })
}

export const tenantFiles = new Gauge({
  name: 'vestibule_tenant_files',
  help: 'Tenant files at the last (re)load of the tenants folder, by state: served, or refused (invalid; a refused file\'s tenant keeps its last good config, if it had one).',
  labelNames: ['state'] as const,
  registers: [registry]
})

export function observeJob (queue: string, outcome: 'completed' | 'failed'): void {
  jobs.inc({ queue, outcome })
}

export const eventsRecorded = new Counter({
  name: 'vestibule_events_recorded_total',
  help: 'Audit events recorded (committed), by tenant and audit type; counted by the process whose webhook relay read them.',
  labelNames: ['tenant', 'type'] as const,
  registers: [registry]
})

export const webhookDeliveries = new Counter({
  name: 'vestibule_webhook_deliveries_total',
  help: 'Webhook delivery attempts by tenant and outcome: delivered, failed (will retry), dead (retries exhausted, event or endpoint gone), refused (non-public address).',
  labelNames: ['tenant', 'outcome'] as const,
  registers: [registry]
})

export const webhookEndpointsFailing = new Counter({
  name: 'vestibule_webhook_endpoints_marked_failing_total',
  help: 'Webhook endpoints marked failing (skipped until re-enabled), by tenant.',
  labelNames: ['tenant'] as const,
  registers: [registry]
})
