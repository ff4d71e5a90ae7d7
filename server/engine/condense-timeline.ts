import type { TimelineEntry, TimelineKind } from './types.ts';

/** Per-alert kinds that a storm repeats hundreds of times in one batch. */
const CONDENSED: ReadonlySet<TimelineKind> = new Set(['alert_joined', 'alert_resolved', 'alert_refired']);

/** How many alerts a condensed entry names; the count says how many there were. */
export const CONDENSED_SAMPLE = 20;

/**
 * One batch's timeline as people want to read it: the per-alert entries of one kind for one incident
 * become a single entry ("37 alerts joined") whose detail keeps the count and the first alerts' details.
 * Other entries are kept as they are, in order. Pure.
 */
export function condenseTimeline(entries: TimelineEntry[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  const merged = new Map<string, { entry: TimelineEntry; alerts: Record<string, unknown>[]; count: number }>();
  for (const entry of entries) {
    if (!CONDENSED.has(entry.kind)) {
      out.push(entry);
      continue;
    }
    const key = `${entry.incidentId}|${entry.kind}`;
    const seen = merged.get(key);
    if (!seen) {
      const group = { entry: { ...entry }, alerts: [entry.detail], count: 1 };
      merged.set(key, group);
      out.push(group.entry);
      continue;
    }
    seen.count++;
    if (seen.alerts.length < CONDENSED_SAMPLE) seen.alerts.push(entry.detail);
  }
  for (const { entry, alerts, count } of merged.values()) {
    if (count > 1) entry.detail = { ...alerts[0], count, alerts };
  }
  return out;
}
