/** Prometheus Alertmanager webhook (v4) → Signals. */
import { severityFromText } from '../../src/lib/domain/severity.ts';
import type { AlertmanagerAlert, AlertmanagerPayload } from '../../src/lib/protocol/ingest.ts';
import type { Link, Signal, SourceMapping } from '../engine/types.ts';
import { keepHttpLinks, nonEmpty, ownLabel, parseSourceTime, sortedEntries, stableHash, truncateText } from './generic.ts';

/** Longest summary kept, same as PagerDuty's and the generic format's limit. */
export const MAX_SUMMARY_LENGTH = 1024;

/** The alert's own fingerprint, else a stable hash of its sorted labels. */
export function alertFingerprint(alert: { fingerprint?: string | undefined; labels: Record<string, string> }): string {
  return nonEmpty(alert.fingerprint) ?? stableHash(sortedEntries(alert.labels));
}

/**
 * Builds one Signal from an Alertmanager-shaped alert. Shared with the Grafana normaliser,
 * which passes its extra links and summary fallbacks.
 */
export function signalFromAlert(
  alert: AlertmanagerAlert,
  mapping: SourceMapping,
  receivedAt: Date,
  extra: { summaryFallbacks?: (string | undefined)[]; links?: { href: string | undefined; text: string }[]; annotations?: Record<string, string> } = {},
): Signal {
  const { labels } = alert;
  const annotations = { ...alert.annotations, ...extra.annotations };
  const summary =
    nonEmpty(annotations.summary) ??
    nonEmpty(annotations.description) ??
    (extra.summaryFallbacks ?? []).map(nonEmpty).find((s) => s !== undefined) ??
    nonEmpty(labels.alertname) ??
    'Alert';
  const links: Link[] = keepHttpLinks([
    { href: alert.generatorURL, text: 'Source' },
    { href: annotations.runbook_url, text: 'Runbook' },
    ...(extra.links ?? []),
  ]);
  return {
    fingerprint: alertFingerprint(alert),
    status: alert.status,
    action: alert.status === 'firing' ? 'trigger' : 'resolve',
    severity: severityFromText(nonEmpty(labels.severity) ?? nonEmpty(labels.priority)),
    summary: truncateText(summary, MAX_SUMMARY_LENGTH),
    labels,
    annotations,
    links,
    startsAt: parseSourceTime(alert.startsAt) ?? receivedAt,
    // Alertmanager writes Go's zero time (0001-01-01) while the alert is open
    endsAt: parseSourceTime(alert.endsAt),
    client: nonEmpty(ownLabel(labels, mapping.clientLabel)) ?? mapping.defaultClient,
    node: nonEmpty(ownLabel(labels, mapping.nodeLabel)) ?? null,
    groupKey: null,
  };
}

/**
 * Normalises a validated Alertmanager v4 webhook body: one Signal per alert.
 *
 * Severity comes from the `severity` (or `priority`) label; summary from the `summary` or
 * `description` annotation, then `alertname`; links from `generatorURL` and the
 * `runbook_url` annotation (http/https only).
 */
export function normaliseAlertmanager(payload: AlertmanagerPayload, mapping: SourceMapping, receivedAt: Date): Signal[] {
  return payload.alerts.map((alert) => signalFromAlert(alert, mapping, receivedAt));
}
