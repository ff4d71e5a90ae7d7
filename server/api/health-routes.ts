import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'drizzle-orm';
import type { AppContext } from '../http/app-context.ts';
import { hashToken } from '../auth/tokens.ts';
import { findSession } from '../auth/sessions.ts';
import { SESSION_COOKIE } from '../auth/authenticate.ts';
import { DomainError } from '../errors.ts';

/** Liveness, readiness and Prometheus metrics. */
export function healthRoutes(app: FastifyInstance, { config, database, metrics }: AppContext): void {
  const open = { config: { public: true } };

  app.get('/healthz', open, async () => ({ status: 'ok' }));

  app.get('/readyz', open, async (request, reply) => {
    try {
      await database.rows(sql`select 1`);
      const { applied, known } = await database.migrationStatus();
      if (applied < known) return reply.status(503).send({ status: 'migrations pending', applied, known });
      return { status: 'ready', database: database.kind, migrations: applied };
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed');
      return reply.status(503).send({ status: 'database unreachable' });
    }
  });

  // Scrapers present METRICS_TOKEN as a bearer token; people reach it with an admin session.
  app.get('/metrics', open, async (request, reply) => {
    const bearer = request.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
    const tokenOk = !!config.metricsToken && !!bearer && timingSafeEqual(Buffer.from(hashToken(bearer)), Buffer.from(hashToken(config.metricsToken)));
    if (!tokenOk) {
      const cookie = request.cookies[SESSION_COOKIE];
      const session = cookie ? await findSession(database.db, cookie) : null;
      if (!session) throw new DomainError('unauthenticated', 'metrics need METRICS_TOKEN as a bearer token or an admin session');
      if (session.user.role !== 'admin') throw new DomainError('forbidden', 'metrics need the admin role');
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
