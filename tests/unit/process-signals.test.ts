import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertmanagerPayload } from '../../src/lib/protocol/ingest.ts';
import { groupKeyFor } from '../../server/engine/grouping.ts';
import { processSignals, type EngineInput, type EngineOutput } from '../../server/engine/process-signals.ts';
import type { AlertRecord, IncidentRecord, Signal, SourceMapping } from '../../server/engine/types.ts';
import { normaliseAlertmanager } from '../../server/ingest/alertmanager.ts';

const T0 = new Date('2025-03-01T08:00:00Z');
const MIN = 60_000;
const WINDOW = 10 * MIN;
const mapping: SourceMapping = { clientLabel: 'client', nodeLabel: 'instance', groupBy: [], defaultClient: null };

function at(offsetMs: number): Date {
  return new Date(T0.getTime() + offsetMs);
}

/** A firing signal in group `acme|HighCPU` unless overridden. */
function sig(fingerprint: string, over: Partial<Signal> = {}): Signal {
  return {
    fingerprint,
    status: 'firing',
    action: 'trigger',
    severity: 'warning',
    summary: `CPU high on ${fingerprint}`,
    labels: { alertname: 'HighCPU', client: 'acme', instance: fingerprint },
    annotations: {},
    links: [],
    startsAt: T0,
    endsAt: null,
    client: 'acme',
    node: fingerprint,
    groupKey: null,
    ...over,
  };
}

function resolvedSig(fingerprint: string, over: Partial<Signal> = {}): Signal {
  return sig(fingerprint, { status: 'resolved', action: 'resolve', ...over });
}

/**
 * Stands in for the database: keeps the state, builds EngineInput the way the ingest
 * service must (batch alerts, open-or-recent incidents per key, incidents of those alerts)
 * and applies the output.
 */
class Store {
  alerts = new Map<string, AlertRecord>();
  incidents = new Map<string, IncidentRecord>();
  private seq = 0;
  newId = (): string => `id-${++this.seq}`;

  input(signals: Signal[], now: Date, extra: Partial<EngineInput> = {}): EngineInput {
    const alerts = new Map<string, AlertRecord>();
    const incidentsById = new Map<string, IncidentRecord>();
    for (const s of signals) {
      const a = this.alerts.get(s.fingerprint);
      if (a === undefined) continue;
      alerts.set(s.fingerprint, structuredClone(a));
      const inc = a.incidentId === null ? undefined : this.incidents.get(a.incidentId);
      if (inc !== undefined) incidentsById.set(inc.id, structuredClone(inc));
    }
    const incidentsByGroupKey = new Map<string, IncidentRecord>();
    for (const inc of [...this.incidents.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())) {
      const recent =
        inc.status !== 'resolved' ||
        (inc.resolvedAt !== null && now.getTime() - inc.resolvedAt.getTime() <= WINDOW);
      if (recent) incidentsByGroupKey.set(inc.groupKey, structuredClone(inc));
    }
    return {
      sourceId: 'src-1',
      sourceName: 'prom-acme',
      mapping,
      signals,
      alerts,
      incidentsByGroupKey,
      incidentsById,
      now,
      reopenWindowMs: WINDOW,
      newId: this.newId,
      ...extra,
    };
  }

  run(signals: Signal[], now: Date, extra: Partial<EngineInput> = {}): EngineOutput {
    const out = processSignals(this.input(signals, now, extra));
    for (const a of out.alerts) this.alerts.set(a.fingerprint, a);
    for (const i of out.incidents) this.incidents.set(i.id, i);
    return out;
  }

  only(): IncidentRecord {
    expect(this.incidents.size).toBe(1);
    return [...this.incidents.values()][0]!;
  }
}

const kinds = (out: EngineOutput): string[] => out.timeline.map((t) => t.kind);

