import type { FastifyInstance } from 'fastify';
import { sql } from 'drizzle-orm';
import type { AppContext } from '../http/app-context.ts';
import type { Database } from '../db/database.ts';
import { DomainError, parseOrThrow } from '../errors.ts';
import { uptimeQuery, type UptimeDto } from '../../src/lib/protocol/uptime.ts';
import type { UptimeRange } from '../../src/lib/protocol/walls.ts';
import { availabilityCells, bucketsFor, meanCells, overallAvailability } from './uptime-rollup.ts';
import { userScope, wallScope } from '../walls/wall-auth.ts';
import { textArray as texts } from '../db/sql-values.ts';

const round = (v: number) => Math.round(v * 1e5) / 1e5;

/** The heatmap of the nodes within `clients` (null = every client), from the roll-up tables. */
export async function loadUptime(database: Database, clients: readonly string[] | null, range: UptimeRange, now = Date.now()): Promise<UptimeDto> {
  const scope = clients === null ? sql`true` : clients.length === 0 ? sql`false` : sql`c.slug = any(${texts(clients)})`;
  const spec = bucketsFor(range, now);
  const [clientRows, nodeRows, downRows] = await Promise.all([
    database.rows<{ slug: string; name: string; uptime_target: number }>(sql`select c.slug, c.name, c.uptime_target from clients c where ${scope} order by c.name`),
    database.rows<{ id: string; name: string; client: string }>(sql`select n.id, n.name, c.slug as client from nodes n join clients c on c.id = n.client_id where ${scope} order by c.name, n.name`),
    range === '7d'
      ? database.rows<{ node_id: string; at: Date | string; down: number }>(
          sql`select u.node_id, u.hour as at, u.down_seconds as down from uptime_hourly u join nodes n on n.id = u.node_id join clients c on c.id = n.client_id
              where u.hour >= ${new Date(spec.from).toISOString()}::timestamptz and u.down_seconds > 0 and ${scope}`,
        )
      : database.rows<{ node_id: string; at: string; down: number }>(
          sql`select u.node_id, u.day::text as at, u.down_seconds as down from uptime_daily u join nodes n on n.id = u.node_id join clients c on c.id = n.client_id
              where u.day >= ${new Date(spec.from).toISOString().slice(0, 10)}::date and u.down_seconds > 0 and ${scope}`,
        ),
  ]);
  const downByNode = new Map<string, Map<number, number>>();
  for (const r of downRows) {
    const at = range === '7d' ? new Date(r.at).getTime() : Date.parse(`${String(r.at).slice(0, 10)}T00:00:00Z`);
    const map = downByNode.get(r.node_id) ?? new Map<number, number>();
    map.set(at, Number(r.down));
    downByNode.set(r.node_id, map);
  }
  const rows = nodeRows.map((n) => {
    const cells = availabilityCells(spec, downByNode.get(n.id) ?? new Map(), now);
    return { nodeId: n.id, name: n.name, client: n.client, availability: round(overallAvailability(spec, cells, now)), cells: cells.map(round) };
  });
  const clientsOut = clientRows.map((c) => {
    const mine = rows.filter((r) => r.client === c.slug);
    const cells = meanCells(
      mine.map((r) => r.cells),
      spec.count,
    );
    return { slug: c.slug, name: c.name, uptimeTarget: Number(c.uptime_target), availability: round(overallAvailability(spec, cells, now)), cells: cells.map(round) };
  });
  return {
    range,
    from: new Date(spec.from).toISOString(),
    bucketSeconds: spec.bucketMs / 1000,
    buckets: spec.count,
    generatedAt: new Date(now).toISOString(),
    clients: clientsOut,
    rows,
  };
}

/** Narrows a scope to one client the caller may see. */
function narrow(scope: string[] | null, client: string | undefined): string[] | null {
  if (client === undefined) return scope;
  if (scope !== null && !scope.includes(client)) throw new DomainError('forbidden', `you may not see client ${client}`);
  return [client];
}

/** The heatmap for people (their clients) and for wall screens (the wall's clients). */
export function uptimeRoutes(app: FastifyInstance, { database }: AppContext): void {
  app.get('/api/v1/uptime', async (request) => {
    const query = parseOrThrow(uptimeQuery, request.query, 'query');
    return loadUptime(database, narrow(userScope(request), query.client), query.range);
  });
  app.get('/api/v1/walls/:id/uptime', { config: { wall: true } }, async (request) => {
    const query = parseOrThrow(uptimeQuery, request.query, 'query');
    const scope = await wallScope(database.db, request);
    return loadUptime(database, narrow(scope.clients, query.client), query.range);
  });
}
