import type { Severity } from '../domain/severity.ts';

export type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';

/** An incident as every screen sees it: in snapshots, deltas and REST lists. */
export interface IncidentDto {
  id: string;
  /** Short number people say aloud: #123. */
  number: number;
  status: IncidentStatus;
  severity: Severity;
  summary: string;
  /** Client slug, or null when the alert named no client. */
  client: string | null;
  clientName: string | null;
  groupKey: string;
  alertCount: number;
  openAlertCount: number;
  assigneeId: string | null;
  assigneeName: string | null;
  /** The team holding it (alone or together with a person). */
  teamId: string | null;
  teamName: string | null;
  /** Set while snoozed (and briefly after, until the wake-up timer runs): out of the queue until then. */
  snoozedUntil: string | null;
  /** Set when merged into another incident (this one is then resolved). */
  mergedIntoId: string | null;
  /** Labels of the alert that opened the incident. Untrusted text. */
  labels: Record<string, string>;
  /** Distinct node names of the member alerts (untrusted text): the topology map colours these. */
  nodes: string[];
  createdAt: string;
  acknowledgedAt: string | null;
  resolvedAt: string | null;
  updatedAt: string;
  version: number;
}

/** What a subscription covers: every client the user may see, or one client. */
export interface FeedScope {
  client?: string;
}

/**
 * screen: deltas coalesced over a short window (latest state per incident wins) for walls;
 * console: every commit's changes as they happen.
 */
export type FeedMode = 'screen' | 'console';

/** One subscription: which incidents, delivered how. */
export interface FeedRequest {
  scope: FeedScope;
  mode: FeedMode;
}

export interface IncidentSnapshot {
  /** The newest change id included; deltas with ids at or below it are already in here. */
  lastChangeId: number;
  /** Open incidents (triggered or acknowledged) in scope. */
  incidents: IncidentDto[];
}

/**
 * A batch of changes to the incidents in scope, in change-id order. `prev` is the last change id
 * this scope was sent before: if it is above what the client has, the client missed a batch and
 * must ask for a fresh snapshot.
 */
export interface IncidentDelta {
  prev: number;
  last: number;
  incidents: IncidentDto[];
}
