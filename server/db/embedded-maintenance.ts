import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from './database.ts';

/** How often a round runs: Postgres's own checkpoint_timeout (autovacuum looks every minute, but works far longer each time). */
export const MAINTENANCE_INTERVAL_MS = 5 * 60_000;

/** What one round did. */
export interface MaintenanceRound {
  /** Tables vacuumed and analysed, schema-qualified. */
  vacuumed: string[];
  /** Whether it took a checkpoint (only when WAL was written since the last one). */
  checkpointed: boolean;
}

/**
 * Does for embedded PGlite what Postgres's background processes do for a Postgres server. PGlite runs
 * Postgres in single-user mode, which has none of them (measured: no checkpoint with 1.7 GB of WAL written,
 * past max_wal_size's 1 GB; a million dead rows and no autovacuum). Left alone, the WAL and every updated or
 * pruned table grow for as long as the server runs, a crash replays all the WAL written since it started,
 * the planner never gets statistics, and after some 2 billion transactions Postgres stops taking writes to
 * protect itself from transaction ID wraparound.
 *
 * Each round VACUUM (ANALYZE)s the tables autovacuum would take, catalogs included, at its own thresholds
 * (dead rows, rows inserted or changed since, transaction ID age), then takes a checkpoint if WAL was
 * written since the last one, so Postgres recycles the WAL before it. Both hold the one database thread while they work (a
 * checkpoint after heavy ingest: ~100 ms), which is why rounds are minutes apart.
 */
export class EmbeddedMaintenance {
  readonly #database: Database;
  readonly #log: FastifyBaseLogger | null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #running: Promise<MaintenanceRound> | null = null;
  /** The WAL position right after our last checkpoint: the same position later means nothing was written. */
  #checkpointedAt: string | null = null;

  constructor(database: Database, options: { log?: FastifyBaseLogger } = {}) {
    this.#database = database;
    this.#log = options.log ?? null;
  }

  start(intervalMs = MAINTENANCE_INTERVAL_MS): void {
    this.#timer = setInterval(() => {
      this.run().catch((err: unknown) => this.#log?.warn({ err }, 'database maintenance failed'));
    }, intervalMs);
    this.#timer.unref();
  }

  /** No more rounds; one under way finishes first (VACUUM and CHECKPOINT cannot be left half-done, but the database must not close under them). */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => undefined);
  }

  /** One round; a round asked for while one runs joins it. */
  run(): Promise<MaintenanceRound> {
    this.#running ??= this.#round().finally(() => (this.#running = null));
    return this.#running;
  }

  async #round(): Promise<MaintenanceRound> {
    const started = performance.now();
    const vacuumed = await this.#vacuumDue();
    const checkpointed = await this.#checkpointIfWritten();
    if (vacuumed.length > 0 || checkpointed) this.#log?.debug({ vacuumed, checkpointed, ms: Math.round(performance.now() - started) }, 'database maintenance');
    return { vacuumed, checkpointed };
  }

  /** The tables autovacuum would vacuum or analyse now, by its own settings, catalogs included: each vacuumed and analysed. */
  async #vacuumDue(): Promise<string[]> {
    const setting = (name: string) => sql`current_setting(${name})::float8`;
    const tableRows = sql`greatest(c.reltuples, 0)`; // -1 until first vacuumed or analysed
    // Row counts reach the statistics at most once a second; this makes the latest count too.
    await this.#database.rows(sql`select pg_stat_force_next_flush()`);
    const due = await this.#database.rows<{ name: string }>(
      sql`select format('%I.%I', s.schemaname, s.relname) as name
          from pg_stat_all_tables s join pg_class c on c.oid = s.relid
          -- The catalogs too (their transaction IDs age like any table's); TOAST tables go with their own.
          where s.schemaname <> 'pg_toast' and (s.n_dead_tup > ${setting('autovacuum_vacuum_threshold')} + ${setting('autovacuum_vacuum_scale_factor')} * ${tableRows}
             or s.n_ins_since_vacuum > ${setting('autovacuum_vacuum_insert_threshold')} + ${setting('autovacuum_vacuum_insert_scale_factor')} * ${tableRows}
             or s.n_mod_since_analyze > ${setting('autovacuum_analyze_threshold')} + ${setting('autovacuum_analyze_scale_factor')} * ${tableRows}
             or age(c.relfrozenxid) > ${setting('autovacuum_freeze_max_age')})
          order by 1`,
    );
    // The names come from the catalog, quoted by format's %I.
    for (const { name } of due) await this.#database.rows(sql`vacuum (analyze) ${sql.raw(name)}`);
    return due.map((t) => t.name);
  }

  async #checkpointIfWritten(): Promise<boolean> {
    if ((await this.#walPosition()) === this.#checkpointedAt) return false;
    await this.#database.rows(sql`checkpoint`);
    this.#checkpointedAt = await this.#walPosition();
    return true;
  }

  async #walPosition(): Promise<string> {
    const [{ lsn }] = await this.#database.rows<{ lsn: string }>(sql`select pg_current_wal_lsn()::text as lsn`);
    return lsn;
  }
}
