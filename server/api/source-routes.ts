import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../http/app-context.ts';
import { DomainError, parseOrThrow } from '../errors.ts';
import { addSource, listSources, setSourceHmacSecret } from '../ingest/sources.ts';
import { createSourceRequest, setSourceHmacSecretRequest } from '../../src/lib/protocol/api.ts';
import { isUuid } from '../db/sql-values.ts';
import { auditBy, recordAudit } from '../audit/audit-log.ts';
import { actorFromRequest } from '../incidents/actor.ts';

/** Inbound integrations: admins list them, create them (the token is shown once) and set a Grafana source's HMAC secret. */
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
  app.put<{ Params: { id: string } }>('/api/v1/sources/:id/hmac-secret', admin, async (request) => {
    if (!isUuid(request.params.id)) throw new DomainError('not_found', 'no such source');
    const { hmacSecret } = parseOrThrow(setSourceHmacSecretRequest, request.body);
    const sealed = await secrets.seal(hmacSecret, 'sources.hmac_secret');
    const source = await setSourceHmacSecret(database.db, request.params.id, sealed, (tx, updated) =>
      recordAudit(database, tx, { ...auditBy(actorFromRequest(request)), action: 'source.update', entity: 'source', entityId: updated.id, detail: { changed: { hmacSecret: '(set)' } } }),
    );
    return { source };
  });
}
