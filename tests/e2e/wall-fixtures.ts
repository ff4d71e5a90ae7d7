/**
 * History for wall screenshots and benchmarks: past incidents on real nodes, written as the engine
 * writes them (incident rows and their change rows), then rolled up by the real roller. Deterministic.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Database } from '../../server/db/database.ts';
import { UptimeRoller } from '../../server/uptime/uptime-roller.ts';

const HOUR = 3_600_000;

/** A small LCG: the same history every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/**
 * Past incidents for about `share` of the nodes over the last `days` days (mostly short outages, a few
 * long ones), then one roller pass. Returns how many incidents were written.
 */
export async function writeHistory(database: Database, options: { days: number; share: number; seed?: number }): Promise<number> {
  const next = random(options.seed ?? 7);
  const nodes = await database.rows<{ client: string; name: string }>(sql`select c.slug as client, n.name from nodes n join clients c on c.id = n.client_id order by c.slug, n.name`);
  const now = Date.now();
  const rows: { id: string; client: string; node: string; severity: string; created: string; resolved: string }[] = [];
  for (const n of nodes) {
    if (next() > options.share) continue;
    const count = 1 + Math.floor(next() * 4);
    for (let i = 0; i < count; i++) {
      const start = now - (2 + next() * (options.days * 24 - 3)) * HOUR;
      const long = next() < 0.12;
      const length = (long ? 2 + next() * 10 : 0.05 + next() * 0.6) * HOUR;
      rows.push({
        id: randomUUID(),
        client: n.client,
        node: n.name,
        severity: next() < 0.6 ? 'critical' : 'high',
        created: new Date(start).toISOString(),
        resolved: new Date(Math.min(start + length, now - HOUR)).toISOString(),
      });
    }
  }
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    await database.rows(
      sql`insert into incidents (id, group_key, client, status, severity, summary, alert_count, open_alert_count, nodes, created_at, resolved_at, updated_at)
          select x.id, 'history|' || x.id, x.client, 'resolved', x.severity, 'Past outage on ' || x.node, 1, 0, array[x.node], x.created, x.resolved, x.resolved
          from jsonb_to_recordset(${JSON.stringify(chunk)}::jsonb) as x(id uuid, client text, node text, severity text, created timestamptz, resolved timestamptz)`,
    );
    await database.rows(
      sql`insert into changes (entity, entity_id, data)
          select 'incident', x.id, jsonb_build_object('id', x.id, 'client', x.client, 'nodes', jsonb_build_array(x.node), 'severity', x.severity,
            'status', 'resolved', 'createdAt', x.created, 'resolvedAt', x.resolved)
          from jsonb_to_recordset(${JSON.stringify(chunk)}::jsonb) as x(id text, client text, node text, severity text, created text, resolved text)`,
    );
  }
  await new UptimeRoller({ database }).roll();
  return rows.length;
}
