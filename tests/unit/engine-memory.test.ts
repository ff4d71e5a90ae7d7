import { describe, expect, it } from 'vitest';
import { EngineMemory, withRead } from '../../server/engine/engine-memory.ts';
import type { IncidentRecord } from '../../server/engine/types.ts';
import { batch, commit, MIN, read, readScope, random, run, SOURCE, T0, type Tables, WINDOW } from '../helpers/engine-model.ts';

/** Another writer between batches: a person acknowledges or resolves an incident (with its alerts), or merges one away. */
function someoneActs(tables: Tables, next: () => number, now: number): void {
  const open = [...tables.incidents.values()].filter((i) => i.status !== 'resolved');
  if (open.length === 0) return;
  const incident = open[Math.floor(next() * open.length)];
  const roll = next();
  if (roll < 0.4) {
    tables.incidents.set(incident.id, { ...incident, status: 'acknowledged', acknowledgedAt: new Date(now) });
  } else if (roll < 0.8) {
    tables.incidents.set(incident.id, { ...incident, status: 'resolved', resolvedAt: new Date(now), openAlertCount: 0 });
    for (const alert of tables.alerts.values()) {
      if (alert.incidentId === incident.id && alert.status === 'firing') tables.alerts.set(alert.fingerprint, { ...alert, status: 'resolved', resolvedAt: new Date(now) });
    }
  } else {
    // Merged away: the read never chooses it again.
    tables.incidents.delete(incident.id);
    for (const alert of tables.alerts.values()) if (alert.incidentId === incident.id) tables.alerts.delete(alert.fingerprint);
  }
}

describe('EngineMemory', () => {
  it('gives the engine what a full read would, over 300 random histories with other writers, failed transactions and time passing', () => {
    let asked = 0;
    let recalled = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const tables: Tables = { alerts: new Map(), incidents: new Map() };
      // A small limit now and then, so forgetting when full is exercised too.
      const memory = new EngineMemory(seed % 5 === 0 ? 12 : undefined);
      let turn = 0;
      let now = T0;
      for (let i = 0; i < 40; i++) {
        now += next() < 0.1 ? WINDOW + MIN : Math.floor(next() * 3) * MIN;
        const roll = next();
        if (roll < 0.1) {
          someoneActs(tables, next, now);
          turn++; // it took a turn; memory was not told
        } else if (roll < 0.15) {
          turn++; // a transaction that failed: nothing committed, nothing learned
        }
        const signals = batch(next, now);
        const { state: fresh, scope } = read(tables, signals, now);
        turn++;
        const { known, unknownFingerprints, unknownGroupKeys } = memory.recall(turn, scope);
        const state = withRead(known, readScope(tables, new Set(unknownFingerprints), new Set(unknownGroupKeys), scope.reopenSince));
        asked += scope.fingerprints.size + scope.groupKeys.size;
        recalled += scope.fingerprints.size - unknownFingerprints.length + scope.groupKeys.size - unknownGroupKeys.length;

        const output = run(state, signals, now, `b${i}`);
        expect(output, `seed ${seed}, batch ${i}`).toEqual(run(fresh, signals, now, `b${i}`));
        commit(tables, output);
        memory.learn(turn, [{ sourceId: SOURCE, scope, state, output }]);
      }
    }
    // It must actually remember: most of what batches ask for comes from memory.
    expect(recalled / asked).toBeGreaterThan(0.5);
  });

  it('recalls nothing at a turn that does not directly follow the one it learned at', () => {
    const memory = new EngineMemory();
    const incident: IncidentRecord = {
      id: 'i1', groupKey: 'acme|Down', client: 'acme', status: 'triggered', severity: 'critical', summary: 'Down', alertCount: 0,
      openAlertCount: 0, createdAt: new Date(T0), acknowledgedAt: null, resolvedAt: null, updatedAt: new Date(T0), addedNodes: [],
    };
    const scope = { sourceId: SOURCE, fingerprints: new Set<string>(), groupKeys: new Set([incident.groupKey]), reopenSince: new Date(T0 - WINDOW) };
    memory.learn(7, [{ sourceId: SOURCE, scope, state: { alerts: new Map(), incidentsByGroupKey: new Map(), incidentsById: new Map() }, output: { alerts: [], incidents: [incident] } }]);
    expect(memory.recall(8, scope).known.incidentsByGroupKey.get(incident.groupKey)).toBe(incident);
    expect(memory.recall(9, scope).unknownGroupKeys).toEqual([incident.groupKey]);
    // A batch whose cut-off is earlier than one memory learned at (the clock went back) reads everything.
    expect(memory.recall(8, { ...scope, reopenSince: new Date(T0 - 2 * WINDOW) }).unknownGroupKeys).toEqual([incident.groupKey]);
  });

  it('keeps the newer incident for a key when an older one of it is written, and forgets the key when two are equally new', () => {
    const newer: IncidentRecord = {
      id: 'i2', groupKey: 'acme|Down', client: 'acme', status: 'triggered', severity: 'critical', summary: 'Down', alertCount: 1,
      openAlertCount: 1, createdAt: new Date(T0), acknowledgedAt: null, resolvedAt: null, updatedAt: new Date(T0), addedNodes: [],
    };
    const scope = { sourceId: SOURCE, fingerprints: new Set<string>(), groupKeys: new Set([newer.groupKey]), reopenSince: new Date(T0 - WINDOW) };
    const state = { alerts: new Map(), incidentsByGroupKey: new Map([[newer.groupKey, newer]]), incidentsById: new Map([[newer.id, newer]]) };
    const memory = new EngineMemory();
    const older = { ...newer, id: 'i1', createdAt: new Date(T0 - MIN) };
    memory.learn(1, [{ sourceId: SOURCE, scope, state, output: { alerts: [], incidents: [older] } }]);
    expect(memory.recall(2, scope).known.incidentsByGroupKey.get(newer.groupKey)).toBe(newer);

    const twin = { ...newer, id: 'i3' };
    memory.learn(2, [{ sourceId: SOURCE, scope: { ...scope, groupKeys: new Set<string>() }, state: { alerts: new Map(), incidentsByGroupKey: new Map(), incidentsById: new Map() }, output: { alerts: [], incidents: [twin] } }]);
    expect(memory.recall(3, scope).unknownGroupKeys).toEqual([newer.groupKey]);
  });

  it('does not make a key known from an incident written for it: an older incident of that key, never read, might be the choice', () => {
    const incident: IncidentRecord = {
      id: 'i1', groupKey: 'acme|Down', client: 'acme', status: 'triggered', severity: 'critical', summary: 'Down', alertCount: 1,
      openAlertCount: 1, createdAt: new Date(T0), acknowledgedAt: null, resolvedAt: null, updatedAt: new Date(T0), addedNodes: [],
    };
    const memory = new EngineMemory();
    const none = { sourceId: SOURCE, fingerprints: new Set<string>(), groupKeys: new Set<string>(), reopenSince: new Date(T0 - WINDOW) };
    memory.learn(1, [{ sourceId: SOURCE, scope: none, state: { alerts: new Map(), incidentsByGroupKey: new Map(), incidentsById: new Map() }, output: { alerts: [], incidents: [incident] } }]);
    expect(memory.recall(2, { ...none, groupKeys: new Set([incident.groupKey]) }).unknownGroupKeys).toEqual([incident.groupKey]);
  });
});
