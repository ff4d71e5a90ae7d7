/**
 * Local days in the database: `uptime_daily` holds, for each kept time zone, the sum of each node's
 * hours per local day. An hour counts for the local day its start falls in (`hour at time zone`), as in
 * src/lib/domain/local-days.ts, which the heatmap's range and labels use.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { json } from '../db/sql-values.ts';

type Rows = (query: SQL) => Promise<unknown[]>;

/**
 * Makes `uptime_daily` hold the days of exactly the `wanted` zones: a zone wanted for the first time is
 * built from every stored hour (one statement, once per zone change), a zone no longer wanted is dropped.
 */
export async function keepDailyZones(rows: Rows, wanted: readonly string[]): Promise<{ built: string[]; dropped: string[] }> {
  const kept = new Set(((await rows(sql`select time_zone from uptime_daily_zones`)) as { time_zone: string }[]).map((r) => r.time_zone));
  const want = new Set(wanted);
  const dropped = [...kept].filter((zone) => !want.has(zone));
  const built = [...want].filter((zone) => !kept.has(zone));
  for (const zone of dropped) {
    await rows(sql`delete from uptime_daily where time_zone = ${zone}`);
    await rows(sql`delete from uptime_daily_zones where time_zone = ${zone}`);
  }
  for (const zone of built) {
    // A zone's rows are trusted only while it is kept: whatever is there is replaced, never added to.
    await rows(sql`delete from uptime_daily where time_zone = ${zone}`);
    await rows(
      sql`insert into uptime_daily (time_zone, node_id, day, down_seconds, degraded_seconds)
          select ${zone}, node_id, (hour at time zone ${zone})::date, sum(down_seconds), sum(degraded_seconds)
          from uptime_hourly group by 2, 3`,
    );
    await rows(sql`insert into uptime_daily_zones (time_zone) values (${zone})`);
  }
  return { built, dropped };
}

/**
 * Recomputes, in every kept zone, the days that the given node-hours belong to, from the hours stored
 * now (an hour written as zero leaves no row: its day may have nothing left).
 */
export async function rollDays(rows: Rows, hours: readonly { node: string; hour: string }[]): Promise<void> {
  if (hours.length === 0) return;
  const days = sql`(select distinct k.node, z.time_zone as zone, (k.hour at time zone z.time_zone)::date as day
                    from jsonb_to_recordset(${json(hours)}) as k(node uuid, hour timestamptz) cross join uptime_daily_zones z)`;
  await rows(sql`delete from uptime_daily d using ${days} k where d.time_zone = k.zone and d.node_id = k.node and d.day = k.day`);
  // The hours of a local day lie within the UTC days before, of and after it (offsets are -12 to +14 hours):
  // that range keeps to the (node_id, hour) key; the date test picks the day's own.
  await rows(
    sql`insert into uptime_daily (time_zone, node_id, day, down_seconds, degraded_seconds)
        select k.zone, k.node, k.day, sum(h.down_seconds), sum(h.degraded_seconds)
        from ${days} k
        join uptime_hourly h on h.node_id = k.node
          and h.hour >= ((k.day - 1)::timestamp at time zone 'UTC') and h.hour < ((k.day + 2)::timestamp at time zone 'UTC')
          and (h.hour at time zone k.zone)::date = k.day
        group by k.zone, k.node, k.day`,
  );
}

/**
 * Whether Postgres knows `zone` by that name. Intl (the app, the config check) and Postgres each carry
 * their own copy of the tz database; a zone only one of them knows would cut days in one place only.
 */
export async function databaseKnowsTimeZone(database: Database, zone: string): Promise<boolean> {
  if (zone === 'UTC') return true;
  // Postgres reads zone names case-insensitively, and so does Intl.
  const [{ known }] = await database.rows<{ known: boolean }>(sql`select exists (select 1 from pg_timezone_names where lower(name) = lower(${zone})) as known`);
  return known;
}
