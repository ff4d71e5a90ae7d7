/**
 * The console queue's filter: what it holds, how it travels in a URL (so a view can be shared and
 * bookmarked), and whether an incident matches it. The server applies the same filter to
 * `GET /api/v1/incidents` and to bulk "everything matching" commands, so both sides import this.
 * Pure: no IO, no Svelte.
 *
 * URL form (every parameter optional; absent means "any"):
 *
 * | parameter  | value                                                        | example                      |
 * | ---------- | ------------------------------------------------------------ | ---------------------------- |
 * | `client`   | a client slug                                                | `client=acme`                |
 * | `severity` | comma-separated severities                                   | `severity=critical,high`     |
 * | `state`    | comma-separated of `triggered`, `acknowledged`, `snoozed`, `resolved` | `state=triggered` |
 * | `assignee` | `me`, `unassigned` or a user id                              | `assignee=me`                |
 * | `team`     | `mine` (any team I belong to) or a team id                   | `team=mine`                  |
 * | `q`        | free text (see {@link matchesText})                          | `q=bgp%20core-sw`            |
 *
 * Without `state`, the queue shows what needs work now: triggered and acknowledged incidents that
 * are not snoozed. Snoozed incidents come back by themselves when their snooze ends, or are shown
 * on request with `state=snoozed`. `resolved` matters only where resolved incidents are listed
 * (REST history); the live queue holds open incidents only.
 */
import { SEVERITIES, isSeverity, type Severity } from './severity.ts';
import type { IncidentDto } from '../protocol/incidents.ts';

