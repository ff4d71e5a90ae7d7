/**
 * What people do to incidents: one domain function per command, with validation and authorisation
 * inside it, whether the command arrives over REST, a Socket.IO event or a push action. Each runs in
 * one `ChangeWriter.write` transaction — state, timeline, change rows and audit row commit together
 * or not at all, serialised with ingest (so neither overwrites the other) — and is published after commit.
 */
import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { Database, Tx } from '../db/database.ts';
import type { ChangeWriter } from '../engine/change-writer.ts';
import type { OpenIncidents } from '../realtime/open-incidents.ts';
import { INCIDENT_COLUMNS, insertTimeline, recordIncidentChanges, toIncidentDto, type IncidentRow } from '../db/incident-store.ts';
import type { TimelineEntry, TimelineKind } from '../engine/types.ts';
import type { IncidentChange } from '../realtime/coalesce.ts';
import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';
import {
  BULK_MAX,
  NOTE_MAX_CHARS,
  SNOOZE_MAX_MS,
  type AcknowledgeRequest,
  type AssignRequest,
  type BulkAction,
  type BulkRequest,
  type BulkResult,
  type MergeRequest,
  type NoteRequest,
  type ReassignRequest,
  type ResolveRequest,
  type SeverityRequest,
  type SnoozeRequest,
  type TakeOverRequest,
  type UnacknowledgeRequest,
} from '../../src/lib/protocol/console.ts';
import { severityRank, type Severity } from '../../src/lib/domain/severity.ts';
import { parseFilter } from '../../src/lib/domain/incident-filter.ts';
import { DomainError } from '../errors.ts';
import { recordAudit, auditBy, type AuditRecord } from '../audit/audit-log.ts';
import { actorKey, canSeeClient, hasRoleAtLeast, type Actor } from './actor.ts';
import { findMatchingIncidents } from './incident-queries.ts';
import { anyText, isUuid } from '../db/sql-values.ts';

/** Incidents one bulk transaction takes: keeps the writer (and so ingest) waiting for a short while only. */
const BULK_CHUNK = 200;

interface Holder {
  assigneeId: string | null;
  assigneeName: string | null;
  teamId: string | null;
  teamName: string | null;
}

/**
 * The work of one command on one incident, inside its transaction: loads what it acts on (refusing
 * what the actor may not see as unknown), and collects timeline entries, audit rows and the ids of
 * incidents whose state changed.
 */
class CommandWork {
  readonly timeline: TimelineEntry[] = [];
  readonly audit: AuditRecord[] = [];
  /** Incidents changed, in order; their new state is read back and published. */
  readonly touched = new Set<string>();
  readonly database: Database;
  readonly tx: Tx;
  readonly actor: Actor;
  readonly now: Date;

  constructor(database: Database, tx: Tx, actor: Actor, now: Date) {
    this.database = database;
    this.tx = tx;
    this.actor = actor;
    this.now = now;
  }

  get at(): SQL {
    return sql`${this.now.toISOString()}::timestamptz`;
  }

  /** The incident as it is now, locked for this transaction; unknown and out-of-scope incidents are both "not found". */
  async load(id: string): Promise<IncidentDto> {
    if (!isUuid(id)) throw new DomainError('not_found', `no incident ${id.slice(0, 100)}`);
    const rows = await this.database.rows<IncidentRow>(
      sql`select ${INCIDENT_COLUMNS} from incidents i left join clients c on c.slug = i.client where i.id = ${id}::uuid for update of i`,
      this.tx,
    );
    const incident = rows[0] ? toIncidentDto(rows[0]) : undefined;
    if (!incident || !canSeeClient(this.actor.clients, incident.client)) throw new DomainError('not_found', `no incident ${id}`);
    return incident;
  }

