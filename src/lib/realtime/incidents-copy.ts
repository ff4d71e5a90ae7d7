import type { IncidentDto } from '../protocol/incidents.ts';
import { emptySync, type SyncState } from './incident-sync.ts';

/**
 * The incidents a client held, as plain data to keep beyond the page's life (the phone's IndexedDB copy) and to
 * start from again: every open incident as of `lastChangeId`, nothing more and nothing less, so a later start
 * may ask the server for only what changed since.
 */
export interface IncidentsCopy {
  incidents: IncidentDto[];
  /** The newest change id the incidents include. */
  lastChangeId: number;
  /** The server's name for the subscription they were built for ({@link SyncState.feedId}); null: they cannot be resumed. */
  feedId: string | null;
}

/**
 * What `state` holds, to keep: only while it is current (a snapshot or a catch-up applied, and the deltas since),
 * or null. A state waiting for an answer is left out although it is whole: the copy kept from before stays, with
 * the time it was last current. Pure.
 */
export function copyOfSync(state: SyncState): IncidentsCopy | null {
  if (!state.ready) return null;
  return { incidents: [...state.incidents.values()], lastChangeId: state.lastChangeId, feedId: state.feedId };
}

/**
 * The state to start from with a copy kept earlier (another page life): held as while an answer is on its way
 * (see `awaitAnswer`), so the first subscription asks to resume from it and deltas wait for the answer. A copy
 * that cannot be resumed (no `feedId`: kept by an app or a server older than resuming) starts from nothing: a
 * snapshot, as without a copy. Pure.
 */
export function syncFromCopy(copy: IncidentsCopy): SyncState {
  if (copy.feedId === null) return emptySync();
  return { incidents: new Map(copy.incidents.map((i) => [i.id, i])), lastChangeId: copy.lastChangeId, early: [], ready: false, feedId: copy.feedId };
}
