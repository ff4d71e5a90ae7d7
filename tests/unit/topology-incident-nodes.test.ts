import { describe, expect, it } from 'vitest';
import { processSignals, type EngineInput } from '../../server/engine/process-signals.ts';
import type { IncidentRecord, Signal } from '../../server/engine/types.ts';

const T0 = new Date('2025-03-01T08:00:00Z');
function sig(fingerprint: string, node: string | null, over: Partial<Signal> = {}): Signal {
  return {
    fingerprint, status: 'firing', action: 'trigger', severity: 'critical', summary: `down on ${node}`,
    labels: { alertname: 'Down' }, annotations: {}, links: [], startsAt: T0, endsAt: null, client: 'acme', node, groupKey: null, ...over,
  };
}
function input(signals: Signal[], incidents: IncidentRecord[] = [], alerts: EngineInput['alerts'] = new Map()): EngineInput {
  let id = 0;
  return {
    sourceId: 's', sourceName: 'prom', mapping: { clientLabel: 'client', nodeLabel: 'instance', groupBy: [], defaultClient: null },
    signals, alerts, incidentsByGroupKey: new Map(incidents.map((i) => [i.groupKey, i])), incidentsById: new Map(incidents.map((i) => [i.id, i])),
    now: T0, reopenWindowMs: 600_000, newId: () => `id-${++id}`,
  };
}

describe('incidents keep the nodes of their alerts (the map paints them)', () => {
  it('collects the distinct nodes of the alerts that join an incident', () => {
    const out = processSignals(input([sig('a', 'sw-01'), sig('b', 'sw-02'), sig('c', 'sw-01'), sig('d', null)]));
    expect(out.incidents).toHaveLength(1);
    expect(out.incidents[0].nodes).toEqual(['sw-01', 'sw-02']);
  });

  it('a node new to an open incident touches it; a repeat from a known node does not', () => {
    const first = processSignals(input([sig('a', 'sw-01')]));
    const incident = first.incidents[0];
    const alert = first.alerts[0];
    const repeat = processSignals(input([sig('a', 'sw-01')], [incident], new Map([['a', alert]])));
    expect(repeat.incidents).toEqual([]);
    const moved = processSignals(input([sig('a', 'sw-09')], [incident], new Map([['a', alert]])));
    expect(moved.incidents[0].nodes).toEqual(['sw-01', 'sw-09']);
  });
});
