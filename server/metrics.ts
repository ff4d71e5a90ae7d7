import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics for one server instance (prom-client: the maintained standard client for Node). */
export function createMetrics() {
  const registry = new Registry();
  // Default metrics include nodejs_eventloop_lag_seconds, heap and GC figures.
  collectDefaultMetrics({ register: registry, prefix: 'watchfloor_' });
  return {
    registry,
    httpRequests: new Counter({
      name: 'watchfloor_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'watchfloor_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    socketsConnected: new Gauge({
      name: 'watchfloor_sockets_connected',
      help: 'Socket.IO connections open on this process',
      registers: [registry],
    }),
    ingestBatches: new Counter({
      name: 'watchfloor_ingest_batches_total',
      help: 'Ingest transactions by where their engine work was done: ahead (while the batch before wrote) or in_transaction',
      labelNames: ['worked_out'] as const,
      registers: [registry],
    }),
    feedAnswers: new Counter({
      name: 'watchfloor_feed_answers_total',
      help: 'Incident subscriptions answered, by answer: snapshot (every open incident in scope) or resume (what changed since the change id the screen held)',
      labelNames: ['answer'] as const,
      registers: [registry],
    }),
    feedResumesRefused: new Counter({
      name: 'watchfloor_feed_resume_refused_total',
      help: 'Resumes answered with a snapshot instead, by why: other_feed (the screen covers other clients now), future (a change id this database has not reached), pruned, too_many (a snapshot is cheaper)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    dbQuery: new Histogram({
      name: 'watchfloor_db_query_duration_seconds',
      help: 'Database operations by name',
      labelNames: ['op'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** Runs one database operation and records how long it took. */
export async function timed<T>(metrics: Metrics, op: string, run: () => Promise<T>): Promise<T> {
  const stop = metrics.dbQuery.startTimer({ op });
  try {
    return await run();
  } finally {
    stop();
  }
}
