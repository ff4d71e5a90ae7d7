import path from 'node:path';
import fs from 'node:fs';
import { setImmediate as turnOfEventLoop } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { sql, type SQL } from 'drizzle-orm';
import postgres from 'postgres';
import * as schema from './schema/index.ts';
import { acquireDataLock, type DataLock } from './data-lock.ts';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction handle has the same query API as the database. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** `afterward`: more to write in the same transaction as a change (its audit row); the change stands only if this does too. */
export type AlsoInTransaction<T> = (tx: Tx, written: T) => Promise<unknown>;

const migrationsFolder = path.join(import.meta.dirname, '..', '..', 'drizzle');

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Runs raw SQL and returns its rows, whichever driver is underneath. */
  rows<T>(query: SQL, on?: Db | Tx): Promise<T[]>;
  /**
   * Postgres only (null on embedded PGlite, which one process owns): hears notifications on `channel` over
   * one dedicated connection, which reconnects by itself. `listening` runs each time it (re)starts
   * listening: what was notified while it was down is lost, so that is the moment to catch up.
   */
  listen: ((channel: string, heard: (payload: string) => void, listening: () => void) => Promise<Listening>) | null;
  /** Applies pending migrations (one connection, serialised by an advisory lock on Postgres). */
  migrate(): Promise<void>;
  migrationStatus(): Promise<{ applied: number; known: number }>;
  close(): Promise<void>;
}

export interface Listening {
  unlisten(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… or null for embedded PGlite in dataDir; 'memory://' for an in-memory PGlite. */
  url: string | null;
  dataDir: string;
  /**
   * Postgres: the `application_name` of this process's connections (default: the CLI's), so that Postgres
   * tells a server's connections from the CLI's (pg_stat_activity, and serverConnections below).
   */
  applicationName?: typeof SERVER_APPLICATION_NAME | typeof CLI_APPLICATION_NAME;
}

/** The `application_name` of a server's connections to Postgres. */
export const SERVER_APPLICATION_NAME = 'watchfloor-server';
/** The `application_name` of the CLI's connections to Postgres. */
export const CLI_APPLICATION_NAME = 'watchfloor-cli';

/** Opens the configured database: embedded PGlite (locked to this process) or Postgres via postgres.js. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url && options.url !== 'memory://') return openPostgres(options.url, options.applicationName ?? CLI_APPLICATION_NAME);
  return openPglite(options.url === 'memory://' ? null : path.join(options.dataDir, 'pglite'), options.dataDir);
}

async function openPglite(folder: string | null, dataDir: string): Promise<Database> {
  const lock: DataLock | null = folder ? acquireDataLock(dataDir) : null;
  let client: PGlite;
  try {
    if (folder) fs.mkdirSync(folder, { recursive: true });
    // A new WAL segment is otherwise first filled with 16 MB of zeros, written synchronously on this thread:
    // 50–60 ms during which every webhook and screen waits, once per 16 MB of WAL (a few seconds of heavy ingest).
    client = await PGlite.create(folder ?? undefined, { startParams: [...PGlite.defaultStartParams, '-c', 'wal_init_zero=off'] });
  } catch (error) {
    lock?.release();
    throw error;
  }
  const db = drizzlePglite(turnBeforeEachStatement(client), { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    rows: async <T>(query: SQL, on: Db | Tx = db) => ((await on.execute(query)) as unknown as { rows: T[] }).rows,
    listen: null,
    migrate: () => migratePglite(db as never, { migrationsFolder }),
    migrationStatus: () => migrationStatus(db, (q) => db.execute(q).then((r) => (r as unknown as { rows: unknown[] }).rows)),
    async close() {
      await client.close();
      lock?.release();
    },
  };
}

/**
 * PGlite answers on this thread without I/O, so a chain of statements (a roll-up catch-up, a signal prune, a
 * maintenance round, an import) never let the event loop run: webhooks that came in meanwhile were not even
 * read until it ended (1.4 s after a burst). Each statement or transaction begun outside a transaction now
 * first gives the event loop a turn, so they queue for the database between the chain's steps.
 */
function turnBeforeEachStatement(client: PGlite): PGlite {
  for (const method of ['query', 'exec', 'transaction'] as const) {
    const run = client[method].bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      await turnOfEventLoop();
      return run(...args);
    };
  }
  return client;
}

async function openPostgres(url: string, applicationName: string): Promise<Database> {
  // A DATABASE_URL that names its own application_name keeps it (postgres.js lets the URL win).
  const client = postgres(url, { max: 10, onnotice: () => {}, connection: { application_name: applicationName } });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    rows: async <T>(query: SQL, on: Db | Tx = db) => (await on.execute(query)) as unknown as T[],
    listen: async (channel, heard, listening) => {
      const { unlisten } = await client.listen(channel, heard, listening);
      return { unlisten: async () => void (await unlisten()) };
    },
    async migrate() {
      // One connection, one migrator at a time even when several nodes start together.
      const single = postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: applicationName } });
      try {
        await single`select pg_advisory_lock(7317001)`;
        await migratePostgres(drizzlePostgres(single), { migrationsFolder });
        await single`select pg_advisory_unlock(7317001)`;
      } finally {
        await single.end();
      }
    },
    migrationStatus: () => migrationStatus(db, async (q) => (await db.execute(q)) as unknown as unknown[]),
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

/**
 * How many connections Watchfloor servers hold to this Postgres database (by their application_name): a
 * command that must not run beside a server (one that rewrites the stored secrets under another key)
 * asks this first. Always 0 on PGlite, which one process owns.
 */
export async function serverConnections(database: Database): Promise<number> {
  if (database.kind !== 'postgres') return 0;
  const [row] = await database.rows<{ n: number }>(
    sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = ${SERVER_APPLICATION_NAME} and pid <> pg_backend_pid()`,
  );
  return row.n;
}

async function migrationStatus(
  _db: Db,
  run: (query: SQL) => Promise<unknown[]>,
): Promise<{ applied: number; known: number }> {
  const journal = JSON.parse(fs.readFileSync(path.join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  let applied = 0;
  try {
    const result = (await run(sql`select count(*)::int as n from drizzle.__drizzle_migrations`)) as { n: number }[];
    applied = result[0]?.n ?? 0;
  } catch {
    applied = 0; // the migrations table does not exist yet
  }
  return { applied, known: journal.entries.length };
}
