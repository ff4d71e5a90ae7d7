/**
 * What ingest remembers of the incident tables from its own batches, so a batch reads only what no
 * batch before it read or wrote: the alerts, each group key's incident and the incidents those point
 * at, as they stand after the last ingest transaction it learned from. Pure: no I/O.
 *
 * It holds only while nothing else writes. Every change-writing transaction takes a turn (ChangeWriter),
 * so memory learned at turn n is used at turn n + 1 only; anything between (a person acknowledging,
 * the snooze waker, another process, a transaction that failed) and it starts again from nothing.
 */
import type { AlertRecord, IncidentRecord } from './types.ts';
import type { EngineState, StateScope, WrittenOutput } from './carry-forward.ts';

/** One source's part of a committed transaction: the state the engine ran on (exact for `scope`) and what it wrote. */
export interface LearnedPart extends WrittenOutput {
  scope: StateScope;
  state: EngineState;
}

/** What memory holds for a batch, and what it does not (to read). */
export interface Recalled {
  known: EngineState;
  unknownFingerprints: string[];
  unknownGroupKeys: string[];
}

/**
 * Forgets everything past this many alerts, incidents and keys together (~1 KB each, so tens of MB at most):
 * a batch after that reads all it needs, as every batch did before memory, and memory fills again.
 */
const DEFAULT_LIMIT = 50_000;

const eligibleSince = (incident: IncidentRecord, reopenSince: Date) =>
  incident.status !== 'resolved' || (incident.resolvedAt !== null && incident.resolvedAt.getTime() >= reopenSince.getTime());

export class EngineMemory {
  /** The turn after which memory holds; NaN: holds nothing. */
  #turn = Number.NaN;
  /** Alerts by source, then by fingerprint. */
  #alerts = new Map<string, Map<string, AlertRecord>>();
  /**
   * Per group key, the incident the state read would choose (null: none), for any reopen cut-off from
   * `#since` on, as long as that incident is still eligible then; when it is not, the key is not known
   * (an older incident might be the choice).
   */
  #byKey = new Map<string, IncidentRecord | null>();
  /** Every incident memory holds, current. */
  #byId = new Map<string, IncidentRecord>();
  /** The latest reopen cut-off anything was learned at: a batch with an earlier one (the clock went back) recalls nothing. */
  #since = Number.NEGATIVE_INFINITY;
  #size = 0;
  readonly #limit: number;

  constructor(limit = DEFAULT_LIMIT) {
    this.#limit = limit;
  }

  /** What memory knows for a batch of `scope` whose transaction takes (or follows) `turn`. */
  recall(turn: number, scope: StateScope): Recalled {
    const known: EngineState = { alerts: new Map(), incidentsByGroupKey: new Map(), incidentsById: new Map() };
    if (turn !== this.#turn + 1 || scope.reopenSince.getTime() < this.#since) {
      return { known, unknownFingerprints: [...scope.fingerprints], unknownGroupKeys: [...scope.groupKeys] };
    }
    const unknownFingerprints: string[] = [];
    const alerts = this.#alerts.get(scope.sourceId);
    for (const fingerprint of scope.fingerprints) {
      const alert = alerts?.get(fingerprint);
      const incident = alert?.incidentId == null ? undefined : this.#byId.get(alert.incidentId);
      if (alert === undefined || (alert.incidentId !== null && incident === undefined)) {
        unknownFingerprints.push(fingerprint);
        continue;
      }
      known.alerts.set(fingerprint, alert);
      if (incident !== undefined) known.incidentsById.set(incident.id, incident);
    }
    const unknownGroupKeys: string[] = [];
    for (const key of scope.groupKeys) {
      const incident = this.#byKey.get(key);
      if (incident === null) continue;
      if (incident === undefined || !eligibleSince(incident, scope.reopenSince)) {
        unknownGroupKeys.push(key);
        continue;
      }
      known.incidentsByGroupKey.set(key, incident);
      known.incidentsById.set(incident.id, incident);
    }
    return { known, unknownFingerprints, unknownGroupKeys };
  }

  /** The transaction that took `turn` committed `parts`, in order. */
  learn(turn: number, parts: readonly LearnedPart[]): void {
    if (turn !== this.#turn + 1) this.forget();
    this.#turn = turn;
    for (const { sourceId, scope, state, output } of parts) {
      const alerts = this.#alertsOf(sourceId);
      for (const [fingerprint, alert] of state.alerts) this.#set(alerts, fingerprint, alert);
      for (const incident of state.incidentsById.values()) this.#set(this.#byId, incident.id, incident);
      for (const key of scope.groupKeys) this.#set(this.#byKey, key, state.incidentsByGroupKey.get(key) ?? null);
      this.#since = Math.max(this.#since, scope.reopenSince.getTime());

      for (const incident of output.incidents) {
        this.#set(this.#byId, incident.id, incident);
        const chosen = this.#byKey.get(incident.groupKey);
        if (chosen === undefined || chosen === null || chosen.id === incident.id) {
          // An unknown key stays unknown: an older incident of it, never read, might be the choice.
          if (chosen !== undefined) this.#byKey.set(incident.groupKey, incident);
          continue;
        }
        const order = incident.createdAt.getTime() - chosen.createdAt.getTime();
        if (order > 0) this.#byKey.set(incident.groupKey, incident);
        else if (order === 0) this.#delete(this.#byKey, incident.groupKey);
      }
      for (const alert of output.alerts) this.#set(alerts, alert.fingerprint, alert);
    }
    if (this.#size > this.#limit) {
      this.forget();
      this.#turn = turn;
    }
  }

  /** Holds nothing from now on, until it learns again. */
  forget(): void {
    this.#turn = Number.NaN;
    this.#alerts.clear();
    this.#byKey.clear();
    this.#byId.clear();
    this.#since = Number.NEGATIVE_INFINITY;
    this.#size = 0;
  }

  #alertsOf(sourceId: string): Map<string, AlertRecord> {
    let alerts = this.#alerts.get(sourceId);
    if (alerts === undefined) this.#alerts.set(sourceId, (alerts = new Map()));
    return alerts;
  }

  #set<V>(map: Map<string, V>, key: string, value: V): void {
    if (!map.has(key)) this.#size++;
    map.set(key, value);
  }

  #delete<V>(map: Map<string, V>, key: string): void {
    if (map.delete(key)) this.#size--;
  }
}

/** What memory knew with what was read for the rest: the state a batch's engine runs on. */
export function withRead(known: EngineState, read: EngineState): EngineState {
  return {
    alerts: new Map([...known.alerts, ...read.alerts]),
    incidentsByGroupKey: new Map([...known.incidentsByGroupKey, ...read.incidentsByGroupKey]),
    incidentsById: new Map([...known.incidentsById, ...read.incidentsById]),
  };
}
