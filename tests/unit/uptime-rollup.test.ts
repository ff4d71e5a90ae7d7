import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  HOUR_MS,
  DAY_MS,
  availabilityCells,
  bucketsFor,
  hoursBetween,
  meanCells,
  overallAvailability,
  rollupHours,
  unionIntervals,
  type OpenPeriod,
} from '../../server/uptime/uptime-rollup.ts';
import { localCalendar } from '../../src/lib/domain/local-days.ts';

const T0 = Date.parse('2025-03-03T00:00:00Z'); // a Monday, midnight UTC
const h = (n: number) => T0 + n * HOUR_MS;
const min = (n: number) => n * 60_000;

describe('uptime roll-up maths', () => {
  it('counts a critical incident as down, high and warning as degraded, info not at all', () => {
    const periods: OpenPeriod[] = [
      { nodeId: 'a', severity: 'critical', start: h(1) + min(15), end: h(1) + min(45) },
      { nodeId: 'b', severity: 'high', start: h(1), end: h(2) },
      { nodeId: 'c', severity: 'warning', start: h(1) + min(50), end: h(3) },
      { nodeId: 'd', severity: 'info', start: h(0), end: h(5) },
    ];
    const out = rollupHours(periods, new Map([['a', [h(1)]], ['b', [h(1)]], ['c', [h(1), h(2)]], ['d', [h(1)]]]), h(10));
    expect(out).toEqual([
      { nodeId: 'a', hour: h(1), downSeconds: 1800, degradedSeconds: 0 },
      { nodeId: 'b', hour: h(1), downSeconds: 0, degradedSeconds: 3600 },
      { nodeId: 'c', hour: h(1), downSeconds: 0, degradedSeconds: 600 },
      { nodeId: 'c', hour: h(2), downSeconds: 0, degradedSeconds: 3600 },
      { nodeId: 'd', hour: h(1), downSeconds: 0, degradedSeconds: 0 },
    ]);
  });

  it('counts overlapping incidents once, and degraded time while down as down', () => {
    const periods: OpenPeriod[] = [
      { nodeId: 'a', severity: 'critical', start: h(1), end: h(1) + min(30) },
      { nodeId: 'a', severity: 'critical', start: h(1) + min(20), end: h(1) + min(40) },
      { nodeId: 'a', severity: 'high', start: h(1) + min(30), end: h(2) },
    ];
    expect(rollupHours(periods, new Map([['a', [h(1)]]]), h(5))).toEqual([{ nodeId: 'a', hour: h(1), downSeconds: 2400, degradedSeconds: 1200 }]);
  });

  it('runs an open incident until now and counts nothing after now', () => {
    const periods: OpenPeriod[] = [{ nodeId: 'a', severity: 'critical', start: h(1) + min(30), end: null }];
    const now = h(2) + min(10);
    expect(rollupHours(periods, new Map([['a', [h(1), h(2), h(3)]]]), now)).toEqual([
      { nodeId: 'a', hour: h(1), downSeconds: 1800, degradedSeconds: 0 },
      { nodeId: 'a', hour: h(2), downSeconds: 600, degradedSeconds: 0 },
      { nodeId: 'a', hour: h(3), downSeconds: 0, degradedSeconds: 0 },
    ]);
  });

  it('never counts more than the hour, whatever the periods (property)', () => {
    const period = fc.record({
      severity: fc.constantFrom('critical', 'high', 'warning', 'info'),
      start: fc.integer({ min: 0, max: 6 * 60 }),
      length: fc.integer({ min: 0, max: 4 * 60 }),
      open: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(period, { maxLength: 12 }), (list) => {
        const periods = list.map((p) => ({ nodeId: 'n', severity: p.severity, start: T0 + min(p.start), end: p.open ? null : T0 + min(p.start + p.length) }));
        const hours = hoursBetween(T0, h(7));
        for (const r of rollupHours(periods, new Map([['n', hours]]), h(8))) {
          expect(r.downSeconds).toBeGreaterThanOrEqual(0);
          expect(r.degradedSeconds).toBeGreaterThanOrEqual(0);
          expect(r.downSeconds + r.degradedSeconds).toBeLessThanOrEqual(3600);
        }
      }),
    );
  });

  it('unions intervals', () => {
    expect(unionIntervals([[5, 7], [1, 3], [2, 4], [7, 9], [10, 10]])).toEqual([[1, 4], [5, 9]]);
  });

  it('makes 168 hourly buckets for 7 days and 90 daily ones for 90 days, ending now', () => {
    const now = h(24 * 9) + min(30);
    const utc = localCalendar('UTC');
    const week = bucketsFor('7d', now, utc);
    expect(week.days).toBeNull();
    expect(week.bounds).toHaveLength(169);
    expect(week.bounds[0]).toBe(h(24 * 9) - 167 * HOUR_MS);
    expect(week.bounds[168]).toBe(h(24 * 9) + HOUR_MS);
    // In UTC, days are as they always were: 24 hours from midnight UTC, ending with today.
    const quarter = bucketsFor('90d', now, utc);
    expect(quarter.days).toHaveLength(90);
    expect(quarter.days![89]).toBe('2025-03-12');
    expect(quarter.bounds.every((b, i) => b === T0 + 9 * DAY_MS - 89 * DAY_MS + i * DAY_MS)).toBe(true);
    // The hours are the same in every zone; only the days move.
    expect(bucketsFor('7d', now, localCalendar('Australia/Sydney')).bounds).toEqual(week.bounds);
  });

  it('ends the 90 days with today in the NOC’s zone: at 22:30 UTC it is already tomorrow in Sydney', () => {
    const now = Date.parse('2025-03-11T22:30:00Z');
    const sydney = bucketsFor('90d', now, localCalendar('Australia/Sydney'));
    expect(sydney.days![89]).toBe('2025-03-12');
    expect(new Date(sydney.bounds[89]).toISOString()).toBe('2025-03-11T13:00:00.000Z'); // midnight in Sydney (+11)
    expect(bucketsFor('90d', now, localCalendar('UTC')).days![89]).toBe('2025-03-11');
    expect(bucketsFor('90d', now, localCalendar('America/New_York')).days![89]).toBe('2025-03-11');
  });

  it('turns down seconds into availability per bucket, counting only the elapsed part of the current one', () => {
    const now = h(3) + min(30);
    const spec = { bounds: [h(0), h(1), h(2), h(3), h(4)], days: null };
    const cells = availabilityCells(spec, new Map([[h(1), 900], [h(3), 900]]), now);
    expect(cells).toEqual([1, 0.75, 1, 0.5]);
    // 3.5 hours observed, 30 minutes down.
    expect(overallAvailability(spec, cells, now)).toBeCloseTo(1 - 1800 / (3.5 * 3600), 10);
    expect(meanCells([[1, 0.5], [0, 0.5]], 2)).toEqual([0.5, 0.5]);
    expect(meanCells([], 2)).toEqual([1, 1]);
  });

  it('measures a local day of 23 or 25 hours by its own length', () => {
    // Berlin, spring forward: 30 March 2025 has 23 hours; autumn: 26 October has 25.
    const spring = bucketsFor('90d', Date.parse('2025-03-31T12:00:00Z'), localCalendar('Europe/Berlin'));
    const i = spring.days!.indexOf('2025-03-30');
    expect(spring.bounds[i + 1] - spring.bounds[i]).toBe(23 * HOUR_MS);
    // 23 hours down on that day is the whole day down, not 4 % up.
    expect(availabilityCells(spring, new Map([[spring.bounds[i], 23 * 3600]]), Date.parse('2025-03-31T12:00:00Z'))[i]).toBe(0);
    const autumn = bucketsFor('90d', Date.parse('2025-10-27T12:00:00Z'), localCalendar('Europe/Berlin'));
    const j = autumn.days!.indexOf('2025-10-26');
    expect(autumn.bounds[j + 1] - autumn.bounds[j]).toBe(25 * HOUR_MS);
    expect(availabilityCells(autumn, new Map([[autumn.bounds[j], 5 * 3600]]), Date.parse('2025-10-27T12:00:00Z'))[j]).toBe(0.8);
  });
});
