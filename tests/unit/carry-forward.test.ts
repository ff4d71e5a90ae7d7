import { describe, expect, it } from 'vitest';
import { carryForward, type EngineState, type StateScope } from '../../server/engine/carry-forward.ts';
import type { AlertRecord, IncidentRecord } from '../../server/engine/types.ts';
import { batch, commit, MIN, read, random, run, SOURCE, T0, type Tables, WINDOW } from '../helpers/engine-model.ts';

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