describe('groupKeyFor', () => {
  it('defaults to client + alertname, then class, then summary', () => {
    expect(groupKeyFor(sig('a'), mapping)).toBe('acme|HighCPU');
    expect(groupKeyFor(sig('a', { labels: { class: 'backup' } }), mapping)).toBe('acme|backup');
    expect(groupKeyFor(sig('a', { labels: {}, summary: 'Disk full' }), mapping)).toBe('acme|Disk full');
    expect(groupKeyFor(sig('a', { client: null }), mapping)).toBe('|HighCPU');
    expect(groupKeyFor(sig('a', { groupKey: 'explicit' }), mapping)).toBe('acme|explicit');
  });

  it('uses groupBy labels in order when configured, empty for missing labels', () => {
    const m = { ...mapping, groupBy: ['site', 'alertname'] };
    expect(groupKeyFor(sig('a', { labels: { alertname: 'HighCPU', site: 'leeds' } }), m)).toBe('acme|leeds|HighCPU');
    expect(groupKeyFor(sig('a', { labels: { alertname: 'HighCPU' } }), m)).toBe('acme||HighCPU');
    expect(groupKeyFor(sig('a', { labels: { alertname: 'HighCPU', constructor: 'x' } }), { ...mapping, groupBy: ['toString'] })).toBe('acme|');
  });

  it('cannot be confused by | inside values', () => {
    const m = { ...mapping, groupBy: ['a', 'b'] };
    const k1 = groupKeyFor(sig('x', { labels: { a: 'p|q', b: 'r' } }), m);
    const k2 = groupKeyFor(sig('x', { labels: { a: 'p', b: 'q|r' } }), m);
    expect(k1).not.toBe(k2);
    expect(groupKeyFor(sig('x', { labels: { a: 'p|q', b: 'r' } }), m)).toBe(k1);
  });
});

describe('processSignals: new alerts and grouping', () => {
  it('creates an alert and a triggered incident for a new firing signal', () => {
    const store = new Store();
    const out = store.run([sig('core-sw-01', { severity: 'high' })], at(0));
    expect(out.alerts).toHaveLength(1);
    const alert = out.alerts[0]!;
    expect(alert).toMatchObject({
      sourceId: 'src-1',
      fingerprint: 'core-sw-01',
      status: 'firing',
      count: 1,
      firstSeenAt: at(0),
      lastSeenAt: at(0),
      resolvedAt: null,
      client: 'acme',
      node: 'core-sw-01',
    });
    expect(out.incidents).toEqual([
      {
        id: alert.incidentId,
        groupKey: 'acme|HighCPU',
        client: 'acme',
        status: 'triggered',
        severity: 'high',
        summary: 'CPU high on core-sw-01',
        alertCount: 1,
        openAlertCount: 1,
        createdAt: at(0),
        acknowledgedAt: null,
        resolvedAt: null,
        updatedAt: at(0),
        addedNodes: ['core-sw-01'],
      },
    ]);
    expect(out.newIncidentIds).toEqual([alert.incidentId]);
    expect(out.changedAlertIds).toEqual([alert.id]);
    expect(out.timeline).toHaveLength(1);
    expect(out.timeline[0]).toMatchObject({
      incidentId: alert.incidentId,
      at: at(0),
      actor: 'source:prom-acme',
      kind: 'triggered',
      detail: { alertId: alert.id, fingerprint: 'core-sw-01' },
    });
  });

  it('joins a second alert of the same group and raises the severity', () => {
    const store = new Store();
    store.run([sig('core-sw-01')], at(0));
    const out = store.run([sig('core-sw-02', { severity: 'critical' })], at(MIN));
    const inc = store.only();
    expect(inc).toMatchObject({ alertCount: 2, openAlertCount: 2, severity: 'critical', summary: 'CPU high on core-sw-01', updatedAt: at(MIN) });
    expect(kinds(out)).toEqual(['alert_joined', 'severity_changed']);
    expect(out.timeline[1]?.detail).toMatchObject({ from: 'warning', to: 'critical' });
    expect(out.newIncidentIds).toEqual([]);
    expect(out.alerts[0]?.incidentId).toBe(inc.id);
  });

  it('keeps clients apart even with the same alertname', () => {
    const store = new Store();
    const out = store.run([sig('a'), sig('b', { client: 'globex' })], at(0));
    expect(out.newIncidentIds).toHaveLength(2);
    expect(out.incidents.map((i) => i.groupKey).sort()).toEqual(['acme|HighCPU', 'globex|HighCPU']);
  });

  it('groups by the mapping groupBy labels', () => {
    const store = new Store();
    const m = { ...mapping, groupBy: ['site'] };
    const out = store.run(
      [
        sig('a', { labels: { alertname: 'HighCPU', site: 'leeds' } }),
        sig('b', { labels: { alertname: 'LinkDown', site: 'leeds' } }),
        sig('c', { labels: { alertname: 'HighCPU', site: 'york' } }),
      ],
      at(0),
      { mapping: m },
    );
    expect(out.incidents.map((i) => [i.groupKey, i.alertCount])).toEqual([
      ['acme|leeds', 2],
      ['acme|york', 1],
    ]);
  });

  it('turns a storm of 500 alerts in one group into one incident', () => {
    const store = new Store();
    const signals = Array.from({ length: 500 }, (_, i) => sig(`sw-${i}`));
    const out = store.run(signals, at(0));
    expect(out.alerts).toHaveLength(500);
    expect(out.incidents).toHaveLength(1);
    expect(out.incidents[0]).toMatchObject({ alertCount: 500, openAlertCount: 500, status: 'triggered' });
    expect(out.newIncidentIds).toHaveLength(1);
    expect(new Set(out.alerts.map((a) => a.incidentId))).toEqual(new Set([out.incidents[0]!.id]));
    expect(kinds(out).filter((k) => k === 'triggered')).toHaveLength(1);
    expect(kinds(out).filter((k) => k === 'alert_joined')).toHaveLength(499);
  });
});

