import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { addSource } from '../../server/ingest/sources.ts';
import type { IncidentDto, IncidentSnapshot } from '../../src/lib/protocol/incidents.ts';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function post(server: TestServer, route: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${server.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function counts(server: TestServer): Promise<Record<string, number>> {
  const [row] = await server.context.database.rows<Record<string, number | string>>(
    sql`select (select count(*) from signals) as signals, (select count(*) from alerts) as alerts,
      (select count(*) from incidents) as incidents, (select count(*) from changes) as changes, (select count(*) from timeline) as timeline`,
  );
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

describe.each(DATABASES)('ingest formats on $name', (database) => {
  let server: TestServer;
  let cookie: string;
  const tokens: Record<string, string> = {};
  const GRAFANA_SECRET = 'grafana-shared-secret';

  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, {}, drop);
    const db = server.context.database.db;
    for (const format of ['alertmanager', 'grafana', 'generic', 'pagerduty'] as const) {
      tokens[format] = (await addSource(db, { name: `${format} source`, format })).token;
    }
    const hmacSecret = await server.context.secrets.seal(GRAFANA_SECRET, 'sources.hmac_secret');
    tokens.grafanaSigned = (await addSource(db, { name: 'grafana signed', format: 'grafana', hmacSecret })).token;
    const user = await server.addUser('noc@example.com', 'engineer');
    cookie = await server.signIn(user.email, user.password);
  });
  afterAll(async () => {
    await server?.dispose();
  });

  async function openIncidents(): Promise<IncidentDto[]> {
    const response = await fetch(`${server.url}/api/v1/incidents`, { headers: { cookie } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as IncidentSnapshot;
    expect(typeof body.lastChangeId).toBe('number');
    return body.incidents;
  }

  async function incidentBySummary(summary: string): Promise<IncidentDto | undefined> {
    return (await openIncidents()).find((i) => i.summary === summary);
  }

  it('Alertmanager v4: committed before the answer; severity, summary, client; zero-time endsAt = still open', async () => {
    const payload = fixture('alertmanager-v4');
    const answer = await post(server, '/api/v1/ingest/alertmanager', JSON.stringify(payload), { authorization: `Bearer ${tokens.alertmanager}` });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'committed', signals: 2 });

    const incident = await incidentBySummary('CPU above 95% on core-sw-01');
    expect(incident).toMatchObject({ status: 'triggered', severity: 'critical', client: 'acme', alertCount: 1, openAlertCount: 1 });
    const alerts = await server.context.database.rows<{ fingerprint: string; status: string; ends_at: unknown; node: string; links: { href: string }[] }>(
      sql`select a.* from alerts a join sources s on s.id = a.source_id where s.format = 'alertmanager' order by a.fingerprint`,
    );
    // the resolved alert in the fixture was never seen firing: nothing to resolve, nothing stored
    expect(alerts.map((a) => [a.fingerprint, a.status, a.ends_at, a.node])).toEqual([['a1b2c3d4e5f60718', 'firing', null, 'core-sw-01']]);
    // untrusted links: only http(s) is kept
    expect(alerts[0].links.map((l) => l.href)).toEqual([
      'https://prometheus.acme.example/graph?g0.expr=cpu_load%20%3E%200.95',
      'https://runbooks.acme.example/high-cpu',
    ]);
    const [{ n }] = await server.context.database.rows<{ n: number | string }>(sql`select count(*) as n from signals where fingerprint in ('a1b2c3d4e5f60718', '0f1e2d3c4b5a6978')`);
    expect(Number(n)).toBe(2);
  });

  it('Alertmanager also accepts the token as the password of basic auth', async () => {
    const payload = fixture('alertmanager-v4');
    const basic = Buffer.from(`alertmanager:${tokens.alertmanager}`).toString('base64');
    const answer = await post(server, '/api/v1/ingest/alertmanager', JSON.stringify(payload), { authorization: `Basic ${basic}` });
    expect(answer.status).toBe(200);
  });

  it('Grafana v1 without a secret: incident with warning severity, summary from the description', async () => {
    const answer = await post(server, '/api/v1/ingest/grafana', JSON.stringify(fixture('grafana-v1')), { authorization: `Bearer ${tokens.grafana}` });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'committed', signals: 1 });
    const incident = await incidentBySummary('Input errors on Gi0/0/1 above 100/s');
    expect(incident).toMatchObject({ status: 'triggered', severity: 'warning', client: 'acme', alertCount: 1 });
    const [alert] = await server.context.database.rows<{ annotations: Record<string, string>; links: { text: string }[]; starts_at: unknown }>(
      sql`select a.* from alerts a where a.fingerprint = '57c6d9296de2ad39'`,
    );
    expect(alert.annotations.value_string).toContain('142.5');
    expect(alert.links.map((l) => l.text)).toEqual(expect.arrayContaining(['Dashboard', 'Panel', 'Silence']));
    expect(new Date(String(alert.starts_at)).toISOString()).toBe('2025-03-01T08:00:00.000Z');
  });

  it('generic: incident for the firing signal, resolved signal for an unknown fingerprint ignored', async () => {
    const answer = await post(server, '/api/v1/ingest/generic', JSON.stringify(fixture('generic')), { authorization: `Bearer ${tokens.generic}` });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'committed', signals: 2 });
    const incident = await incidentBySummary('BGP session to 203.0.113.1 down on core-sw-01');
    expect(incident).toMatchObject({ status: 'triggered', severity: 'critical', client: 'acme', alertCount: 1 });
    expect((await openIncidents()).some((i) => i.summary === 'UPS on battery at site Leeds')).toBe(false);
  });

  it('PagerDuty: trigger → 202 like PagerDuty; acknowledge → acknowledged; resolve → resolved', async () => {
    const event = { ...fixture('pagerduty-trigger'), routing_key: tokens.pagerduty };
    const answer = await post(server, '/v2/enqueue', JSON.stringify(event));
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ status: 'success', message: 'Event processed', dedup_key: 'acme/backup-srv-01/nightly-backup' });
    const summary = 'Nightly backup failed on backup-srv-01';
    // PagerDuty's "error" is Watchfloor's high (P2); client from custom_details.client
    expect(await incidentBySummary(summary)).toMatchObject({ status: 'triggered', severity: 'high', client: 'acme', alertCount: 1 });

    const ack = await post(server, '/v2/enqueue', JSON.stringify({ routing_key: tokens.pagerduty, event_action: 'acknowledge', dedup_key: 'acme/backup-srv-01/nightly-backup' }));
    expect(ack.status).toBe(202);
    expect(ack.body).toMatchObject({ status: 'success', dedup_key: 'acme/backup-srv-01/nightly-backup' });
    const acknowledged = await incidentBySummary(summary);
    expect(acknowledged?.status).toBe('acknowledged');
    expect(acknowledged?.acknowledgedAt).not.toBeNull();

    const resolve = await post(server, '/v2/enqueue', JSON.stringify({ routing_key: tokens.pagerduty, event_action: 'resolve', dedup_key: 'acme/backup-srv-01/nightly-backup' }));
    expect(resolve.status).toBe(202);
    expect(await incidentBySummary(summary)).toBeUndefined();
    const [row] = await server.context.database.rows<{ status: string; resolved_at: unknown }>(sql`select status, resolved_at from incidents where id = ${acknowledged!.id}`);
    expect(row.status).toBe('resolved');
    expect(row.resolved_at).not.toBeNull();
    const kinds = await server.context.database.rows<{ kind: string }>(sql`select kind from timeline where incident_id = ${acknowledged!.id} order by at, kind`);
    expect(kinds.map((k) => k.kind)).toEqual(expect.arrayContaining(['triggered', 'acknowledged', 'alert_resolved', 'resolved']));
  });

  it('PagerDuty: a trigger without dedup_key gets one back, and the same trigger again dedups onto it', async () => {
    const event: Record<string, unknown> = { ...fixture('pagerduty-trigger'), routing_key: tokens.pagerduty, dedup_key: undefined };
    event.payload = { ...(event.payload as object), summary: 'Disk full on nas-01', class: 'disk' };
    const first = await post(server, '/v2/enqueue', JSON.stringify(event));
    const second = await post(server, '/v2/enqueue', JSON.stringify(event));
    expect(first.status).toBe(202);
    expect(typeof first.body.dedup_key).toBe('string');
    expect(second.body.dedup_key).toBe(first.body.dedup_key);
    expect((await openIncidents()).filter((i) => i.summary === 'Disk full on nas-01')).toHaveLength(1);
  });

  describe('Grafana with an HMAC secret', () => {
    const payloadFor = (alertname: string) => {
      const payload = fixture('grafana-v1') as { alerts: { labels: Record<string, string>; annotations: Record<string, string>; fingerprint: string }[] };
      payload.alerts[0].labels.alertname = alertname;
      payload.alerts[0].annotations.description = `signed ${alertname}`;
      payload.alerts[0].fingerprint = `fp-${alertname}`;
      return JSON.stringify(payload);
    };
    const sign = (body: string, timestamp?: string) =>
      createHmac('sha256', GRAFANA_SECRET)
        .update(timestamp === undefined ? body : `${timestamp}:${body}`)
        .digest('hex');

    it('a correct signature over the raw body is accepted', async () => {
      const body = payloadFor('SignedPlain');
      const answer = await post(server, '/api/v1/ingest/grafana', body, { authorization: `Bearer ${tokens.grafanaSigned}`, 'x-grafana-alerting-signature': sign(body) });
      expect(answer.status).toBe(200);
      expect(await incidentBySummary('signed SignedPlain')).toBeDefined();
    });

    it('a correct signature over timestamp:body is accepted', async () => {
      const body = payloadFor('SignedStamped');
      const timestamp = String(Math.floor(Date.now() / 1000));
      const answer = await post(server, '/api/v1/ingest/grafana', body, {
        authorization: `Bearer ${tokens.grafanaSigned}`,
        'x-grafana-alerting-signature': sign(body, timestamp),
        'x-grafana-alerting-timestamp': timestamp,
      });
      expect(answer.status).toBe(200);
      expect(await incidentBySummary('signed SignedStamped')).toBeDefined();
    });

    it('a wrong, missing, malformed or replayed-with-another-timestamp signature → 401 and nothing stored', async () => {
      const body = payloadFor('SignedBad');
      const before = await counts(server);
      const auth = { authorization: `Bearer ${tokens.grafanaSigned}` };
      const attempts: Record<string, string>[] = [
        {},
        { 'x-grafana-alerting-signature': createHmac('sha256', 'not-the-secret').update(body).digest('hex') },
        { 'x-grafana-alerting-signature': sign(`${body} `) },
        { 'x-grafana-alerting-signature': 'zz' },
        { 'x-grafana-alerting-signature': sign(body, '1700000000'), 'x-grafana-alerting-timestamp': '1700000001' },
        { 'x-grafana-alerting-signature': sign(body), 'x-grafana-alerting-timestamp': '1700000000' },
      ];
      for (const headers of attempts) {
        const answer = await post(server, '/api/v1/ingest/grafana', body, { ...auth, ...headers });
        expect(answer.status, JSON.stringify(headers)).toBe(401);
        expect(answer.body).toMatchObject({ error: { code: 'unauthenticated' } });
      }
      expect(await counts(server)).toEqual(before);
      expect(await incidentBySummary('signed SignedBad')).toBeUndefined();
    });
  });
});
