/**
 * The incident engine: normalised signals + current state → new state + timeline.
 * Pure: no I/O, no clock (time is `now`), ids from `newId`. The caller loads the state,
 * runs this, and commits the output in one transaction.
 */
import { severityRank } from '../../src/lib/domain/severity.ts';
import { groupKeyFor } from './grouping.ts';
import type {
  AlertRecord,
  IncidentRecord,
  Signal,
  SourceMapping,
  TimelineEntry,
  TimelineKind,
} from './types.ts';

export interface EngineInput {
  sourceId: string;
  sourceName: string;
  mapping: SourceMapping;
  signals: Signal[];
  /** existing alerts for the batch's fingerprints (this source), keyed by fingerprint */
  alerts: Map<string, AlertRecord>;
  /** incidents that are open (triggered/acknowledged) OR resolved within reopenWindowMs, keyed by groupKey (the newest per key) */
  incidentsByGroupKey: Map<string, IncidentRecord>;
  /** plus any incident referenced by an alert above, by id */
  incidentsById: Map<string, IncidentRecord>;
  now: Date;
  reopenWindowMs: number;
  newId: () => string;
}

export interface EngineOutput {
  /** alerts inserted or changed (including ones where only lastSeenAt/count moved) */
  alerts: AlertRecord[];
  /** incidents inserted or changed; every one has updatedAt = now */
  incidents: IncidentRecord[];
  timeline: TimelineEntry[];
  newIncidentIds: string[];
  /** alerts with a change a person would notice (new, status, severity, summary, incident) */
  changedAlertIds: string[];
}

/**
 * Applies a batch of signals from one source.
 *
 * - Signals are handled in order; the same fingerprint twice in a batch ends as one alert.
 * - Firing, unknown fingerprint → new alert (count 1) joined to the open incident of its
 *   group key (`alert_joined`, severity raised to the worst), else the incident of that
 *   key resolved at most `reopenWindowMs` ago is reopened (`reopened`), else a new
 *   incident is created (`triggered`, summary from this alert).
 * - Firing, alert already firing → lastSeenAt = now and count + 1 only. Severity or summary
 *   changes update the alert (and raise an open incident's severity, `severity_changed`);
 *   nothing else touches the incident, so repeat notifications make no noise and the
 *   same payload processed twice changes nothing but count/lastSeenAt.
 * - Firing, alert resolved → it fires again: back into its incident if still open
 *   (`alert_refired`), else reopen (own incident or the key's, within the window) or a
 *   new incident, to which the alert moves.
 * - Resolved (or PagerDuty `resolve`), alert firing → alert resolved (resolvedAt = the
 *   signal's endsAt, else now; `alert_resolved`); the incident resolves (`resolved`) when
 *   its last open alert does. Unknown or already resolved → ignored.
 * - PagerDuty `acknowledge` → the alert's triggered incident becomes acknowledged
 *   (`acknowledged`). Unknown dedup key or no triggered incident → no-op.
 * - Late copies are ignored: an occurrence is identified by its `startsAt`, so a signal
 *   from an older occurrence than the stored one, or a firing copy of the occurrence that
 *   already resolved (same `startsAt`), changes nothing. This keeps sender retries that
 *   arrive out of order from reopening or resolving the wrong thing.
 *
 * - Every incident keeps the distinct node names of its member alerts: the output names the nodes
 *   the batch's alerts brought (`addedNodes`) and the database appends those it lacks. A repeat
 *   touches the incident only when its node label changed.
 *
 * Timeline entries carry actor `source:<sourceName>`. Inputs are not mutated.
 */
