import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../http/app-context.ts';
import { parseOrThrow } from '../errors.ts';
import { openIncidentSnapshot } from '../db/incident-store.ts';

const listQuery = z.object({ client: z.string().min(1).max(64).optional() });

/** Incidents over REST. The full triage API (filters, commands) arrives with the console issue. */
export function incidentRoutes(app: FastifyInstance, { database }: AppContext): void {
  app.get('/api/v1/incidents', async (request) => {
    const { client } = parseOrThrow(listQuery, request.query, 'query');
    // TODO(#4): restrict to the clients the user may see; filters and paging.
    return openIncidentSnapshot(database, client ?? null);
  });
}

