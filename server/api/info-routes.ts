import type { FastifyInstance } from 'fastify';
import { sql } from 'drizzle-orm';
import type { AppContext } from '../http/app-context.ts';

/** What the app needs to know about this server: whether demo data is present (every screen labels it). */
export function infoRoutes(app: FastifyInstance, { database }: AppContext): void {
  app.get('/api/v1/info', async () => {
    const [{ demo }] = await database.rows<{ demo: boolean }>(sql`select exists (select 1 from clients where is_demo) as demo`);
    return { demo };
  });
}
