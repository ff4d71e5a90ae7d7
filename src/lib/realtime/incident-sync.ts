import { incidentOfUpdate, type FeedResume, type IncidentCatchUp, type IncidentDelta, type IncidentDto, type IncidentSnapshot, type IncidentUpdate } from '../protocol/incidents.ts';

/** What a client holds: open incidents by id, and the newest change id it has applied. */
export interface SyncState {
  incidents: Map<string, IncidentDto>;
  lastChangeId: number;
  /** Deltas that arrived before the first snapshot (or catch-up): applied on top of it. */
  early: IncidentDelta[];
  ready: boolean;
  /**
   * The subscription the incidents held were built for (the server's `feedId`), while they are a state a
   * resume may continue: complete as of `lastChangeId`. null: nothing to resume (nothing held yet, or a server
   * that does not resume).
   */
  feedId: string | null;
}

export type SyncResult = { state: SyncState; resync: false } | { state: SyncState; resync: true; reason: string };

export function emptySync(): SyncState {
  return { incidents: new Map(), lastChangeId: 0, early: [], ready: false, feedId: null };
}

/** A snapshot replaces everything; deltas that overtook it are applied after it. Pure. */
export function applySnapshot(state: SyncState, snapshot: IncidentSnapshot): SyncResult {
  let next: SyncState = {
    incidents: new Map(snapshot.incidents.map((i) => [i.id, i])),
    lastChangeId: snapshot.lastChangeId,
    early: [],
    ready: true,
    feedId: snapshot.feedId ?? null,
  };
  for (const delta of state.early) {
    const result = applyDelta(next, delta);
    if (result.resync) return result;
    next = result.state;
  }
  return { state: next, resync: false };
}

/**
 * Applies one delta. Changes at or below what the client has are already in it and are dropped;
 * a delta whose `prev` is above it means one was missed: ask for a fresh snapshot. So does an update that builds
 * on a state the client does not hold (a patch, see {@link IncidentUpdate}). Pure.
 */
export function applyDelta(state: SyncState, delta: IncidentDelta): SyncResult {
  if (!state.ready) return { state: { ...state, early: [...state.early, delta] }, resync: false };
  if (delta.prev > state.lastChangeId) {
    return { state, resync: true, reason: `missed changes ${state.lastChangeId + 1}…${delta.prev}` };
  }
  if (delta.last <= state.lastChangeId) return { state, resync: false };
  const incidents = new Map(state.incidents);
  for (const update of delta.incidents) {
    const held = incidents.get(update.id);
    if (held && held.version > update.version) continue; // an older state of something we already have
    if (update.status === 'resolved') {
      incidents.delete(update.id);
      continue;
    }
    const incident = incidentOfUpdate(update, held);
    if (!incident) return { state, resync: true, reason: `incident #${update.number} builds on version ${update.from ?? '—'} and ${update.nodesFrom ?? 0} nodes; ${held ? `version ${held.version} with ${held.nodes.length} nodes is held` : 'it is not held'}` };
    incidents.set(update.id, incident);
  }
  return { state: { ...state, incidents, lastChangeId: delta.last }, resync: false };
}

/** What to ask the server to resume from when subscribing again, or undefined: a snapshot is needed. Pure. */
export function resumePoint(state: SyncState): FeedResume | undefined {
  return state.feedId === null ? undefined : { after: state.lastChangeId, feedId: state.feedId };
}

/**
 * About to subscribe again: deltas are held back (as before a first snapshot) until the answer comes, but the
 * incidents are kept when a resume may continue them (see {@link resumePoint}). Pure.
 */
export function awaitAnswer(state: SyncState): SyncState {
  if (state.feedId === null) return emptySync();
  return { ...state, early: [], ready: false };
}

/**
 * Applies the server's answer to a resume: a catch-up delta from the id the client asked with, on top of the
 * incidents it held, then the deltas that arrived while it was on its way. Like a delta, one starting above
 * what the client holds leaves a gap (resync); one starting at or below it is whole (it holds the latest state
 * of every incident changed since its `prev`). Pure.
 */
export function applyResume(state: SyncState, catchUp: IncidentCatchUp): SyncResult {
  if (state.feedId === null || state.feedId !== catchUp.feedId) {
    return { state, resync: true, reason: `a catch-up for a subscription whose incidents are not held (${catchUp.feedId})` };
  }
  const held: SyncState = { ...state, early: [], ready: true };
  let result = applyDelta(held, catchUp);
  for (const delta of state.early) {
    if (result.resync) return result;
    result = applyDelta(result.state, delta);
  }
  return result;
}
