/**
 * The incident tables on the ingest hot path, in plain SQL: one statement to read what a batch needs
 * and one to write everything it changed, rows travelling as one jsonb parameter per table
 * (jsonb_to_recordset), which both PGlite and postgres.js run without per-row round trips or the
 * query builder's overhead.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Database, Tx } from './database.ts';
import type { AlertRecord, IncidentRecord, TimelineEntry, Signal } from '../engine/types.ts';
import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';
import type { IncidentChange } from '../realtime/coalesce.ts';
import type { ChangeLogAfter } from '../realtime/feed-resume.ts';
import type { EngineState } from '../engine/carry-forward.ts';
import type { Severity } from '../../src/lib/domain/severity.ts';
import { anyText, json } from './sql-values.ts';

const date = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));
const maybeDate = (value: unknown): Date | null => (value === null || value === undefined ? null : date(value));

/** An `alerts` row as the drivers return it. */
export interface AlertRow {
  id: string;
  source_id: string;
  fingerprint: string;
  incident_id: string | null;
  status: 'firing' | 'resolved';
  severity: Severity;
  summary: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  links: { href: string; text: string }[];
  client: string | null;
  node: string | null;
  starts_at: Date;
  ends_at: Date | null;
  first_seen_at: Date;
  last_seen_at: Date;
  resolved_at: Date | null;
  count: number;
}

function toAlertRecord(r: AlertRow): AlertRecord {
  return {
    id: r.id,
    sourceId: r.source_id,
    fingerprint: r.fingerprint,
    incidentId: r.incident_id,
    status: r.status,
    severity: r.severity,
    summary: r.summary,
    labels: r.labels,
    annotations: r.annotations,
    links: r.links,
    client: r.client,
    node: r.node,
    startsAt: date(r.starts_at),
    endsAt: maybeDate(r.ends_at),
    firstSeenAt: date(r.first_seen_at),
    lastSeenAt: date(r.last_seen_at),
    resolvedAt: maybeDate(r.resolved_at),
    count: Number(r.count),
  };
}

export interface IncidentRow {
  id: string;
  number: number | string;
  group_key: string;
  client: string | null;
  client_name: string | null;
  status: IncidentRecord['status'];
  severity: Severity;
  summary: string;
  alert_count: number;
  open_alert_count: number;
  assignee_id: string | null;
  assignee_name: string | null;
  team_id: string | null;
  team_name: string | null;
  snoozed_until: Date | null;
  merged_into_id: string | null;
  labels: Record<string, string> | null;
  nodes: string[] | null;
  created_at: Date;
  acknowledged_at: Date | null;
  resolved_at: Date | null;
  updated_at: Date;
  version: number;
}

/**
 * The columns the engine works on: no names to look up, no join (it runs for every ingest batch), and not the
 * node list, which grows with the incident: the engine reports the nodes a batch adds (`addedNodes`).
 */
const ENGINE_COLUMNS = sql`i.id, i.group_key, i.client, i.status, i.severity, i.summary, i.alert_count, i.open_alert_count,
  i.created_at, i.acknowledged_at, i.resolved_at, i.updated_at`;
type EngineRow = Pick<
  IncidentRow,
  'id' | 'group_key' | 'client' | 'status' | 'severity' | 'summary' | 'alert_count' | 'open_alert_count' | 'created_at' | 'acknowledged_at' | 'resolved_at' | 'updated_at'
>;

function toIncidentRecord(r: EngineRow): IncidentRecord {
  return {
    id: r.id,
    groupKey: r.group_key,
    client: r.client,
    status: r.status,
    severity: r.severity,
    summary: r.summary,
    alertCount: Number(r.alert_count),
    openAlertCount: Number(r.open_alert_count),
    createdAt: date(r.created_at),
    acknowledgedAt: maybeDate(r.acknowledged_at),
    resolvedAt: maybeDate(r.resolved_at),
    updatedAt: date(r.updated_at),
    addedNodes: [],
  };
}