describe('processSignals: repeats and idempotence', () => {
  it('a repeat of a firing alert only moves count and lastSeenAt', () => {
    const store = new Store();
    store.run([sig('core-sw-01')], at(0));
    const before = store.only();
    const out = store.run([sig('core-sw-01')], at(5 * MIN));
    expect(out.timeline).toEqual([]);
    expect(out.incidents).toEqual([]);
    expect(out.changedAlertIds).toEqual([]);
    expect(out.alerts).toHaveLength(1);
    expect(out.alerts[0]).toMatchObject({ count: 2, lastSeenAt: at(5 * MIN), firstSeenAt: at(0) });
    expect(store.only()).toEqual(before);
  });

  it('processing the same Alertmanager payload again changes nothing but count/lastSeenAt', () => {
    const fixture = JSON.parse(readFileSync(new URL('../fixtures/alertmanager-v4.json', import.meta.url), 'utf8'));
    const body = alertmanagerPayload.parse(fixture);
    // make the resolved alert known first, so the payload both fires and resolves
    const store = new Store();
    const known = normaliseAlertmanager(body, mapping, at(0)).map((s) => ({ ...s, status: 'firing' as const, action: 'trigger' as const }));
    store.run(known, at(0));

    const first = store.run(normaliseAlertmanager(body, mapping, at(MIN)), at(MIN));
    expect(kinds(first)).toEqual(['alert_resolved']);
    const incidentsAfterFirst = structuredClone([...store.incidents.values()]);

    const second = store.run(normaliseAlertmanager(body, mapping, at(2 * MIN)), at(2 * MIN));
    expect(second.timeline).toEqual([]);
    expect(second.incidents).toEqual([]);
    expect(second.newIncidentIds).toEqual([]);
    expect(second.changedAlertIds).toEqual([]);
    expect(second.alerts.map((a) => [a.fingerprint, a.count, a.lastSeenAt])).toEqual([['a1b2c3d4e5f60718', 3, at(2 * MIN)]]);
    expect([...store.incidents.values()]).toEqual(incidentsAfterFirst);
  });

  it('a severity change on a repeat updates the alert and raises the open incident', () => {
    const store = new Store();
    store.run([sig('a'), sig('b')], at(0));
    const up = store.run([sig('a', { severity: 'critical' })], at(MIN));
    expect(up.changedAlertIds).toEqual([store.alerts.get('a')!.id]);
    expect(kinds(up)).toEqual(['severity_changed']);
    expect(store.only().severity).toBe('critical');

    // going down does not lower the incident (other alerts may still be worse)
    const down = store.run([sig('a', { severity: 'info' })], at(2 * MIN));
    expect(down.changedAlertIds).toEqual([store.alerts.get('a')!.id]);
    expect(store.alerts.get('a')!.severity).toBe('info');
    expect(down.timeline).toEqual([]);
    expect(down.incidents).toEqual([]);
  });

  it('a summary change updates the alert without touching the incident', () => {
    const store = new Store();
    store.run([sig('a')], at(0));
    const out = store.run([sig('a', { summary: 'CPU at 99%' })], at(MIN));
    expect(out.changedAlertIds).toHaveLength(1);
    expect(out.alerts[0]?.summary).toBe('CPU at 99%');
    expect(out.timeline).toEqual([]);
    expect(out.incidents).toEqual([]);
  });
});

