import type { Severity } from '../domain/severity.ts';
import type { QueueCounts } from '../domain/queue-head.ts';

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
  /** A console asks for the top of its queue first (`incidents:head`), so it can draw it before the snapshot. */
  head?: HeadRequest;
  /**
   * A screen that already holds incidents (a reconnect, a re-subscription after a gap) asks for what changed
   * since instead of every open incident: the server answers `incidents:resumed` when it safely can, else
   * `incidents:snapshot` as without it. A resume needs no `head`: the incidents are on screen already.
   */
  resume?: FeedResume;
}

/** The longest {@link FeedResume.feedId} the server takes (it sends 22 characters). */
export const FEED_ID_MAX = 64;

/** Where a client's incidents stand: what a resume continues from. */
export interface FeedResume {
  /** The newest change id the incidents it holds include (its `lastChangeId`). */
  after: number;
  /**
   * The `feedId` of the snapshot or catch-up those incidents came from: the server resumes only a subscription
   * that covers exactly the same incidents as the one they were built for (same clients, same mode).
   */
  feedId: string;
}

/** The most rows a head may ask for: a tall screen's worth. */
export const HEAD_ROWS_MAX = 200;

export interface HeadRequest {
  /** The queue's filter as a query string (`serialiseFilter`), e.g. `severity=critical&assignee=me`. */
  filter: string;
  /** How many of the first matching incidents to send: 1…{@link HEAD_ROWS_MAX}. */
  rows: number;
}

/**
 * `incidents:head`: the top of a console's queue for the filter it asked with, computed by the server
 * from the snapshot that follows it (same `lastChangeId`). Only for drawing the first screen: the
 * snapshot replaces it. At 10,000 open incidents the snapshot is ~4 MB, which took a slow machine's
 * Chromium 300 ms to receive and read; the head is a screenful.
 */
export interface IncidentHeadFrame {
  lastChangeId: number;
  /** The filter it was computed for, as the request named it. */
  filter: string;
  /** The first matching incidents, most urgent first. */
  rows: IncidentRow[];
  /** How many incidents match the filter. */
  matching: number;
  /** Every open incident in scope. */
  open: number;
  counts: QueueCounts;
}

/** An `incidents:head` with its rows as incidents. */
export type IncidentHead = Omit<IncidentHeadFrame, 'rows'> & { first: IncidentDto[] };

export interface IncidentSnapshot {
  /** The newest change id included; deltas with ids at or below it are already in here. */
  lastChangeId: number;
  /** Open incidents (triggered or acknowledged) in scope. */
  incidents: IncidentDto[];
  /** Names the subscription it was built for, to resume it later ({@link FeedResume}); absent from a server that cannot resume. */
  feedId?: string;
}

/**
 * An incident as a snapshot carries it: its fields' values in this order, without their names.
 * The names were 40 % of a 10,000-incident snapshot (6.4 MB); without them the console's first
 * snapshot arrives ~40 % sooner, while turning rows back into objects costs the browser a few ms.
 */
export type IncidentRow = [
  id: string,
  number: number,
  status: IncidentStatus,
  severity: Severity,
  summary: string,
  client: string | null,
  clientName: string | null,
  groupKey: string,
  alertCount: number,
  openAlertCount: number,
  assigneeId: string | null,
  assigneeName: string | null,
  teamId: string | null,
  teamName: string | null,
  snoozedUntil: string | null,
  mergedIntoId: string | null,
  labels: Record<string, string>,
  nodes: string[],
  createdAt: string,
  acknowledgedAt: string | null,
  resolvedAt: string | null,
  updatedAt: string,
  version: number,
];

/** `incidents:snapshot` on the wire: an {@link IncidentSnapshot} with its incidents as rows. */
export interface IncidentSnapshotFrame {
  lastChangeId: number;
  rows: IncidentRow[];
  feedId?: string;
}

export function incidentToRow(i: IncidentDto): IncidentRow {
  return [
    i.id, i.number, i.status, i.severity, i.summary, i.client, i.clientName, i.groupKey, i.alertCount, i.openAlertCount,
    i.assigneeId, i.assigneeName, i.teamId, i.teamName, i.snoozedUntil, i.mergedIntoId, i.labels, i.nodes,
    i.createdAt, i.acknowledgedAt, i.resolvedAt, i.updatedAt, i.version,
  ];
}

export function incidentFromRow(row: IncidentRow): IncidentDto {
  const [
    id, number, status, severity, summary, client, clientName, groupKey, alertCount, openAlertCount,
    assigneeId, assigneeName, teamId, teamName, snoozedUntil, mergedIntoId, labels, nodes,
    createdAt, acknowledgedAt, resolvedAt, updatedAt, version,
  ] = row;
  return {
    id, number, status, severity, summary, client, clientName, groupKey, alertCount, openAlertCount,
    assigneeId, assigneeName, teamId, teamName, snoozedUntil, mergedIntoId, labels, nodes,
    createdAt, acknowledgedAt, resolvedAt, updatedAt, version,
  };
}

