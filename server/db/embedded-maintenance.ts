import { sql, type SQL } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database, Tx } from './database.ts';

/** How often a round vacuums and analyses what is due: autovacuum's own naptime. */
export const MAINTENANCE_INTERVAL_MS = 60_000;
/** Least time between two checkpoints: Postgres's checkpoint_timeout. */
export const CHECKPOINT_INTERVAL_MS = 5 * 60_000;

/** The sample ANALYZE takes, as `default_statistics_target` (Postgres's default: 100, 30,000 rows). */
const ANALYSE_STATISTICS_TARGET = 10;

/** What one round did. */
export interface MaintenanceRound {
  /** Tables vacuumed, schema-qualified. */
  vacuumed: string[];
  /** Tables analysed (their planner statistics renewed), schema-qualified. */
  analysed: string[];
  /** Whether it took a checkpoint (only when WAL was written since the last one, and that one is old enough). */
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
 * Every minute it vacuums and analyses the tables autovacuum would, catalogs included, at its own thresholds
 * (dead rows, rows inserted or changed since, transaction ID age); every 5 minutes, if WAL was written since,
 * it takes a checkpoint, after which Postgres recycles the WAL before it. Each statement holds the one
 * database thread while it works (after a minute of heavy ingest: a vacuum 7–80 ms, an analysis up to 36 ms,
 * the checkpoint ~100 ms); webhooks waiting for it get their turn between statements.
 */
export class EmbeddedMaintenance {
  readonly #database: Database;
  readonly #log: FastifyBaseLogger | null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #running: Promise<MaintenanceRound> | null = null;
  readonly #checkpointIntervalMs: number;
  /** The WAL position right after our last checkpoint, and when: the same position later means nothing was written. */
  #lastCheckpoint: { lsn: string; at: number } | null = null;

  constructor(database: Database, options: { log?: FastifyBaseLogger; checkpointIntervalMs?: number } = {}) {
    this.#database = database;
    this.#log = options.log ?? null;
    this.#checkpointIntervalMs = options.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS;
  }

  start(intervalMs = MAINTENANCE_INTERVAL_MS): void {
    this.#timer = setInterval(() => {
      this.run().catch((err: unknown) => this.#log?.warn({ err }, 'database maintenance failed'));
    }, intervalMs);
    this.#timer.unref();
  }

  /** No more rounds; one under way finishes first, so the database does not close under it. */
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
    const { vacuumed, analysed } = await this.#vacuumAndAnalyseDue();
    const checkpointed = await this.#checkpointIfDue();
    if (vacuumed.length > 0 || analysed.length > 0 || checkpointed) {
      this.#log?.debug({ vacuumed, analysed, checkpointed, ms: Math.round(performance.now() - started) }, 'database maintenance');
    }
    return { vacuumed, analysed, checkpointed };
  }

  /**
   * Vacuums, and analyses, the tables autovacuum would now, by its own settings, catalogs included. One
   * statement at a time, so webhooks waiting for the database get their turn in between.
   */
  async #vacuumAndAnalyseDue(): Promise<Pick<MaintenanceRound, 'vacuumed' | 'analysed'>> {
    const rows = <T>(query: SQL, tx?: Tx) => this.#database.rows<T>(query, tx);
    const setting = (name: string) => sql`current_setting(${name})::float8`;
    const tableRows = sql`greatest(c.reltuples, 0)`; // -1 until first vacuumed or analysed
    // Row counts reach the statistics at most once a second; this makes the latest count too.
    await rows(sql`select pg_stat_force_next_flush()`);
    const due = await rows<{ name: string; needs_vacuum: boolean; needs_analysis: boolean }>(
      sql`select * from (
            select format('%I.%I', s.schemaname, s.relname) as name,
              s.n_dead_tup > ${setting('autovacuum_vacuum_threshold')} + ${setting('autovacuum_vacuum_scale_factor')} * ${tableRows}
                or s.n_ins_since_vacuum > ${setting('autovacuum_vacuum_insert_threshold')} + ${setting('autovacuum_vacuum_insert_scale_factor')} * ${tableRows}
                or age(c.relfrozenxid) > ${setting('autovacuum_freeze_max_age')} as needs_vacuum,
              s.n_mod_since_analyze > ${setting('autovacuum_analyze_threshold')} + ${setting('autovacuum_analyze_scale_factor')} * ${tableRows} as needs_analysis
            from pg_stat_all_tables s join pg_class c on c.oid = s.relid
            -- The catalogs too (their transaction IDs age like any table's); TOAST tables go with their own.
            where s.schemaname <> 'pg_toast') t
          where needs_vacuum or needs_analysis
          order by name`,
    );
    // The names come from the catalog, quoted by format's %I.
    const vacuumed = due.filter((t) => t.needs_vacuum).map((t) => t.name);
    const analysed = due.filter((t) => t.needs_analysis).map((t) => t.name);
    for (const name of vacuumed) await rows(sql`vacuum ${sql.raw(name)}`);
    for (const name of analysed) {
      await this.#database.db.transaction(async (tx) => {
        // A tenth of Postgres's default sample: ~30 ms for a table of this schema instead of ~300, on the
        // thread everything waits for, and enough for its plans (lookups by key, open incidents).
        await rows(sql`select set_config('default_statistics_target', ${String(ANALYSE_STATISTICS_TARGET)}, true)`, tx);
        await rows(sql`analyze ${sql.raw(name)}`, tx);
      });
    }
    return { vacuumed, analysed };
  }

  async #checkpointIfDue(): Promise<boolean> {
    const last = this.#lastCheckpoint;
    if (last !== null && performance.now() - last.at < this.#checkpointIntervalMs) return false;
    if (last !== null && (await this.#walPosition()) === last.lsn) return false;
    await this.#database.rows(sql`checkpoint`);
    this.#lastCheckpoint = { lsn: await this.#walPosition(), at: performance.now() };
    return true;
  }

  async #walPosition(): Promise<string> {
    const [{ lsn }] = await this.#database.rows<{ lsn: string }>(sql`select pg_current_wal_lsn()::text as lsn`);
    return lsn;
  }
}
