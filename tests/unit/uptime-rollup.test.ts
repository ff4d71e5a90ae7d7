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
    const week = bucketsFor('7d', now);
    expect(week).toEqual({ from: h(24 * 9) - 167 * HOUR_MS, bucketMs: HOUR_MS, count: 168 });
    const quarter = bucketsFor('90d', now);
    expect(quarter).toEqual({ from: T0 + 9 * DAY_MS - 89 * DAY_MS, bucketMs: DAY_MS, count: 90 });
  });

  it('turns down seconds into availability per bucket, counting only the elapsed part of the current one', () => {
    const now = h(3) + min(30);
    const spec = { from: h(0), bucketMs: HOUR_MS, count: 4 };
    const cells = availabilityCells(spec, new Map([[h(1), 900], [h(3), 900]]), now);
    expect(cells).toEqual([1, 0.75, 1, 0.5]);
    // 3.5 hours observed, 30 minutes down.
    expect(overallAvailability(spec, cells, now)).toBeCloseTo(1 - 1800 / (3.5 * 3600), 10);
    expect(meanCells([[1, 0.5], [0, 0.5]], 2)).toEqual([0.5, 0.5]);
    expect(meanCells([], 2)).toEqual([1, 1]);
  });
});