export function encodeSnapshot(snapshot: IncidentSnapshot): IncidentSnapshotFrame {
  const frame: IncidentSnapshotFrame = { lastChangeId: snapshot.lastChangeId, rows: snapshot.incidents.map(incidentToRow) };
  if (snapshot.feedId !== undefined) frame.feedId = snapshot.feedId;
  return frame;
}

export function decodeSnapshot(frame: IncidentSnapshotFrame): IncidentSnapshot {
  const snapshot: IncidentSnapshot = { lastChangeId: frame.lastChangeId, incidents: frame.rows.map(incidentFromRow) };
  if (frame.feedId !== undefined) snapshot.feedId = frame.feedId;
  return snapshot;
}

/** What every update carries, patch or not: which incident and whose, at which version, and whether it is still open. */
type UpdateKey = 'id' | 'number' | 'client' | 'status' | 'version';

/**
 * An incident as a delta carries it: whole, or (`from` set) as a patch: only the fields that changed since the
 * state every screen following the feed holds. Most changes move a count and a time (an alert seen again), yet
 * the whole incident, with its labels and its node list (every distinct node its alerts named: hundreds in a site
 * outage), went to every screen with each of them: node lists were 90 % of a delta's bytes once incidents held a
 * few dozen nodes, and without them the fields that did not change were still ~70 %.
 */
export type IncidentUpdate = Pick<IncidentDto, UpdateKey> &
  Partial<Omit<IncidentDto, UpdateKey>> & {
    /**
     * Set: a patch on this incident as it stood at version `from`, or at any later version up to `version` (the
     * patch names every field that changed in between, even one that changed back). Absent: the whole incident.
     */
    from?: number;
    /**
     * Set (above 0): `nodes` holds only what follows the first `nodesFrom` nodes, which the screen holds already
     * (an incident's node list only grows). Absent: `nodes`, when present, is the whole list.
     */
    nodesFrom?: number;
  };

/** The fields a patch may carry besides {@link UpdateKey}'s, `nodes` aside (it continues a list). */
const PATCHED_FIELDS = [
  'severity', 'summary', 'clientName', 'groupKey', 'alertCount', 'openAlertCount', 'assigneeId', 'assigneeName',
  'teamId', 'teamName', 'snoozedUntil', 'mergedIntoId', 'labels', 'createdAt', 'acknowledgedAt', 'resolvedAt', 'updatedAt',
] as const satisfies readonly (keyof IncidentDto)[];

export type PatchedField = (typeof PATCHED_FIELDS)[number];

/** How an incident's node list moved over some changes: it only grows, unless rewritten (by hand in SQL, say). */
export type NodesMove = 'same' | 'grown' | 'rewritten';

/**
 * A batch of changes to the incidents in scope, in change-id order. `prev` is the last change id
 * this scope was sent before: if it is above what the client has, the client missed a batch and
 * must ask for a fresh snapshot.
 */
export interface IncidentDelta {
  prev: number;
  last: number;
  incidents: IncidentUpdate[];
}

const sameLabels = (a: Record<string, string>, b: Record<string, string>) => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
};

/** Whether `after`'s node list continues `before`'s (starts with it). */
const nodesContinue = (before: readonly string[], after: readonly string[]) => before.length <= after.length && before.every((n, i) => after[i] === n);

/**
 * What one change did to an incident, as {@link patchOf} takes it: the fields it changed, and whether its node
 * list continued the one before. Pure.
 */
export function changeOf(before: IncidentDto, after: IncidentDto): { fields: PatchedField[]; nodes: NodesMove } {
  const fields = PATCHED_FIELDS.filter((f) => (f === 'labels' ? !sameLabels(before.labels, after.labels) : before[f] !== after[f]));
  const nodes: NodesMove = !nodesContinue(before.nodes, after.nodes) ? 'rewritten' : after.nodes.length > before.nodes.length ? 'grown' : 'same';
  return { fields, nodes };
}

/**
 * `incident` as a patch on `base` (the state screens hold): `fields` are those changed by any change between
 * them, `nodes` how its node list moved over those changes. Pure.
 */
export function patchOf(incident: IncidentDto, base: IncidentDto, fields: Iterable<PatchedField>, nodes: NodesMove): IncidentUpdate {
  const patch: IncidentUpdate = { id: incident.id, number: incident.number, client: incident.client, status: incident.status, version: incident.version, from: base.version };
  const values = patch as Record<PatchedField, unknown>;
  for (const f of fields) values[f] = incident[f];
  if (nodes === 'rewritten') patch.nodes = incident.nodes;
  else if (nodes === 'grown' && base.nodes.length === 0) patch.nodes = incident.nodes;
  else if (nodes === 'grown') {
    patch.nodes = incident.nodes.slice(base.nodes.length);
    patch.nodesFrom = base.nodes.length;
  }
  return patch;
}

/** The bit of a {@link PatchRow}'s `fields` that says it carries a node list, after one bit per {@link PATCHED_FIELDS} entry. */
const NODES_BIT = 1 << PATCHED_FIELDS.length;

