import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { byPriority, compareIncidents, compareListed, type ListedFields, type PriorityFields } from '../../src/lib/domain/priority.ts';
import { SEVERITIES } from '../../src/lib/domain/severity.ts';

const at = (minute: number) => new Date(Date.UTC(2026, 10, 20, 8, minute)).toISOString();
const incident = (number: number, over: Partial<PriorityFields> = {}): PriorityFields => ({
  number,
  severity: 'warning',
  createdAt: at(0),
  ...over,
});

describe('compareIncidents: the queue priority', () => {
  it('puts higher severity first whatever the age', () => {
    const order = byPriority([
      incident(1, { severity: 'info', createdAt: at(0) }),
      incident(2, { severity: 'warning', createdAt: at(1) }),
      incident(3, { severity: 'critical', createdAt: at(50) }),
      incident(4, { severity: 'high', createdAt: at(2) }),
    ]).map((i) => i.number);
    expect(order).toEqual([3, 4, 2, 1]);
  });

  it('within a severity, the oldest first', () => {
    const order = byPriority([
      incident(10, { createdAt: at(30) }),
      incident(11, { createdAt: at(5) }),
      incident(12, { createdAt: at(20) }),
    ]).map((i) => i.number);
    expect(order).toEqual([11, 12, 10]);
  });

  it('an SLA deadline beats age within a severity, the earliest deadline first, a running clock before none', () => {
    const order = byPriority([
      incident(1, { createdAt: at(0) }),
      incident(2, { createdAt: at(10), slaDueAt: at(40) }),
      incident(3, { createdAt: at(20), slaDueAt: at(30) }),
      incident(4, { createdAt: at(1), slaDueAt: null }),
    ]).map((i) => i.number);
    expect(order).toEqual([3, 2, 1, 4]);
  });

  it('an SLA deadline does not lift an incident above a more severe one', () => {
    const order = byPriority([incident(1, { severity: 'warning', slaDueAt: at(1) }), incident(2, { severity: 'critical' })]).map(
      (i) => i.number,
    );
    expect(order).toEqual([2, 1]);
  });

  it('compares instants, not strings, when timestamps carry offsets', () => {
    // 09:00+02:00 is 07:00Z: older than 08:00Z.
    const order = byPriority([incident(1, { createdAt: '2026-11-20T08:00:00.000Z' }), incident(2, { createdAt: '2026-11-20T09:00:00+02:00' })]);
    expect(order.map((i) => i.number)).toEqual([2, 1]);
  });

  it('breaks ties by number, so the order is total', () => {
    const order = byPriority([incident(7), incident(3), incident(5)]).map((i) => i.number);
    expect(order).toEqual([3, 5, 7]);
  });

  it('is a consistent total order (antisymmetric, transitive) on any incidents', () => {
    const arbitrary = fc.record({
      number: fc.integer({ min: 1, max: 50 }),
      severity: fc.constantFrom(...SEVERITIES),
      createdAt: fc.integer({ min: 0, max: 59 }).map(at),
      slaDueAt: fc.option(fc.integer({ min: 0, max: 59 }).map(at)),
    });
    fc.assert(
      fc.property(arbitrary, arbitrary, arbitrary, (a, b, c) => {
        // `|| 0`: two equal incidents compare 0 both ways, and toBe tells 0 from -0.
        expect(Math.sign(compareIncidents(a, b)) || 0).toBe(-Math.sign(compareIncidents(b, a)) || 0);
        if (compareIncidents(a, b) <= 0 && compareIncidents(b, c) <= 0) expect(compareIncidents(a, c)).toBeLessThanOrEqual(0);
      }),
    );
  });
});

describe('compareListed: lists that hold resolved incidents too', () => {
  const listed = (number: number, over: Partial<ListedFields> = {}): ListedFields => ({ ...incident(number), status: 'triggered', resolvedAt: null, ...over });

  it('open incidents first in priority order, then the resolved, most recently resolved first', () => {
    const order = [
      listed(1, { status: 'resolved', severity: 'critical', resolvedAt: at(10) }),
      listed(2, { severity: 'info' }),
      listed(3, { status: 'resolved', severity: 'info', resolvedAt: at(30) }),
      listed(4, { status: 'acknowledged', severity: 'critical' }),
      listed(5, { status: 'resolved', resolvedAt: at(20) }),
    ]
      .sort(compareListed)
      .map((i) => i.number);
    expect(order).toEqual([4, 2, 3, 5, 1]);
  });

  it('is a total order: antisymmetric, and equal only for the same incident', () => {
    const arbitrary = fc.record({
      number: fc.integer({ min: 1, max: 50 }),
      severity: fc.constantFrom(...SEVERITIES),
      createdAt: fc.integer({ min: 0, max: 59 }).map(at),
      status: fc.constantFrom('triggered' as const, 'acknowledged' as const, 'resolved' as const),
      resolvedMinute: fc.integer({ min: 0, max: 59 }),
    }).map(({ resolvedMinute, ...i }): ListedFields => ({ ...i, resolvedAt: i.status === 'resolved' ? at(resolvedMinute) : null }));
    fc.assert(
      fc.property(arbitrary, arbitrary, (a, b) => {
        expect(Math.sign(compareListed(a, b)) + Math.sign(compareListed(b, a))).toBe(0);
        if (a.number !== b.number) expect(compareListed(a, b)).not.toBe(0);
      }),
    );
  });
});
