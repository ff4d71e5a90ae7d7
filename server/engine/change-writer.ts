import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Database, Tx } from '../db/database.ts';
import type { IncidentChange } from '../realtime/coalesce.ts';

/** Serialises every change-producing transaction across all server processes on one database. */
export const WRITER_LOCK = 7317002;

/** The channel on which change-writing transactions announce their changes to every process on the database. */
export const CHANGES_CHANNEL = 'watchfloor_changes';

/** What a change-writing transaction tells the other processes: its newest change id, and which writer it was. */
export interface ChangeNotice {
  lastChangeId: number;
  writerId: string;
}

/** A notice as sent on {@link CHANGES_CHANNEL}, or null when the payload is not one. */
export function parseChangeNotice(payload: string): ChangeNotice | null {
  try {
    const { last, writer } = JSON.parse(payload) as { last?: unknown; writer?: unknown };
    return Number.isSafeInteger(last) && typeof writer === 'string' ? { lastChangeId: last as number, writerId: writer } : null;
  } catch {
    return null;
  }
}

/**
 * The one way state changes reach the database: one transaction holds the state, its timeline and
 * its change rows; only after commit are the changes published. Transactions run one at a time
 * (in this process by a queue, across processes by an advisory lock), so change ids commit in
 * order and a snapshot never misses a change below its id.
 *
 * On Postgres each transaction with changes also notifies {@link CHANGES_CHANNEL}; Postgres delivers
 * it at commit, and only if it commits, to every process listening (see ChangeFollower).
 *
 * Each transaction gets a turn: a number that grows by one from one writer's transaction to the
 * next, in every process on the database (a sequence; on embedded PGlite, which one process owns,
 * a counter). Turn n + 1 following turn n means no other writer came between them, even one that
 * failed.
 */
export class ChangeWriter {
  /** Signs this writer's notices, so its own process can tell them from other processes'. */
  readonly id: string;
  readonly #database: Database;
  readonly #publish: (changes: IncidentChange[]) => void;
  #tail: Promise<unknown> = Promise.resolve();
  #turns = 0;

  constructor(database: Database, publish: (changes: IncidentChange[]) => void, id: string = randomUUID()) {
    this.#database = database;
    this.#publish = publish;
    this.id = id;
  }

  /** Runs `work` in the next serial transaction; publishes its changes after commit. */
  write<T>(work: (tx: Tx, turn: number) => Promise<{ result: T; changes: IncidentChange[] }>): Promise<T> {
    const run = async () => {
      const { result, changes } = await this.#database.db.transaction(async (tx) => {
        const done = await work(tx, await this.#takeTurn(tx));
        await this.#announce(tx, done.changes);
        return done;
      });
      this.#publish(changes);
      return result;
    };
    const next = this.#tail.then(run, run);
    this.#tail = next.catch(() => undefined);
    return next;
  }

  async #takeTurn(tx: Tx): Promise<number> {
    if (this.#database.kind !== 'postgres') return ++this.#turns;
    // The turn is drawn only once the lock is held (a materialised CTE runs first), so turns follow the lock's order.
    const [{ turn }] = await this.#database.rows<{ turn: string }>(
      sql`with held as materialized (select pg_advisory_xact_lock(${WRITER_LOCK})) select nextval('writer_turns')::text as turn from held`,
      tx,
    );
    return Number(turn);
  }

  /** Other processes on Postgres hear of these changes at commit (PGlite has none). */
  async #announce(tx: Tx, changes: IncidentChange[]): Promise<void> {
    if (this.#database.kind !== 'postgres' || changes.length === 0) return;
    const notice = JSON.stringify({ last: changes[changes.length - 1].changeId, writer: this.id });
    await this.#database.rows(sql`select pg_notify(${CHANGES_CHANNEL}, ${notice})`, tx);
  }

  /** Resolves when everything queued so far has committed (for graceful shutdown). */
  async idle(): Promise<void> {
    await this.#tail;
  }
}