  /** Refuses a stale version, naming who changed the incident since. */
  async checkVersion(incident: IncidentDto, version: number | undefined): Promise<void> {
    if (version === undefined || version === incident.version) return;
    const [last] = await this.database.rows<{ kind: string; at: Date | string; actor: string; user_name: string | null }>(
      sql`select t.kind, t.at, t.actor, u.name as user_name from timeline t left join users u on t.actor = 'user:' || u.id::text
          where t.incident_id = ${incident.id}::uuid order by t.at desc, t.seq desc limit 1`,
      this.tx,
    );
    const who = last ? describeActor(last.actor, last.user_name) : 'someone';
    const what = last ? ` (${last.kind.replaceAll('_', ' ')} at ${new Date(last.at).toISOString()})` : '';
    throw new DomainError(
      'conflict',
      `incident #${incident.number} was changed by ${who}${what} since you loaded it (your version ${version}, now ${incident.version}): reload and try again`,
    );
  }

  /** Updates one incident; every state change bumps its version (notes do not: they change no state). */
  async update(id: string, set: SQL | null, bumpVersion = true): Promise<void> {
    await this.database.rows(
      sql`update incidents set ${set === null ? sql`` : sql`${set}, `}updated_at = ${this.at}${bumpVersion ? sql`, version = version + 1` : sql``} where id = ${id}::uuid`,
      this.tx,
    );
    this.touched.add(id);
  }

  record(incident: Pick<IncidentDto, 'id' | 'number' | 'client'>, kind: TimelineKind, action: string, detail: Record<string, unknown>, auditDetail = detail): void {
    this.timeline.push({ id: randomUUID(), incidentId: incident.id, at: this.now, actor: actorKey(this.actor), kind, detail: { ...detail, via: this.actor.via } });
    this.audit.push({
      ...auditBy(this.actor),
      action: `incident.${action}`,
      entity: 'incident',
      entityId: incident.id,
      detail: { number: incident.number, client: incident.client, via: this.actor.via, ...auditDetail },
    });
  }

  async flush(): Promise<void> {
    await insertTimeline(this.database, this.tx, this.timeline);
    await recordAudit(this.database, this.tx, this.audit);
  }
}

function describeActor(actor: string, userName: string | null): string {
  if (actor.startsWith('user:')) return userName ?? 'a deleted user';
  if (actor.startsWith('source:')) return `source ${actor.slice('source:'.length)}`;
  return 'Watchfloor';
}

const holderOf = (i: IncidentDto): Holder => ({ assigneeId: i.assigneeId, assigneeName: i.assigneeName, teamId: i.teamId, teamName: i.teamName });

function describeHolder(h: Holder): string {
  if (h.assigneeName && h.teamName) return `${h.assigneeName} (${h.teamName})`;
  return h.assigneeName ?? h.teamName ?? 'nobody';
}

function refuseResolved(incident: IncidentDto, what: string): void {
  if (incident.status === 'resolved') {
    throw new DomainError('conflict', `incident #${incident.number} is resolved${incident.mergedIntoId ? ' (merged into another)' : ''}: it cannot be ${what}`);
  }
}

function noteText(text: string, field: string): string {
  const trimmed = text.trim();
  if (trimmed.length > NOTE_MAX_CHARS) {
    throw new DomainError('payload_too_large', `${field} is ${trimmed.length} characters: at most ${NOTE_MAX_CHARS}`, field);
  }
  return trimmed;
}

/** One command applied to one incident (bulk runs the same steps). */
type Step = (work: CommandWork, incident: IncidentDto) => Promise<void>;

export interface IncidentCommandsOptions {
  database: Database;
  writer: ChangeWriter;
  /** The open incidents in memory: "everything matching the filter" is found there. */
  openIncidents: OpenIncidents;
  /** The clock (tests may pin it). */
  now?: () => Date;
}

/** The incident commands. Constructed once in the composition root; REST, sockets and push call it. */
export class IncidentCommands {
  readonly #database: Database;
  readonly #writer: ChangeWriter;
  readonly #openIncidents: OpenIncidents;
  readonly #now: () => Date;

  constructor(options: IncidentCommandsOptions) {
    this.#database = options.database;
    this.#writer = options.writer;
    this.#openIncidents = options.openIncidents;
    this.#now = options.now ?? (() => new Date());
  }

  /** Triggered → acknowledged. Takes ownership when nobody holds it (the acknowledger is working on it). */
  acknowledge(actor: Actor, incidentId: string, input: AcknowledgeRequest): Promise<IncidentDto> {
    return this.#one(actor, incidentId, input.version, this.#acknowledgeStep());
  }

