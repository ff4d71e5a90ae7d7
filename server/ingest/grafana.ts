/** Grafana unified alerting webhook (v1) → Signals. */
import type { GrafanaPayload } from '../../src/lib/protocol/ingest.ts';
import type { Signal, SourceMapping } from '../engine/types.ts';
import { signalFromAlert } from './alertmanager.ts';
import { nonEmpty } from './generic.ts';

/**
 * Normalises a validated Grafana webhook body: the Alertmanager rules, plus summary
 * fallbacks (`message` / `title` annotations, then the notification title), links to the
 * dashboard, panel and silence page, and Grafana's `valueString` kept as the
 * `value_string` annotation (the measured value is what the NOC engineer asks first).
 */
export function normaliseGrafana(payload: GrafanaPayload, mapping: SourceMapping, receivedAt: Date): Signal[] {
  return payload.alerts.map((alert) => {
    const valueString = nonEmpty(alert.valueString);
    return signalFromAlert(alert, mapping, receivedAt, {
      summaryFallbacks: [alert.annotations.message, alert.annotations.title],
      links: [
        { href: alert.dashboardURL, text: 'Dashboard' },
        { href: alert.panelURL, text: 'Panel' },
        { href: alert.silenceURL, text: 'Silence' },
      ],
      annotations:
        valueString !== undefined && alert.annotations.value_string === undefined ? { value_string: valueString } : {},
    });
  });
}
