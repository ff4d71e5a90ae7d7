import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../http/app-context.ts';
import { parseOrThrow } from '../errors.ts';
import { auditQuery } from '../../src/lib/protocol/console.ts';
import { listAudit } from '../audit/audit-log.ts';

/** The audit log, newest first, with filters (admins only). There is no route that changes it. */
export function auditRoutes(app: FastifyInstance, { database }: AppContext): void {
  app.get('/api/v1/audit', { config: { role: 'admin' } }, async (request) => listAudit(database, parseOrThrow(auditQuery, request.query, 'query')));
}
