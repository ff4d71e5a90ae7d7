/** Plain data the engine works on. No behaviour here; see process-signals.ts. */
import type { Severity } from '../../src/lib/domain/severity.ts';
import type { TimelineKind } from '../../src/lib/protocol/console.ts';

export type { Severity };

export type SignalStatus = 'firing' | 'resolved';
export type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';
export type SignalAction = 'trigger' | 'acknowledge' | 'resolve';

export interface Link {
  href: string;
  text: string;
}

/** One normalised observation from any source. */
export interface Signal {
  /** dedup key, unique per source */
  fingerprint: string;
  status: SignalStatus;
  /** PagerDuty acknowledge/resolve act on the incident; all other formats say 'trigger' for firing and 'resolve' for resolved */
  action: SignalAction;
  severity: Severity;
  summary: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** only http/https hrefs are kept */
  links: Link[];
  startsAt: Date;
  endsAt: Date | null;
  /** client slug from the source mapping / label, or null */
  client: string | null;
  /** node name from the mapping / label, or null */
  node: string | null;
  /** explicit grouping key if the format provides one (else the engine computes it) */
  groupKey: string | null;
}

/** How a source's labels map onto Watchfloor's client, node and grouping. */
export interface SourceMapping {
  clientLabel: string;
  nodeLabel: string;
  /** label names whose values (after the client) form the group key; empty = default grouping */
  groupBy: string[];
  defaultClient: string | null;
}

export interface AlertRecord {
  id: string;
  sourceId: string;
  fingerprint: string;
  incidentId: string | null;
  status: SignalStatus;
  severity: Severity;
  summary: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  links: Link[];
  client: string | null;
  node: string | null;
  startsAt: Date;
  endsAt: Date | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
  resolvedAt: Date | null;
  count: number;
}

export interface IncidentRecord {
  id: string;
  groupKey: string;
  client: string | null;
  status: IncidentStatus;
  severity: Severity;
  summary: string;
  alertCount: number;
  openAlertCount: number;
  createdAt: Date;
  acknowledgedAt: Date | null;
  resolvedAt: Date | null;
  updatedAt: Date;
  /**
   * The node names this batch's alerts brought to the incident (all of them for a new one). The database keeps
   * the incident's distinct list and appends the ones it lacks, so the engine neither reads nor ships a list that
   * grows with the incident (hundreds of nodes in a site outage, rewritten on every change). Empty in read state.
   */
  addedNodes: string[];
  /** Labels of the opening alert, set by the ingest pipeline on new incidents only (written once). */
  labels?: Record<string, string>;
}

/** Timeline kinds: one list for the engine, the commands and the app (see the protocol). */
export type { TimelineKind };

export interface TimelineEntry {
  id: string;
  incidentId: string;
  at: Date;
  /** 'source:<name>' or 'user:<id>' or 'system' */
  actor: string;
  kind: TimelineKind;
  detail: Record<string, unknown>;
}
