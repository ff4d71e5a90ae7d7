import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../http/app-context.ts';
import { parseOrThrow } from '../errors.ts';
import { addSource, listSources } from '../ingest/sources.ts';
import { createSourceRequest } from '../../src/lib/protocol/api.ts';

/** Inbound integrations: admins list them and create them (the token is shown once). */
export function sourceRoutes(app: FastifyInstance, { database }: AppContext): void {
  const admin = { config: { role: 'admin' as const } };
  app.get('/api/v1/sources', admin, async () => ({ sources: await listSources(database.db) }));
  app.post('/api/v1/sources', admin, async (request, reply) => {
    const created = await addSource(database.db, parseOrThrow(createSourceRequest, request.body));
    return reply.status(201).send(created);
  });
}
