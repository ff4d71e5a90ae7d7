/**
 * The console's contract (issue #4): request schemas and DTOs for the incident commands, the
 * incident list and detail, bulk actions, teams, the audit log and the shift lead's views.
 * REST routes and Socket.IO commands validate with the same schemas; the app imports the types.
 */
import { z } from 'zod';
import { SEVERITIES, type Severity } from '../domain/severity.ts';
import type { Role } from './api.ts';
import type { ErrorCode } from './errors.ts';
import type { IncidentDto, IncidentStatus } from './incidents.ts';
import type { QueueCounts } from '../domain/queue-head.ts';

// Plain values live outside this file: importing them into the app must not bring zod along.
import { NOTE_MAX_CHARS, REASON_MAX_CHARS } from '../domain/text-limits.ts';
export { NOTE_MAX_CHARS, REASON_MAX_CHARS } from '../domain/text-limits.ts';
/** How far ahead a snooze may reach. */
export const SNOOZE_MAX_MS = 7 * 24 * 3600_000;
/** Most incidents one bulk request may name; a filter may match more and acts on at most this many. */
export const BULK_MAX = 10_000;
/** Most incidents merged into one in a single request. */
export const MERGE_MAX = 100;

const uuid = (what: string) => z.uuid(`must be ${what} id`);
/** The version the person saw; a stale one is refused with 409 `conflict`. Left out: act on whatever is current. */
const version = z.number().int().positive().optional();

// ── commands ─────────────────────────────────────────────────────────────────────────────────────

export const acknowledgeRequest = z.object({ version }).strict();
export type AcknowledgeRequest = z.infer<typeof acknowledgeRequest>;

export const unacknowledgeRequest = z.object({ version }).strict();
export type UnacknowledgeRequest = z.infer<typeof unacknowledgeRequest>;

/**
 * Assign to a person and/or a team. `null` clears that holder; a field left out stays as it is.
 * Changing who holds an incident someone else holds is a lead's right (see {@link reassignRequest}).
 */
export const assignRequest = z
  .object({
    assigneeId: uuid('a user').nullable().optional(),
    teamId: uuid('a team').nullable().optional(),
    reason: z.string().trim().max(REASON_MAX_CHARS).optional(),
    version,
  })
  .strict()
  .refine((r) => r.assigneeId !== undefined || r.teamId !== undefined, { message: 'name an assigneeId or a teamId (null clears)' });
export type AssignRequest = z.infer<typeof assignRequest>;

/** Reassign with a reason: recorded on the timeline as "from → to by whom and why". */
export const reassignRequest = z
  .object({
    assigneeId: uuid('a user').nullable().optional(),
    teamId: uuid('a team').nullable().optional(),
    reason: z.string().trim().min(1, 'say why').max(REASON_MAX_CHARS),
    version,
  })
  .strict()
  .refine((r) => r.assigneeId !== undefined || r.teamId !== undefined, { message: 'name an assigneeId or a teamId (null clears)' });
export type ReassignRequest = z.infer<typeof reassignRequest>;

/** Take over: assign to me (from someone else: lead or admin, with an optional reason). */
export const takeOverRequest = z.object({ reason: z.string().trim().max(REASON_MAX_CHARS).optional(), version }).strict();
export type TakeOverRequest = z.infer<typeof takeOverRequest>;

/** Snooze until a time in the future (at most {@link SNOOZE_MAX_MS} ahead); it returns to the queue as triggered then. */
export const snoozeRequest = z.object({ until: z.iso.datetime({ offset: true, message: 'must be an ISO date-time' }), version }).strict();
export type SnoozeRequest = z.infer<typeof snoozeRequest>;

/** Resolve, optionally with a note (same size limit as notes). */
export const resolveRequest = z.object({ note: z.string().optional(), version }).strict();
export type ResolveRequest = z.infer<typeof resolveRequest>;

/** A note on the timeline. Over {@link NOTE_MAX_CHARS} → 413. Notes never conflict: they take no version. */
export const noteRequest = z.object({ text: z.string() }).strict();
export type NoteRequest = z.infer<typeof noteRequest>;

