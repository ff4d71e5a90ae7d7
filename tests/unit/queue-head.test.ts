import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { queueCounts, queueHead } from '../../src/lib/domain/queue-head.ts';
import { matchesFilter, parseFilter } from '../../src/lib/domain/incident-filter.ts';
import { compareIncidents } from '../../src/lib/domain/priority.ts';
import { SEVERITIES } from '../../src/lib/domain/severity.ts';
import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';
import { testIncident } from '../helpers/incidents.ts';

const NOW = Date.parse('2026-11-20T12:00:00.000Z');
const me = { id: 'u-me', teamIds: ['t-net'] };
const at = (minute: number) => new Date(NOW - minute * 60_000).toISOString();

/** Incident `number`, created `number % 60` minutes before NOW unless `over` says otherwise. */
const incident = (number: number, over: Partial<IncidentDto> = {}): IncidentDto =>
  testIncident(`i-${number}`, 1, { number, summary: `incident ${number}`, createdAt: at(number % 60), ...over });

describe('queueHead: the top of the queue a console draws before its snapshot', () => {
  it('is the first rows of the filtered queue in priority order, with how many match and the chip counts', () => {
    const incidents = [
      incident(1, { severity: 'info' }),
      incident(2, { severity: 'critical', createdAt: at(5) }),
      incident(3, { severity: 'critical', createdAt: at(50), client: 'globex' }),
      incident(4, { severity: 'high', status: 'acknowledged', assigneeId: 'u-me' }),
      incident(5, { severity: 'critical', snoozedUntil: at(-30) }),
      incident(6, { severity: 'high' }),
    ];
    const head = queueHead(incidents, parseFilter(new URLSearchParams('client=acme')), me, NOW, 2);
    expect(head.first.map((i) => i.number)).toEqual([2, 6]); // critical first, then the older of the two highs
    expect(head.matching).toBe(4); // 1, 2, 4, 6: 3 is another client's, 5 is snoozed
    expect(head.counts).toEqual({
      state: { triggered: 3, acknowledged: 1, snoozed: 1, resolved: 0 },
      severity: { critical: 1, high: 2, warning: 0, info: 1 },
    });
  });

  it('counts resolved incidents where a list read them (REST history): in their state, and in severity only when the filter asks for resolved', () => {
    const incidents = [incident(1, { severity: 'critical' }), incident(2, { severity: 'high', status: 'resolved' })];
    expect(queueCounts(incidents, parseFilter(new URLSearchParams('')), me, NOW)).toEqual({
      state: { triggered: 1, acknowledged: 0, snoozed: 0, resolved: 1 },
      severity: { critical: 1, high: 0, warning: 0, info: 0 },
    });
    expect(queueCounts(incidents, parseFilter(new URLSearchParams('state=resolved')), me, NOW).severity).toEqual({ critical: 0, high: 1, warning: 0, info: 0 });
  });

  it('asks for more rows than match: all of them; for none: none, still counted', () => {
    const incidents = [incident(1), incident(2, { severity: 'critical' })];
    expect(queueHead(incidents, parseFilter(new URLSearchParams('')), me, NOW, 50).first.map((i) => i.number)).toEqual([2, 1]);
    const none = queueHead(incidents, parseFilter(new URLSearchParams('')), me, NOW, 0);
    expect([none.first, none.matching]).toEqual([[], 2]);
  });

  it('always equals sorting everything that matches and taking the first rows (property)', () => {
    const arbitrary = fc.array(
      fc.record({
        severity: fc.constantFrom(...SEVERITIES),
        minute: fc.integer({ min: 0, max: 30 }),
        status: fc.constantFrom('triggered' as const, 'acknowledged' as const),
        client: fc.constantFrom('acme', 'globex'),
        assigneeId: fc.constantFrom(null, 'u-me', 'u-other'),
      }),
      { maxLength: 80 },
    );
    const filters = fc.constantFrom('', 'client=acme', 'severity=critical,high', 'state=acknowledged', 'assignee=me', 'assignee=unassigned&client=globex');
    fc.assert(
      fc.property(arbitrary, filters, fc.integer({ min: 1, max: 30 }), (specs, query, rows) => {
        const incidents = specs.map((spec, n) => incident(n + 1, { ...spec, createdAt: at(spec.minute) }));
        const filter = parseFilter(new URLSearchParams(query));
        const matching = incidents.filter((i) => matchesFilter(i, filter, me, NOW)).sort(compareIncidents);
        const head = queueHead(incidents, filter, me, NOW, rows);
        expect(head.first).toEqual(matching.slice(0, rows));
        expect(head.matching).toBe(matching.length);
        expect(head.counts).toEqual(queueCounts(incidents, filter, me, NOW));
      }),
    );
  });
});