describe('processSignals: batch-internal duplicates', () => {
  it('the same fingerprint twice in one batch gives one alert', () => {
    const store = new Store();
    const out = store.run([sig('a'), sig('a', { severity: 'high' })], at(0));
    expect(out.alerts).toHaveLength(1);
    expect(out.alerts[0]).toMatchObject({ count: 2, severity: 'high' });
    expect(out.incidents).toHaveLength(1);
    expect(out.incidents[0]).toMatchObject({ alertCount: 1, openAlertCount: 1, severity: 'high' });
    expect(kinds(out)).toEqual(['triggered', 'severity_changed']);
  });

  it('fire then resolve in one batch leaves the alert and incident resolved', () => {
    const store = new Store();
    const out = store.run([sig('a'), resolvedSig('a', { endsAt: at(30_000) })], at(MIN));
    expect(out.alerts).toHaveLength(1);
    expect(out.alerts[0]).toMatchObject({ status: 'resolved', resolvedAt: at(30_000) });
    expect(out.incidents[0]).toMatchObject({ status: 'resolved', openAlertCount: 0, alertCount: 1, resolvedAt: at(MIN) });
    expect(kinds(out)).toEqual(['triggered', 'alert_resolved', 'resolved']);
    // replaying the whole batch is a no-op
    const again = store.run([sig('a'), resolvedSig('a', { endsAt: at(30_000) })], at(2 * MIN));
    expect(again.timeline).toEqual([]);
    expect(again.incidents).toEqual([]);
  });
});

describe('processSignals: resolving', () => {
  it('resolves alerts one by one and the incident with the last one', () => {
    const store = new Store();
    store.run([sig('a'), sig('b')], at(0));
    const one = store.run([resolvedSig('a', { endsAt: at(MIN) })], at(2 * MIN));
    expect(kinds(one)).toEqual(['alert_resolved']);
    expect(one.alerts[0]).toMatchObject({ status: 'resolved', resolvedAt: at(MIN), endsAt: at(MIN) });
    expect(store.only()).toMatchObject({ status: 'triggered', openAlertCount: 1, alertCount: 2, updatedAt: at(2 * MIN) });

    const two = store.run([resolvedSig('b')], at(3 * MIN));
    expect(kinds(two)).toEqual(['alert_resolved', 'resolved']);
    expect(two.timeline.every((t) => t.actor === 'source:prom-acme')).toBe(true);
    expect(two.alerts[0]?.resolvedAt).toEqual(at(3 * MIN)); // no endsAt → now
    expect(store.only()).toMatchObject({ status: 'resolved', openAlertCount: 0, resolvedAt: at(3 * MIN) });
  });

  it('ignores a resolved signal for an unknown or already resolved alert', () => {
    const store = new Store();
    const unknown = store.run([resolvedSig('ghost')], at(0));
    expect(unknown).toEqual({ alerts: [], incidents: [], timeline: [], newIncidentIds: [], changedAlertIds: [] });

    store.run([sig('a')], at(0));
    store.run([resolvedSig('a')], at(MIN));
    const again = store.run([resolvedSig('a')], at(2 * MIN));
    expect(again).toEqual({ alerts: [], incidents: [], timeline: [], newIncidentIds: [], changedAlertIds: [] });
  });

  it('ignores a late resolve of an older occurrence', () => {
    const store = new Store();
    store.run([sig('a', { startsAt: at(0) })], at(0));
    store.run([resolvedSig('a', { startsAt: at(0), endsAt: at(MIN) })], at(MIN));
    store.run([sig('a', { startsAt: at(20 * MIN) })], at(20 * MIN));
    const late = store.run([resolvedSig('a', { startsAt: at(0), endsAt: at(MIN) })], at(21 * MIN));
    expect(late.timeline).toEqual([]);
    expect(store.alerts.get('a')?.status).toBe('firing');
  });
});