export function processSignals(input: EngineInput): EngineOutput {
  const { now, newId, mapping, reopenWindowMs } = input;
  const actor = `source:${input.sourceName}`;

  // working copies, so the caller's maps stay untouched
  const alerts = new Map<string, AlertRecord>();
  for (const [fingerprint, alert] of input.alerts) alerts.set(fingerprint, { ...alert });
  const incidents = new Map<string, IncidentRecord>();
  for (const incident of input.incidentsById.values()) incidents.set(incident.id, { ...incident, addedNodes: [] });
  const incidentIdByKey = new Map<string, string>();
  for (const [key, incident] of input.incidentsByGroupKey) {
    if (!incidents.has(incident.id)) incidents.set(incident.id, { ...incident, addedNodes: [] });
    incidentIdByKey.set(key, incident.id);
  }

  const touchedAlerts = new Set<string>(); // fingerprints, first-touch order
  const changedAlertIds = new Set<string>();
  const touchedIncidents = new Set<string>();
  const timeline: TimelineEntry[] = [];
  const newIncidentIds: string[] = [];

  const alertDetail = (alert: AlertRecord): Record<string, unknown> => ({
    alertId: alert.id,
    fingerprint: alert.fingerprint,
    summary: alert.summary,
    severity: alert.severity,
  });

  function record(incident: IncidentRecord, kind: TimelineKind, detail: Record<string, unknown>): void {
    touchedIncidents.add(incident.id);
    timeline.push({ id: newId(), incidentId: incident.id, at: now, actor, kind, detail });
  }

  function isOpen(incident: IncidentRecord): boolean {
    return incident.status !== 'resolved';
  }

  function isReopenable(incident: IncidentRecord): boolean {
    return (
      incident.status === 'resolved' &&
      incident.resolvedAt !== null &&
      now.getTime() - incident.resolvedAt.getTime() <= reopenWindowMs
    );
  }

  function raiseSeverity(incident: IncidentRecord, alert: AlertRecord): void {
    if (severityRank(alert.severity) <= severityRank(incident.severity)) return;
    const from = incident.severity;
    incident.severity = alert.severity;
    record(incident, 'severity_changed', { from, to: alert.severity, alertId: alert.id, fingerprint: alert.fingerprint });
  }

  /** Counts a (re)firing alert into an incident and points the alert at it. */
  function addOpenAlert(incident: IncidentRecord, alert: AlertRecord): void {
    if (alert.incidentId !== incident.id) incident.alertCount += 1;
    incident.openAlertCount += 1;
    alert.incidentId = incident.id;
    addNode(incident, alert.node);
  }

  /** The incident's node list is the distinct nodes of its member alerts (the topology map paints them). */
  function addNode(incident: IncidentRecord, node: string | null): void {
    if (node !== null && !incident.addedNodes.includes(node)) incident.addedNodes = [...incident.addedNodes, node];
  }

  /** Finds or makes the incident for an alert that is firing without an open incident. */
  function attach(alert: AlertRecord, key: string, previousIncidentId: string | null): void {
    const keyId = incidentIdByKey.get(key);
    const grouped = keyId === undefined ? undefined : incidents.get(keyId);
    if (grouped !== undefined && isOpen(grouped)) {
      addOpenAlert(grouped, alert);
      record(grouped, 'alert_joined', alertDetail(alert));
      raiseSeverity(grouped, alert);
      return;
    }
    const own = previousIncidentId === null ? undefined : incidents.get(previousIncidentId);
    // the alert's own incident first (it is a flap of the same problem), then the key's
    const candidates = [own?.groupKey === key ? own : undefined, grouped];
    const reopen = candidates.find((c) => c !== undefined && isReopenable(c));
    if (reopen !== undefined) {
      const previousResolvedAt = reopen.resolvedAt;
      reopen.status = 'triggered';
      reopen.resolvedAt = null;
      // a reopened incident must be acknowledged again
      reopen.acknowledgedAt = null;
      reopen.openAlertCount = Math.max(0, reopen.openAlertCount);
      addOpenAlert(reopen, alert);
      incidentIdByKey.set(key, reopen.id);
      record(reopen, 'reopened', { ...alertDetail(alert), previousResolvedAt: previousResolvedAt?.toISOString() ?? null });
      raiseSeverity(reopen, alert);
      return;
    }
    const incident: IncidentRecord = {
      id: newId(),
      groupKey: key,
      client: alert.client,
      status: 'triggered',
      severity: alert.severity,
      summary: alert.summary,
      alertCount: 1,
      openAlertCount: 1,
      createdAt: now,
      acknowledgedAt: null,
      resolvedAt: null,
      updatedAt: now,
      addedNodes: alert.node === null ? [] : [alert.node],
    };
    alert.incidentId = incident.id;
    incidents.set(incident.id, incident);
    incidentIdByKey.set(key, incident.id);
    newIncidentIds.push(incident.id);
    record(incident, 'triggered', alertDetail(alert));
  }

  function touchAlert(alert: AlertRecord, visible: boolean): void {
    touchedAlerts.add(alert.fingerprint);
    if (visible) changedAlertIds.add(alert.id);
  }

  function fire(signal: Signal, existing: AlertRecord | undefined): void {
    const key = groupKeyFor(signal, mapping);
    if (existing === undefined) {
      const alert: AlertRecord = {
        id: newId(),
        sourceId: input.sourceId,
        fingerprint: signal.fingerprint,
        incidentId: null,
        status: 'firing',
        severity: signal.severity,
        summary: signal.summary,
        labels: signal.labels,
        annotations: signal.annotations,
        links: signal.links,
        client: signal.client,
        node: signal.node,
        startsAt: signal.startsAt,
        endsAt: signal.endsAt,
        firstSeenAt: now,
        lastSeenAt: now,
        resolvedAt: null,
        count: 1,
      };
      alerts.set(alert.fingerprint, alert);
      touchAlert(alert, true);
      attach(alert, key, null);
      return;
    }

    if (existing.status === 'firing') {
      if (signal.startsAt < existing.startsAt) return; // late copy of an older occurrence
      const severityChanged = signal.severity !== existing.severity;
      const summaryChanged = signal.summary !== existing.summary;
      const nodeChanged = signal.node !== existing.node;
      existing.lastSeenAt = now;
      existing.count += 1;
      // latest details win, silently: repeats must not be noise
      existing.labels = signal.labels;
      existing.annotations = signal.annotations;
      existing.links = signal.links;
      existing.node = signal.node;
      existing.severity = signal.severity;
      existing.summary = signal.summary;
      touchAlert(existing, severityChanged || summaryChanged);
      if (existing.incidentId !== null) {
        const incident = incidents.get(existing.incidentId);
        if (incident !== undefined && isOpen(incident)) {
          if (severityChanged) raiseSeverity(incident, existing);
          // The alert's node joined the incident's list with the alert: only a node label that changed brings one.
          if (nodeChanged && existing.node !== null) {
            addNode(incident, existing.node);
            touchedIncidents.add(incident.id);
          }
        }
      }
      return;
    }

    // resolved alert firing again; same startsAt = a late copy of what already resolved
    if (signal.startsAt <= existing.startsAt) return;
    const previousIncidentId = existing.incidentId;
    Object.assign(existing, {
      status: 'firing',
      severity: signal.severity,
      summary: signal.summary,
      labels: signal.labels,
      annotations: signal.annotations,
      links: signal.links,
      client: signal.client,
      node: signal.node,
      startsAt: signal.startsAt,
      endsAt: signal.endsAt,
      resolvedAt: null,
      lastSeenAt: now,
      count: existing.count + 1,
    } satisfies Partial<AlertRecord>);
    touchAlert(existing, true);
    const own = previousIncidentId === null ? undefined : incidents.get(previousIncidentId);
    if (own !== undefined && isOpen(own)) {
      addOpenAlert(own, existing);
      record(own, 'alert_refired', alertDetail(existing));
      raiseSeverity(own, existing);
      return;
    }
    attach(existing, key, previousIncidentId);
  }

  function resolve(signal: Signal, existing: AlertRecord | undefined): void {
    if (existing === undefined || existing.status === 'resolved') return;
    if (signal.startsAt < existing.startsAt) return; // resolve of an older occurrence
    const at = signal.endsAt ?? now;
    existing.status = 'resolved';
    existing.resolvedAt = at;
    existing.endsAt = at;
    existing.lastSeenAt = now;
    touchAlert(existing, true);
    const incident = existing.incidentId === null ? undefined : incidents.get(existing.incidentId);
    if (incident === undefined) return;
    incident.openAlertCount = Math.max(0, incident.openAlertCount - 1);
    record(incident, 'alert_resolved', alertDetail(existing));
    if (incident.openAlertCount === 0 && isOpen(incident)) {
      incident.status = 'resolved';
      incident.resolvedAt = now;
      record(incident, 'resolved', { reason: 'all_alerts_resolved', lastAlertId: existing.id });
    }
  }

  function acknowledge(existing: AlertRecord | undefined): void {
    if (existing?.incidentId == null) return;
    const incident = incidents.get(existing.incidentId);
    if (incident === undefined || incident.status !== 'triggered') return;
    incident.status = 'acknowledged';
    incident.acknowledgedAt = now;
    record(incident, 'acknowledged', { alertId: existing.id, fingerprint: existing.fingerprint });
  }

  for (const signal of input.signals) {
    const existing = alerts.get(signal.fingerprint);
    if (signal.action === 'acknowledge') acknowledge(existing);
    else if (signal.action === 'resolve' || signal.status === 'resolved') resolve(signal, existing);
    else fire(signal, existing);
  }

  const outIncidents: IncidentRecord[] = [];
  for (const id of touchedIncidents) {
    const incident = incidents.get(id);
    if (incident !== undefined) outIncidents.push({ ...incident, updatedAt: now });
  }
  const outAlerts: AlertRecord[] = [];
  for (const fingerprint of touchedAlerts) {
    const alert = alerts.get(fingerprint);
    if (alert !== undefined) outAlerts.push(alert);
  }
  return {
    alerts: outAlerts,
    incidents: outIncidents,
    timeline,
    newIncidentIds,
    changedAlertIds: [...changedAlertIds],
  };
}