export function toIncidentDto(r: IncidentRow): IncidentDto {
  const iso = (v: Date | null) => (v === null ? null : date(v).toISOString());
  return {
    id: r.id,
    number: Number(r.number),
    status: r.status,
    severity: r.severity,
    summary: r.summary,
    client: r.client,
    clientName: r.client_name,
    groupKey: r.group_key,
    alertCount: Number(r.alert_count),
    openAlertCount: Number(r.open_alert_count),
    assigneeId: r.assignee_id,
    assigneeName: r.assignee_name,
    teamId: r.team_id,
    teamName: r.team_name,
    snoozedUntil: iso(r.snoozed_until),
    mergedIntoId: r.merged_into_id,
    labels: r.labels ?? {},
    nodes: r.nodes ?? [],
    createdAt: date(r.created_at).toISOString(),
    acknowledgedAt: iso(r.acknowledged_at),
    resolvedAt: iso(r.resolved_at),
    updatedAt: date(r.updated_at).toISOString(),
    version: Number(r.version),
  };
}

/** Columns of an incident as screens see it, over `incidents i left join clients c on c.slug = i.client`. */
export const INCIDENT_COLUMNS = sql`i.id, i.number, i.group_key, i.client, c.name as client_name, i.status, i.severity, i.summary,
  i.alert_count, i.open_alert_count, i.assignee_id, (select u.name from users u where u.id = i.assignee_id) as assignee_name,
  i.team_id, (select t.name from teams t where t.id = i.team_id) as team_name, i.snoozed_until, i.merged_into_id, i.labels,
  i.nodes, i.created_at, i.acknowledged_at, i.resolved_at, i.updated_at, i.version`;

