/**
 * What the top of the console queue shows for a filter: its first rows in priority order, how many
 * incidents match, and the facet counts of the filter chips. The queue computes the counts over what it
 * holds; the server computes all three when a console opens, so the first screen can be drawn before the
 * whole snapshot has arrived (see `IncidentHeadFrame`). Pure: no IO, no Svelte.
 */
import { compareIncidents } from './priority.ts';
import { DEFAULT_QUEUE_STATES, QUEUE_STATES, matchesFilter, queueStateOf, type FilterViewer, type IncidentFilter, type QueueState } from './incident-filter.ts';
import type { Severity } from './severity.ts';
import type { IncidentDto } from '../protocol/incidents.ts';

export interface QueueCounts {
  /** Incidents matching every filter except state, per state (resolved ones only where they were read: REST history). */
  state: Record<QueueState, number>;
  /** Incidents matching every filter except severity, per severity. */
  severity: Record<Severity, number>;
}

/** Facet counts for the filter chips (and the REST list): what each chip would show. */
export function queueCounts(incidents: Iterable<IncidentDto>, filter: IncidentFilter, viewer: FilterViewer, now: number): QueueCounts {
  const counts: QueueCounts = {
    state: { triggered: 0, acknowledged: 0, snoozed: 0, resolved: 0 },
    severity: { critical: 0, high: 0, warning: 0, info: 0 },
  };
  const anyState: IncidentFilter = { ...filter, state: [...QUEUE_STATES], severity: [] };
  const states = filter.state.length ? filter.state : DEFAULT_QUEUE_STATES;
  for (const incident of incidents) {
    if (!matchesFilter(incident, anyState, viewer, now)) continue;
    const state = queueStateOf(incident, now);
    if (filter.severity.length === 0 || filter.severity.includes(incident.severity)) counts.state[state]++;
    if (states.includes(state)) counts.severity[incident.severity]++;
  }
  return counts;
}

export interface QueueHead {
  /** The first `limit` matching incidents, most urgent first. */
  first: IncidentDto[];
  /** How many incidents match the filter. */
  matching: number;
  counts: QueueCounts;
}

/**
 * The head of the queue for `filter`: without sorting everything, since a console opening on 10,000
 * incidents needs its top screen now (the rest follows in the snapshot).
 */
export function queueHead(incidents: readonly IncidentDto[], filter: IncidentFilter, viewer: FilterViewer, now: number, limit: number): QueueHead {
  const first: IncidentDto[] = [];
  let matching = 0;
  for (const incident of incidents) {
    if (!matchesFilter(incident, filter, viewer, now)) continue;
    matching++;
    if (first.length === limit && (limit === 0 || compareIncidents(incident, first[limit - 1]) >= 0)) continue;
    // Insert in order, dropping the last when full: `limit` is a screenful, so this stays cheap.
    let at = first.length;
    while (at > 0 && compareIncidents(incident, first[at - 1]) < 0) at--;
    first.splice(at, 0, incident);
    if (first.length > limit) first.pop();
  }
  return { first, matching, counts: queueCounts(incidents, filter, viewer, now) };
}