describe('processSignals: refiring and the reopen window', () => {
  it('a resolved alert firing again rejoins its still-open incident', () => {
    const store = new Store();
    store.run([sig('a'), sig('b')], at(0));
    store.run([resolvedSig('a')], at(MIN));
    const out = store.run([sig('a', { startsAt: at(2 * MIN) })], at(2 * MIN));
    expect(kinds(out)).toEqual(['alert_refired']);
    expect(out.alerts[0]).toMatchObject({ status: 'firing', resolvedAt: null, endsAt: null, count: 2, startsAt: at(2 * MIN) });
    expect(out.changedAlertIds).toEqual([out.alerts[0]!.id]);
    expect(store.only()).toMatchObject({ status: 'triggered', alertCount: 2, openAlertCount: 2 });
  });

  function resolvedAtZero(): { store: Store; incidentId: string } {
    const store = new Store();
    store.run([sig('a')], at(-MIN));
    store.run([resolvedSig('a')], at(0)); // incident resolved at T0
    return { store, incidentId: store.only().id };
  }

  it('reopens the incident when the alert refires just inside the window', () => {
    const { store, incidentId } = resolvedAtZero();
    store.incidents.set(incidentId, { ...store.incidents.get(incidentId)!, acknowledgedAt: at(-30_000) });
    const out = store.run([sig('a', { startsAt: at(WINDOW - 1) })], at(WINDOW - 1));
    expect(kinds(out)).toEqual(['reopened']);
    expect(out.newIncidentIds).toEqual([]);
    expect(store.only()).toMatchObject({
      id: incidentId,
      status: 'triggered',
      resolvedAt: null,
      acknowledgedAt: null,
      alertCount: 1,
      openAlertCount: 1,
    });
  });

  it('reopens at exactly the window edge', () => {
    const { store, incidentId } = resolvedAtZero();
    const out = store.run([sig('a', { startsAt: at(WINDOW) })], at(WINDOW));
    expect(kinds(out)).toEqual(['reopened']);
    expect(out.incidents[0]?.id).toBe(incidentId);
  });

  it('opens a new incident just outside the window and moves the alert to it', () => {
    const { store, incidentId } = resolvedAtZero();
    // the caller still passes the old incident because the alert points at it
    const out = store.run([sig('a', { startsAt: at(WINDOW + 1) })], at(WINDOW + 1));
    expect(kinds(out)).toEqual(['triggered']);
    expect(out.newIncidentIds).toHaveLength(1);
    expect(out.newIncidentIds[0]).not.toBe(incidentId);
    expect(out.alerts[0]?.incidentId).toBe(out.newIncidentIds[0]);
    expect(store.incidents.get(incidentId)?.status).toBe('resolved');
    expect(out.incidents.map((i) => i.id)).toEqual(out.newIncidentIds);
  });

  it('a new alert in a group resolved within the window reopens that incident', () => {
    const { store, incidentId } = resolvedAtZero();
    const out = store.run([sig('b', { severity: 'critical' })], at(MIN));
    expect(kinds(out)).toEqual(['reopened', 'severity_changed']);
    expect(store.only()).toMatchObject({ id: incidentId, status: 'triggered', alertCount: 2, openAlertCount: 1, severity: 'critical' });
    expect(out.alerts[0]?.incidentId).toBe(incidentId);
  });

  it('a new alert in a group resolved outside the window creates a new incident', () => {
    const { store } = resolvedAtZero();
    const out = store.run([sig('b')], at(WINDOW + 1));
    expect(kinds(out)).toEqual(['triggered']);
    expect(store.incidents.size).toBe(2);
  });

  it('ignores a late firing copy of an occurrence that already resolved', () => {
    const store = new Store();
    store.run([sig('a', { startsAt: at(0) })], at(0));
    store.run([resolvedSig('a', { startsAt: at(0) })], at(MIN));
    const late = store.run([sig('a', { startsAt: at(0) })], at(2 * MIN));
    expect(late).toEqual({ alerts: [], incidents: [], timeline: [], newIncidentIds: [], changedAlertIds: [] });
    expect(store.only().status).toBe('resolved');
  });
});