/** A timestamp exactly as `Date#toISOString` writes it (UTC, milliseconds, Z). */
const isoUtc = (column: SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * An incident as screens see it, built by the database, over `incidents i` joined to clients c,
 * users u (assignee) and teams t. For big reads (a snapshot of 10,000 open incidents) one JSON
 * value is much cheaper than converting row by row in JS. Must equal {@link toIncidentDto}: tested.
 * Without `nodes`, for change rows (see {@link changeInsert}).
 */
const incidentJson = (nodes: boolean) => sql`json_build_object('id', i.id, 'number', i.number, 'status', i.status, 'severity', i.severity,
  'summary', i.summary, 'client', i.client, 'clientName', c.name, 'groupKey', i.group_key, 'alertCount', i.alert_count,
  'openAlertCount', i.open_alert_count, 'assigneeId', i.assignee_id, 'assigneeName', u.name, 'teamId', i.team_id,
  'teamName', t.name, 'snoozedUntil', ${isoUtc(sql`i.snoozed_until`)}, 'mergedIntoId', i.merged_into_id,
  'labels', coalesce(i.labels, '{}'::jsonb), ${nodes ? sql`'nodes', coalesce(i.nodes, '{}'::text[]), ` : sql``}'createdAt', ${isoUtc(sql`i.created_at`)},
  'acknowledgedAt', ${isoUtc(sql`i.acknowledged_at`)}, 'resolvedAt', ${isoUtc(sql`i.resolved_at`)},
  'updatedAt', ${isoUtc(sql`i.updated_at`)}, 'version', i.version)`;
const INCIDENT_JSON = incidentJson(true);

/**
 * What the engine needs to process a batch from one source, read in one statement: the stored alerts
 * with these fingerprints, the newest incident per group key that is open or resolved inside the reopen
 * window, and the incidents those alerts belong to. Rows come back as JSON text (one parse, no
 * per-column conversion by the driver). Without `tx`, it reads on a connection of its own.
 */
export async function loadEngineState(
  database: Database,
  tx: Tx | undefined,
  sourceId: string,
  fingerprints: string[],
  groupKeys: string[],
  reopenSince: Date,
): Promise<EngineState> {
  // by_id leaves out what by_key already holds: most of a batch's alerts belong to the incidents of its keys.
  const [row] = await database.rows<{ alerts: string; by_key: string; by_id: string }>(
    sql`with found as (select * from alerts where source_id = ${sourceId} and fingerprint = ${anyText(fingerprints)}),
        by_key as (
          select distinct on (i.group_key) ${ENGINE_COLUMNS} from incidents i
          where i.group_key = ${anyText(groupKeys)} and i.merged_into_id is null
            and (i.status <> 'resolved' or i.resolved_at >= ${reopenSince.toISOString()}::timestamptz)
          order by i.group_key, i.created_at desc),
        by_id as (select ${ENGINE_COLUMNS} from incidents i where i.id in (select incident_id from found) and i.id not in (select id from by_key))
        select (select coalesce(json_agg(found), '[]') from found)::text as alerts,
          (select coalesce(json_agg(by_key), '[]') from by_key)::text as by_key,
          (select coalesce(json_agg(by_id), '[]') from by_id)::text as by_id`,
    tx,
  );
  const alertRows = JSON.parse(row.alerts) as AlertRow[];
  const byKey = JSON.parse(row.by_key) as EngineRow[];
  const alerts = new Map(alertRows.map((r) => [r.fingerprint, toAlertRecord(r)]));
  const incidentsById = new Map<string, IncidentRecord>();
  for (const r of [...byKey, ...(JSON.parse(row.by_id) as EngineRow[])]) incidentsById.set(r.id, toIncidentRecord(r));
  return { alerts, incidentsByGroupKey: new Map(byKey.map((r) => [r.group_key, incidentsById.get(r.id)!])), incidentsById };
}

/**
 * True when only the alert's state moved (lastSeenAt and count, status, resolvedAt and endsAt) and nothing
 * it says: Alertmanager's repeat notifications, most of a storm's traffic, and resolutions. Those rows take
 * a narrow update instead of a rewrite of every column.
 */
export function onlyStateMoved(before: AlertRecord | undefined, after: AlertRecord): boolean {
  if (!before) return false;
  return (
    before.id === after.id &&
    before.incidentId === after.incidentId &&
    before.severity === after.severity &&
    before.summary === after.summary &&
    before.client === after.client &&
    before.node === after.node &&
    before.startsAt.getTime() === after.startsAt.getTime() &&
    sameStrings(before.labels, after.labels) &&
    sameStrings(before.annotations, after.annotations) &&
    JSON.stringify(before.links) === JSON.stringify(after.links)
  );
}

/** Key order does not count: jsonb gives keys back in its own order. */
function sameStrings(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/** What one source's batch writes: the engine's output and the raw signals it came from. */
export interface IngestWrite {
  incidents: IncidentRecord[];
  alerts: AlertRecord[];
  /** The alerts as loaded before the engine ran: those whose state alone moved take a narrow update. */
  alertsBefore: Map<string, AlertRecord>;
  timeline: TimelineEntry[];
  sourceId: string;
  signals: { signal: Signal; receivedAt: Date }[];
}

/**
 * Writes one source's batch in one statement — incidents, alerts, timeline, signals and a change row per
 * incident, built as screens see it — which returns those changes in order. One round trip instead of six:
 * data-modifying CTEs all run, and foreign keys (alerts, timeline → incidents) are checked at the end of
 * the statement, when the incidents are in. Null when there is nothing to write.
 *
 * Built apart from running ({@link runIngestStatement}) so that ingest can build it while the batch before
 * holds the writer: turning thousands of rows into parameters is milliseconds during which the writer
 * would otherwise wait.
 */
export function ingestStatement(write: IngestWrite): SQL | null {
  const steps: SQL[] = [];
  const step = (name: string, statement: SQL) => steps.push(sql`${sql.raw(name)} as (${statement})`);
  const iso = isoText();
  if (write.incidents.length > 0) step('upserted', incidentUpsert(write.incidents, iso));
  const stateMoved: AlertRecord[] = [];
  const rewritten: AlertRecord[] = [];
  for (const alert of write.alerts) (onlyStateMoved(write.alertsBefore.get(alert.fingerprint), alert) ? stateMoved : rewritten).push(alert);
  if (stateMoved.length > 0) step('state_moved', alertStates(stateMoved, iso));
  if (rewritten.length > 0) step('rewritten', alertUpsert(rewritten, iso));
  if (write.timeline.length > 0) step('noted', timelineInsert(write.timeline, iso));
  if (write.signals.length > 0) step('recorded_signals', signalInsert(write.sourceId, write.signals, iso));
  if (steps.length === 0) return null;
  // Without incidents nothing changes for screens: the statement records no changes and selects no rows.
  if (write.incidents.length === 0) return sql`with ${sql.join(steps, sql`, `)} select 1 where false`;
  step('recorded', changeInsert(write.incidents.map((i) => i.id), sql.raw('upserted')));
  return changesQuery(steps, sql.raw('upserted'));
}

/** Runs an {@link ingestStatement} in `tx`; returns the changes it recorded. */
export async function runIngestStatement(database: Database, tx: Tx, statement: SQL | null): Promise<IncidentChange[]> {
  return statement === null ? [] : readChanges(database, tx, statement);
}

/**
 * `insert into changes`: one row per incident, in the order given, carrying the incident as screens
 * see it (built by {@link incidentJson}) but its node list; `from` holds the incidents' rows (the table, or the
 * rows the same statement just wrote, which the table does not show it yet).
 *
 * The node list grows with the incident (every distinct node of its alerts: hundreds in a site outage) and only
 * grows, and a change row is written for every change: with it, it was most of the log's bytes. Whoever reads a
 * change takes the list from the incident's row ({@link changesOf}): it holds the nodes the change had, and any
 * that joined since, which the screens will be sent anyway.
 */
const changeInsert = (ids: string[], from: SQL): SQL =>
  sql`insert into changes (entity, entity_id, client_id, data)
      select 'incident', i.id::text, c.id, ${incidentJson(false)}
      from json_array_elements_text(${JSON.stringify(ids)}::json) with ordinality as o(id, ord)
      join ${from} i on i.id = o.id::uuid
      left join clients c on c.slug = i.client left join users u on u.id = i.assignee_id left join teams t on t.id = i.team_id
      order by o.ord
      returning id, entity_id, data`;

/** An incident's node list as JSON text: one native parse, where an array column is parsed character by character in JS. */
const NODES_JSON = sql`coalesce(array_to_json(i.nodes), '[]')::text`;

/** `steps` (the last one named `recorded`, a {@link changeInsert} from `from`), selecting the changes it recorded as {@link ChangeRow}s. */
const changesQuery = (steps: SQL[], from: SQL): SQL =>
  sql`with ${sql.join(steps, sql`, `)} select r.id, r.data::text as data, ${NODES_JSON} as nodes from recorded r join ${from} i on i.id = r.entity_id::uuid order by r.id`;

/** Runs a statement that selects {@link ChangeRow}s (a {@link changesQuery}) and returns them as changes. */
const readChanges = async (database: Database, tx: Tx, query: SQL): Promise<IncidentChange[]> => changesOf(await database.rows<ChangeRow>(query, tx));

/** A change row as read back, its data as text, with its incident's node list: the incident as screens see it. */
type ChangeRow = { id: number | string; data: string; nodes: string };
function changesOf(rows: ChangeRow[]): IncidentChange[] {
  return rows.map((r) => {
    const incident = JSON.parse(r.data) as IncidentDto;
    incident.nodes = JSON.parse(r.nodes) as string[];
    return { changeId: Number(r.id), incident };
  });
}

/** A date as ISO text, for one statement's rows. */
type IsoText = { (date: Date): string; (date: Date | null): string | null };

/**
 * Dates as ISO text, each instant converted once: a batch's rows share a few (its `now`, its alerts' starts).
 * Rows go to SQL as JSON (see {@link json}), and Dates in them made `JSON.stringify` ~3× slower (each calls its
 * `toJSON`): a fifth of ingest's CPU went to turning rows into parameters. Rows carry text for their dates.
 */
function isoText(): IsoText {
  const seen = new Map<number, string>();
  return ((date: Date | null) => {
    if (date === null) return null;
    const time = date.getTime();
    if (Number.isNaN(time)) return null; // as toJSON has it (toISOString throws)
    let text = seen.get(time);
    if (text === undefined) seen.set(time, (text = date.toISOString()));
    return text;
  }) as IsoText;
}

/** Appends raw signals: the append-only record, pruned after the retention period. */
const signalInsert = (sourceId: string, signals: IngestWrite['signals'], iso: IsoText): SQL =>
  sql`insert into signals (source_id, fingerprint, status, severity, summary, labels, received_at)
      select ${sourceId}::uuid, x.f, x.st, x.sv, x.su, x.l, x.r
      from jsonb_to_recordset(${json(signals.map(({ signal: s, receivedAt }) => ({ f: s.fingerprint, st: s.status, sv: s.severity, su: s.summary, l: s.labels, r: iso(receivedAt) })))})
        as x(f text, st text, sv text, su text, l jsonb, r timestamptz)`;

/** Alerts whose state alone moved (seen again, resolved): those columns, nothing else. */
const alertStates = (alerts: AlertRecord[], iso: IsoText): SQL =>
  sql`update alerts a set last_seen_at = x."lastSeenAt", count = x."count", status = x."status", resolved_at = x."resolvedAt", ends_at = x."endsAt"
      from jsonb_to_recordset(${json(alerts.map((a) => ({ id: a.id, lastSeenAt: iso(a.lastSeenAt), count: a.count, status: a.status, resolvedAt: iso(a.resolvedAt), endsAt: iso(a.endsAt) })))})
        as x("id" uuid, "lastSeenAt" timestamptz, "count" int, "status" text, "resolvedAt" timestamptz, "endsAt" timestamptz)
      where a.id = x."id"`;

/** New or changed alerts, every column. */
const alertUpsert = (alerts: AlertRecord[], iso: IsoText): SQL =>
  sql`insert into alerts (id, source_id, fingerprint, incident_id, status, severity, summary, labels, annotations, links,
        client, node, starts_at, ends_at, first_seen_at, last_seen_at, resolved_at, count)
      select x."id", x."sourceId", x."fingerprint", x."incidentId", x."status", x."severity", x."summary", x."labels",
        x."annotations", x."links", x."client", x."node", x."startsAt", x."endsAt", x."firstSeenAt", x."lastSeenAt",
        x."resolvedAt", x."count"
      from jsonb_to_recordset(${json(alerts.map((a) => ({
        ...a, startsAt: iso(a.startsAt), endsAt: iso(a.endsAt), firstSeenAt: iso(a.firstSeenAt), lastSeenAt: iso(a.lastSeenAt), resolvedAt: iso(a.resolvedAt),
      })))}) as x("id" uuid, "sourceId" uuid, "fingerprint" text, "incidentId" uuid,
        "status" text, "severity" text, "summary" text, "labels" jsonb, "annotations" jsonb, "links" jsonb, "client" text,
        "node" text, "startsAt" timestamptz, "endsAt" timestamptz, "firstSeenAt" timestamptz, "lastSeenAt" timestamptz,
        "resolvedAt" timestamptz, "count" int)
      on conflict (id) do update set incident_id = excluded.incident_id, status = excluded.status, severity = excluded.severity,
        summary = excluded.summary, labels = excluded.labels, annotations = excluded.annotations, links = excluded.links,
        client = excluded.client, node = excluded.node, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
        last_seen_at = excluded.last_seen_at, resolved_at = excluded.resolved_at, count = excluded.count`;

/**
 * Inserts or updates incidents (bumping their version), returning their rows. The node list grows by the nodes
 * the batch added that it lacks, in the order they came.
 */
const incidentUpsert = (incidents: IncidentRecord[], iso: IsoText): SQL =>
  sql`insert into incidents (id, group_key, client, client_id, status, severity, summary, alert_count, open_alert_count,
        created_at, acknowledged_at, resolved_at, updated_at, labels, nodes)
      select x."id", x."groupKey", x."client", (select id from clients where slug = x."client"), x."status", x."severity",
        x."summary", x."alertCount", x."openAlertCount", x."createdAt", x."acknowledgedAt", x."resolvedAt", x."updatedAt",
        coalesce(x."labels", '{}'::jsonb), coalesce(x."addedNodes", '{}'::text[])
      from jsonb_to_recordset(${json(incidents.map((i) => ({
        ...i, createdAt: iso(i.createdAt), acknowledgedAt: iso(i.acknowledgedAt), resolvedAt: iso(i.resolvedAt), updatedAt: iso(i.updatedAt),
      })))}) as x("id" uuid, "groupKey" text, "client" text, "status" text,
        "severity" text, "summary" text, "alertCount" int, "openAlertCount" int, "createdAt" timestamptz,
        "acknowledgedAt" timestamptz, "resolvedAt" timestamptz, "updatedAt" timestamptz, "labels" jsonb, "addedNodes" text[])
      -- People own assignee, team and snooze (server/incidents): ingest never writes them, except that a
      -- resolved or reopened incident is no longer snoozed.
      on conflict (id) do update set status = excluded.status, severity = excluded.severity, summary = excluded.summary,
        alert_count = excluded.alert_count, open_alert_count = excluded.open_alert_count,
        acknowledged_at = excluded.acknowledged_at, resolved_at = excluded.resolved_at, updated_at = excluded.updated_at,
        snoozed_until = case when excluded.status = incidents.status then incidents.snoozed_until end,
        nodes = incidents.nodes || array(select n from unnest(excluded.nodes) as n where n <> all(incidents.nodes)),
        version = incidents.version + 1
      returning *`;

const timelineInsert = (entries: TimelineEntry[], iso: IsoText): SQL =>
  sql`insert into timeline (id, incident_id, at, actor, kind, detail)
      select x."id", x."incidentId", x."at", x."actor", x."kind", x."detail"
      from jsonb_to_recordset(${json(entries.map((e) => ({ ...e, at: iso(e.at) })))}) as x("id" uuid, "incidentId" uuid, "at" timestamptz, "actor" text, "kind" text, "detail" jsonb)`;

export async function insertTimeline(database: Database, tx: Tx, entries: TimelineEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await database.rows(timelineInsert(entries, isoText()), tx);
}

/** One change row per changed incident, in order, read from the table; their ids are the global order screens follow. */
export async function recordIncidentChanges(database: Database, tx: Tx, incidentIds: string[]): Promise<IncidentChange[]> {
  if (incidentIds.length === 0) return [];
  return readChanges(database, tx, changesQuery([sql`recorded as (${changeInsert(incidentIds, sql`incidents`)})`], sql`incidents`));
}

/**
 * Committed incident changes with ids above `after` (and below `before`, when given), in id order, at most
 * `limit`: what other processes committed, read back by a process that heard of it.
 */
export async function readChangesAfter(database: Database, after: number, before: number | null, limit: number): Promise<IncidentChange[]> {
  return changesOf(
    await database.rows<ChangeRow>(
      sql`select c.id, c.data::text as data, ${NODES_JSON} as nodes from changes c left join incidents i on i.id = c.entity_id::uuid
          where c.id > ${after} ${before === null ? sql`` : sql`and c.id < ${before}`} and c.entity = 'incident'
          order by c.id limit ${limit}`,
    ),
  );
}

/**
 * The change log after `after` for a resume: the oldest and newest ids, and the first `limit` incident changes
 * after it in id order, all read by one statement, so they agree with each other (change ids commit in id order:
 * what it reads after `after` is everything committed up to `newest`).
 */
export async function readChangeLogAfter(database: Database, after: number, limit: number): Promise<ChangeLogAfter> {
  const [row] = await database.rows<{ oldest: number | string | null; newest: number | string | null; changes: string }>(
    sql`select (select min(id) from changes) as oldest, (select max(id) from changes) as newest,
          (select coalesce(json_agg(json_build_object('changeId', c.id, 'incident', c.data || jsonb_build_object('nodes', coalesce(i.nodes, '{}'::text[]))) order by c.id), '[]')::text
           from (select id, entity_id, data from changes where id > ${after} and entity = 'incident' order by id limit ${limit}) c
           left join incidents i on i.id = c.entity_id::uuid) as changes`,
  );
  return {
    oldest: row.oldest === null ? null : Number(row.oldest),
    newest: Number(row.newest ?? 0),
    changes: JSON.parse(row.changes) as IncidentChange[],
  };
}

/** The newest change id (0 before the first change). */
export async function newestChangeId(database: Database): Promise<number> {
  const [row] = await database.rows<{ last: number | string | null }>(sql`select max(id) as last from changes`);
  return Number(row.last ?? 0);
}

/**
 * What a copy of the open incidents must match to be current: the newest change id, and a digest of the
 * names incidents show (clients, people, teams), which a rename changes without writing a change row.
 */
export interface IncidentsVersion {
  lastChangeId: number;
  namesDigest: string;
}

/** Each table's names as `key:name` joined in key order (a few hundred rows: clients, people, teams). */
const nameList = (table: SQL, key: SQL) => sql`coalesce((select string_agg(${key} || ':' || name, ',' order by ${key}) from ${table}), '')`;
const NAMES_DIGEST = sql`md5(${nameList(sql`clients`, sql`slug`)} || '|' || ${nameList(sql`users`, sql`id::text`)} || '|' || ${nameList(sql`teams`, sql`id::text`)})`;

/**
 * The current {@link IncidentsVersion}, and how many incidents are open (rows deleted without a change
 * row, by hand in SQL say, show there): one small query, no incident rows read out.
 */
export async function readIncidentsVersion(database: Database, tx?: Tx): Promise<IncidentsVersion & { openCount: number }> {
  const [row] = await database.rows<{ last: number | string | null; names: string; open: number | string }>(
    sql`select (select max(id) from changes) as last, ${NAMES_DIGEST} as names,
          (select count(*) from incidents where status <> 'resolved') as open`,
    tx,
  );
  return { lastChangeId: Number(row.last ?? 0), namesDigest: row.names, openCount: Number(row.open) };
}

/** The names incidents show, by client slug, user id and team id, and their digest. */
export interface IncidentNames {
  namesDigest: string;
  clients: Record<string, string>;
  users: Record<string, string>;
  teams: Record<string, string>;
}

export async function readIncidentNames(database: Database): Promise<IncidentNames> {
  const [row] = await database.rows<{ names: string }>(
    sql`select json_build_object('namesDigest', ${NAMES_DIGEST},
          'clients', (select coalesce(json_object_agg(slug, name), '{}') from clients),
          'users', (select coalesce(json_object_agg(id, name), '{}') from users),
          'teams', (select coalesce(json_object_agg(id, name), '{}') from teams))::text as names`,
  );
  return JSON.parse(row.names) as IncidentNames;
}

/** Open incidents in scope and the version they are at (the newest change id they include), read in one consistent snapshot. */
export async function openIncidentSnapshot(
  database: Database,
  clients: readonly string[] | null,
): Promise<{ lastChangeId: number; namesDigest: string; incidents: IncidentDto[] }> {
  return database.db.transaction(async (tx) => {
    await database.rows(sql`set transaction isolation level repeatable read`, tx);
    const { lastChangeId, namesDigest } = await readIncidentsVersion(database, tx);
    const [{ incidents }] = await database.rows<{ incidents: string }>(
      sql`select coalesce(json_agg(${INCIDENT_JSON} order by i.created_at desc), '[]')::text as incidents
          from incidents i left join clients c on c.slug = i.client left join users u on u.id = i.assignee_id left join teams t on t.id = i.team_id
          where i.status <> 'resolved' ${clients === null ? sql`` : sql`and i.client = ${anyText([...clients])}`}`,
      tx,
    );
    return { lastChangeId, namesDigest, incidents: JSON.parse(incidents) as IncidentDto[] };
  });
}

/** Deletes signals older than the retention period, in bounded chunks so no lock is held for long. */
export async function pruneSignals(database: Database, olderThan: Date, chunk = 10_000): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await database.rows<{ n: number }>(
      sql`with gone as (delete from signals where id in (select id from signals where received_at < ${olderThan.toISOString()}::timestamptz limit ${chunk}) returning 1)
          select count(*)::int as n from gone`,
    );
    total += Number(rows[0].n);
    if (Number(rows[0].n) < chunk) return total;
  }
}