/** The states a filter distinguishes; snoozed is an open incident whose snooze has not ended. */
export const QUEUE_STATES = ['triggered', 'acknowledged', 'snoozed', 'resolved'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** What the queue shows when the filter names no state. */
export const DEFAULT_QUEUE_STATES: readonly QueueState[] = ['triggered', 'acknowledged'];

/** `me`, `unassigned`, or a user id. */
export type AssigneeFilter = 'me' | 'unassigned' | (string & {});
/** `mine` (any team of mine) or a team id. */
export type TeamFilter = 'mine' | (string & {});

export interface IncidentFilter {
  /** A client slug. */
  client?: string;
  /** Any of these severities; empty means any severity. */
  severity: Severity[];
  /** Any of these states; empty means {@link DEFAULT_QUEUE_STATES}. */
  state: QueueState[];
  assignee?: AssigneeFilter;
  team?: TeamFilter;
  /** Free text, as typed. */
  q?: string;
}

/** Who is looking: `me` and `mine` resolve against it. */
export interface FilterViewer {
  id: string;
  teamIds: string[];
}

/** The incident fields a filter reads. Structural, so it works on `IncidentDto` and test fixtures alike. */
export type FilterableIncident = Pick<IncidentDto, 'status' | 'severity' | 'summary' | 'client' | 'assigneeId' | 'number'> & {
  clientName?: string | null;
  assigneeName?: string | null;
  teamId?: string | null;
  teamName?: string | null;
  snoozedUntil?: string | null;
  labels?: Record<string, string> | null;
};

/** Limits that keep a crafted URL from costing anything. */
const MAX_TEXT = 200;
const MAX_ID = 100;

export function emptyFilter(): IncidentFilter {
  return { severity: [], state: [] };
}

/** True when the filter narrows nothing (the default queue). */
export function isEmptyFilter(filter: IncidentFilter): boolean {
  return (
    !filter.client &&
    filter.severity.length === 0 &&
    filter.state.length === 0 &&
    !filter.assignee &&
    !filter.team &&
    !filter.q?.trim()
  );
}

/** Values of a list parameter, given repeated (`severity=a&severity=b`) or comma-separated (`severity=a,b`). */
function listParam(params: URLSearchParams, name: string): string[] {
  return params
    .getAll(name)
    .flatMap((value) => value.split(','))
    .map((value) => value.trim().toLowerCase())
    .filter(Boolean);
}

function textParam(params: URLSearchParams, name: string, max: number): string | undefined {
  const value = params.get(name)?.trim();
  return value ? value.slice(0, max) : undefined;
}

/**
 * Reads a filter from URL search parameters. Lenient on purpose: a bookmarked URL with a value
 * that no longer means anything (an unknown severity) drops that value instead of failing.
 */
export function parseFilter(params: URLSearchParams): IncidentFilter {
  const severities = new Set(listParam(params, 'severity').filter(isSeverity));
  const states = new Set(listParam(params, 'state').filter(isQueueState));
  const filter: IncidentFilter = {
    // Canonical order, so equal filters give equal URLs.
    severity: SEVERITIES.filter((s) => severities.has(s)),
    state: QUEUE_STATES.filter((s) => states.has(s)),
  };
  const client = textParam(params, 'client', MAX_ID);
  if (client) filter.client = client.toLowerCase();
  const assignee = textParam(params, 'assignee', MAX_ID);
  if (assignee) filter.assignee = assignee;
  const team = textParam(params, 'team', MAX_ID);
  if (team) filter.team = team;
  const q = textParam(params, 'q', MAX_TEXT);
  if (q) filter.q = q;
  return filter;
}

/** The filter as a query string (no `?`), as bulk requests carry it: `severity=critical&state=triggered`. */
export function serialiseFilter(filter: IncidentFilter): string {
  return filterToParams(filter).toString();
}

/** Writes a filter as URL search parameters; what `parseFilter` reads back equal. Empty parts are left out. */
export function filterToParams(filter: IncidentFilter): URLSearchParams {
  const params = new URLSearchParams();
  if (filter.client) params.set('client', filter.client);
  const severities = SEVERITIES.filter((s) => filter.severity.includes(s));
  if (severities.length) params.set('severity', severities.join(','));
  const states = QUEUE_STATES.filter((s) => filter.state.includes(s));
  if (states.length) params.set('state', states.join(','));
  if (filter.assignee) params.set('assignee', filter.assignee);
  if (filter.team) params.set('team', filter.team);
  const q = filter.q?.trim();
  if (q) params.set('q', q);
  return params;
}

export function isQueueState(value: unknown): value is QueueState {
  return typeof value === 'string' && (QUEUE_STATES as readonly string[]).includes(value);
}

/** The queue state of an open incident at `now` (epoch ms): snoozed while its snooze runs. */
export function queueStateOf(incident: Pick<FilterableIncident, 'status' | 'snoozedUntil'>, now: number): QueueState {
  if (incident.status === 'resolved') return 'resolved';
  if (incident.snoozedUntil && Date.parse(incident.snoozedUntil) > now) return 'snoozed';
  return incident.status;
}

/**
 * Free text: every whitespace-separated term must match (case-insensitive) somewhere in the
 * summary, the client, a label's value, a label as `key=value`, or the number (`123` or `#123`).
 * `"quoted phrases"` match as one term.
 */
export function matchesText(incident: FilterableIncident, q: string | undefined): boolean {
  const terms = textTerms(q);
  if (terms.length === 0) return true;
  const haystack = searchText(incident);
  return terms.every((term) => {
    if (/^#?\d+$/.test(term) && Number(term.replace('#', '')) === incident.number) return true;
    return haystack.includes(term);
  });
}

/** Lower-cased search terms of free text; quoted phrases stay whole. */
export function textTerms(q: string | undefined): string[] {
  if (!q) return [];
  const terms: string[] = [];
  for (const match of q.toLowerCase().matchAll(/"([^"]*)"|(\S+)/g)) {
    const term = (match[1] ?? match[2]).trim();
    if (term) terms.push(term);
  }
  return terms;
}

// One searchable string per incident object: the queue re-filters 10,000 incidents on every
// keystroke and every delta, and DTOs are immutable (a change arrives as a new object).
const searchTextCache = new WeakMap<object, string>();

function searchText(incident: FilterableIncident): string {
  let text = searchTextCache.get(incident);
  if (text === undefined) {
    const parts = [incident.summary, incident.client ?? '', incident.clientName ?? ''];
    for (const [key, value] of Object.entries(incident.labels ?? {})) parts.push(`${key}=${value}`);
    // \u0000 keeps a term from matching across two fields.
    text = parts.join('\u0000').toLowerCase();
    searchTextCache.set(incident, text);
  }
  return text;
}

/** True when an open incident belongs in the view the filter describes, for `me` at `now` (epoch ms). */
export function matchesFilter(
  incident: FilterableIncident,
  filter: IncidentFilter,
  me: FilterViewer,
  now: number = Date.now(),
): boolean {
  const state = queueStateOf(incident, now);
  const states = filter.state.length ? filter.state : DEFAULT_QUEUE_STATES;
  if (!states.includes(state)) return false;
  if (filter.severity.length && !filter.severity.includes(incident.severity)) return false;
  if (filter.client && incident.client !== filter.client) return false;
  if (filter.assignee) {
    if (filter.assignee === 'me') {
      if (incident.assigneeId !== me.id) return false;
    } else if (filter.assignee === 'unassigned') {
      if (incident.assigneeId !== null) return false;
    } else if (incident.assigneeId !== filter.assignee) return false;
  }
  if (filter.team) {
    const teamId = incident.teamId ?? null;
    if (filter.team === 'mine') {
      if (teamId === null || !me.teamIds.includes(teamId)) return false;
    } else if (teamId !== filter.team) return false;
  }
  return matchesText(incident, filter.q);
}
