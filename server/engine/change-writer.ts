import { sql } from 'drizzle-orm';
import type { Database, Tx } from '../db/database.ts';
import type { IncidentChange } from '../realtime/coalesce.ts';

/** Serialises every change-producing transaction across all server processes on one database. */
const WRITER_LOCK = 7317002;

/**
 * The one way state changes reach the database: one transaction holds the state, its timeline and
 * its change rows; only after commit are the changes published. Transactions run one at a time
 * (in this process by a queue, across processes by an advisory lock), so change ids commit in
 * order and a snapshot never misses a change below its id.
 *
 * Each transaction gets a turn: a number that grows by one from one writer's transaction to the
 * next, in every process on the database (a sequence; on embedded PGlite, which one process owns,
 * a counter). Turn n + 1 following turn n means no other writer came between them, even one that
 * failed.
 */
export class ChangeWriter {
  readonly #database: Database;
  readonly #publish: (changes: IncidentChange[]) => void;
  #tail: Promise<unknown> = Promise.resolve();
  #turns = 0;

  constructor(database: Database, publish: (changes: IncidentChange[]) => void) {
    this.#database = database;
    this.#publish = publish;
  }

  /** Runs `work` in the next serial transaction; publishes its changes after commit. */
  write<T>(work: (tx: Tx, turn: number) => Promise<{ result: T; changes: IncidentChange[] }>): Promise<T> {
    const run = async () => {
      const { result, changes } = await this.#database.db.transaction(async (tx) => work(tx, await this.#takeTurn(tx)));
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

  /** Resolves when everything queued so far has committed (for graceful shutdown). */
  async idle(): Promise<void> {
    await this.#tail;
  }
}
