import { sql, type SQL } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database, Tx } from '../db/database.ts';
import { DAY_MS, HOUR_MS, hoursBetween, rollupHours, type OpenPeriod } from './uptime-rollup.ts';
import { keepDailyZones, rollDays } from './uptime-days.ts';
import { json } from '../db/sql-values.ts';

const STATE_ID = 'incidents';
/** One roller at a time across server processes (Postgres). */
const ROLLER_LOCK = 7317005;
/** Older hours are not recomputed: no screen or report reads them. */
const KEEP_MS = 400 * DAY_MS;
/** Changes one transaction takes: embedded PGlite runs one transaction at a time, and ingest waits for a pass. */
const CHANGES_PER_PASS = 500;

/** Where a period of an incident on a node lies (ended_at null while the incident is open). */
interface PeriodExtent {
  node_id: string;
  started_at: Date | string;
  ended_at: Date | string | null;
}

export interface UptimeRollerOptions {
  database: Database;
  /** The server's time zone (WATCHFLOOR_TIMEZONE): its local days are always kept, besides walls' own. @default 'UTC' */
  timeZone?: string;
  log?: FastifyBaseLogger;
  onRolled?: () => Promise<void> | void;
  /**
   * Awaited before each pass of a roll, with the pass's number (1, 2, …). For tests: to hold a roll
   * between passes, or stop the roller there, without relying on timing.
   */
  beforePass?: (pass: number) => Promise<void> | void;
}

/**
 * Keeps the uptime roll-ups current. It follows the `changes` log (every incident change, whoever made
 * it) into `uptime_periods` (when each incident touched each node), then recomputes only the node-hours
 * those periods cover, plus the current hour of every node with an open period, and the local days
 * those hours belong to in every kept time zone. Idempotent: running it twice changes nothing.
 */
export class UptimeRoller {
  readonly #database: Database;
  readonly #timeZone: string;
  readonly #log: FastifyBaseLogger | null;
  readonly #onRolled: () => Promise<void> | void;
  readonly #beforePass: (pass: number) => Promise<void> | void;
  #timer: ReturnType<typeof setInterval> | null = null;
  #rolling: Promise<number> | null = null;
  #stopping = false;

  constructor(options: UptimeRollerOptions) {
    this.#database = options.database;
    this.#timeZone = options.timeZone ?? 'UTC';
    this.#log = options.log ?? null;
    this.#onRolled = options.onRolled ?? (() => {});
    this.#beforePass = options.beforePass ?? (() => {});
  }

  /** Rolls every `intervalMs` (first soon after start). */
  start(intervalMs = 30_000): void {
    const tick = () => void this.roll().catch((err: unknown) => this.#log?.warn({ err }, 'uptime roll-up failed'));
    setTimeout(tick, Math.min(5000, intervalMs)).unref();
    this.#timer = setInterval(tick, intervalMs);
    this.#timer.unref();
  }

  /**
   * Catches up with the changes log; resolves to how many node-hours were written. One roll at a time: a
   * roll asked for while one runs (a tick during a long catch-up) joins it instead of starting another,
   * whose passes would only queue behind the first's, tick after tick; what the running roll's last pass
   * missed, the next tick takes. A stopped roller rolls no more (0).
   */
  roll(now: Date = new Date()): Promise<number> {
    if (this.#stopping) return Promise.resolve(0);
    this.#rolling ??= this.#catchUp(now).finally(() => (this.#rolling = null));
    return this.#rolling;
  }

  /** No more ticks; a roll under way ends after its current pass (each pass is one transaction: nothing is left half-done). */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    // Its failure was the roll's caller's to hear (the tick logs it); stopping goes on.
    await this.#rolling?.catch(() => undefined);
  }

  /**
   * Each pass is its own transaction over at most CHANGES_PER_PASS changes: embedded PGlite runs one
   * transaction at a time, and a catch-up of tens of thousands of changes in one transaction held every
   * webhook behind it (1.6 s). (Pausing between passes was tried: the catch-up lasted twice as long and
   * webhooks fared worse. What they needed was a turn of the event loop between passes, which embedded
   * PGlite now gives before every transaction: see database.ts.)
   */
  async #catchUp(now: Date): Promise<number> {
    let written = 0;
    for (let pass = 1; ; pass++) {
      await this.#beforePass(pass);
      const result = await this.#database.db.transaction(async (tx) => {
        if (this.#database.kind === 'postgres') await this.#database.rows(sql`select pg_advisory_xact_lock(${ROLLER_LOCK})`, tx);
        return this.#pass(tx, now.getTime(), pass === 1);
      });
      written += result.written;
      if (result.caughtUp || this.#stopping) break;
    }
    if (written > 0) await this.#onRolled();
    return written;
  }

