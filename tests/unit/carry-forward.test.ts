import { describe, expect, it } from 'vitest';
import { carryForward, type EngineState, type StateScope } from '../../server/engine/carry-forward.ts';
import { groupKeyFor } from '../../server/engine/grouping.ts';
import { processSignals, type EngineOutput } from '../../server/engine/process-signals.ts';
import type { AlertRecord, IncidentRecord, Signal, SourceMapping } from '../../server/engine/types.ts';

const T0 = new Date('2026-03-01T08:00:00Z').getTime();
const MIN = 60_000;
const WINDOW = 10 * MIN;
const SOURCE = 'src-1';
const mapping: SourceMapping = { clientLabel: 'client', nodeLabel: 'instance', groupBy: [], defaultClient: null };

/** Stands in for the tables: what ingest has committed. */
interface Tables {
  alerts: Map<string, AlertRecord>;
  incidents: Map<string, IncidentRecord>;
}

/** What `loadEngineState` reads for these signals at `now`. */
function read(tables: Tables, signals: Signal[], now: number): { state: EngineState; scope: StateScope } {
  const fingerprints = new Set(signals.map((s) => s.fingerprint));
  const groupKeys = new Set(signals.map((s) => groupKeyFor(s, mapping)));
  const reopenSince = new Date(now - WINDOW);
  const alerts = new Map([...tables.alerts].filter(([fingerprint]) => fingerprints.has(fingerprint)).map(([f, a]) => [f, structuredClone(a)]));
  const incidentsByGroupKey = new Map<string, IncidentRecord>();
  for (const incident of [...tables.incidents.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())) {
    const eligible = incident.status !== 'resolved' || incident.resolvedAt!.getTime() >= reopenSince.getTime();
    if (groupKeys.has(incident.groupKey) && eligible) incidentsByGroupKey.set(incident.groupKey, structuredClone(incident));
  }
  const incidentsById = new Map([...incidentsByGroupKey.values()].map((i) => [i.id, i]));
  for (const alert of alerts.values()) {
    if (alert.incidentId !== null) incidentsById.set(alert.incidentId, structuredClone(tables.incidents.get(alert.incidentId)!));
  }
  return { state: { alerts, incidentsByGroupKey, incidentsById }, scope: { sourceId: SOURCE, fingerprints, groupKeys, reopenSince } };
}

function run(state: EngineState, signals: Signal[], now: number, ids: string): EngineOutput {
  let seq = 0;
  return processSignals({
    sourceId: SOURCE,
    sourceName: 'prom',
    mapping,
    signals,
    ...state,
    now: new Date(now),
    reopenWindowMs: WINDOW,
    newId: () => `${ids}-${++seq}`,
  });
}

function commit(tables: Tables, output: EngineOutput): void {
  for (const alert of output.alerts) tables.alerts.set(alert.fingerprint, alert);
  for (const incident of output.incidents) tables.incidents.set(incident.id, incident);
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A batch over few fingerprints and group keys, so batches keep touching each other's alerts and incidents. */
function batch(next: () => number, now: number): Signal[] {
  const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)];
  return Array.from({ length: 1 + Math.floor(next() * 6) }, () => {
    const fingerprint = pick(['f0', 'f1', 'f2', 'f3', 'f4', 'f5']);
    const alertname = pick(['Down', 'Disk', 'CPU']);
    const roll = next();
    const status = roll < 0.35 ? 'resolved' : 'firing';
    return {
      fingerprint,
      status,
      action: roll > 0.9 ? 'acknowledge' : status === 'resolved' ? 'resolve' : 'trigger',
      severity: pick(['critical', 'warning', 'info']),
      summary: `${alertname} on ${fingerprint}`,
      labels: { alertname, client: 'acme', instance: fingerprint },
      annotations: {},
      links: [],
      // A new occurrence now and then, so resolved alerts fire again.
      startsAt: new Date(now - (next() < 0.5 ? 0 : 5 * MIN)),
      endsAt: status === 'resolved' ? new Date(now) : null,
      client: 'acme',
      node: fingerprint,
      groupKey: null,
    } satisfies Signal;
  });
}

