/**
 * Brings engine state read from the database up to date with engine output that was not yet
 * committed when it was read. The ingest pipeline reads the next batch's state while the previous
 * batch is still writing; carried forward over that batch's output, the state is what the read would
 * have returned after its commit. Pure.
 */
import type { AlertRecord, IncidentRecord } from './types.ts';
import type { EngineOutput } from './process-signals.ts';

/** What the engine reads for one source's batch (see `loadEngineState`). */
export interface EngineState {
  /** This source's alerts with the batch's fingerprints, by fingerprint. */
  alerts: Map<string, AlertRecord>;
  /** Per group key, the newest incident that is open or resolved at or after the reopen cut-off (not merged). */
  incidentsByGroupKey: Map<string, IncidentRecord>;
  /** Those incidents and the ones the alerts belong to, by id. */
  incidentsById: Map<string, IncidentRecord>;
}

/** One source's engine output, written after the state was read. */
export interface WrittenOutput {
  sourceId: string;
  output: Pick<EngineOutput, 'alerts' | 'incidents'>;
}

/** What the state was read for. */
export interface StateScope {
  sourceId: string;
  fingerprints: ReadonlySet<string>;
  groupKeys: ReadonlySet<string>;
  reopenSince: Date;
}

/**
 * The state as it stands after `written` (applied in order). Undefined when the output alone cannot
 * tell (an incident the read picked for a group key is no longer eligible, two incidents of a key
 * created at the same instant, an alert whose incident was not read): the caller reads again.
 */
export function carryForward(state: EngineState, written: readonly WrittenOutput[], scope: StateScope): EngineState | undefined {
  const alerts = new Map(state.alerts);
  const incidentsByGroupKey = new Map(state.incidentsByGroupKey);
  const incidentsById = new Map(state.incidentsById);
  const writtenIncidents = new Map<string, IncidentRecord>();
  const eligible = (incident: IncidentRecord) =>
    incident.status !== 'resolved' || (incident.resolvedAt !== null && incident.resolvedAt.getTime() >= scope.reopenSince.getTime());

  for (const { sourceId, output } of written) {
    for (const incident of output.incidents) {
      writtenIncidents.set(incident.id, incident);
      if (incidentsById.has(incident.id)) incidentsById.set(incident.id, incident);
      if (!scope.groupKeys.has(incident.groupKey)) continue;
      const current = incidentsByGroupKey.get(incident.groupKey);
      if (!eligible(incident)) {
        // The read chose it; after this write it would choose an older one, which was not read.
        if (current?.id === incident.id) return undefined;
        continue;
      }
      if (current !== undefined && current.id !== incident.id) {
        const order = incident.createdAt.getTime() - current.createdAt.getTime();
        if (order === 0) return undefined;
        if (order < 0) continue;
      }
      incidentsByGroupKey.set(incident.groupKey, incident);
      incidentsById.set(incident.id, incident);
    }
    if (sourceId !== scope.sourceId) continue;
    for (const alert of output.alerts) {
      if (!scope.fingerprints.has(alert.fingerprint)) continue;
      alerts.set(alert.fingerprint, alert);
      if (alert.incidentId === null || incidentsById.has(alert.incidentId)) continue;
      const incident = writtenIncidents.get(alert.incidentId);
      if (incident === undefined) return undefined;
      incidentsById.set(incident.id, incident);
    }
  }
  return { alerts, incidentsByGroupKey, incidentsById };
}
