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
 */
export class ChangeWriter {
  readonly #database: Database;
  readonly #publish: (changes: IncidentChange[]) => void;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(database: Database, publish: (changes: IncidentChange[]) => void) {
    this.#database = database;
    this.#publish = publish;
  }

  /** Runs `work` in the next serial transaction; publishes its changes after commit. */
  write<T>(work: (tx: Tx) => Promise<{ result: T; changes: IncidentChange[] }>): Promise<T> {
    const run = async () => {
      const { result, changes } = await this.#database.db.transaction(async (tx) => {
        if (this.#database.kind === 'postgres') await this.#database.rows(sql`select pg_advisory_xact_lock(${WRITER_LOCK})`, tx);
        return work(tx);
      });
      this.#publish(changes);
      return result;
    };
    const next = this.#tail.then(run, run);
    this.#tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves when everything queued so far has committed (for graceful shutdown). */
  async idle(): Promise<void> {
    await this.#tail;
  }
}
