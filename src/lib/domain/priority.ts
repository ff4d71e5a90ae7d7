/**
 * The console queue's documented priority order, shared by the app (queue, wall panel) and the
 * server (REST lists, bulk "everything matching" in queue order). Pure: no IO, no Svelte.
 *
 * Most urgent first:
 *
 * 1. **severity** — critical (P1), high (P2), warning (P3), info (P4);
 * 2. **SLA clock** — within a severity, the incident whose SLA deadline comes first; an incident
 *    with a running SLA clock goes before one without. No SLA clocks exist yet: the hook is
 *    {@link PriorityFields.slaDueAt}, and incidents without it simply fall through to step 3;
 * 3. **age** — oldest first (`createdAt`), so nothing starves at the bottom of its severity;
 * 4. **number** — lowest first, so the order is total and stable across screens and reloads.
 */
import { severityRank, type Severity } from './severity.ts';

/** What the order reads from an incident (an `IncidentDto` has all of it). */
export interface PriorityFields {
  severity: Severity;
  /** ISO timestamp. */
  createdAt: string;
  number: number;
  /**
   * When the incident's SLA clock runs out (ISO timestamp), or null/absent when no clock runs.
   * Hook for the SLA issue: nothing sets it yet.
   */
  slaDueAt?: string | null;
}

/** Sorts most urgent first (see the module comment for the documented order). */
export function compareIncidents(a: PriorityFields, b: PriorityFields): number {
  return (
    severityRank(b.severity) - severityRank(a.severity) ||
    compareSlaDue(a.slaDueAt ?? null, b.slaDueAt ?? null) ||
    compareTime(a.createdAt, b.createdAt) ||
    a.number - b.number
  );
}

/** Earliest deadline first; a running clock before none. */
function compareSlaDue(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return compareTime(a, b);
}

/** Same shape as `Date.prototype.toISOString()`: such strings sort like the instants they name. */
const CANONICAL_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Compares ISO timestamps as instants (offsets and precision may differ between sources). */
function compareTime(a: string, b: string): number {
  if (a === b) return 0;
  // The fast path matters: the queue sorts 10,000 incidents, and the server sends canonical UTC.
  if (a.length === 24 && b.length === 24 && CANONICAL_ISO.test(a) && CANONICAL_ISO.test(b)) return a < b ? -1 : 1;
  const difference = Date.parse(a) - Date.parse(b);
  return Number.isNaN(difference) ? a.localeCompare(b) : difference;
}

/** A sorted copy, most urgent first. */
export function byPriority<T extends PriorityFields>(incidents: Iterable<T>): T[] {
  return [...incidents].sort(compareIncidents);
}

/** What {@link compareListed} reads besides the priority (an `IncidentDto` has it). */
export interface ListedFields extends PriorityFields {
  status: 'triggered' | 'acknowledged' | 'resolved';
  /** ISO timestamp; null while open. */
  resolvedAt: string | null;
}

/**
 * The order of a list that may hold resolved incidents (the REST list with `state=resolved`, history): open
 * incidents first in priority order, then the resolved, most recently resolved first, as people read history.
 */
export function compareListed(a: ListedFields, b: ListedFields): number {
  const aResolved = a.status === 'resolved';
  if (aResolved !== (b.status === 'resolved')) return aResolved ? 1 : -1;
  if (!aResolved) return compareIncidents(a, b);
  return compareTime(b.resolvedAt ?? b.createdAt, a.resolvedAt ?? a.createdAt) || b.number - a.number;
}
