/** Words and numbers every face of the app shows the same way. */
import type { Severity } from './severity.ts';
import type { IncidentStatus } from '../protocol/incidents.ts';

/** "4 s", "12 min", "3 h 5 min", "2 d 4 h": ages people read at a glance, in a queue, on a wall or a phone. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/**
 * "10,000": counts, grouped in threes. Not `toLocaleString`: the app speaks English, and the first use
 * of Intl in a page starts ICU, 30–70 ms on the main thread before the queue's first render.
 */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Case-insensitive alphabetical order for names in menus; no collator, for the same reason as {@link formatCount}. */
export function compareText(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
}

export const SEVERITY_LABEL: Record<Severity, string> = { critical: 'Critical', high: 'High', warning: 'Warning', info: 'Info' };
export const STATUS_LABEL: Record<IncidentStatus, string> = { triggered: 'Triggered', acknowledged: 'Acknowledged', resolved: 'Resolved' };