describe('processSignals: PagerDuty actions', () => {
  const pdMapping: SourceMapping = { clientLabel: 'client', nodeLabel: 'node', groupBy: [], defaultClient: 'acme' };
  const ack = (key: string): Signal => sig(key, { action: 'acknowledge' });
  const resolve = (key: string): Signal => sig(key, { action: 'resolve', status: 'resolved', startsAt: at(5 * MIN) });

  it('acknowledge acknowledges the alert’s triggered incident once', () => {
    const store = new Store();
    store.run([sig('backup-1')], at(0), { mapping: pdMapping, sourceName: 'pd' });
    const out = store.run([ack('backup-1')], at(MIN), { mapping: pdMapping, sourceName: 'pd' });
    expect(kinds(out)).toEqual(['acknowledged']);
    expect(out.timeline[0]?.actor).toBe('source:pd');
    expect(out.alerts).toEqual([]);
    expect(store.only()).toMatchObject({ status: 'acknowledged', acknowledgedAt: at(MIN), updatedAt: at(MIN) });
    const again = store.run([ack('backup-1')], at(2 * MIN), { mapping: pdMapping, sourceName: 'pd' });
    expect(again.timeline).toEqual([]);
    expect(again.incidents).toEqual([]);
  });

  it('acknowledge or resolve for an unknown dedup key is a no-op', () => {
    const store = new Store();
    for (const s of [ack('nope'), resolve('nope')]) {
      expect(store.run([s], at(0))).toEqual({ alerts: [], incidents: [], timeline: [], newIncidentIds: [], changedAlertIds: [] });
    }
  });

  it('resolve resolves the alert and the incident with its last open alert', () => {
    const store = new Store();
    store.run([sig('backup-1')], at(0));
    store.run([ack('backup-1')], at(MIN));
    const out = store.run([resolve('backup-1')], at(5 * MIN));
    expect(kinds(out)).toEqual(['alert_resolved', 'resolved']);
    expect(store.only()).toMatchObject({ status: 'resolved', resolvedAt: at(5 * MIN), acknowledgedAt: at(MIN) });
  });

  it('a trigger with the same dedup key while firing only counts', () => {
    const store = new Store();
    store.run([sig('backup-1', { startsAt: at(0) })], at(0));
    const out = store.run([sig('backup-1', { startsAt: at(MIN) })], at(MIN));
    expect(out.timeline).toEqual([]);
    expect(out.alerts[0]).toMatchObject({ count: 2, startsAt: at(0) });
  });
});

describe('processSignals: purity', () => {
  it('does not mutate its input and stamps every returned incident with now', () => {
    const store = new Store();
    store.run([sig('a'), sig('b')], at(0));
    const input = store.input([resolvedSig('a'), sig('c', { severity: 'critical' })], at(MIN));
    const snapshot = structuredClone({ alerts: input.alerts, byKey: input.incidentsByGroupKey, byId: input.incidentsById, signals: input.signals });
    const out = processSignals(input);
    expect({ alerts: input.alerts, byKey: input.incidentsByGroupKey, byId: input.incidentsById, signals: input.signals }).toEqual(snapshot);
    expect(out.incidents.length).toBeGreaterThan(0);
    for (const inc of out.incidents) expect(inc.updatedAt).toEqual(at(MIN));
  });
});
