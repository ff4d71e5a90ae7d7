/**
 * Uptime maths: incident open periods per node → seconds down and degraded per hour, and hours →
 * availability per heatmap bucket. Pure (time is passed in, as epoch milliseconds).
 *
 * A node is **down** while an open incident of severity critical names it, **degraded** while one of
 * severity high or warning does (and it is not down); info incidents do not count. Overlapping
 * incidents count once.
 */
import type { Severity } from '../../src/lib/domain/severity.ts';
import { HOUR_MS, localDaysEndingNow, type LocalCalendar } from '../../src/lib/domain/local-days.ts';

export { HOUR_MS };
export const DAY_MS = 86_400_000;

export interface OpenPeriod {
  nodeId: string;
  severity: Severity | string;
  start: number;
  /** null while the incident is open. */
  end: number | null;
}

export interface HourRollup {
  nodeId: string;
  /** Start of the hour (epoch ms, UTC). */
  hour: number;
  downSeconds: number;
  degradedSeconds: number;
}

export const hourStart = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

type Interval = [number, number];

/** Sorted, non-overlapping union of intervals. */
export function unionIntervals(intervals: Interval[]): Interval[] {
  const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Interval[] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Total length of a union's overlap with [from, to). */
function overlap(union: Interval[], from: number, to: number): number {
  let total = 0;
  for (const [a, b] of union) {
    if (b <= from) continue;
    if (a >= to) break;
    total += Math.min(b, to) - Math.max(a, from);
  }
  return total;
}

const countsAsDown = (severity: string) => severity === 'critical';
const countsAsDegraded = (severity: string) => severity === 'high' || severity === 'warning';

/**
 * Down and degraded seconds for each requested (node, hour), from all the periods that touch those
 * nodes. Open periods run until `now`; hours after `now` count nothing. Hours with nothing are
 * returned too (zeros), so a caller can clear what was stored before.
 */
export function rollupHours(periods: OpenPeriod[], hours: Map<string, Iterable<number>>, now: number): HourRollup[] {
  const byNode = new Map<string, { down: Interval[]; degraded: Interval[] }>();
  for (const p of periods) {
    const entry = byNode.get(p.nodeId) ?? { down: [], degraded: [] };
    const interval: Interval = [p.start, Math.min(p.end ?? now, now)];
    if (countsAsDown(p.severity)) entry.down.push(interval);
    else if (countsAsDegraded(p.severity)) entry.degraded.push(interval);
    byNode.set(p.nodeId, entry);
  }
  const out: HourRollup[] = [];
  for (const [nodeId, list] of hours) {
    const entry = byNode.get(nodeId);
    const down = unionIntervals(entry?.down ?? []);
    // Degraded time while also down counts as down only.
    const either = unionIntervals([...(entry?.down ?? []), ...(entry?.degraded ?? [])]);
    for (const hour of new Set(list)) {
      const to = Math.min(hour + HOUR_MS, now);
      if (to <= hour) {
        out.push({ nodeId, hour, downSeconds: 0, degradedSeconds: 0 });
        continue;
      }
      const downMs = overlap(down, hour, to);
      const eitherMs = overlap(either, hour, to);
      out.push({ nodeId, hour, downSeconds: Math.round(downMs / 1000), degradedSeconds: Math.round((eitherMs - downMs) / 1000) });
    }
  }
  return out;
}

/** Every hour start from the hour of `from` up to (and including) the hour of `to`. */
export function hoursBetween(from: number, to: number): number[] {
  const out: number[] = [];
  for (let h = hourStart(from); h <= to; h += HOUR_MS) out.push(h);
  return out;
}

export interface BucketSpec {
  /** Bucket i runs from bounds[i] to bounds[i + 1] (epoch ms): hours, or local days of 23 to 25 hours. */
  bounds: number[];
  /** 90d: each bucket's local date (YYYY-MM-DD), as the daily roll-up stores it. */
  days: string[] | null;
}

/** 7d: the 168 hours ending with the current one; 90d: the 90 local days ending with today in the calendar's zone. */
export function bucketsFor(range: '7d' | '90d', now: number, calendar: LocalCalendar): BucketSpec {
  if (range === '7d') {
    const from = hourStart(now) - 167 * HOUR_MS;
    return { bounds: Array.from({ length: 169 }, (_, i) => from + i * HOUR_MS), days: null };
  }
  return localDaysEndingNow(calendar, now, 90);
}

/** Seconds of bucket i that have elapsed by `now`. */
function observedSeconds(spec: BucketSpec, i: number, now: number): number {
  const start = spec.bounds[i];
  return Math.max(0, Math.min(spec.bounds[i + 1], now) - start) / 1000;
}

/**
 * Availability (0–1) per bucket for one node, from its stored down seconds per bucket start. The
 * current bucket counts only the time elapsed so far.
 */
export function availabilityCells(spec: BucketSpec, downByBucket: Map<number, number>, now: number): number[] {
  const cells: number[] = [];
  for (let i = 0; i < spec.bounds.length - 1; i++) {
    const observed = observedSeconds(spec, i, now);
    const down = downByBucket.get(spec.bounds[i]) ?? 0;
    cells.push(observed <= 0 ? 1 : Math.max(0, 1 - down / observed));
  }
  return cells;
}

/** Availability over the whole range, weighting each bucket by how much of it has elapsed. */
export function overallAvailability(spec: BucketSpec, cells: number[], now: number): number {
  let observed = 0;
  let up = 0;
  cells.forEach((a, i) => {
    const seconds = observedSeconds(spec, i, now);
    observed += seconds;
    up += a * seconds;
  });
  return observed === 0 ? 1 : up / observed;
}

/** The mean of several rows' cells, bucket by bucket (a client's summary row). */
export function meanCells(rows: number[][], count: number): number[] {
  if (rows.length === 0) return new Array<number>(count).fill(1);
  const out = new Array<number>(count).fill(0);
  for (const row of rows) for (let i = 0; i < count; i++) out[i] += row[i];
  return out.map((v) => v / rows.length);
}
