/**
 * A source's token rotated, the source disabled and enabled again, over REST: ingest in this process sees each
 * change at the very next webhook (its cached lookups are forgotten), only admins may make them, and the audit
 * log records them without any token.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { person, uniqueAlert, type Person } from './console-support.ts';
import { postAlertmanager } from '../helpers/alertmanager.ts';
import { addGrafanaSource, grafanaWebhook, postGrafana } from '../helpers/stored-secrets.ts';
import type { SourceDto, SourceTokenDto } from '../../src/lib/protocol/api.ts';
import type { AuditPage } from '../../src/lib/protocol/console.ts';

const UNKNOWN_ID = '00000000-0000-4000-8000-00000000abcd';

describe.each(DATABASES)('source token rotation, disable and enable on $name', (database) => {
  let server: TestServer;
  let admin: Person;
  const others: Person[] = [];

  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, { INGEST_RATE_LIMIT: '100000' }, drop);
    admin = await person(server, 'ada@example.com', 'admin', null, 'Ada Admin');
    for (const role of ['engineer', 'lead', 'viewer'] as const) others.push(await person(server, `${role}@example.com`, role));
  });
  afterAll(async () => {
    await server?.dispose();
  });

  async function addSource(name: string, format: SourceDto['format'] = 'alertmanager'): Promise<SourceTokenDto> {
    const created = await admin.post<SourceTokenDto>('/api/v1/sources', { name, format });
    expect(created.status).toBe(201);
    return created.body;
  }

  /** Posts one new alert with `token`; the status and the parsed answer. */
  async function ingest(token: string): Promise<{ status: number; body: any }> {
    const response = await postAlertmanager(server.url, token, [uniqueAlert('acme')]);
    return { status: response.status, body: await response.json() };
  }

  /** A PagerDuty Events v2 trigger with `routingKey`. */
  async function enqueue(routingKey: string): Promise<{ status: number; body: any }> {
    const response = await fetch(`${server.url}/v2/enqueue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: routingKey, event_action: 'trigger', payload: { summary: `pd ${Math.random()}`, source: 'backup-srv-01', severity: 'error' } }),
    });
    return { status: response.status, body: await response.json() };
  }

  /** Rows in every table a webhook writes to. */
  async function stored(): Promise<string> {
    const [row] = await server.context.database.rows<Record<string, number | string>>(
      sql`select (select count(*) from signals) as signals, (select count(*) from alerts) as alerts, (select count(*) from incidents) as incidents, (select count(*) from changes) as changes`,
    );
    return JSON.stringify(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])));
  }

  async function signalsOf(sourceId: string): Promise<number> {
    const [row] = await server.context.database.rows<{ n: number | string }>(sql`select count(*) as n from signals where source_id = ${sourceId}::uuid`);
    return Number(row.n);
  }

  it('a rotated token: the old one is refused at once (401, nothing stored), the new one ingests', async () => {
    const { source, token: old } = await addSource('rotating-am');
    // The old token is looked up (and cached) before the rotation.
    expect((await ingest(old)).status).toBe(200);
    const rotated = await admin.post<SourceTokenDto>(`/api/v1/sources/${source.id}/token`);
    expect(rotated.status).toBe(200);
    const { token } = rotated.body;
    expect(token).toMatch(/^wfs_\S{20,}$/);
    expect(token).not.toBe(old);
    expect(rotated.body.source).toMatchObject({ id: source.id, name: 'rotating-am', enabled: true, tokenPrefix: token.slice(0, 8) });

    const before = await stored();
    const refused = await ingest(old);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: { code: 'unauthenticated', message: 'unknown source token' } });
    expect(await stored()).toBe(before);

    expect((await ingest(token)).status).toBe(200);
    expect(await signalsOf(source.id)).toBe(2);
    // The list shows the new prefix and neither token.
    const listed = await admin.get<{ sources: SourceDto[] }>('/api/v1/sources');
    expect(listed.body.sources.find((s) => s.id === source.id)?.tokenPrefix).toBe(token.slice(0, 8));
    expect(JSON.stringify(listed.body)).not.toContain(token);
  });

  it('a rotated PagerDuty routing key keeps its shape; the old key is refused in PagerDuty’s own format', async () => {
    const { source, token: old } = await addSource('rotating-pd', 'pagerduty');
    expect((await enqueue(old)).status).toBe(202);
    const { token } = (await admin.post<SourceTokenDto>(`/api/v1/sources/${source.id}/token`)).body;
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    const refused = await enqueue(old);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ status: 'error', message: 'unknown source token', errors: ['unknown source token'] });
    expect((await enqueue(token)).body).toMatchObject({ status: 'success' });
  });

  it('a disabled source: 401 saying it is disabled and nothing stored; enabled again, it ingests with the same token', async () => {
    const { source, token } = await addSource('switching-am');
    expect((await ingest(token)).status).toBe(200);

    const disabled = await admin.call<{ source: SourceDto }>('PATCH', `/api/v1/sources/${source.id}`, { enabled: false });
    expect(disabled.status).toBe(200);
    expect(disabled.body.source).toMatchObject({ id: source.id, enabled: false });
    const before = await stored();
    const refused = await ingest(token);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: { code: 'unauthenticated', message: expect.stringContaining('this source is disabled') } });
    expect(await stored()).toBe(before);
    expect((await admin.get<{ sources: SourceDto[] }>('/api/v1/sources')).body.sources.find((s) => s.id === source.id)?.enabled).toBe(false);

    const enabled = await admin.call<{ source: SourceDto }>('PATCH', `/api/v1/sources/${source.id}`, { enabled: true });
    expect(enabled.body.source.enabled).toBe(true);
    expect((await ingest(token)).status).toBe(200);
    expect(await signalsOf(source.id)).toBe(2);
  });

  it('a disabled PagerDuty source is refused in PagerDuty’s format, saying it is disabled', async () => {
    const { source, token } = await addSource('switching-pd', 'pagerduty');
    expect((await enqueue(token)).status).toBe(202);
    await admin.call('PATCH', `/api/v1/sources/${source.id}`, { enabled: false });
    const before = await stored();
    const refused = await enqueue(token);
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ status: 'error', message: expect.stringContaining('this source is disabled'), errors: [expect.stringContaining('this source is disabled')] });
    expect(await stored()).toBe(before);
  });

  it('a new HMAC secret applies to the next Grafana webhook', async () => {
    const cookie = admin.cookie;
    const { id, token } = await addGrafanaSource(server, cookie, 'grafana-rekeyed', 'grafana-secret-before');
    const first = grafanaWebhook('grafana-secret-before');
    expect((await postGrafana(server, token, first.body, first.signature)).status).toBe(200);
    expect((await admin.call('PUT', `/api/v1/sources/${id}/hmac-secret`, { hmacSecret: 'grafana-secret-after' })).status).toBe(200);
    const signed = grafanaWebhook('grafana-secret-after');
    expect((await postGrafana(server, token, signed.body, signed.signature)).status).toBe(200);
    const stale = grafanaWebhook('grafana-secret-before');
    expect((await postGrafana(server, token, stale.body, stale.signature)).status).toBe(401);
  });

  it('engineers, leads and viewers get 403 and nothing changes', async () => {
    const { source, token } = await addSource('guarded-am');
    for (const someone of others) {
      const rotate = await someone.post(`/api/v1/sources/${source.id}/token`);
      expect(rotate.status, someone.role).toBe(403);
      expect(rotate.body).toEqual({ error: { code: 'forbidden', message: expect.any(String) } });
      expect((await someone.call('PATCH', `/api/v1/sources/${source.id}`, { enabled: false })).status, someone.role).toBe(403);
    }
    const listed = (await admin.get<{ sources: SourceDto[] }>('/api/v1/sources')).body.sources.find((s) => s.id === source.id);
    expect(listed).toEqual(source);
    expect((await ingest(token)).status).toBe(200);
    expect((await admin.get<AuditPage>(`/api/v1/audit?entity=source&entityId=${source.id}`)).body.entries.map((e) => e.action)).toEqual(['source.create']);
  });

  it('an unknown or malformed id → 404; a bad PATCH body → 400 naming enabled', async () => {
    for (const id of [UNKNOWN_ID, 'not-a-uuid']) {
      const rotate = await admin.post(`/api/v1/sources/${id}/token`);
      expect(rotate.status, id).toBe(404);
      expect(rotate.body).toEqual({ error: { code: 'not_found', message: 'no such source' } });
      expect((await admin.call('PATCH', `/api/v1/sources/${id}`, { enabled: false })).status, id).toBe(404);
    }
    const { source, token } = await addSource('patched-badly');
    for (const body of [{}, { enabled: 'no' }, { enabled: null }]) {
      const refused = await admin.call('PATCH', `/api/v1/sources/${source.id}`, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body).toMatchObject({ error: { code: 'validation_failed', path: 'enabled', message: expect.stringContaining('body.enabled') } });
    }
    // Nothing but `enabled` may be changed this way.
    const extra = await admin.call('PATCH', `/api/v1/sources/${source.id}`, { enabled: true, tokenHash: 'x' });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toContain('tokenHash');
    expect((await ingest(token)).status).toBe(200);
  });

  it('records rotations and switches in the audit log, as the admin’s doing, once each, without any token', async () => {
    const { source, token: first } = await addSource('audited-am');
    const { token: second } = (await admin.post<SourceTokenDto>(`/api/v1/sources/${source.id}/token`)).body;
    await admin.call('PATCH', `/api/v1/sources/${source.id}`, { enabled: false });
    await admin.call('PATCH', `/api/v1/sources/${source.id}`, { enabled: true });
    // Asked again (a retry, a second click): answered with the source as it is, recorded once.
    const again = await admin.call<{ source: { enabled: boolean } }>('PATCH', `/api/v1/sources/${source.id}`, { enabled: true });
    expect(again.status).toBe(200);
    expect(again.body.source.enabled).toBe(true);
    const entries = (await admin.get<AuditPage>(`/api/v1/audit?entity=source&entityId=${source.id}`)).body.entries;
    expect(entries.map((e) => [e.action, e.actor, e.detail])).toEqual([
      ['source.update', `user:${admin.id}`, { changed: { enabled: true } }],
      ['source.update', `user:${admin.id}`, { changed: { enabled: false } }],
      ['source.rotate_token', `user:${admin.id}`, { changed: { token: '(rotated)' } }],
      ['source.create', `user:${admin.id}`, expect.anything()],
    ]);
    const rows = JSON.stringify(await server.context.database.rows(sql`select * from audit_log where entity = 'source'`));
    for (const token of [first, second]) {
      expect(rows).not.toContain(token);
      expect(rows).not.toContain(token.slice(4, 20));
    }
  });
});
