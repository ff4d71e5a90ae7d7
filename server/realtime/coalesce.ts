import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';

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