export const severityRequest = z.object({ severity: z.enum(SEVERITIES), version }).strict();
export type SeverityRequest = z.infer<typeof severityRequest>;

/** Merge `sourceIds` into the incident in the path (the target): their alerts move to it, they resolve. */
export const mergeRequest = z
  .object({ sourceIds: z.array(uuid('an incident')).min(1, 'name at least one incident to merge').max(MERGE_MAX), version })
  .strict();
export type MergeRequest = z.infer<typeof mergeRequest>;

// ── bulk ─────────────────────────────────────────────────────────────────────────────────────────

export const BULK_ACTIONS = ['acknowledge', 'unacknowledge', 'assign', 'take-over', 'snooze', 'resolve', 'notes', 'severity'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/**
 * What a bulk request acts on: the incidents named, or every incident (in the user's clients) that
 * matches a queue filter, given as the queue's URL query string (`serialiseFilter` of
 * `src/lib/domain/incident-filter.ts`), e.g. `"severity=critical&state=triggered"`.
 * Bulk commands act on the current state (no version).
 */
const bulkTarget = {
  ids: z.array(uuid('an incident')).min(1).max(BULK_MAX).optional(),
  filter: z.string().max(4000).optional(),
};
const oneTarget = (r: { ids?: string[]; filter?: string }) => (r.ids === undefined) !== (r.filter === undefined);
const targetMessage = { message: 'send either ids or filter' };

/** The body of `POST /api/v1/incidents/bulk/<action>`, per action. */
export const bulkRequests = {
  acknowledge: z.object(bulkTarget).strict().refine(oneTarget, targetMessage),
  unacknowledge: z.object(bulkTarget).strict().refine(oneTarget, targetMessage),
  assign: z
    .object({ ...bulkTarget, assigneeId: uuid('a user').nullable().optional(), teamId: uuid('a team').nullable().optional(), reason: z.string().trim().max(REASON_MAX_CHARS).optional() })
    .strict()
    .refine(oneTarget, targetMessage)
    .refine((r) => r.assigneeId !== undefined || r.teamId !== undefined, { message: 'name an assigneeId or a teamId (null clears)' }),
  'take-over': z.object({ ...bulkTarget, reason: z.string().trim().max(REASON_MAX_CHARS).optional() }).strict().refine(oneTarget, targetMessage),
  snooze: z.object({ ...bulkTarget, until: z.iso.datetime({ offset: true, message: 'must be an ISO date-time' }) }).strict().refine(oneTarget, targetMessage),
  resolve: z.object({ ...bulkTarget, note: z.string().optional() }).strict().refine(oneTarget, targetMessage),
  notes: z.object({ ...bulkTarget, text: z.string() }).strict().refine(oneTarget, targetMessage),
  severity: z.object({ ...bulkTarget, severity: z.enum(SEVERITIES) }).strict().refine(oneTarget, targetMessage),
} satisfies Record<BulkAction, z.ZodType>;
export type BulkRequest<A extends BulkAction = BulkAction> = z.infer<(typeof bulkRequests)[A]>;

/** What a bulk action did: the ids it changed, and each refusal with its reason. */
export interface BulkResult {
  succeeded: string[];
  failed: { id: string; code: ErrorCode; message: string }[];
}

// ── list and detail ──────────────────────────────────────────────────────────────────────────────

/**
 * `GET /api/v1/incidents`: the queue's filters (query string of `incident-filter.ts`), in the
 * documented priority order (`src/lib/domain/priority.ts`). `counts` count the incidents that match
 * every filter except state and severity, per state and per severity, so the filter chips can show them.
 */
export interface IncidentListResponse {
  incidents: IncidentDto[];
  /** How many matched (before `limit`). */
  total: number;
  counts: QueueCounts;
  /** The newest change id included: deltas above it follow. */
  lastChangeId: number;
}

export interface AlertDto {
  id: string;
  sourceId: string;
  sourceName: string | null;
  fingerprint: string;
  status: 'firing' | 'resolved';
  severity: Severity;
  summary: string;
  /** Untrusted text: render as text. */
  labels: Record<string, string>;
  /** Untrusted text: render as text. */
  annotations: Record<string, string>;
  /** Only http/https hrefs are ever stored: runbook, generator, dashboard, silence. */
  links: { href: string; text: string }[];
  client: string | null;
  node: string | null;
  startsAt: string;
  endsAt: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
  resolvedAt: string | null;
  count: number;
}

/** How a command reached the server. */
export const VIAS = ['web', 'socket', 'push', 'cli'] as const;
export type Via = (typeof VIAS)[number];

/**
 * Timeline kinds. From the engine: triggered, alert_joined, alert_resolved, alert_refired,
 * acknowledged (also by PagerDuty), resolved, reopened, severity_changed. From people:
 * acknowledged, unacknowledged, assigned, reassigned, snoozed, snooze_ended (the wake-up, by the
 * system), resolved, note, severity_changed, merged (on the target: which incidents came in),
 * merged_into (on each source).
 */
export type TimelineKind =
  | 'triggered'
  | 'alert_joined'
  | 'alert_resolved'
  | 'alert_refired'
  | 'acknowledged'
  | 'unacknowledged'
  | 'assigned'
  | 'reassigned'
  | 'snoozed'
  | 'snooze_ended'
  | 'resolved'
  | 'reopened'
  | 'note'
  | 'severity_changed'
  | 'merged'
  | 'merged_into';

/**
 * One timeline entry. `detail` per kind (all optional fields, untrusted text where it came from an alert):
 * - acknowledged/unacknowledged: {}
 * - assigned/reassigned: `{ from: Holder, to: Holder, reason? }` with Holder = `{ assigneeId, assigneeName, teamId, teamName }`
 * - snoozed: `{ until }`; snooze_ended: `{ until }`
 * - resolved: `{ note? }` (by a person) or `{ reason: 'all_alerts_resolved' | 'merged' }`
 * - note: `{ text }`
 * - severity_changed: `{ from, to }`
 * - merged: `{ sources: [{ id, number }] , alertCount }`; merged_into: `{ target: { id, number } }`
 * - alert kinds: `{ alertId, fingerprint, summary, severity }`, condensed: `{ count, alerts: [...] }`
 */
export interface TimelineEntryDto {
  id: string;
  at: string;
  kind: TimelineKind | (string & {});
  actor: { type: 'user' | 'source' | 'system'; id: string | null; name: string };
  /** For people's actions: where they acted from ("acknowledged via push by Ana"). */
  via: Via | null;
  detail: Record<string, unknown>;
}

/** `GET /api/v1/incidents/:id`. */
export interface IncidentDetailDto {
  incident: IncidentDto;
  alerts: AlertDto[];
  /** Oldest first. */
  timeline: TimelineEntryDto[];
  /** Set when this incident was merged into another. */
  mergedInto: { id: string; number: number } | null;
  /** Incidents merged into this one. */
  merged: { id: string; number: number }[];
  source: { id: string; name: string } | null;
}

// ── session preferences ─────────────────────────────────────────────────────────────────────────

/** `PATCH /api/v1/session/me`: a user's own on-shift mark and chime preference. */
export const updateMeRequest = z
  .object({ onShift: z.boolean().optional(), chime: z.boolean().optional() })
  .strict()
  .refine((r) => r.onShift !== undefined || r.chime !== undefined, { message: 'send onShift or chime' });
export type UpdateMeRequest = z.infer<typeof updateMeRequest>;

// ── teams ────────────────────────────────────────────────────────────────────────────────────────

export const teamSlug = z.string().trim().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a slug (lowercase letters, digits, dashes)');

export const createTeamRequest = z
  .object({ slug: teamSlug, name: z.string().trim().min(1).max(200), memberIds: z.array(uuid('a user')).max(1000).optional() })
  .strict();
export type CreateTeamRequest = z.infer<typeof createTeamRequest>;

export const updateTeamRequest = z
  .object({ slug: teamSlug.optional(), name: z.string().trim().min(1).max(200).optional(), memberIds: z.array(uuid('a user')).max(1000).optional() })
  .strict();
export type UpdateTeamRequest = z.infer<typeof updateTeamRequest>;

export interface TeamMemberDto {
  id: string;
  name: string;
  email: string;
  role: Role;
}

export interface TeamDto {
  id: string;
  slug: string;
  name: string;
  members: TeamMemberDto[];
  /** Open incidents held by the team. */
  openIncidents: number;
  createdAt: string;
}

/** People incidents can be assigned to (engineers and up, not disabled), for pickers: any signed-in user may read it. */
export interface AssignableUserDto {
  id: string;
  name: string;
  role: Role;
  onShift: boolean;
  /** null = every client. */
  clients: string[] | null;
  teamIds: string[];
}

// ── audit ────────────────────────────────────────────────────────────────────────────────────────

/** `GET /api/v1/audit` query (admin): newest first, paged by `before` (an entry id). */
export const auditQuery = z
  .object({
    /** A user id, or an actor string (`user:<id>`, `cli`, `system`, …). */
    actor: z.string().trim().min(1).max(200).optional(),
    /** Exact action (`incident.acknowledge`) or a prefix ending in `.` (`incident.`). */
    action: z.string().trim().min(1).max(100).optional(),
    entity: z.string().trim().min(1).max(50).optional(),
    entityId: z.string().trim().min(1).max(200).optional(),
    from: z.iso.datetime({ offset: true, message: 'must be an ISO date-time' }).optional(),
    to: z.iso.datetime({ offset: true, message: 'must be an ISO date-time' }).optional(),
    before: z.coerce.number().int().positive().optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
export type AuditQuery = z.infer<typeof auditQuery>;

export interface AuditEntryDto {
  id: number;
  at: string;
  actor: string;
  actorName: string;
  /** `<entity>.<verb>`: incident.acknowledge, user.update, source.create, team.create, session.sign_in, … */
  action: string;
  entity: string;
  entityId: string | null;
  /** What changed: the command's input, or `{ before, after }`. */
  detail: Record<string, unknown>;
  ip: string | null;
  userAgent: string | null;
}

export interface AuditPage {
  entries: AuditEntryDto[];
  /** Pass as `before` for the next (older) page; null at the end. */
  nextBefore: number | null;
}

// ── shift lead ──────────────────────────────────────────────────────────────────────────────────

/** A short view of an open incident for the lead's lists. */
export interface LeadIncidentDto {
  id: string;
  number: number;
  summary: string;
  severity: Severity;
  status: IncidentStatus;
  client: string | null;
  snoozedUntil: string | null;
  createdAt: string;
  acknowledgedAt: string | null;
  /** Seconds since the incident opened, at `generatedAt`. */
  ageSeconds: number;
  assigneeId: string | null;
  assigneeName: string | null;
  teamId: string | null;
  teamName: string | null;
}

export interface WorkloadDto {
  userId: string;
  name: string;
  role: Role;
  onShift: boolean;
  /** Signed in: has a live session. */
  signedIn: boolean;
  open: number;
  triggered: number;
  acknowledged: number;
  critical: number;
  /** Oldest open incident held, seconds. */
  oldestAgeSeconds: number | null;
}

/** `GET /api/v1/lead/overview` (lead+). */
export interface LeadOverviewDto {
  generatedAt: string;
  /** Open incidents grouped by holder; `assigneeId` null = unassigned. Incidents in priority order. */
  byAssignee: { assigneeId: string | null; name: string | null; incidents: LeadIncidentDto[] }[];
  /** Triggered (not acknowledged, not snoozed), oldest first. */
  unacknowledged: LeadIncidentDto[];
  /** Every engineer-or-higher who is on shift or holds open incidents, most loaded first. */
  workload: WorkloadDto[];
  /** Signed in and marked on shift. */
  onShift: { userId: string; name: string; role: Role; lastSeenAt: string }[];
}

/** `GET /api/v1/lead/handover?since=ISO` (lead+). */
export interface HandoverDto {
  generatedAt: string;
  since: string;
  /** What is open now, who holds it, and what was noted since `since`. Priority order. */
  open: (LeadIncidentDto & { notes: { at: string; by: string; text: string }[] })[];
  /** Resolved since `since`. */
  resolvedSince: LeadIncidentDto[];
}

export const handoverQuery = z.object({ since: z.iso.datetime({ offset: true, message: 'must be an ISO date-time' }) }).strict();
