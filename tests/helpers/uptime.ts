import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Database } from '../../server/db/database.ts';

export interface TestIncident {
  id?: string;
  client?: string;
  severity: string;
  nodes: string[];
  createdAt: number;
  resolvedAt: number | null;
}

/** Writes an incident and its change row as the engine does (the uptime roller reads the changes log). */
export async function writeIncident(database: Database, i: TestIncident): Promise<string> {
  const id = i.id ?? randomUUID();
  const client = i.client ?? 'acme';
  const status = i.resolvedAt === null ? 'triggered' : 'resolved';
  const createdAt = new Date(i.createdAt).toISOString();
  const resolvedAt = i.resolvedAt === null ? null : new Date(i.resolvedAt).toISOString();
  await database.rows(
    sql`insert into incidents (id, group_key, client, status, severity, summary, alert_count, open_alert_count, nodes, created_at, resolved_at, updated_at)
        values (${id}, ${`${client}|${id}`}, ${client}, ${status}, ${i.severity}, 'test', 1, ${status === 'resolved' ? 0 : 1},
          array(select jsonb_array_elements_text(${JSON.stringify(i.nodes)}::jsonb)), ${createdAt}, ${resolvedAt}, now())
        on conflict (id) do update set status = excluded.status, severity = excluded.severity, resolved_at = excluded.resolved_at, nodes = excluded.nodes`,
  );
  await database.rows(
    sql`insert into changes (entity, entity_id, data) values ('incident', ${id},
        ${JSON.stringify({ id, client, nodes: i.nodes, severity: i.severity, status, createdAt, resolvedAt })}::jsonb)`,
  );
  return id;
}

/** `count` more changes of an incident that stays as it is: a backlog longer than a roller's pass. */
export async function repeatIncidentChange(database: Database, i: TestIncident & { id: string }, count: number): Promise<void> {
  const state = {
    id: i.id,
    client: i.client ?? 'acme',
    nodes: i.nodes,
    severity: i.severity,
    status: i.resolvedAt === null ? 'triggered' : 'resolved',
    createdAt: new Date(i.createdAt).toISOString(),
    resolvedAt: i.resolvedAt === null ? null : new Date(i.resolvedAt).toISOString(),
  };
  await database.rows(sql`insert into changes (entity, entity_id, data) select 'incident', ${i.id}, ${JSON.stringify(state)}::jsonb from generate_series(1, ${count})`);
}

/** The stored hourly roll-ups, by node name (nodes not in `nodeIds` are left out), in order. */
export async function hourlyRollups(database: Database, nodeIds: Record<string, string>): Promise<{ node: string; hour: number; down: number; degraded: number }[]> {
  const names = new Map(Object.entries(nodeIds).map(([name, id]) => [id, name]));
  return (await database.rows<{ node_id: string; hour: Date | string; down_seconds: number; degraded_seconds: number }>(sql`select node_id, hour, down_seconds, degraded_seconds from uptime_hourly`))
    .filter((r) => names.has(r.node_id))
    .map((r) => ({ node: names.get(r.node_id)!, hour: new Date(r.hour).getTime(), down: Number(r.down_seconds), degraded: Number(r.degraded_seconds) }))
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.hour - b.hour));
}

/** The stored daily roll-ups in one zone, by node name: `node|YYYY-MM-DD` → down and degraded seconds. */
export async function dailyRollups(database: Database, nodeIds: Record<string, string>, timeZone: string): Promise<Record<string, { down: number; degraded: number }>> {
  const names = new Map(Object.entries(nodeIds).map(([name, id]) => [id, name]));
  const rows = await database.rows<{ node_id: string; day: string; down: number; degraded: number }>(
    sql`select node_id, day::text as day, down_seconds as down, degraded_seconds as degraded from uptime_daily where time_zone = ${timeZone} order by node_id, day`,
  );
  return Object.fromEntries(rows.filter((r) => names.has(r.node_id)).map((r) => [`${names.get(r.node_id)}|${r.day}`, { down: Number(r.down), degraded: Number(r.degraded) }]));
}

/** The zones whose days the daily roll-up keeps. */
export async function keptZones(database: Database): Promise<string[]> {
  return (await database.rows<{ time_zone: string }>(sql`select time_zone from uptime_daily_zones order by time_zone`)).map((r) => r.time_zone);
}