/**
 * A patch as a delta carries it on the wire: `[from, id, number, client, status, version, fields, ...values]`, `fields`
 * a bit per {@link PATCHED_FIELDS} entry the patch carries, their values following in that order, then, when the
 * bit after those is set, `nodesFrom` (0: the whole list) and the nodes. Field names were ~40 % of a storm's delta
 * bytes (a patch is mostly a count, a time and a version), sent to every console, wall and phone.
 */
export type PatchRow = [from: number, id: string, number: number, client: string | null, status: IncidentStatus, version: number, fields: number, ...values: unknown[]];

/** An {@link IncidentUpdate} on the wire: a whole incident as its {@link IncidentRow}, a patch as a {@link PatchRow} (the one starting with a number). */
export type UpdateRow = IncidentRow | PatchRow;

export function updateToRow(update: IncidentUpdate): UpdateRow {
  if (update.from === undefined) return incidentToRow(update as IncidentDto);
  const row: PatchRow = [update.from, update.id, update.number, update.client, update.status, update.version, 0];
  let fields = 0;
  PATCHED_FIELDS.forEach((field, bit) => {
    if (update[field] === undefined) return;
    fields |= 1 << bit;
    row.push(update[field]);
  });
  if (update.nodes !== undefined) {
    fields |= NODES_BIT;
    row.push(update.nodesFrom ?? 0, update.nodes);
  }
  row[6] = fields;
  return row;
}

export function updateFromRow(row: UpdateRow): IncidentUpdate {
  if (typeof row[0] !== 'number') return incidentFromRow(row as IncidentRow);
  const [from, id, number, client, status, version, fields] = row as PatchRow;
  const update: IncidentUpdate = { id, number, client, status, version, from };
  const values = update as Record<PatchedField, unknown>;
  let next = 7;
  PATCHED_FIELDS.forEach((field, bit) => {
    if (fields & (1 << bit)) values[field] = row[next++];
  });
  if (fields & NODES_BIT) {
    const nodesFrom = row[next] as number;
    update.nodes = row[next + 1] as string[];
    if (nodesFrom > 0) update.nodesFrom = nodesFrom;
  }
  return update;
}

/** `incidents:changed` on the wire: an {@link IncidentDelta} with its updates as rows. */
export interface IncidentDeltaFrame {
  prev: number;
  last: number;
  rows: UpdateRow[];
}

export function encodeDelta(delta: IncidentDelta): IncidentDeltaFrame {
  return { prev: delta.prev, last: delta.last, rows: delta.incidents.map(updateToRow) };
}

export function decodeDelta(frame: IncidentDeltaFrame): IncidentDelta {
  return { prev: frame.prev, last: frame.last, incidents: frame.rows.map(updateFromRow) };
}

/**
 * The incident an update describes, on top of the state the client holds (`held`, undefined when it holds none),
 * or null when the update builds on a state the client does not hold (a patch on an incident it lacks or holds at
 * a version before `from`, a node list continuing more nodes than it holds): then what it holds is not what the
 * feed's deltas build on, and it needs a fresh snapshot. Pure.
 */
export function incidentOfUpdate(update: IncidentUpdate, held: IncidentDto | undefined): IncidentDto | null {
  const { from, nodesFrom, ...fields } = update;
  if (from !== undefined && (!held || held.version < from)) return null;
  const incident = (from === undefined ? fields : { ...held, ...fields }) as IncidentDto;
  if (nodesFrom) {
    if (!held || held.nodes.length < nodesFrom) return null;
    const gained = fields.nodes ?? [];
    incident.nodes = held.nodes.length === nodesFrom && gained.length === 0 ? held.nodes : [...held.nodes.slice(0, nodesFrom), ...gained];
  }
  return incident;
}

/**
 * `incidents:resumed`: the answer to a {@link FeedResume} the server could honour, in place of a snapshot. A
 * delta from the client's own id (`prev` = its `after`) to the newest change (`last`), holding the latest state
 * of every incident in scope that changed in between (resolved ones included, to remove), read from the
 * database's change log, whichever server process wrote them.
 */
export interface IncidentCatchUp extends IncidentDelta {
  /** The subscription it continues: kept to resume again later. */
  feedId: string;
}

/** `incidents:resumed` on the wire: an {@link IncidentCatchUp} with its updates as rows. */
export interface IncidentCatchUpFrame extends IncidentDeltaFrame {
  feedId: string;
}

export function encodeCatchUp(catchUp: IncidentCatchUp): IncidentCatchUpFrame {
  return { ...encodeDelta(catchUp), feedId: catchUp.feedId };
}

export function decodeCatchUp(frame: IncidentCatchUpFrame): IncidentCatchUp {
  return { ...decodeDelta(frame), feedId: frame.feedId };
}

/** The acknowledgement of `incidents:subscribe`: what the client got, and the change id it brings the client to. */
export interface FeedAnswer {
  lastChangeId: number;
  /** snapshot: `incidents:snapshot` came (every open incident); resume: `incidents:resumed` (what changed since). */
  answer: 'snapshot' | 'resume';
}

export function decodeHead(frame: IncidentHeadFrame): IncidentHead {
  const { rows, ...rest } = frame;
  return { ...rest, first: rows.map(incidentFromRow) };
}
