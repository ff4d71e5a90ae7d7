/** Go's zero time: Alertmanager's `endsAt` for an alert that is still firing. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface TestAlert {
  name: string;
  client: string;
  instance: string;
  status?: 'firing' | 'resolved';
  severity?: string;
  /** @default `${name} on ${instance}` */
  summary?: string;
  startsAt?: string;
  endsAt?: string;
  /** Left out, Watchfloor hashes the labels. */
  fingerprint?: string;
}

/** An Alertmanager webhook v4 body, as Alertmanager posts it. */
export function alertmanagerBody(alerts: TestAlert[]): string {
  return JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="test"}',
    truncatedAlerts: 0,
    status: alerts.some((a) => (a.status ?? 'firing') === 'firing') ? 'firing' : 'resolved',
    receiver: 'watchfloor',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'https://alertmanager.example',
    alerts: alerts.map((a) => ({
      status: a.status ?? 'firing',
      labels: { alertname: a.name, client: a.client, instance: a.instance, severity: a.severity ?? 'warning' },
      annotations: { summary: a.summary ?? `${a.name} on ${a.instance}` },
      startsAt: a.startsAt ?? '2025-03-01T08:00:00Z',
      endsAt: a.endsAt ?? (a.status === 'resolved' ? '2025-03-01T09:00:00Z' : ZERO_TIME),
      generatorURL: 'https://prometheus.example/graph',
      ...(a.fingerprint ? { fingerprint: a.fingerprint } : {}),
    })),
  });
}

/** Posts alerts to a server's Alertmanager webhook with a source token. */
export function postAlertmanager(serverUrl: string, token: string, alerts: TestAlert[]): Promise<Response> {
  return fetch(`${serverUrl}/api/v1/ingest/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: alertmanagerBody(alerts),
  });
}
