/**
 * A model of ingest for the engine's property tests: tables of what ingest committed, the state read
 * `loadEngineState` would return from them, and random batches over few fingerprints and group keys.
 */
import { groupKeyFor } from '../../server/engine/grouping.ts';
import { processSignals, type EngineOutput } from '../../server/engine/process-signals.ts';
import type { EngineState, StateScope } from '../../server/engine/carry-forward.ts';
import type { AlertRecord, IncidentRecord, Signal, SourceMapping } from '../../server/engine/types.ts';

export const T0 = new Date('2026-03-01T08:00:00Z').getTime();
export const MIN = 60_000;
export const WINDOW = 10 * MIN;
export const SOURCE = 'src-1';
export const mapping: SourceMapping = { clientLabel: 'client', nodeLabel: 'instance', groupBy: [], defaultClient: null };

/** Stands in for the tables: what ingest has committed. */
export interface Tables {
  alerts: Map<string, AlertRecord>;
  incidents: Map<string, IncidentRecord>;
}

/** What `loadEngineState` reads for these signals at `now`. */
export function read(tables: Tables, signals: Signal[], now: number): { state: EngineState; scope: StateScope } {
  const fingerprints = new Set(signals.map((s) => s.fingerprint));
  const groupKeys = new Set(signals.map((s) => groupKeyFor(s, mapping)));
  const scope: StateScope = { sourceId: SOURCE, fingerprints, groupKeys, reopenSince: new Date(now - WINDOW) };
  return { state: readScope(tables, fingerprints, groupKeys, scope.reopenSince), scope };
}

/** What `loadEngineState` reads for these fingerprints and group keys. */
export function readScope(tables: Tables, fingerprints: ReadonlySet<string>, groupKeys: ReadonlySet<string>, reopenSince: Date): EngineState {
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
  return { alerts, incidentsByGroupKey, incidentsById };
}

export function run(state: EngineState, signals: Signal[], now: number, ids: string): EngineOutput {
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

export function commit(tables: Tables, output: EngineOutput): void {
  for (const alert of output.alerts) tables.alerts.set(alert.fingerprint, alert);
  for (const incident of output.incidents) tables.incidents.set(incident.id, incident);
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A batch over few fingerprints and group keys, so batches keep touching each other's alerts and incidents. */
export function batch(next: () => number, now: number): Signal[] {
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

