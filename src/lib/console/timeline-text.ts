/**
 * Timeline entries as sentences people read: "Reassigned from Ana to Ben by Carla", with the
 * reason and notes kept apart (they are shown as quoted text). Every value is rendered as text by
 * the page; this module only chooses words. Pure.
 */
import type { TimelineEntryDto } from '$lib/protocol/console.ts';

export interface TimelineText {
  /** The sentence: what happened and who did it. */
  title: string;
  /** Free text that belongs to the entry: a note, a resolution note. */
  body?: string;
  /** Why (reassignments). */
  reason?: string;
  /** Names listed under the entry (alerts of a condensed batch). */
  items?: string[];
}

const str = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);
const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const rec = (value: unknown): Record<string, unknown> | null =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;

/** "Ana (Network)", "team Network", "nobody". */
export function holderText(value: unknown): string {
  const holder = rec(value);
  if (!holder) return 'nobody';
  const person = str(holder.assigneeName) ?? (str(holder.assigneeId) ? 'someone' : null);
  const team = str(holder.teamName) ?? (str(holder.teamId) ? 'a team' : null);
  if (person && team) return `${person} (${team})`;
  if (person) return person;
  if (team) return `team ${team}`;
  return 'nobody';
}

function when(iso: unknown): string {
  const text = str(iso);
  if (!text) return 'a later time';
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

/** " by Ana", " by Ana via push", " by Alertmanager" or "" for the system. */
export function byWhom(entry: Pick<TimelineEntryDto, 'actor' | 'via'>): string {
  if (entry.actor.type === 'system') return '';
  const via = entry.via && entry.via !== 'web' && entry.via !== 'socket' ? ` via ${entry.via}` : '';
  return ` by ${entry.actor.name}${via}`;
}

function alertNames(detail: Record<string, unknown>): string[] {
  const list = Array.isArray(detail.alerts) ? detail.alerts : [];
  return list.flatMap((a) => {
    const alert = rec(a);
    const name = alert ? (str(alert.summary) ?? str(alert.fingerprint)) : str(a);
    return name ? [name] : [];
  });
}

/** The words for one timeline entry. Unknown kinds still say what happened, in the kind's own name. */
export function describeTimelineEntry(entry: Pick<TimelineEntryDto, 'kind' | 'actor' | 'via' | 'detail'>): TimelineText {
  const d = entry.detail ?? {};
  const by = byWhom(entry);
  const count = num(d.count);
  switch (entry.kind) {
    case 'triggered':
      return { title: `Triggered${by}`, ...(str(d.summary) ? { body: str(d.summary)! } : {}) };
    case 'alert_joined':
    case 'alert_resolved':
    case 'alert_refired': {
      const verb = entry.kind === 'alert_joined' ? 'joined' : entry.kind === 'alert_resolved' ? 'resolved' : 'fired again';
      if (count !== null && count > 1) {
        const items = alertNames(d);
        const more = count - items.length;
        return { title: `${count} alerts ${verb}${by}`, items: more > 0 ? [...items, `… and ${more} more`] : items };
      }
      const name = str(d.summary) ?? alertNames(d)[0] ?? str(d.fingerprint) ?? 'an alert';
      return { title: `Alert ${verb}${by}`, body: name };
    }
    case 'acknowledged':
      return { title: `Acknowledged${by}` };
    case 'unacknowledged':
      return { title: `Unacknowledged${by}` };
    case 'assigned':
    case 'reassigned': {
      const from = holderText(d.from);
      const to = holderText(d.to);
      const verb = entry.kind === 'reassigned' ? 'Reassigned' : 'Assigned';
      const title = from === 'nobody' ? `${verb} to ${to}${by}` : `${verb} from ${from} → ${to}${by}`;
      return { title, ...(str(d.reason) ? { reason: str(d.reason)! } : {}) };
    }
    case 'snoozed':
      return { title: `Snoozed until ${when(d.until)}${by}` };
    case 'snooze_ended':
      return { title: `Snooze ended, back in the queue${by}` };
    case 'resolved': {
      if (d.reason === 'all_alerts_resolved') return { title: `Resolved: all its alerts resolved${by}` };
      if (d.reason === 'merged') return { title: `Resolved by a merge${by}` };
      return { title: `Resolved${by}`, ...(str(d.note) ? { body: str(d.note)! } : {}) };
    }
    case 'reopened':
      return { title: `Reopened${by}` };
    case 'note':
      return { title: `Note${by}`, body: str(d.text) ?? '' };
    case 'severity_changed':
      return { title: `Severity ${str(d.from) ?? '?'} → ${str(d.to) ?? '?'}${by}` };
    case 'merged': {
      const sources = Array.isArray(d.sources) ? d.sources.map(rec).filter((s) => s !== null) : [];
      const numbers = sources.map((s) => `#${num(s.number) ?? '?'}`).join(', ');
      const alerts = num(d.alertCount);
      return { title: `Merged ${numbers || 'incidents'} into this one${alerts !== null ? ` (${alerts} alert${alerts === 1 ? '' : 's'})` : ''}${by}` };
    }
    case 'merged_into': {
      const target = rec(d.target);
      return { title: `Merged into #${target ? (num(target.number) ?? '?') : '?'}${by}` };
    }
    default:
      return { title: `${String(entry.kind).replaceAll('_', ' ')}${by}`, body: Object.keys(d).length ? JSON.stringify(d) : undefined };
  }
}