  /** Acknowledged (or snoozed) → triggered: back in the queue for anyone. */
  unacknowledge(actor: Actor, incidentId: string, input: UnacknowledgeRequest): Promise<IncidentDto> {
    return this.#one(actor, incidentId, input.version, this.#unacknowledgeStep());
  }

  /** Assign to a person and/or a team. Someone else's incident: lead or admin only. */
  assign(actor: Actor, incidentId: string, input: AssignRequest): Promise<IncidentDto> {
    return this.#one(actor, incidentId, input.version, this.#assignStep(input, 'assign'));
  }

  /** Reassign with a reason, recorded as "from → to by whom and why". Someone else's incident: lead or admin only. */
  reassign(actor: Actor, incidentId: string, input: ReassignRequest): Promise<IncidentDto> {
    return this.#one(actor, incidentId, input.version, this.#assignStep(input, 'reassign'));
  }

  /** Assign to me. From someone else: lead or admin only. */
  takeOver(actor: Actor, incidentId: string, input: TakeOverRequest): Promise<IncidentDto> {
    return this.#one(actor, incidentId, input.version, this.#takeOverStep(input));
  }

  /** Out of the queue until `until` (future, at most a week ahead); it comes back as triggered by itself. */
  snooze(actor: Actor, incidentId: string, input: SnoozeRequest): Promise<IncidentDto> {
    const until = this.#snoozeUntil(input.until);
    return this.#one(actor, incidentId, input.version, this.#snoozeStep(until));
  }

  /** Resolve, with an optional note; its firing alerts are resolved with it (a repeat of the same firing does not reopen it). */
  resolve(actor: Actor, incidentId: string, input: ResolveRequest): Promise<IncidentDto> {
    const note = input.note === undefined ? '' : noteText(input.note, 'note');
    return this.#one(actor, incidentId, input.version, this.#resolveStep(note));
  }

  /** A note on the timeline (at most NOTE_MAX_CHARS, else 413). Notes take no version: they never conflict. */
  addNote(actor: Actor, incidentId: string, input: NoteRequest): Promise<IncidentDto> {
    const text = this.#noteFor(input.text);
    return this.#one(actor, incidentId, undefined, this.#noteStep(text));
  }

  setSeverity(actor: Actor, incidentId: string, input: SeverityRequest): Promise<IncidentDto> {
    return this.#one(actor, incidentId, input.version, this.#severityStep(input.severity));
  }

