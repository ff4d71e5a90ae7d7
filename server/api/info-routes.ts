import type { FastifyInstance } from 'fastify';
import { sql } from 'drizzle-orm';
import type { AppContext } from '../http/app-context.ts';

/**
 * What the app needs to know about this server: whether demo data is present (every screen labels it),
 * and the NOC's time zone (walls that set none count days in it).
 */
export function infoRoutes(app: FastifyInstance, { database, config }: AppContext): void {
  app.get('/api/v1/info', async () => {
    const [{ demo }] = await database.rows<{ demo: boolean }>(sql`select exists (select 1 from clients where is_demo) as demo`);
    return { demo, timeZone: config.timeZone };
  });
}
