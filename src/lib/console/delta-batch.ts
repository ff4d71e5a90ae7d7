import type { IncidentDelta } from '../protocol/incidents.ts';

/**
 * Joins deltas that follow each other (`next.prev === previous.last`) into one, so a burst of
 * changes is applied (and the queue re-rendered) once per frame instead of once per commit.
 * A delta that does not follow on stays separate: applying it still detects the gap. Pure.
 */
export function mergeContiguousDeltas(deltas: readonly IncidentDelta[]): IncidentDelta[] {
  const merged: IncidentDelta[] = [];
  for (const delta of deltas) {
    const last = merged.at(-1);
    if (last && delta.prev === last.last) {
      merged[merged.length - 1] = { prev: last.prev, last: delta.last, incidents: [...last.incidents, ...delta.incidents] };
    } else merged.push(delta);
  }
  return merged;
}
