import type { IncidentDelta, IncidentDto, IncidentSnapshot } from '../protocol/incidents.ts';

/** What a client holds: open incidents by id, and the newest change id it has applied. */
export interface SyncState {
  incidents: Map<string, IncidentDto>;
  lastChangeId: number;
  /** Deltas that arrived before the first snapshot: applied on top of it. */
  early: IncidentDelta[];
  ready: boolean;
}

export type SyncResult = { state: SyncState; resync: false } | { state: SyncState; resync: true; reason: string };

export function emptySync(): SyncState {
  return { incidents: new Map(), lastChangeId: 0, early: [], ready: false };
}

/** A snapshot replaces everything; deltas that overtook it are applied after it. Pure. */
export function applySnapshot(state: SyncState, snapshot: IncidentSnapshot): SyncResult {
  let next: SyncState = {
    incidents: new Map(snapshot.incidents.map((i) => [i.id, i])),
    lastChangeId: snapshot.lastChangeId,
    early: [],
    ready: true,
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
 * a delta whose `prev` is above it means one was missed: ask for a fresh snapshot. Pure.
 */
export function applyDelta(state: SyncState, delta: IncidentDelta): SyncResult {
  if (!state.ready) return { state: { ...state, early: [...state.early, delta] }, resync: false };
  if (delta.prev > state.lastChangeId) {
    return { state, resync: true, reason: `missed changes ${state.lastChangeId + 1}…${delta.prev}` };
  }
  if (delta.last <= state.lastChangeId) return { state, resync: false };
  const incidents = new Map(state.incidents);
  for (const incident of delta.incidents) {
    const held = incidents.get(incident.id);
    if (held && held.version > incident.version) continue; // an older state of something we already have
    if (incident.status === 'resolved') incidents.delete(incident.id);
    else incidents.set(incident.id, incident);
  }
  return { state: { ...state, incidents, lastChangeId: delta.last }, resync: false };
}
