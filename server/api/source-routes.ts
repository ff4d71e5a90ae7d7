import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../http/app-context.ts';
import { DomainError, parseOrThrow } from '../errors.ts';
import { addSource, listSources, rotateSourceToken, setSourceEnabled, setSourceHmacSecret } from '../ingest/sources.ts';
import type { SourceLookup } from '../ingest/source-lookup.ts';
import { createSourceRequest, setSourceHmacSecretRequest, updateSourceRequest, type SourceDto } from '../../src/lib/protocol/api.ts';
import { isUuid } from '../db/sql-values.ts';
import { auditBy, recordAudit } from '../audit/audit-log.ts';
import { actorFromRequest } from '../incidents/actor.ts';
import type { Tx } from '../db/database.ts';

type SourceRequest = FastifyRequest<{ Params: { id: string } }>;

/**
 * Inbound integrations: admins list them, create them (the token is shown once), give one a new token, disable
 * or enable one, and set a Grafana source's HMAC secret. A change reaches the next webhook: this process forgets
 * the sources it looked up at once, the others when they hear the change's transaction commit.
 */
export function sourceRoutes(app: FastifyInstance, { database, secrets }: AppContext, sourceLookup: SourceLookup): void {
  const admin = { config: { role: 'admin' as const } };

  /** The source id in the path: a malformed one names no source. */
  function sourceIdOf(request: SourceRequest): string {
    if (!isUuid(request.params.id)) throw new DomainError('not_found', 'no such source');
    return request.params.id;
  }

  /** The audit row of a change to a source, written in the change's transaction (never with a secret in it). */
  const audited = (request: FastifyRequest, action: string, detail: Record<string, unknown>) => (tx: Tx, source: SourceDto) =>
    recordAudit(database, tx, { ...auditBy(actorFromRequest(request)), action, entity: 'source', entityId: source.id, detail });

  app.get('/api/v1/sources', admin, async () => ({ sources: await listSources(database.db) }));
  app.post('/api/v1/sources', admin, async (request, reply) => {
    const input = parseOrThrow(createSourceRequest, request.body);
    const { hmacSecret, ...recorded } = input; // secrets stay out of the audit log
    const sealed = hmacSecret === undefined ? undefined : await secrets.seal(hmacSecret, 'sources.hmac_secret');
    // The source and its audit row are one transaction: no source without its record.
    const created = await addSource(
      database.db,
      { ...recorded, hmacSecret: sealed },
      audited(request, 'source.create', { after: { ...recorded, hmacSecret: hmacSecret === undefined ? undefined : '(set)' } }),
    );
    return reply.status(201).send(created);
  });
  app.put<{ Params: { id: string } }>('/api/v1/sources/:id/hmac-secret', admin, async (request) => {
    const id = sourceIdOf(request);
    const { hmacSecret } = parseOrThrow(setSourceHmacSecretRequest, request.body);
    const sealed = await secrets.seal(hmacSecret, 'sources.hmac_secret');
    const source = await setSourceHmacSecret(database.db, id, sealed, audited(request, 'source.update', { changed: { hmacSecret: '(set)' } }));
    sourceLookup.forget();
    return { source };
  });
  // The new token is in this answer only; senders using the old one are refused from now on.
  app.post<{ Params: { id: string } }>('/api/v1/sources/:id/token', admin, async (request) => {
    const id = sourceIdOf(request);
    const rotated = await rotateSourceToken(database.db, id, audited(request, 'source.rotate_token', { changed: { token: '(rotated)' } }));
    sourceLookup.forget();
    return rotated;
  });
  app.patch<{ Params: { id: string } }>('/api/v1/sources/:id', admin, async (request) => {
    const id = sourceIdOf(request);
    const { enabled } = parseOrThrow(updateSourceRequest, request.body);
    const source = await setSourceEnabled(database.db, id, enabled, audited(request, 'source.update', { changed: { enabled } }));
    sourceLookup.forget();
    return { source };
  });
}
