import { changeOf, patchOf, type IncidentDelta, type IncidentDto, type NodesMove, type PatchedField } from '../../src/lib/protocol/incidents.ts';

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

/** A published change on its way to a room, with its incident as the screens following the feed hold it before it. */
export interface FeedChange extends IncidentChange {
  /** The incident as its previous published change left it; undefined: screens may not hold it (send it whole). */
  before: IncidentDto | undefined;
}

/**
 * A room's delta for the changes since `prev` (in change-id order, at least one): latest state per incident, each
 * as a patch on the state its screens held before the first of its changes here, naming every field any of those
 * changes touched ({@link IncidentUpdate}); whole when one of them came with no state before it. Pure.
 */
export function deltaOf(prev: number, changes: FeedChange[]): IncidentDelta {
  // Per incident: the state its screens held before the window, and what the window's changes did since; null: send it whole.
  const windows = new Map<string, { base: IncidentDto; fields: Set<PatchedField>; nodes: NodesMove } | null>();
  for (const c of changes) {
    const id = c.incident.id;
    let window = windows.get(id);
    if (window === null) continue;
    if (!c.before) {
      windows.set(id, null);
      continue;
    }
    if (!window) windows.set(id, (window = { base: c.before, fields: new Set(), nodes: 'same' }));
    const change = changeOf(c.before, c.incident);
    for (const f of change.fields) window.fields.add(f);
    if (change.nodes === 'rewritten' || window.nodes === 'rewritten') window.nodes = 'rewritten';
    else if (change.nodes === 'grown') window.nodes = 'grown';
  }
  const incidents = coalesceChanges(changes).map(({ incident }) => {
    const window = windows.get(incident.id);
    return window ? patchOf(incident, window.base, window.fields, window.nodes) : incident;
  });
  return { prev, last: changes[changes.length - 1].changeId, incidents };
}
