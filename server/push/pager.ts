import { and, eq, inArray, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.ts';
import { pushPages, pushSettings, pushSubscriptions, users } from '../db/schema/index.ts';
import { coalesceChanges, type IncidentChange } from '../realtime/coalesce.ts';
import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';
import { incidentTag, phoneIncidentPath, type PushPayload } from '../../src/lib/protocol/push.ts';
import { severityPriority, severityRank, type Severity } from '../../src/lib/domain/severity.ts';
import { inQuietHours } from './quiet-hours.ts';
import { json } from '../db/sql-values.ts';
import type { PushActionTokens } from './action-tokens.ts';
import type { DeliveryOutcome, PushSender, SubscriptionRow } from './push-sender.ts';

export type PageReason = 'triggered' | 'retriggered' | 'escalated';

/** A page decided for one commit: who it reaches, for which incident's episode, and why. */
interface Page {
  incidentId: string;
  episode: number;
  reason: PageReason;
  incident: IncidentDto;
  changeId: number;
  recipients: Recipient[];
}

/** Severity ranks in SQL, lowest first, to compare stored severities. */
const RANKED = sql`array['info','warning','high','critical']::text[]`;

/** The push service keeps a page this long for a phone that is offline (then it is stale anyway). */
const PAGE_TTL_SECONDS = 3600;
/** Devices paged at once: a slow push service must not hold up every other page. */
const SEND_CONCURRENCY = 8;
const SUMMARY_MAX = 180;

export interface Recipient {
  id: string;
  name: string;
  role: string;
  clients: string[] | null;
  minSeverity: Severity;
  quietStart: string | null;
  quietEnd: string | null;
  timezone: string;
}

/**
 * Who a page for `incident` reaches, among users who are on shift and have a device: those who may
 * see its client, take pages of its severity, are outside their quiet hours, and can act on it
 * (viewers cannot acknowledge, so they are not paged). Pure.
 */
export function selectRecipients(incident: Pick<IncidentDto, 'client' | 'severity'>, candidates: Recipient[], now: Date): Recipient[] {
  return candidates.filter((user) => {
    if (user.role === 'viewer') return false;
    if (user.clients !== null && (incident.client === null || !user.clients.includes(incident.client))) return false;
    if (severityRank(incident.severity) < severityRank(user.minSeverity)) return false;
    const quiet = user.quietStart !== null && user.quietEnd !== null ? { start: user.quietStart, end: user.quietEnd } : null;
    return !inQuietHours(now, quiet, user.timezone);
  });
}

/** "4 min", "2 h 5 min", "3 d": how long an incident has been open. */
export function formatAge(fromIso: string, now: Date): string {
  const minutes = Math.max(0, Math.floor((now.getTime() - new Date(fromIso).getTime()) / 60_000));
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}

/** Title and body of a page: severity and client first, then what broke and for how long. Pure. */
export function pageText(incident: IncidentDto, reason: PageReason, now: Date): { title: string; body: string } {
  const who = incident.clientName ?? incident.client ?? 'no client';
  const prefix = reason === 'retriggered' ? 'Re-triggered · ' : reason === 'escalated' ? 'Escalated · ' : '';
  const title = `${prefix}${severityPriority(incident.severity)} ${incident.severity.toUpperCase()} · ${who}`;
  const summary = incident.summary.length > SUMMARY_MAX ? `${incident.summary.slice(0, SUMMARY_MAX - 1)}…` : incident.summary;
  const age = formatAge(incident.createdAt, now);
  const alerts = incident.openAlertCount === 1 ? '1 alert' : `${incident.openAlertCount} alerts`;
  return { title, body: `#${incident.number} ${summary}\n${age === 'just now' ? 'Opened just now' : `Open ${age}`} · ${alerts}` };
}

/** The push payload of a page: only what the notification and its two actions need. Pure. */
export function pagePayload(incident: IncidentDto, reason: PageReason, ackToken: string, now: Date): Extract<PushPayload, { kind: 'page' }> {
  const { title, body } = pageText(incident, reason, now);
  return {
    v: 1,
    kind: 'page',
    incidentId: incident.id,
    number: incident.number,
    severity: incident.severity,
    title,
    body,
    tag: incidentTag(incident.id),
    url: phoneIncidentPath(incident.id),
    ackToken,
    sentAt: now.toISOString(),
  };
}

/**
 * Pages people on their phones when incidents trigger (DESIGN: "no duplicate pages for one outage").
 *
 * It follows every committed change in commit order. Per incident it keeps, in the database, a
 * trigger *episode*: a triggered incident that has not been paged yet starts one and pages once; it
 * stays armed while the incident stays triggered, so the storm of alerts that joins it pages nobody
 * again. Acknowledging, resolving or snoozing disarms it: the next trigger (a re-trigger after an
 * acknowledgement, a reopen, a snooze waking up) is a new episode and pages again. A severity rise
 * inside an episode is an escalation and pages again at the new severity. Each step is one atomic
 * statement, so two server processes never page the same episode twice.
 */
export class Pager {
  readonly #database: Database;
  readonly #sender: PushSender;
  readonly #tokens: PushActionTokens;
  readonly #log: FastifyBaseLogger;
  #tail: Promise<void> = Promise.resolve();
  readonly #sending = new Set<Promise<void>>();
  #closed = false;

  constructor(options: { database: Database; sender: PushSender; tokens: PushActionTokens; log: FastifyBaseLogger }) {
    this.#database = options.database;
    this.#sender = options.sender;
    this.#tokens = options.tokens;
    this.#log = options.log;
  }

  /** Called after every commit with its changes, in commit order. Never throws into the publisher. */
  committed(changes: IncidentChange[]): void {
    if (this.#closed || changes.length === 0) return;
    this.#tail = this.#tail
      .then(() => this.#follow(changes))
      .catch((error: unknown) => this.#log.error({ err: error }, 'paging failed'));
  }

  /** Resolves when every change seen so far has been decided and every page sent (for tests and shutdown). */
  async idle(): Promise<void> {
    await this.#tail;
    while (this.#sending.size > 0) await Promise.allSettled([...this.#sending]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.idle();
  }

  /**
   * Decides one commit's pages and records them, then sends them in the background. A storm's commit opens
   * many incidents at once: the candidates are read once and the pages recorded in one statement for all of
   * them, where one read and one insert per page made such a commit hundreds of statements at once.
   */
  async #follow(changes: IncidentChange[]): Promise<void> {
    const latest = new Map(coalesceChanges(changes).map((c) => [c.incident.id, c]));
    const steps = await this.#advance([...latest.values()].map((c) => c.incident));
    if (steps.length === 0) return;
    const now = new Date();
    const candidates = await this.#candidates();
    const pages = steps.map((step): Page => {
      const { changeId, incident } = latest.get(step.incidentId)!;
      return { ...step, incident, changeId, recipients: selectRecipients(incident, candidates, now) };
    });
    const rows = pages.map((p) => ({
      incident_id: p.incidentId,
      episode: p.episode,
      reason: p.reason,
      severity: p.incident.severity,
      change_id: p.changeId,
      recipients: p.recipients.map((r) => r.id),
    }));
    const recorded = await this.#database.rows<{ id: number | string; incident_id: string }>(
      sql`insert into push_pages (incident_id, episode, reason, severity, change_id, recipients)
          select x.incident_id, x.episode, x.reason, x.severity, x.change_id, x.recipients
          from jsonb_to_recordset(${json(rows)}) as x(incident_id uuid, episode int, reason text, severity text, change_id bigint, recipients uuid[])
          returning id, incident_id`,
    );
    const pageIds = new Map(recorded.map((r) => [r.incident_id, Number(r.id)]));
    for (const page of pages) {
      if (page.recipients.length === 0) continue;
      const sending = this.#send(pageIds.get(page.incidentId)!, page, now).catch((error: unknown) =>
        this.#log.error({ err: error, incidentId: page.incidentId }, 'page failed'),
      );
      this.#sending.add(sending);
      void sending.finally(() => this.#sending.delete(sending));
    }
  }

  /**
   * Moves the paging state of one commit's incidents along (one statement per kind of step, however
   * many incidents a storm touches); returns the pages to send.
   */
  async #advance(incidents: IncidentDto[]): Promise<{ incidentId: string; episode: number; reason: PageReason }[]> {
    const now = Date.now();
    const paging = (i: IncidentDto) => i.status === 'triggered' && !i.mergedIntoId && !(i.snoozedUntil && Date.parse(i.snoozedUntil) > now);
    const quiet = incidents.filter((i) => !paging(i)).map((i) => i.id);
    const loud = JSON.stringify(incidents.filter(paging).map((i) => ({ id: i.id, severity: i.severity })));
    if (quiet.length > 0) {
      await this.#database.rows(
        sql`update push_page_state set armed = false, updated_at = now()
            where armed and incident_id = any(array(select jsonb_array_elements_text(${JSON.stringify(quiet)}::jsonb)::uuid))`,
      );
    }
    if (loud === '[]') return [];
    // Not armed (never paged, or acknowledged/resolved/snoozed since): a new episode, one page.
    const started = await this.#database.rows<{ incident_id: string; episode: number }>(
      sql`insert into push_page_state (incident_id, episode, paged_severity, armed, updated_at)
          select x.id, 1, x.severity, true, now() from jsonb_to_recordset(${loud}::jsonb) as x(id uuid, severity text)
          on conflict (incident_id) do update
            set episode = push_page_state.episode + 1, paged_severity = excluded.paged_severity, armed = true, updated_at = now()
            where not push_page_state.armed
          returning incident_id, episode`,
    );
    // Armed and now more severe than its last page: an escalation inside the episode.
    const escalated = await this.#database.rows<{ incident_id: string; episode: number }>(
      sql`update push_page_state p set paged_severity = x.severity, updated_at = now()
          from jsonb_to_recordset(${loud}::jsonb) as x(id uuid, severity text)
          where p.incident_id = x.id and p.armed
            and array_position(${RANKED}, p.paged_severity) < array_position(${RANKED}, x.severity)
          returning p.incident_id, p.episode`,
    );
    return [
      ...started.map((r) => ({ incidentId: r.incident_id, episode: Number(r.episode), reason: (Number(r.episode) === 1 ? 'triggered' : 'retriggered') as PageReason })),
      ...escalated.map((r) => ({ incidentId: r.incident_id, episode: Number(r.episode), reason: 'escalated' as PageReason })),
    ];
  }

  /** On-shift users with at least one device, with their paging settings. */
  async #candidates(): Promise<Recipient[]> {
    const { db } = this.#database;
    const rows = await db
      .select({
        id: users.id,
        name: users.name,
        role: users.role,
        clients: users.clients,
        minSeverity: pushSettings.minSeverity,
        quietStart: pushSettings.quietStart,
        quietEnd: pushSettings.quietEnd,
        timezone: pushSettings.timezone,
      })
      .from(users)
      .leftJoin(pushSettings, eq(pushSettings.userId, users.id))
      .where(
        and(
          eq(users.onShift, true),
          eq(users.disabled, false),
          sql`exists (select 1 from ${pushSubscriptions} where ${pushSubscriptions.userId} = ${users.id})`,
        ),
      );
    return rows.map((r) => ({
      ...r,
      minSeverity: r.minSeverity ?? 'high',
      timezone: r.timezone ?? 'UTC',
    }));
  }

  /** Sends a recorded page to its recipients' devices and records how many took it. */
  async #send(pageId: number, page: Page, now: Date): Promise<void> {
    const { incident, reason, episode, recipients } = page;
    const devices = await this.#database.db
      .select()
      .from(pushSubscriptions)
      .where(inArray(pushSubscriptions.userId, recipients.map((r) => r.id)));
    const outcomes = await mapLimited(devices, SEND_CONCURRENCY, async (device: SubscriptionRow): Promise<DeliveryOutcome> => {
      // One token per device: acknowledging on one phone leaves the other's token for a clear "already acknowledged by you".
      const payload = pagePayload(incident, reason, await this.#tokens.issue(device.userId, incident.id, now), now);
      return this.#sender.send(device, payload, {
        ttlSeconds: PAGE_TTL_SECONDS,
        urgency: severityRank(incident.severity) >= severityRank('high') ? 'high' : 'normal',
        topic: incident.id.replaceAll('-', ''),
      });
    });
    const delivered = outcomes.filter((o) => o === 'delivered').length;
    await this.#database.db
      .update(pushPages)
      .set({ delivered, failed: outcomes.length - delivered })
      .where(eq(pushPages.id, pageId));
    this.#log.info({ incidentId: incident.id, reason, episode, users: recipients.length, devices: devices.length, delivered }, 'paged');
  }
}

/** Runs `work` over `items` with at most `limit` at a time; results in input order. */
export async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  });
  await Promise.all(lanes);
  return results;
}
