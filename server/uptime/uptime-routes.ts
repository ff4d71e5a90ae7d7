import type { FastifyInstance } from 'fastify';
import { eq, sql } from 'drizzle-orm';
import type { AppContext } from '../http/app-context.ts';
import type { Database } from '../db/database.ts';
import { DomainError, parseOrThrow } from '../errors.ts';
import { uptimeQuery, type UptimeDto } from '../../src/lib/protocol/uptime.ts';
import type { UptimeRange } from '../../src/lib/protocol/walls.ts';
import { availabilityCells, bucketsFor, meanCells, overallAvailability } from './uptime-rollup.ts';
import { localCalendar } from '../../src/lib/domain/local-days.ts';
import { databaseKnowsTimeZone } from './uptime-days.ts';
import { walls } from '../db/schema/index.ts';
import { userScope, wallScope } from '../walls/wall-auth.ts';
import { textArray as texts } from '../db/sql-values.ts';

const round = (v: number) => Math.round(v * 1e5) / 1e5;

/**
 * The heatmap of the nodes within `clients` (null = every client), from the roll-up tables; 90 days are
 * local days in `timeZone`.
 */
export async function loadUptime(database: Database, clients: readonly string[] | null, range: UptimeRange, timeZone: string, now = Date.now()): Promise<UptimeDto> {
  const scope = clients === null ? sql`true` : clients.length === 0 ? sql`false` : sql`c.slug = any(${texts(clients)})`;
  const spec = bucketsFor(range, now, localCalendar(timeZone));
  const from = new Date(spec.bounds[0]).toISOString();
  const [clientRows, nodeRows, downRows] = await Promise.all([
    database.rows<{ slug: string; name: string; uptime_target: number }>(sql`select c.slug, c.name, c.uptime_target from clients c where ${scope} order by c.name`),
    database.rows<{ id: string; name: string; client: string }>(sql`select n.id, n.name, c.slug as client from nodes n join clients c on c.id = n.client_id where ${scope} order by c.name, n.name`),
    spec.days === null
      ? database.rows<{ node_id: string; at: Date | string; down: number }>(
          sql`select u.node_id, u.hour as at, u.down_seconds as down from uptime_hourly u join nodes n on n.id = u.node_id join clients c on c.id = n.client_id
              where u.hour >= ${from}::timestamptz and u.down_seconds > 0 and ${scope}`,
        )
      : // The zone's stored days; for a zone the roller has not built yet (a wall's new zone, until its next
        // pass), the same sums from the hours.
        database.rows<{ node_id: string; at: string; down: number }>(
          sql`select u.node_id, u.day::text as at, u.down_seconds as down from uptime_daily u join nodes n on n.id = u.node_id join clients c on c.id = n.client_id
              where u.time_zone = ${timeZone} and u.day >= ${spec.days[0]}::date and u.down_seconds > 0 and ${scope}
              union all
              select h.node_id, (h.hour at time zone ${timeZone})::date::text, sum(h.down_seconds)::int from uptime_hourly h join nodes n on n.id = h.node_id join clients c on c.id = n.client_id
              where not exists (select 1 from uptime_daily_zones z where z.time_zone = ${timeZone}) and h.hour >= ${from}::timestamptz and h.down_seconds > 0 and ${scope}
              group by 1, 2`,
        ),
  ]);
  const dayStarts = new Map((spec.days ?? []).map((day, i) => [day, spec.bounds[i]]));
  const downByNode = new Map<string, Map<number, number>>();
  for (const r of downRows) {
    const at = spec.days === null ? new Date(r.at).getTime() : dayStarts.get(String(r.at).slice(0, 10));
    if (at === undefined) continue; // outside the range: Postgres's tz data and the runtime's disagree about the zone
    const map = downByNode.get(r.node_id) ?? new Map<number, number>();
    map.set(at, Number(r.down));
    downByNode.set(r.node_id, map);
  }
  const count = spec.bounds.length - 1;
  const rows = nodeRows.map((n) => {
    const cells = availabilityCells(spec, downByNode.get(n.id) ?? new Map(), now);
    return { nodeId: n.id, name: n.name, client: n.client, availability: round(overallAvailability(spec, cells, now)), cells: cells.map(round) };
  });
  const clientsOut = clientRows.map((c) => {
    const mine = rows.filter((r) => r.client === c.slug);
    const cells = meanCells(
      mine.map((r) => r.cells),
      count,
    );
    return { slug: c.slug, name: c.name, uptimeTarget: Number(c.uptime_target), availability: round(overallAvailability(spec, cells, now)), cells: cells.map(round) };
  });
  return {
    range,
    timeZone,
    from,
    bucketSeconds: spec.days === null ? 3600 : 86_400,
    buckets: count,
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

/** A zone asked for in a query: one both Intl (the schema) and Postgres know, or a refusal naming it. */
async function knownZone(database: Database, timeZone: string): Promise<string> {
  if (!(await databaseKnowsTimeZone(database, timeZone))) throw new DomainError('validation_failed', `query.timeZone: the database does not know the time zone ${timeZone}`, 'timeZone');
  return timeZone;
}

/**
 * The heatmap for people (their clients, days in the server's zone or the one asked for: the wall
 * editor previews a wall's own) and for wall screens (the wall's clients, days in the wall's zone).
 */
export function uptimeRoutes(app: FastifyInstance, { database, config }: AppContext): void {
  app.get('/api/v1/uptime', async (request) => {
    const query = parseOrThrow(uptimeQuery, request.query, 'query');
    const timeZone = query.timeZone === undefined || query.timeZone === config.timeZone ? config.timeZone : await knownZone(database, query.timeZone);
    return loadUptime(database, narrow(userScope(request), query.client), query.range, timeZone);
  });
  app.get('/api/v1/walls/:id/uptime', { config: { wall: true } }, async (request) => {
    const query = parseOrThrow(uptimeQuery.omit({ timeZone: true }), request.query, 'query');
    const scope = await wallScope(database.db, request);
    const [wall] = await database.db.select({ timeZone: walls.timeZone }).from(walls).where(eq(walls.id, scope.wallId));
    return loadUptime(database, narrow(scope.clients, query.client), query.range, wall?.timeZone ?? config.timeZone);
  });
}
