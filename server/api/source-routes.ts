import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../http/app-context.ts';
import { parseOrThrow } from '../errors.ts';
import { addSource, listSources } from '../ingest/sources.ts';
import { createSourceRequest } from '../../src/lib/protocol/api.ts';
import { auditBy, recordAudit } from '../audit/audit-log.ts';
import { actorFromRequest } from '../incidents/actor.ts';

/** Inbound integrations: admins list them and create them (the token is shown once). */
export function sourceRoutes(app: FastifyInstance, { database, secrets }: AppContext): void {
  const admin = { config: { role: 'admin' as const } };
  app.get('/api/v1/sources', admin, async () => ({ sources: await listSources(database.db) }));
  app.post('/api/v1/sources', admin, async (request, reply) => {
    const input = parseOrThrow(createSourceRequest, request.body);
    const { hmacSecret, ...recorded } = input; // secrets stay out of the audit log
    const sealed = hmacSecret === undefined ? undefined : await secrets.seal(hmacSecret, 'sources.hmac_secret');
    // The source and its audit row are one transaction: no source without its record.
    const created = await addSource(database.db, { ...recorded, hmacSecret: sealed }, (tx, source) =>
      recordAudit(database, tx, {
        ...auditBy(actorFromRequest(request)),
        action: 'source.create',
        entity: 'source',
        entityId: source.id,
        detail: { after: { ...recorded, hmacSecret: hmacSecret === undefined ? undefined : '(set)' } },
      }),
    );
    return reply.status(201).send(created);
  });
}