describe('carryForward', () => {
  it('gives the engine what a read after the previous batch committed would: the same output, over 2,000 random batch pairs', () => {
    let carried = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const next = random(seed);
      const tables: Tables = { alerts: new Map(), incidents: new Map() };
      // History, some of it older than the reopen window.
      let now = T0;
      for (let i = 0; i < 1 + Math.floor(next() * 5); i++) {
        now += Math.floor(next() * 8) * MIN;
        const signals = batch(next, now);
        commit(tables, run(read(tables, signals, now).state, signals, now, `h${i}`));
      }
      now += MIN;
      const first = batch(next, now);
      const second = batch(next, now + 1000);
      // The second batch's state is read before the first commits, as the pipeline does while the first writes.
      const early = read(tables, second, now + 1000);
      const firstOutput = run(read(tables, first, now).state, first, now, 'a');
      commit(tables, firstOutput);

      const state = carryForward(early.state, [{ sourceId: SOURCE, output: firstOutput }], early.scope);
      if (state === undefined) continue;
      carried++;
      const fresh = read(tables, second, now + 1000).state;
      expect(run(state, second, now + 1000, 'b'), `seed ${seed}`).toEqual(run(fresh, second, now + 1000, 'b'));
    }
    // Giving up is for rare edge cases only: nearly every batch must be carried forward.
    expect(carried).toBeGreaterThan(1990);
  });

  it("ignores another source's alerts with the same fingerprint, but not its incidents", () => {
    const incident: IncidentRecord = {
      id: 'i1', groupKey: 'acme|Down', client: 'acme', status: 'triggered', severity: 'critical', summary: 'Down', alertCount: 1,
      openAlertCount: 1, createdAt: new Date(T0), acknowledgedAt: null, resolvedAt: null, updatedAt: new Date(T0), addedNodes: [],
    };
    const alert = { id: 'a1', sourceId: 'src-2', fingerprint: 'f0', incidentId: 'i1' } as AlertRecord;
    const empty: EngineState = { alerts: new Map(), incidentsByGroupKey: new Map(), incidentsById: new Map() };
    const scope: StateScope = { sourceId: SOURCE, fingerprints: new Set(['f0']), groupKeys: new Set(['acme|Down']), reopenSince: new Date(T0 - WINDOW) };
    const state = carryForward(empty, [{ sourceId: 'src-2', output: { alerts: [alert], incidents: [incident] } }], scope)!;
    expect(state.alerts.size).toBe(0);
    expect(state.incidentsByGroupKey.get('acme|Down')).toBe(incident);
  });

  it('keeps the newer incident the read chose for a key when an older one of that key was written', () => {
    const newer: IncidentRecord = {
      id: 'i2', groupKey: 'acme|Down', client: 'acme', status: 'triggered', severity: 'critical', summary: 'Down', alertCount: 1,
      openAlertCount: 1, createdAt: new Date(T0), acknowledgedAt: null, resolvedAt: null, updatedAt: new Date(T0), addedNodes: [],
    };
    const older = { ...newer, id: 'i1', status: 'resolved' as const, createdAt: new Date(T0 - MIN), resolvedAt: new Date(T0) };
    const state: EngineState = { alerts: new Map(), incidentsByGroupKey: new Map([[newer.groupKey, newer]]), incidentsById: new Map([[newer.id, newer]]) };
    const scope: StateScope = { sourceId: SOURCE, fingerprints: new Set(), groupKeys: new Set([newer.groupKey]), reopenSince: new Date(T0 - WINDOW) };
    expect(carryForward(state, [{ sourceId: SOURCE, output: { alerts: [], incidents: [older] } }], scope)?.incidentsByGroupKey.get(newer.groupKey)).toBe(newer);
  });

  it('gives up when the incident the read chose for a key is no longer one it would choose, or two are equally new', () => {
    const base: IncidentRecord = {
      id: 'i1', groupKey: 'acme|Down', client: 'acme', status: 'triggered', severity: 'critical', summary: 'Down', alertCount: 1,
      openAlertCount: 1, createdAt: new Date(T0), acknowledgedAt: null, resolvedAt: null, updatedAt: new Date(T0), addedNodes: [],
    };
    const state: EngineState = { alerts: new Map(), incidentsByGroupKey: new Map([[base.groupKey, base]]), incidentsById: new Map([[base.id, base]]) };
    const scope: StateScope = { sourceId: SOURCE, fingerprints: new Set(), groupKeys: new Set([base.groupKey]), reopenSince: new Date(T0) };
    const longResolved = { ...base, status: 'resolved' as const, resolvedAt: new Date(T0 - MIN) };
    expect(carryForward(state, [{ sourceId: SOURCE, output: { alerts: [], incidents: [longResolved] } }], scope)).toBeUndefined();
    const twin = { ...base, id: 'i2' };
    expect(carryForward(state, [{ sourceId: SOURCE, output: { alerts: [], incidents: [twin] } }], scope)).toBeUndefined();
  });
});
