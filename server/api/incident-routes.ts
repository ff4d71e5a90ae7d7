import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { sql } from 'drizzle-orm';
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

/** What the app needs to know about this server: whether demo data is present (every screen labels it). */
export function infoRoutes(app: FastifyInstance, { database }: AppContext): void {
  app.get('/api/v1/info', async () => {
    const [{ demo }] = await database.rows<{ demo: boolean }>(sql`select exists (select 1 from clients where is_demo) as demo`);
    return { demo };
  });
}
