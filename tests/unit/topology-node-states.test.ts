import { describe, expect, it } from 'vitest';
import { computeNodeStatuses, summariseGroup, type StatusNode } from '../../src/lib/wall/node-states.ts';
import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';
import { testIncident } from '../helpers/incidents.ts';

const NOW = Date.parse('2025-03-01T12:00:00Z');
let n = 0;
function incident(over: Partial<IncidentDto>): IncidentDto {
  n++;
  return testIncident(`i${n}`, 1, { number: n, summary: `incident ${n}`, groupKey: `k${n}`, createdAt: '2025-03-01T11:00:00.000Z', updatedAt: '2025-03-01T11:00:00.000Z', ...over });
}

// rtr ← fw ← sw ← srv (each depends on the one before); db stands alone; globex has its own rtr.
const nodes: StatusNode[] = [
  { id: 'rtr', client: 'acme', name: 'rtr-01', parentId: null },
  { id: 'fw', client: 'acme', name: 'fw-01', parentId: 'rtr' },
  { id: 'sw', client: 'acme', name: 'sw-01', parentId: 'fw' },
  { id: 'srv', client: 'acme', name: 'srv-01', parentId: 'sw' },
  { id: 'db', client: 'acme', name: 'db-01', parentId: null },
  { id: 'grtr', client: 'globex', name: 'rtr-01', parentId: null },
];

describe('node states', () => {
  it('shows the worst open incident naming a node, matched by client and name', () => {
    const s = computeNodeStatuses(nodes, [
      incident({ severity: 'warning', nodes: ['db-01'] }),
      incident({ severity: 'high', nodes: ['db-01'], status: 'acknowledged', summary: 'Disk full on db-01' }),
      incident({ severity: 'critical', nodes: ['rtr-01'], client: 'globex' }),
    ], NOW);
    expect(s.get('db')).toMatchObject({ state: 'high', incidents: 2, acknowledged: false, summary: 'Disk full on db-01' });
    expect(s.get('grtr')!.state).toBe('critical');
    expect(s.get('rtr')!.state).toBe('ok'); // same name, other client
  });

  it('marks everything behind a critical parent unreachable, unless it has worse of its own', () => {
    const s = computeNodeStatuses(nodes, [incident({ severity: 'critical', nodes: ['fw-01'] }), incident({ severity: 'high', nodes: ['srv-01'] })], NOW);
    expect(s.get('rtr')!.state).toBe('ok');
    expect(s.get('fw')!.state).toBe('critical');
    expect(s.get('sw')!.state).toBe('unreachable');
    expect(s.get('srv')!.state).toBe('high');
  });

  it('draws a node whose incidents are all snoozed as suppressed; resolved incidents do not count', () => {
    const s = computeNodeStatuses(nodes, [
      incident({ severity: 'critical', nodes: ['db-01'], snoozedUntil: '2025-03-01T13:00:00.000Z' }),
      incident({ severity: 'critical', nodes: ['rtr-01'], status: 'resolved' }),
    ], NOW);
    expect(s.get('db')!.state).toBe('suppressed');
    expect(s.get('rtr')!.state).toBe('ok');
    expect(s.get('fw')!.state).toBe('ok');
  });

  it('acknowledged when everyone on it is acknowledged', () => {
    const s = computeNodeStatuses(nodes, [incident({ severity: 'critical', nodes: ['db-01'], status: 'acknowledged' })], NOW);
    expect(s.get('db')).toMatchObject({ state: 'critical', acknowledged: true });
  });

  it('sums up a group by its worst member and counts', () => {
    const s = computeNodeStatuses(nodes, [incident({ severity: 'critical', nodes: ['fw-01'] })], NOW);
    expect(summariseGroup(['rtr', 'fw', 'sw', 'srv', 'db'], s)).toEqual({ state: 'critical', total: 5, alerting: 3, byState: { ok: 2, critical: 1, unreachable: 2 } });
  });
});
