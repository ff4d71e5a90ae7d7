/**
 * Renaming what open incidents show: a client's, a person's or a team's name. No incident row changes, so no
 * change row would say so; the open incidents showing the name are recorded again (a change row each, same
 * version) in the rename's own transaction. Every process hears of those rows at commit and every screen shows
 * the new name with the rename, or, when anything in the transaction fails, neither.
 */
import { sql } from 'drizzle-orm';
import type { Database, Tx } from '../db/database.ts';
import type { ChangeWriter } from '../engine/change-writer.ts';
import type { IncidentChange } from '../realtime/coalesce.ts';
import { recordIncidentChanges } from '../db/incident-store.ts';
import { anyText } from '../db/sql-values.ts';

/** What was renamed: a person (assignee), a team, or clients. */
export type Renamed = { assigneeId: string } | { teamId: string } | { clients: string[] };

/** A change that may rename: its result, and what it renamed (null when it renamed nothing). */
export type RenamingWork<T> = (tx: Tx) => Promise<{ result: T; renamed: Renamed | null }>;

/**
 * Runs changes that may rename in a transaction of the writer (serialised with every other change-writing
 * transaction, its changes published after commit). Built once per writer: the server's in the composition
 * root, or one of the CLI's own when it runs alone.
 */
export class Renames {
  readonly #database: Database;
  readonly #writer: ChangeWriter;

  constructor(database: Database, writer: ChangeWriter) {
    this.#database = database;
    this.#writer = writer;
  }

  /** Runs `work` and records the open incidents showing what it renamed, in one transaction. */
  write<T>(work: RenamingWork<T>): Promise<T> {
    return this.#writer.write(async (tx) => {
      const { result, renamed } = await work(tx);
      return { result, changes: renamed ? await recordIncidentsShowing(this.#database, tx, renamed) : [] };
    });
  }
}

/** The open incidents showing a renamed name, recorded again in `tx` (oldest first). */
async function recordIncidentsShowing(database: Database, tx: Tx, renamed: Renamed): Promise<IncidentChange[]> {
  const showing =
    'assigneeId' in renamed ? sql`assignee_id = ${renamed.assigneeId}::uuid`
    : 'teamId' in renamed ? sql`team_id = ${renamed.teamId}::uuid`
    : sql`client = ${anyText(renamed.clients)}`;
  const rows = await database.rows<{ id: string }>(sql`select id from incidents where status <> 'resolved' and ${showing} order by created_at`, tx);
  return recordIncidentChanges(database, tx, rows.map((r) => r.id));
}
