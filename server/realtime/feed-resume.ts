import { createHash } from 'node:crypto';
import type { FeedResume, IncidentCatchUp } from '../../src/lib/protocol/incidents.ts';
import { coalesceChanges, type IncidentChange } from './coalesce.ts';

/**
 * The most changes after a client's id that a resume answers with a catch-up; past it the client gets a
 * snapshot. A catch-up carries each changed incident once (latest state, as an object: ~600 bytes), a snapshot
 * each open one (as a row: ~370 bytes); 2,000 changes are at most ~1.2 MB, a third of the snapshot of 10,000
 * open incidents, and one index range read of 2,000 rows. (With few incidents open a snapshot is small anyway.)
 */
export const RESUME_CHANGES_MAX = 2000;

/**
 * The id of a feed room (its mode and the clients it covers) as the client is told it: opaque, short, the same
 * in every server process, and different for any other set of clients. Pure.
 */
export function feedIdOf(room: string): string {
  return createHash('sha256').update(room).digest('base64url').slice(0, 22);
}

/** The change log after a client's id, as one statement read it (so `newest` and `changes` agree). */
export interface ChangeLogAfter {
  /** The oldest change id still in the log; null when it is empty. */
  oldest: number | null;
  /** The newest change id (0 when the log is empty). */
  newest: number;
  /** Incident changes after the client's id, in id order: at most {@link RESUME_CHANGES_MAX} + 1 of them. */
  changes: IncidentChange[];
}

/** Why a resume is answered with a snapshot (the label of `watchfloor_feed_resume_refused_total`). */
export type ResumeRefusal = 'other_feed' | 'future' | 'pruned' | 'too_many';

/**
 * Why the incidents a client holds cannot be caught up from the change log, or null when they can. Pure.
 * - other_feed: they were built for another room (another mode, or the user's or wall's clients changed since):
 *   a catch-up of this room's changes would leave them holding incidents it no longer covers, or lacking some.
 * - future: an id this database has not reached (a client of another database, or of one since restored from
 *   a backup): the changes after it are not the ones it missed.
 * - pruned: the log no longer holds every change after it. (Nothing prunes `changes` today; this keeps a
 *   future retention honest.)
 * - too_many: more than `max` changes since: a snapshot is cheaper.
 * With `log` null (not read yet) only the room is checked: a resume for another room costs no read.
 */
export function refuseResume(resume: FeedResume, feedId: string, log: ChangeLogAfter | null, max = RESUME_CHANGES_MAX): ResumeRefusal | null {
  if (resume.feedId !== feedId) return 'other_feed';
  if (log === null) return null;
  if (resume.after > log.newest) return 'future';
  if (log.oldest !== null && resume.after < log.oldest - 1) return 'pruned';
  if (log.changes.length > max) return 'too_many';
  return null;
}

/**
 * The catch-up for a client at `after`: the latest state of each incident in scope (`clients`, null = every
 * client, incidents without one included: as the room's deltas filter) changed in the log read, brought to
 * the log's newest id. Pure.
 */
export function catchUpOf(after: number, feedId: string, log: ChangeLogAfter, clients: readonly string[] | null): IncidentCatchUp {
  const covered = clients === null ? null : new Set(clients);
  const inScope = covered === null ? log.changes : log.changes.filter((c) => c.incident.client !== null && covered.has(c.incident.client));
  return { prev: after, last: Math.max(after, log.newest), incidents: coalesceChanges(inScope).map((c) => c.incident), feedId };
}