  /** One pass; the first of a roll also settles which zones' days are kept (walls' zones change rarely). */
  async #pass(tx: Tx, now: number, settleZones: boolean): Promise<{ written: number; caughtUp: boolean }> {
    const rows = (q: SQL) => this.#database.rows(q, tx);
    const [state] = (await rows(sql`select last_change_id, rolled_at from uptime_roller_state where id = ${STATE_ID}`)) as { last_change_id: number | string; rolled_at: Date | string }[];
    let lastChangeId = Number(state?.last_change_id ?? 0);
    if (settleZones) {
      // The days kept: the server's zone and every wall's own (a wall given a new zone has its days built here).
      const wallZones = (await rows(sql`select distinct time_zone from walls where time_zone is not null`)) as { time_zone: string }[];
      await keepDailyZones(rows, [this.#timeZone, ...wallZones.map((w) => w.time_zone)]);
    }
    const rolledAt = state ? new Date(state.rolled_at).getTime() : now - HOUR_MS;
    const dirty = new Map<string, Set<number>>();
    const floor = now - KEEP_MS;
    const markDirty = (nodeId: string, from: number, to: number) => {
      const set = dirty.get(nodeId) ?? new Set<number>();
      for (const h of hoursBetween(Math.max(from, floor), Math.min(to, now))) set.add(h);
      dirty.set(nodeId, set);
    };

    // 1. The changes log → periods, marking both the old and the new extent of every period touched.
    // Done in the database: a pass moves only the periods of incidents on known nodes, not every change.
    const [chunk] = (await rows(
      sql`select count(*)::int as n, max(id) as last from (
            select id from changes where id > ${lastChangeId} and entity = 'incident' order by id limit ${CHANGES_PER_PASS}) c`,
    )) as { n: number; last: number | string | null }[];
    const caughtUp = chunk.n < CHANGES_PER_PASS;
    if (chunk.n > 0) {
      const last = Number(chunk.last);
      const inChunk = sql`changes where id > ${lastChangeId} and id <= ${last} and entity = 'incident'`;
      // Every incident in the chunk loses its periods; its latest state in the chunk sets them again.
      const touched = (await rows(
        sql`delete from uptime_periods where incident_id in (select (data->>'id')::uuid from ${inChunk}) returning node_id, started_at, ended_at`,
      )) as PeriodExtent[];
      const latest = sql`select distinct on (data->>'id') (data->>'id')::uuid as incident, data from ${inChunk} order by data->>'id', id desc`;
      touched.push(
        ...((await rows(
          sql`insert into uptime_periods (incident_id, node_id, severity, started_at, ended_at)
              select l.incident, n.id, l.data->>'severity', (l.data->>'createdAt')::timestamptz, (l.data->>'resolvedAt')::timestamptz
              from (${latest}) l
              -- Change rows leave the node list out (it only grows): the incident's row holds it.
              join incidents i on i.id = l.incident
              cross join lateral unnest(i.nodes) as listed(node_name)
              join clients c on c.slug = l.data->>'client'
              join nodes n on n.client_id = c.id and n.name = listed.node_name
              returning node_id, started_at, ended_at`,
        )) as PeriodExtent[]),
      );
      for (const p of touched) markDirty(p.node_id, new Date(p.started_at).getTime(), p.ended_at === null ? now : new Date(p.ended_at).getTime());
      lastChangeId = last;
    }

    // 2. Open periods grow with time: the hours since the last run, once it has caught up (until then rolled_at stays).
    if (caughtUp) {
      const open = (await rows(sql`select distinct node_id from uptime_periods where ended_at is null`)) as { node_id: string }[];
      for (const o of open) markDirty(o.node_id, Math.min(rolledAt, now), now);
    }

    // 3. Recompute the dirty node-hours from every period touching them, then their days in every kept zone.
    let written = 0;
    const nodeIds = [...dirty.keys()];
    for (let i = 0; i < nodeIds.length; i += 500) {
      const chunk = nodeIds.slice(i, i + 500);
      let from = Infinity;
      let to = -Infinity;
      for (const id of chunk) for (const h of dirty.get(id)!) ((from = Math.min(from, h)), (to = Math.max(to, h + HOUR_MS)));
      if (from === Infinity) continue;
      const periods = (
        (await rows(
          sql`select node_id, severity, started_at, ended_at from uptime_periods
              where node_id = any(array(select v::uuid from jsonb_array_elements_text(${json(chunk)}) as v))
                and started_at < ${new Date(to).toISOString()}::timestamptz and (ended_at is null or ended_at > ${new Date(from).toISOString()}::timestamptz)`,
        )) as { node_id: string; severity: string; started_at: Date | string; ended_at: Date | string | null }[]
      ).map((p): OpenPeriod => ({ nodeId: p.node_id, severity: p.severity, start: new Date(p.started_at).getTime(), end: p.ended_at === null ? null : new Date(p.ended_at).getTime() }));
      const hours = rollupHours(periods, new Map(chunk.map((id) => [id, dirty.get(id)!])), now);
      const keys = hours.map((h) => ({ node: h.nodeId, hour: new Date(h.hour).toISOString() }));
      await rows(
        sql`delete from uptime_hourly u using jsonb_to_recordset(${json(keys)}) as k(node uuid, hour timestamptz)
            where u.node_id = k.node and u.hour = k.hour`,
      );
      const kept = hours.filter((h) => h.downSeconds > 0 || h.degradedSeconds > 0).map((h) => ({ node: h.nodeId, hour: new Date(h.hour).toISOString(), down: h.downSeconds, degraded: h.degradedSeconds }));
      if (kept.length) {
        await rows(
          sql`insert into uptime_hourly (node_id, hour, down_seconds, degraded_seconds)
              select x.node, x.hour, x.down, x.degraded from jsonb_to_recordset(${json(kept)}) as x(node uuid, hour timestamptz, down int, degraded int)`,
        );
      }
      written += hours.length;
      await rollDays(rows, keys);
    }

    const rolledTo = new Date(caughtUp ? now : rolledAt).toISOString();
    await rows(
      sql`insert into uptime_roller_state (id, last_change_id, rolled_at) values (${STATE_ID}, ${lastChangeId}, ${rolledTo}::timestamptz)
          on conflict (id) do update set last_change_id = excluded.last_change_id, rolled_at = excluded.rolled_at`,
    );
    return { written, caughtUp };
  }
}

