import { decodeDelta } from '../../src/lib/protocol/incidents.ts';
/**
 * Web Push end to end against a push service on loopback (tests/integration/push-test-endpoint.ts):
 * what the server sends is checked and decrypted the way a push service and a phone would, then the
 * notification's Acknowledge is performed with the token inside, as the service worker does.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { postAlertmanager, type TestAlert } from '../helpers/alertmanager.ts';
import { addSource } from '../../server/ingest/sources.ts';
import { person, until, type Person } from './console-support.ts';
import { TestPushService, type ReceivedPush, type TestSubscription } from './push-test-endpoint.ts';
import type { PushPayload } from '../../src/lib/protocol/push.ts';
import type { IncidentDelta, IncidentDto } from '../../src/lib/protocol/incidents.ts';
import type { IncidentDetailDto } from '../../src/lib/protocol/console.ts';

type Page = Extract<PushPayload, { kind: 'page' }>;

describe.each(DATABASES)('push paging on $name', (database) => {
  let service: TestPushService;
  let server: TestServer;
  let token: string;
  let ana: Person;
  let bob: Person;
  let anaDevice: TestSubscription;
  let serial = 0;

  beforeAll(async () => {
    service = await TestPushService.start();
    const { url, drop } = await database.url();
    server = await startTestServer(
      url,
      { WATCHFLOOR_PUSH_TEST_LOOPBACK: 'on', WATCHFLOOR_PUSH_TEST_CA: service.caFile, INGEST_RATE_LIMIT: '100000' },
      drop,
    );
    token = (await addSource(server.context.database.db, { name: 'prometheus', format: 'alertmanager' })).token;
    ana = await person(server, 'ana@example.com', 'engineer', null, 'Ana');
    bob = await person(server, 'bob@example.com', 'engineer', null, 'Bob');
    expect((await ana.call('PATCH', '/api/v1/session/me', { onShift: true })).status).toBe(200);
    anaDevice = service.subscribe();
    const subscribed = await ana.post('/api/v1/push/subscriptions', anaDevice.json);
    expect(subscribed.status, JSON.stringify(subscribed.body)).toBe(201);
  });
  afterAll(async () => {
    await server?.dispose();
    await service?.close();
  });
  beforeEach(async () => {
    await server.context.push.pager.idle();
    service.received.length = 0;
  });

  /** Fires alerts through the real webhook; answers once committed. */
  async function fire(alerts: TestAlert[]): Promise<void> {
    const response = await postAlertmanager(server.url, token, alerts);
    expect(response.status).toBe(200);
    await response.body?.cancel();
  }

  /** A fresh group (alertname) for one test, so incidents never mix between tests. */
  function group(severity = 'critical', client = 'acme') {
    serial += 1;
    const name = `PushTest${serial}`;
    return (instance: string, over: Partial<TestAlert> = {}): TestAlert => ({ name, client, instance, severity, summary: `${name} down on ${instance}`, ...over });
  }

  async function incidentOf(summary: string): Promise<IncidentDto> {
    const [row] = await server.context.database.rows<{ id: string }>(sql`select incident_id as id from alerts where summary = ${summary}`);
    const detail = await ana.get<IncidentDetailDto>(`/api/v1/incidents/${row.id}`);
    expect(detail.status).toBe(200);
    return detail.body.incident;
  }

  /** Every push (decrypted) this incident caused so far, after the pager has caught up. */
  async function pagesFor(incidentId: string): Promise<{ push: ReceivedPush; page: Page }[]> {
    await server.context.push.pager.idle();
    return service.received
      .map((push) => ({ push, page: JSON.parse(push.plaintext ?? '{}') as Page }))
      .filter(({ page }) => page.kind === 'page' && page.incidentId === incidentId);
  }

  function acknowledgeWith(ackToken: string): Promise<Response> {
    // As the service worker does: the token is the only credential (no cookie).
    return fetch(`${server.url}/api/v1/push/actions/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: ackToken }),
    });
  }

  async function incidentRow(id: string): Promise<{ status: string; version: number }> {
    const [row] = await server.context.database.rows<{ status: string; version: number }>(sql`select status, version from incidents where id = ${id}::uuid`);
    return { status: row.status, version: Number(row.version) };
  }

  it('serves the VAPID public key to signed-in people only', async () => {
    const answer = await ana.get<{ publicKey: string }>('/api/v1/push/public-key');
    expect(answer.status).toBe(200);
    const key = Buffer.from(answer.body.publicKey, 'base64url');
    expect(key.length).toBe(65);
    expect(key[0]).toBe(0x04);
    expect((await fetch(`${server.url}/api/v1/push/public-key`)).status).toBe(401);
  });

  it('refuses subscriptions that are not https push endpoints or carry bad keys, storing nothing', async () => {
    const before = await server.context.database.rows(sql`select count(*)::int as n from push_subscriptions`);
    const good = service.subscribe().json;
    const cases: [unknown, string][] = [
      [{ ...good, endpoint: good.endpoint.replace('https:', 'http:') }, 'endpoint'],
      [{ ...good, endpoint: 'https://10.1.2.3/push/x' }, 'endpoint'],
      [{ ...good, endpoint: 'https://user:pw@push.example/x' }, 'endpoint'],
      [{ ...good, keys: { ...good.keys, p256dh: 'AAAA' } }, 'keys.p256dh'],
      [{ ...good, keys: { p256dh: good.keys.p256dh } }, 'keys.auth'],
      [{ endpoint: 42 }, 'endpoint'],
    ];
    for (const [body, path] of cases) {
      const answer = await ana.post<{ error: { code: string; path?: string; message: string } }>('/api/v1/push/subscriptions', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.message).toContain(path.split('.')[0]);
    }
    const after = await server.context.database.rows(sql`select count(*)::int as n from push_subscriptions`);
    expect(after).toEqual(before);
    expect((await fetch(`${server.url}/api/v1/push/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(good) })).status).toBe(401);
  });

  it('pages an on-shift engineer once, readable only with the phone’s keys; Acknowledge with the token works once', async () => {
    const console = await bob.socket();
    const deltas: IncidentDelta[] = [];
    console.on('incidents:changed', (delta) => deltas.push(decodeDelta(delta)));
    expect((await console.timeout(10_000).emitWithAck('incidents:subscribe', { scope: {}, mode: 'console' })).ok).toBe(true);
    try {
      const alert = group('critical')('core-sw-01', { summary: 'BGP session down on core-sw-01' });
      await fire([alert]);
      const incident = await incidentOf(alert.summary!);
      const pages = await pagesFor(incident.id);
      expect(pages).toHaveLength(1);
      const [{ push, page }] = pages;

      // What a push service checks: VAPID for this origin, valid now, the body encrypted for this device.
      expect(push.problems).toEqual([]);
      expect(push.answered).toBe(201);
      expect(push.subscriptionId).toBe(anaDevice.id);
      expect(push.vapid?.aud).toBe(service.origin);
      expect(push.headers.urgency).toBe('high');
      // What the phone shows.
      expect(page.title).toContain('CRITICAL');
      expect(page.title).toContain('acme');
      expect(page.body).toContain('BGP session down on core-sw-01');
      expect(page.body).toMatch(/Opened just now|Open \d+ min/);
      expect(page.tag).toBe(`incident-${incident.id}`);
      expect(page.url).toBe(`/m/incident/${incident.id}`);
      // No more than the notification needs: no labels, no other people's data.
      expect(Object.keys(page).sort()).toEqual(['ackToken', 'body', 'incidentId', 'kind', 'number', 'sentAt', 'severity', 'tag', 'title', 'url', 'v']);

      const acknowledged = await acknowledgeWith(page.ackToken);
      expect(acknowledged.status).toBe(200);
      expect(await acknowledged.json()).toMatchObject({ result: 'acknowledged', incidentId: incident.id, message: 'Acknowledged by you' });

      const detail = (await ana.get<IncidentDetailDto>(`/api/v1/incidents/${incident.id}`)).body;
      expect(detail.incident.status).toBe('acknowledged');
      const entry = detail.timeline.find((t) => t.kind === 'acknowledged');
      expect(entry).toMatchObject({ via: 'push', actor: { type: 'user', id: ana.id, name: 'Ana' } });
      // The console saw it live.
      await until(() => deltas.some((d) => d.incidents.some((i) => i.id === incident.id && i.status === 'acknowledged')), 'the acknowledgement on the console');

      // The same token again: refused, and nothing changes.
      const before = await incidentRow(incident.id);
      const replay = await acknowledgeWith(page.ackToken);
      expect(replay.status).toBe(401);
      expect(((await replay.json()) as { error: { message: string } }).error.message).toMatch(/already used/);
      expect(await incidentRow(incident.id)).toEqual(before);
    } finally {
      console.disconnect();
    }
  });

  it('a storm of 500 alerts in one incident is one page', async () => {
    const alert = group('critical');
    const instances = Array.from({ length: 500 }, (_, i) => `host-${String(i).padStart(3, '0')}`);
    // Ten webhooks of 50 alerts: ten commits, each touching the same incident.
    for (let batch = 0; batch < 10; batch++) await fire(instances.slice(batch * 50, batch * 50 + 50).map((instance) => alert(instance)));
    const incident = await incidentOf(alert('host-499').summary!);
    expect(incident.alertCount).toBe(500);
    const pages = await pagesFor(incident.id);
    expect(pages).toHaveLength(1);
    const recorded = await server.context.database.rows(sql`select reason from push_pages where incident_id = ${incident.id}::uuid`);
    expect(recorded).toEqual([{ reason: 'triggered' }]);
  });

  it('a webhook that opens several incidents at once pages each of them once and records each page’s delivery', async () => {
    const groups = [group('critical'), group('high'), group('critical', 'globex')];
    await fire(groups.map((alert, i) => alert(`core-0${i}`))); // one commit
    for (const [i, alert] of groups.entries()) {
      const incident = await incidentOf(alert(`core-0${i}`).summary!);
      const pages = await pagesFor(incident.id);
      expect(pages.map((p) => p.page.number)).toEqual([incident.number]);
      expect(pages[0].push.subscriptionId).toBe(anaDevice.id);
      const recorded = await server.context.database.rows(
        sql`select reason, severity, recipients, delivered, failed from push_pages where incident_id = ${incident.id}::uuid`,
      );
      expect(recorded).toEqual([{ reason: 'triggered', severity: incident.severity, recipients: [ana.id], delivered: 1, failed: 0 }]);
    }
  });

  it('pages again when an acknowledged incident is triggered again, and when a resolved one reopens', async () => {
    const alert = group('high');
    await fire([alert('db-01')]);
    const incident = await incidentOf(alert('db-01').summary!);
    expect(await pagesFor(incident.id)).toHaveLength(1);

    expect((await ana.post(`/api/v1/incidents/${incident.id}/acknowledge`, {})).status).toBe(200);
    await fire([alert('db-02')]); // joins the acknowledged incident: nobody is woken for it
    expect(await pagesFor(incident.id)).toHaveLength(1);

    expect((await ana.post(`/api/v1/incidents/${incident.id}/unacknowledge`, {})).status).toBe(200);
    const afterRetrigger = await pagesFor(incident.id);
    expect(afterRetrigger).toHaveLength(2);
    expect(afterRetrigger[1].page.title).toMatch(/^Re-triggered · P2 HIGH · acme/);

    const now = new Date().toISOString();
    await fire([alert('db-01', { status: 'resolved', endsAt: now }), alert('db-02', { status: 'resolved', endsAt: now })]);
    expect((await incidentRow(incident.id)).status).toBe('resolved');
    await fire([alert('db-01', { startsAt: new Date().toISOString() })]); // fires again within the reopen window
    expect((await incidentRow(incident.id)).status).toBe('triggered');
    expect(await pagesFor(incident.id)).toHaveLength(3);
  });

  it('pages again when a triggered incident escalates to a higher severity', async () => {
    const alert = group('high');
    await fire([alert('edge-01')]);
    const incident = await incidentOf(alert('edge-01').summary!);
    await fire([alert('edge-02', { severity: 'critical' })]);
    const pages = await pagesFor(incident.id);
    expect(pages.map((p) => p.page.severity)).toEqual(['high', 'critical']);
    expect(pages[1].page.title).toMatch(/^Escalated · P1 CRITICAL/);
  });

  it('pages only who is on shift, may see the client, takes that severity and is outside quiet hours', async () => {
    const subscribe = async (who: Person) => {
      const device = service.subscribe();
      expect((await who.post('/api/v1/push/subscriptions', device.json)).status).toBe(201);
      return device;
    };
    const onShift = (who: Person) => who.call('PATCH', '/api/v1/session/me', { onShift: true });
    const carol = await person(server, 'carol@example.com', 'engineer', ['globex'], 'Carol'); // another client only
    const dan = await person(server, 'dan@example.com', 'engineer', null, 'Dan'); // critical only
    const eve = await person(server, 'eve@example.com', 'engineer', null, 'Eve'); // always in quiet hours
    const fay = await person(server, 'fay@example.com', 'engineer', null, 'Fay'); // off shift
    const gus = await person(server, 'gus@example.com', 'viewer', null, 'Gus'); // cannot acknowledge
    const devices = new Map<string, string>();
    for (const who of [carol, dan, eve, fay, gus]) devices.set((await subscribe(who)).id, who.email);
    for (const who of [carol, dan, eve, gus]) expect((await onShift(who)).status).toBe(200);
    expect((await dan.call('PUT', '/api/v1/push/settings', { minSeverity: 'critical', quietHours: null, timezone: 'Europe/Berlin' })).status).toBe(200);
    // Quiet from an hour ago to an hour ahead, on Auckland's clock.
    const auckland = (offsetMs: number) =>
      new Intl.DateTimeFormat('en-GB', { timeZone: 'Pacific/Auckland', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(Date.now() + offsetMs));
    const quietHours = { start: auckland(-3600_000), end: auckland(3600_000) };
    const quiet = await eve.call('PUT', '/api/v1/push/settings', { minSeverity: 'info', quietHours, timezone: 'Pacific/Auckland' });
    expect(quiet.status).toBe(200);
    expect(quiet.body).toEqual({ minSeverity: 'info', quietHours, timezone: 'Pacific/Auckland' });

    const alert = group('high', 'acme');
    await fire([alert('fw-01')]);
    const incident = await incidentOf(alert('fw-01').summary!);
    const pagedEmails = (await pagesFor(incident.id)).map((p) => devices.get(p.push.subscriptionId) ?? (p.push.subscriptionId === anaDevice.id ? 'ana' : '?'));
    expect(pagedEmails).toEqual(['ana']);

    const [recorded] = await server.context.database.rows<{ recipients: string[] }>(sql`select recipients from push_pages where incident_id = ${incident.id}::uuid`);
    expect(recorded.recipients).toEqual([ana.id]);

    // Bad settings are refused with the field named, and nothing is stored.
    for (const [body, path] of [
      [{ minSeverity: 'loud', quietHours: null, timezone: 'UTC' }, 'minSeverity'],
      [{ minSeverity: 'high', quietHours: { start: '25:00', end: '07:00' }, timezone: 'UTC' }, 'quietHours.start'],
      [{ minSeverity: 'high', quietHours: null, timezone: 'Mars/Olympus' }, 'timezone'],
      // Offsets Intl takes, which Postgres reads as POSIX zones (west for east) and which know no daylight saving.
      [{ minSeverity: 'high', quietHours: { start: '22:00', end: '07:00' }, timezone: '+05:30' }, 'timezone'],
      [{ minSeverity: 'high', quietHours: null, timezone: '-0800' }, 'timezone'],
    ] as const) {
      const refused = await dan.call<{ error: { code: string; message: string; path?: string } }>('PUT', '/api/v1/push/settings', body);
      expect(refused.status, body.timezone).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'validation_failed', path });
      expect(refused.body.error.message).toContain(`body.${path}:`);
    }
    expect((await dan.get('/api/v1/push/settings')).body).toMatchObject({ minSeverity: 'critical', timezone: 'Europe/Berlin' });
  });

  it('a device the push service says is gone (410) is removed', async () => {
    const gone = service.subscribe();
    expect((await bob.post('/api/v1/push/subscriptions', gone.json)).status).toBe(201);
    service.gone.add(gone.id);
    const result = await bob.post<{ delivered: number; failed: number; removed: number }>('/api/v1/push/test');
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ delivered: 0, failed: 0, removed: 1 });
    expect(service.received.filter((p) => p.subscriptionId === gone.id).map((p) => p.answered)).toEqual([410]);
    const rows = await server.context.database.rows(sql`select id from push_subscriptions where endpoint = ${gone.json.endpoint}`);
    expect(rows).toEqual([]);
    expect((await bob.get<unknown[]>('/api/v1/push/subscriptions')).body).toEqual([]);
    // Nothing left to test with: said so.
    expect((await bob.post('/api/v1/push/test')).status).toBe(409);
  });

  it('sends a test notification to my devices, and I can remove a device', async () => {
    const device = service.subscribe();
    expect((await bob.post('/api/v1/push/subscriptions', device.json)).status).toBe(201);
    const result = await bob.post('/api/v1/push/test');
    expect(result.body).toEqual({ delivered: 1, failed: 0, removed: 0 });
    const [received] = service.received.filter((p) => p.subscriptionId === device.id);
    expect(received.problems).toEqual([]);
    expect(JSON.parse(received.plaintext!)).toMatchObject({ kind: 'test', title: 'Watchfloor test notification' });
    // Someone else's device is not mine to remove.
    const [listed] = (await bob.get<{ id: string }[]>('/api/v1/push/subscriptions')).body;
    expect((await ana.call('DELETE', `/api/v1/push/subscriptions/${listed.id}`)).status).toBe(404);
    expect((await bob.call('DELETE', '/api/v1/push/subscriptions', { endpoint: device.json.endpoint })).status).toBe(204);
    expect((await bob.get<unknown[]>('/api/v1/push/subscriptions')).body).toEqual([]);
  });

  it('refuses an expired, forged or foreign token with 401 and changes nothing; tells who acknowledged first', async () => {
    const alert = group('critical');
    await fire([alert('lb-01')]);
    const incident = await incidentOf(alert('lb-01').summary!);
    const [{ page }] = await pagesFor(incident.id);
    const before = await incidentRow(incident.id);

    const tokens = server.context.push.tokens;
    const expired = await tokens.issue(ana.id, incident.id, new Date(Date.now() - 11 * 60_000));
    const expiredAnswer = await acknowledgeWith(expired);
    expect(expiredAnswer.status).toBe(401);
    expect(((await expiredAnswer.json()) as { error: { message: string } }).error.message).toMatch(/expired/);
    const [head, body] = page.ackToken.split('.');
    const forgedBody = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), sub: bob.id })).toString('base64url');
    expect((await acknowledgeWith(`${head}.${forgedBody}.${page.ackToken.split('.')[2]}`)).status).toBe(401);
    expect((await acknowledgeWith('not-a-token')).status).toBe(401);
    expect((await acknowledgeWith('')).status).toBe(400);
    expect(await incidentRow(incident.id)).toEqual(before);

    // Bob acknowledges in the console first; Ana's notification then says so.
    expect((await bob.post(`/api/v1/incidents/${incident.id}/acknowledge`, {})).status).toBe(200);
    const late = await acknowledgeWith(page.ackToken);
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: { message: string } }).error.message).toBe(`#${incident.number} was already acknowledged by Bob`);
  });
});
