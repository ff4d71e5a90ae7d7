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
  it('a new incident names the distinct nodes of the alerts that opened and joined it', () => {
    const out = processSignals(input([sig('a', 'sw-01'), sig('b', 'sw-02'), sig('c', 'sw-01'), sig('d', null)]));
    expect(out.incidents).toHaveLength(1);
    expect(out.incidents[0].addedNodes).toEqual(['sw-01', 'sw-02']);
  });

  it('an open incident is sent only the nodes a batch brings, not the list it has (the database appends them)', () => {
    const first = processSignals(input([sig('a', 'sw-01')]));
    const incident = { ...first.incidents[0], addedNodes: [] };
    const joined = processSignals(input([sig('b', 'sw-02'), sig('c', 'sw-02')], [incident]));
    expect(joined.incidents[0].addedNodes).toEqual(['sw-02']);
  });

  it('a repeat from the same node does not touch the incident; a repeat whose node changed does', () => {
    const first = processSignals(input([sig('a', 'sw-01')]));
    const incident = { ...first.incidents[0], addedNodes: [] };
    const alert = first.alerts[0];
    const repeat = processSignals(input([sig('a', 'sw-01')], [incident], new Map([['a', alert]])));
    expect(repeat.incidents).toEqual([]);
    const moved = processSignals(input([sig('a', 'sw-09')], [incident], new Map([['a', alert]])));
    expect(moved.incidents[0].addedNodes).toEqual(['sw-09']);
  });

  it('read state with nodes from an earlier batch does not send them again', () => {
    const first = processSignals(input([sig('a', 'sw-01')]));
    // carried forward as written: its addedNodes still name sw-01
    const joined = processSignals(input([sig('b', 'sw-02')], [first.incidents[0]]));
    expect(joined.incidents[0].addedNodes).toEqual(['sw-02']);
  });
});
