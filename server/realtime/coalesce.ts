import { updateOf, type IncidentDelta, type IncidentDto } from '../../src/lib/protocol/incidents.ts';

export interface IncidentChange {
  changeId: number;
  incident: IncidentDto;
}

/**
 * Latest state per incident wins: a storm of changes to the same incidents collapses into one
 * entry each, ordered by the change id of their latest state. Pure.
 */
export function coalesceChanges(changes: IncidentChange[]): IncidentChange[] {
  const latest = new Map<string, IncidentChange>();
  for (const change of changes) {
    const seen = latest.get(change.incident.id);
    if (!seen || seen.changeId < change.changeId) latest.set(change.incident.id, change);
  }
  return [...latest.values()].sort((a, b) => a.changeId - b.changeId);
}

/** A published change on its way to a room, with how many of its incident's nodes the room's screens hold before it. */
export interface FeedChange extends IncidentChange {
  heldNodes: number;
}

/**
 * A room's delta for the changes since `prev` (in change-id order, at least one): latest state per incident, each
 * continuing the nodes its screens held before the first of its changes here ({@link IncidentUpdate}). Pure.
 */
export function deltaOf(prev: number, changes: FeedChange[]): IncidentDelta {
  const heldNodes = new Map<string, number>();
  for (const c of changes) heldNodes.set(c.incident.id, Math.min(heldNodes.get(c.incident.id) ?? c.heldNodes, c.heldNodes));
  const latest = coalesceChanges(changes);
  return { prev, last: changes[changes.length - 1].changeId, incidents: latest.map((c) => updateOf(c.incident, heldNodes.get(c.incident.id)!)) };
}