  /**
   * Merges `sourceIds` into `targetId`: their alerts move to the target, they resolve with
   * `mergedIntoId` set, and both sides' timelines say so. Same client only; none may be resolved.
   */
  merge(actor: Actor, targetId: string, input: MergeRequest): Promise<IncidentDto> {
    const sourceIds = [...new Set(input.sourceIds)];
    if (sourceIds.includes(targetId)) throw new DomainError('validation_failed', 'an incident cannot be merged into itself', 'sourceIds');
    return this.#one(actor, targetId, input.version, async (work, target) => {
      refuseResolved(target, 'a merge target');
      const sources: IncidentDto[] = [];
      for (const id of sourceIds) sources.push(await work.load(id));
      for (const source of sources) {
        if (source.client !== target.client) {
          throw new DomainError('validation_failed', `incident #${source.number} belongs to another client (${source.client ?? 'none'}) than #${target.number} (${target.client ?? 'none'})`, 'sourceIds');
        }
        refuseResolved(source, 'merged');
      }
      const ids = sources.map((s) => s.id);
      await work.database.rows(sql`update alerts set incident_id = ${target.id}::uuid where incident_id::text = ${anyText(ids)}`, work.tx);
      const alertCount = sources.reduce((n, s) => n + s.alertCount, 0);
      const openAlertCount = sources.reduce((n, s) => n + s.openAlertCount, 0);
      const worst = [target.severity, ...sources.map((s) => s.severity)].reduce((a, b) => (severityRank(b) > severityRank(a) ? b : a));
      await work.update(
        target.id,
        sql`alert_count = alert_count + ${alertCount}, open_alert_count = open_alert_count + ${openAlertCount}, severity = ${worst}`,
      );
      for (const source of sources) {
        await work.update(
          source.id,
          sql`status = 'resolved', resolved_at = ${work.at}, merged_into_id = ${target.id}::uuid, snoozed_until = null, alert_count = 0, open_alert_count = 0`,
        );
        work.record(source, 'merged_into', 'merged_into', { target: { id: target.id, number: target.number } });
      }
      const list = sources.map((s) => ({ id: s.id, number: s.number }));
      work.record(target, 'merged', 'merge', { sources: list, alertCount });
      if (worst !== target.severity) {
        work.timeline.push({
          id: randomUUID(),
          incidentId: target.id,
          at: work.now,
          actor: actorKey(work.actor),
          kind: 'severity_changed',
          detail: { from: target.severity, to: worst, reason: 'merged', via: work.actor.via },
        });
      }
    });
  }

  /**
   * A bulk action on the incidents named, or on every incident in the actor's clients matching a
   * queue filter. Each incident succeeds or fails on its own (nothing half-done on any of them);
   * the answer lists which failed and why.
   */
  async bulk<A extends BulkAction>(actor: Actor, action: A, input: BulkRequest<A>): Promise<BulkResult> {
    this.#requireEngineer(actor);
    const step = this.#bulkStep(action, input);
    const ids = input.ids ? [...new Set(input.ids)] : await this.#matching(actor, input.filter ?? '');
    const result: BulkResult = { succeeded: [], failed: [] };
    for (let start = 0; start < ids.length; start += BULK_CHUNK) {
      const chunk = ids.slice(start, start + BULK_CHUNK);
      const outcome = await this.#writer.write(async (tx) => {
        const succeeded: string[] = [];
        const failed: BulkResult['failed'] = [];
        const touched = new Set<string>();
        const now = this.#now();
        for (const id of chunk) {
          try {
            // A savepoint per incident: a refusal undoes that incident's work only.
            await tx.transaction(async (savepoint) => {
              const work = new CommandWork(this.#database, savepoint, actor, now);
              await step(work, await work.load(id));
              await work.flush();
              for (const t of work.touched) touched.add(t);
            });
            succeeded.push(id);
          } catch (error) {
            if (!(error instanceof DomainError)) throw error;
            failed.push({ id, code: error.code, message: error.message });
          }
        }
        return { result: { succeeded, failed }, changes: await recordIncidentChanges(this.#database, tx, [...touched]) };
      });
      result.succeeded.push(...outcome.succeeded);
      result.failed.push(...outcome.failed);
    }
    return result;
  }

  // ── steps ──────────────────────────────────────────────────────────────────────────────────────

  #acknowledgeStep(): Step {
    return async (work, incident) => {
      refuseResolved(incident, 'acknowledged');
      if (incident.status === 'acknowledged') {
        throw new DomainError('conflict', `incident #${incident.number} is already acknowledged${incident.assigneeName ? ` (held by ${incident.assigneeName})` : ''}`);
      }
      const takes = incident.assigneeId === null;
      await work.update(incident.id, sql`status = 'acknowledged', acknowledged_at = ${work.at}${takes ? sql`, assignee_id = ${work.actor.userId}::uuid` : sql``}`);
      work.record(incident, 'acknowledged', 'acknowledge', {});
      if (takes) {
        const to: Holder = { ...holderOf(incident), assigneeId: work.actor.userId, assigneeName: work.actor.name };
        work.record(incident, 'assigned', 'assign', { from: holderOf(incident), to, reason: 'acknowledged' });
      }
    };
  }

  #unacknowledgeStep(): Step {
    return async (work, incident) => {
      refuseResolved(incident, 'unacknowledged');
      if (incident.status === 'triggered') throw new DomainError('conflict', `incident #${incident.number} is not acknowledged`);
      await work.update(incident.id, sql`status = 'triggered', acknowledged_at = null, snoozed_until = null`);
      work.record(incident, 'unacknowledged', 'unacknowledge', incident.snoozedUntil ? { snoozedUntil: incident.snoozedUntil } : {});
    };
  }

  #assignStep(input: { assigneeId?: string | null; teamId?: string | null; reason?: string }, action: 'assign' | 'reassign'): Step {
    return async (work, incident) => {
      refuseResolved(incident, `${action}ed`);
      const from = holderOf(incident);
      const to: Holder = { ...from };
      if (input.assigneeId !== undefined) {
        const person = input.assigneeId === null ? null : await this.#assignee(work, input.assigneeId, incident);
        to.assigneeId = person?.id ?? null;
        to.assigneeName = person?.name ?? null;
      }
      if (input.teamId !== undefined) {
        const team = input.teamId === null ? null : await this.#team(work, input.teamId);
        to.teamId = team?.id ?? null;
        to.teamName = team?.name ?? null;
      }
      await this.#changeHolder(work, incident, from, to, input.reason, action);
    };
  }

  #takeOverStep(input: TakeOverRequest): Step {
    return async (work, incident) => {
      refuseResolved(incident, 'taken over');
      if (incident.assigneeId === work.actor.userId) throw new DomainError('conflict', `incident #${incident.number} is already yours`);
      const from = holderOf(incident);
      const to: Holder = { ...from, assigneeId: work.actor.userId, assigneeName: work.actor.name };
      await this.#changeHolder(work, incident, from, to, input.reason, 'take_over');
    };
  }

  async #changeHolder(work: CommandWork, incident: IncidentDto, from: Holder, to: Holder, reason: string | undefined, action: string): Promise<void> {
    if (from.assigneeId === to.assigneeId && from.teamId === to.teamId) {
      throw new DomainError('conflict', `incident #${incident.number} is already held by ${describeHolder(from)}`);
    }
    // Taking work away from another person is a lead's right.
    const othersWork = from.assigneeId !== null && from.assigneeId !== work.actor.userId;
    if (othersWork && !hasRoleAtLeast(work.actor.role, 'lead')) {
      throw new DomainError('forbidden', `incident #${incident.number} is held by ${from.assigneeName ?? 'someone else'}: only a lead or admin may reassign it`);
    }
    await work.update(incident.id, sql`assignee_id = ${to.assigneeId}::uuid, team_id = ${to.teamId}::uuid`);
    const kind: TimelineKind = from.assigneeId !== null || from.teamId !== null ? 'reassigned' : 'assigned';
    work.record(incident, kind, action, { from, to, ...(reason ? { reason } : {}) });
  }

  async #assignee(work: CommandWork, userId: string, incident: IncidentDto): Promise<{ id: string; name: string }> {
    const [user] = await work.database.rows<{ id: string; name: string; role: string; disabled: boolean; clients: string[] | null }>(
      sql`select id, name, role, disabled, clients from users where id = ${userId}::uuid`,
      work.tx,
    );
    if (!user || user.disabled) throw new DomainError('validation_failed', `no active user ${userId}`, 'assigneeId');
    if (user.role === 'viewer') throw new DomainError('validation_failed', `${user.name} is a viewer and cannot hold incidents`, 'assigneeId');
    if (!canSeeClient(user.clients, incident.client)) {
      throw new DomainError('validation_failed', `${user.name} may not see client ${incident.client ?? '(none)'}`, 'assigneeId');
    }
    return user;
  }

  async #team(work: CommandWork, teamId: string): Promise<{ id: string; name: string }> {
    const [team] = await work.database.rows<{ id: string; name: string }>(sql`select id, name from teams where id = ${teamId}::uuid`, work.tx);
    if (!team) throw new DomainError('validation_failed', `no team ${teamId}`, 'teamId');
    return team;
  }

  #snoozeStep(until: Date): Step {
    return async (work, incident) => {
      refuseResolved(incident, 'snoozed');
      // A snoozed incident is being handled: acknowledged, and triggered again when it wakes.
      await work.update(
        incident.id,
        sql`status = 'acknowledged', acknowledged_at = coalesce(acknowledged_at, ${work.at}), snoozed_until = ${until.toISOString()}::timestamptz`,
      );
      work.record(incident, 'snoozed', 'snooze', { until: until.toISOString(), ...(incident.snoozedUntil ? { previousUntil: incident.snoozedUntil } : {}) });
    };
  }

  #snoozeUntil(text: string): Date {
    const until = new Date(text);
    const now = this.#now();
    if (until.getTime() <= now.getTime()) {
      throw new DomainError('validation_failed', `until: ${until.toISOString()} is not in the future (now ${now.toISOString()})`, 'until');
    }
    if (until.getTime() - now.getTime() > SNOOZE_MAX_MS) {
      throw new DomainError('validation_failed', `until: at most ${SNOOZE_MAX_MS / 3600_000} hours ahead`, 'until');
    }
    return until;
  }

  #resolveStep(note: string): Step {
    return async (work, incident) => {
      if (incident.status === 'resolved') throw new DomainError('conflict', `incident #${incident.number} is already resolved`);
      await work.database.rows(
        sql`update alerts set status = 'resolved', resolved_at = ${work.at} where incident_id = ${incident.id}::uuid and status = 'firing'`,
        work.tx,
      );
      await work.update(incident.id, sql`status = 'resolved', resolved_at = ${work.at}, snoozed_until = null, open_alert_count = 0`);
      work.record(incident, 'resolved', 'resolve', note ? { note } : {}, { hasNote: note !== '' });
    };
  }

  #noteFor(text: string): string {
    const note = noteText(text, 'text');
    if (note === '') throw new DomainError('validation_failed', 'text: a note needs some text', 'text');
    return note;
  }

  #noteStep(text: string): Step {
    return async (work, incident) => {
      // The delta carries the new updatedAt so open detail pages know to fetch the timeline.
      await work.update(incident.id, null, false);
      work.record(incident, 'note', 'note', { text }, { length: text.length });
    };
  }

  #severityStep(severity: Severity): Step {
    return async (work, incident) => {
      refuseResolved(incident, 'changed');
      if (incident.severity === severity) throw new DomainError('conflict', `incident #${incident.number} is already ${severity}`);
      await work.update(incident.id, sql`severity = ${severity}`);
      work.record(incident, 'severity_changed', 'severity', { from: incident.severity, to: severity });
    };
  }

  #bulkStep(action: BulkAction, input: BulkRequest): Step {
    const r = input as Record<string, unknown>;
    switch (action) {
      case 'acknowledge':
        return this.#acknowledgeStep();
      case 'unacknowledge':
        return this.#unacknowledgeStep();
      case 'assign':
        return this.#assignStep(input as BulkRequest<'assign'>, 'assign');
      case 'take-over':
        return this.#takeOverStep(input as BulkRequest<'take-over'>);
      case 'snooze':
        return this.#snoozeStep(this.#snoozeUntil(String(r.until)));
      case 'resolve':
        return this.#resolveStep(r.note === undefined ? '' : noteText(String(r.note), 'note'));
      case 'notes':
        return this.#noteStep(this.#noteFor(String(r.text)));
      case 'severity':
        return this.#severityStep(r.severity as Severity);
    }
  }

  // ── running ────────────────────────────────────────────────────────────────────────────────────

  #requireEngineer(actor: Actor): void {
    if (!hasRoleAtLeast(actor.role, 'engineer')) throw new DomainError('forbidden', 'viewers cannot act on incidents');
  }

  async #one(actor: Actor, incidentId: string, version: number | undefined, step: Step): Promise<IncidentDto> {
    this.#requireEngineer(actor);
    return this.#writer.write(async (tx) => {
      const work = new CommandWork(this.#database, tx, actor, this.#now());
      const incident = await work.load(incidentId);
      await work.checkVersion(incident, version);
      await step(work, incident);
      await work.flush();
      const changes = await recordIncidentChanges(this.#database, tx, [...work.touched]);
      const primary = changes.find((c) => c.incident.id === incidentId)!.incident;
      return { result: primary, changes };
    });
  }

  async #matching(actor: Actor, filter: string): Promise<string[]> {
    const incidents = await findMatchingIncidents(this.#database, this.#openIncidents, actor, parseFilter(new URLSearchParams(filter)), this.#now().getTime());
    return incidents.slice(0, BULK_MAX).map((i) => i.id);
  }
}
