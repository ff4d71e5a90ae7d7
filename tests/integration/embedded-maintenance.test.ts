import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../../server/db/database.ts';
import { EmbeddedMaintenance } from '../../server/db/embedded-maintenance.ts';
import { DATABASES, startTestServer } from '../helpers/test-server.ts';

// Embedded PGlite only: a Postgres server vacuums and checkpoints by itself.
describe('embedded PGlite maintenance', () => {
  let dir: string;
  let database: Database;
  let maintenance: EmbeddedMaintenance;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-maintenance-'));
    database = await openDatabase({ url: null, dataDir: dir });
    maintenance = new EmbeddedMaintenance(database);
  });
  afterAll(async () => {
    await maintenance?.stop();
    await database?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs with wal_init_zero off: a new WAL segment is not first filled with 16 MB of zeros on the thread webhooks wait for', async () => {
    // Measured: 47–61 ms per new segment with it on, every few seconds of heavy ingest (README, Performance).
    const [{ setting }] = await database.rows<{ setting: string }>(sql`select current_setting('wal_init_zero') as setting`);
    expect(setting).toBe('off');
  });

  /** The WAL segment files on disk. */
  const walSegments = () => fs.readdirSync(path.join(dir, 'pglite', 'pg_wal')).filter((name) => /^[0-9A-F]{24}$/.test(name));

  it('checkpoints when WAL was written, so the WAL before it leaves the disk', async () => {
    const { rows } = database;
    const checkpoints = new EmbeddedMaintenance(database, { checkpointIntervalMs: 0 });
    await rows(sql`create table filler (id bigserial primary key, body text not null)`);
    const [{ first }] = await rows<{ first: string }>(sql`select pg_walfile_name(pg_current_wal_lsn()) as first`);
    for (let i = 0; i < 3; i++) {
      await rows(sql`insert into filler (body) values ('x')`);
      await rows(sql`select pg_switch_wal()`);
    }
    expect(walSegments()).toContain(first);

    expect((await checkpoints.run()).checkpointed).toBe(true);
    expect(walSegments()).not.toContain(first);
    // Nothing written since: no checkpoint, which would hold the database for nothing.
    expect((await checkpoints.run()).checkpointed).toBe(false);
    await rows(sql`insert into filler (body) values ('y')`);
    expect((await checkpoints.run()).checkpointed).toBe(true);
  });

  it('takes a checkpoint at most once per checkpoint interval', async () => {
    const checkpoints = new EmbeddedMaintenance(database, { checkpointIntervalMs: 60_000 });
    expect((await checkpoints.run()).checkpointed).toBe(true);
    await database.rows(sql`insert into filler (body) values ('z')`);
    expect((await checkpoints.run()).checkpointed).toBe(false);
  });

  it('vacuums and analyses a table autovacuum would, so updating it over and over does not grow it', async () => {
    const { rows } = database;
    await rows(sql`create table churn (id int primary key, n int not null, pad text not null)`);
    await rows(sql`insert into churn select g, 0, repeat('p', 200) from generate_series(1, 2000) g`);
    const size = async () => Number((await rows<{ bytes: string }>(sql`select pg_table_size('churn')::text as bytes`))[0].bytes);
    const initial = await size();

    const rounds = [];
    for (let i = 0; i < 8; i++) {
      await rows(sql`update churn set n = n + 1`);
      rounds.push(await maintenance.run());
    }
    expect(rounds[0].vacuumed).toContain('public.churn');
    expect(rounds[0].analysed).toContain('public.churn');
    // Each update leaves 2,000 dead rows; vacuumed, their space takes the next update's rows (~9× without).
    expect(await size()).toBeLessThan(initial * 3);
    const [stats] = await rows<{ analysed: boolean; dead: number }>(
      sql`select last_analyze is not null as analysed, n_dead_tup::int as dead from pg_stat_user_tables where relname = 'churn'`,
    );
    expect(stats).toEqual({ analysed: true, dead: 0 });
  });

  it('lets other work run between its statements: the database is this thread, and webhooks must not wait for a whole round', async () => {
    await database.rows(sql`update churn set n = n + 1`);
    let done = false;
    const round = maintenance.run().then(() => (done = true));
    const ranDuringRound = await new Promise<boolean>((resolve) => setTimeout(() => resolve(!done), 0));
    await round;
    expect(ranDuringRound).toBe(true);
  });

  it('vacuums the catalogs too: their transaction IDs age like those of any table', async () => {
    // Tables that come and go leave dead rows in the catalogs, as only a vacuum of them clears.
    for (let i = 0; i < 100; i++) {
      await database.rows(sql.raw(`create table passing_${i} (a int, b text, c int, d text)`));
      await database.rows(sql.raw(`drop table passing_${i}`));
    }
    expect((await maintenance.run()).vacuumed).toContain('pg_catalog.pg_attribute');
  });
});

describe('the server and database maintenance', () => {
  /** Maintenance rounds every 100 ms instead of every minute. */
  const OFTEN = { maintenanceIntervalMs: 100 };
  /** A table with 2,000 dead rows: past autovacuum's threshold (50 + 20 % of 1,000). */
  const churn = async (database: Database) => {
    await database.rows(sql`create table churn (id int primary key, n int not null)`);
    await database.rows(sql`insert into churn select g, 0 from generate_series(1, 1000) g`);
    await database.rows(sql`update churn set n = n + 1`);
    await database.rows(sql`update churn set n = n + 1`);
  };
  /** Vacuums of `churn` run by a statement (autovacuum's are counted apart). */
  const vacuumsByStatement = async (database: Database) =>
    (await database.rows<{ count: number }>(sql`select vacuum_count::int as count from pg_stat_user_tables where relname = 'churn'`))[0].count;

  it('a server on embedded PGlite vacuums by itself: PGlite has no autovacuum', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-maintenance-server-'));
    const server = await startTestServer(null, { WATCHFLOOR_DATA: dir }, async () => fs.rmSync(dir, { recursive: true, force: true }), OFTEN);
    try {
      await churn(server.context.database);
      await expect.poll(() => vacuumsByStatement(server.context.database), { timeout: 10_000, interval: 100 }).toBeGreaterThan(0);
    } finally {
      await server.dispose();
    }
  });

  const postgres = DATABASES.find((d) => d.name === 'postgres');
  it.runIf(postgres)('a server on Postgres leaves vacuuming to Postgres (autovacuum, the operator)', async () => {
    const { url, drop } = await postgres!.url();
    const server = await startTestServer(url, {}, drop, OFTEN);
    try {
      await churn(server.context.database);
      await new Promise((resolve) => setTimeout(resolve, 1000)); // ten rounds' worth, had the server started them
      expect(await vacuumsByStatement(server.context.database)).toBe(0);
    } finally {
      await server.dispose();
    }
  });
});
