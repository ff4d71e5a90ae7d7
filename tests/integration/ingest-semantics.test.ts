import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { addSource } from '../../server/ingest/sources.ts';
import { readChangeLogAfter, readChangesAfter } from '../../server/db/incident-store.ts';
import { alertmanagerBody } from '../helpers/alertmanager.ts';
import type { IncidentDto, IncidentSnapshot } from '../../src/lib/protocol/incidents.ts';

const alertmanager = alertmanagerBody;

interface Env {
  server: TestServer;
  token: string;
  cookie: string;
}

async function startEnv(database: (typeof DATABASES)[number], env: Record<string, string> = {}): Promise<Env> {
  const { url, drop } = await database.url();
  const server = await startTestServer(url, env, drop);
  const { token } = await addSource(server.context.database.db, { name: 'prometheus', format: 'alertmanager' });
  const user = await server.addUser('noc@example.com', 'engineer');
  return { server, token, cookie: await server.signIn(user.email, user.password) };
}

async function send(env: Env, body: string): Promise<void> {
  const response = await fetch(`${env.server.url}/api/v1/ingest/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${env.token}` },
    body,
  });
  expect(response.status, await response.clone().text()).toBe(200);
  await response.body?.cancel();
}

async function counts(env: Env): Promise<Record<string, number>> {
  const [row] = await env.server.context.database.rows<Record<string, number | string>>(
    sql`select (select count(*) from alerts) as alerts, (select count(*) from incidents) as incidents,
      (select count(*) from changes) as changes, (select count(*) from timeline) as timeline`,
  );
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

interface IncidentRow {
  id: string;
  status: string;
  alert_count: number;
  open_alert_count: number;
  created_at: unknown;
  version: number;
}

/** Every incident of a client, oldest first, straight from the database. */
async function incidentsOf(env: Env, client: string): Promise<IncidentRow[]> {
  return env.server.context.database.rows<IncidentRow>(sql`select * from incidents where client = ${client} order by created_at, number`);
}

async function timelineKinds(env: Env, incidentId: string): Promise<string[]> {
  const rows = await env.server.context.database.rows<{ kind: string }>(sql`select kind from timeline where incident_id = ${incidentId} order by at, kind`);
  return rows.map((r) => r.kind);
}

async function openIncidents(env: Env, client: string): Promise<IncidentDto[]> {
  const response = await fetch(`${env.server.url}/api/v1/incidents?client=${client}`, { headers: { cookie: env.cookie } });
  expect(response.status).toBe(200);
  return ((await response.json()) as IncidentSnapshot).incidents;
}

describe.each(DATABASES)('ingest semantics on $name', (database) => {
  let env: Env;

  beforeAll(async () => {
    env = await startEnv(database);
  });
  afterAll(async () => {
    await env?.server.dispose();
  });

  it('idempotent: the same payload twice → same incidents, no new timeline rows, no new change rows', async () => {
    const body = alertmanager([
      { name: 'LinkDown', client: 'idem', instance: 'sw-1' },
      { name: 'LinkDown', client: 'idem', instance: 'sw-2' },
      { name: 'DiskFull', client: 'idem', instance: 'nas-1', severity: 'critical' },
    ]);
    await send(env, body);
    const afterFirst = await counts(env);
    const incidents = await openIncidents(env, 'idem');
    expect(incidents.map((i) => [i.summary, i.alertCount, i.severity]).sort()).toEqual([
      ['DiskFull on nas-1', 1, 'critical'],
      ['LinkDown on sw-1', 2, 'warning'],
    ]);
    await send(env, body);
    await send(env, body);
    expect(await counts(env)).toEqual(afterFirst);
    expect(await openIncidents(env, 'idem')).toEqual(incidents);
  });

  it('Alertmanager repeat-interval resend of firing alerts: no duplicates, the incident clock is unchanged', async () => {
    await send(env, alertmanager([{ name: 'HighLatency', client: 'repeat', instance: 'web-1' }]));
    const [first] = await incidentsOf(env, 'repeat');
    const before = await counts(env);
    for (let i = 0; i < 3; i++) {
      // a later resend carries the same startsAt; new receivers or summary text must not reopen anything
      await new Promise((r) => setTimeout(r, 5));
      await send(env, alertmanager([{ name: 'HighLatency', client: 'repeat', instance: 'web-1' }]));
    }
    const after = await incidentsOf(env, 'repeat');
    expect(after).toHaveLength(1);
    expect(after[0].id).toBe(first.id);
    expect(new Date(String(after[0].created_at)).getTime()).toBe(new Date(String(first.created_at)).getTime());
    expect(after[0].status).toBe('triggered');
    expect(await counts(env)).toEqual(before);
    const [alert] = await env.server.context.database.rows<{ count: number }>(sql`select count from alerts where client = 'repeat'`);
    expect(Number(alert.count)).toBe(4);
  });

  it('grouping: same client + alertname → one incident; another client → its own incident', async () => {
    await send(env, alertmanager([{ name: 'PacketLoss', client: 'group-a', instance: 'r1' }]));
    await send(env, alertmanager([{ name: 'PacketLoss', client: 'group-a', instance: 'r2' }]));
    await send(env, alertmanager([{ name: 'PacketLoss', client: 'group-b', instance: 'r1' }]));
    const a = await openIncidents(env, 'group-a');
    const b = await openIncidents(env, 'group-b');
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ alertCount: 2, openAlertCount: 2, status: 'triggered' });
    expect(b).toHaveLength(1);
    expect(b[0]).toMatchObject({ alertCount: 1 });
    expect(await timelineKinds(env, a[0].id)).toEqual(['triggered', 'alert_joined']);
  });

  it('an incident resolves when all its alerts resolve, not before', async () => {
    await send(env, alertmanager([
      { name: 'FanFail', client: 'resolve', instance: 'srv-1' },
      { name: 'FanFail', client: 'resolve', instance: 'srv-2' },
    ]));
    await send(env, alertmanager([{ name: 'FanFail', client: 'resolve', instance: 'srv-1', status: 'resolved' }]));
    let [incident] = await incidentsOf(env, 'resolve');
    expect(incident).toMatchObject({ status: 'triggered' });
    expect(Number(incident.open_alert_count)).toBe(1);
    expect(await openIncidents(env, 'resolve')).toHaveLength(1);

    await send(env, alertmanager([{ name: 'FanFail', client: 'resolve', instance: 'srv-2', status: 'resolved' }]));
    [incident] = await incidentsOf(env, 'resolve');
    expect(incident.status).toBe('resolved');
    expect(Number(incident.open_alert_count)).toBe(0);
    expect(await openIncidents(env, 'resolve')).toEqual([]);
    expect(await timelineKinds(env, incident.id)).toContain('resolved');
  });

  it('a new firing within the reopen window reopens the same incident', async () => {
    await send(env, alertmanager([{ name: 'Flappy', client: 'reopen', instance: 'ap-1', startsAt: '2025-03-01T08:00:00Z' }]));
    await send(env, alertmanager([{ name: 'Flappy', client: 'reopen', instance: 'ap-1', status: 'resolved', startsAt: '2025-03-01T08:00:00Z' }]));
    expect(await openIncidents(env, 'reopen')).toEqual([]);
    // a late copy of the resolved occurrence must not reopen it
    await send(env, alertmanager([{ name: 'Flappy', client: 'reopen', instance: 'ap-1', startsAt: '2025-03-01T08:00:00Z' }]));
    expect(await openIncidents(env, 'reopen')).toEqual([]);

    await send(env, alertmanager([{ name: 'Flappy', client: 'reopen', instance: 'ap-1', startsAt: '2025-03-01T08:30:00Z' }]));
    const all = await incidentsOf(env, 'reopen');
    expect(all).toHaveLength(1);
    expect(all[0].status).toBe('triggered');
    expect(await timelineKinds(env, all[0].id)).toContain('reopened');
    const open = await openIncidents(env, 'reopen');
    expect(open.map((i) => i.id)).toEqual([all[0].id]);
    expect(open[0].resolvedAt).toBeNull();
  });

  it('timeline and change rows are written with the state: one change row per changed incident, carrying its state', async () => {
    const before = await counts(env);
    const [{ max: maxBefore }] = await env.server.context.database.rows<{ max: number | string | null }>(sql`select max(id) as max from changes`);
    await send(env, alertmanager([
      { name: 'Alpha', client: 'tx', instance: 'n1' },
      { name: 'Alpha', client: 'tx', instance: 'n2' },
      { name: 'Beta', client: 'tx', instance: 'n1' },
    ]));
    const after = await counts(env);
    expect(after.incidents - before.incidents).toBe(2);
    expect(after.timeline - before.timeline).toBe(3); // triggered, alert_joined, triggered
    expect(after.changes - before.changes).toBe(2);
    const changes = await env.server.context.database.rows<{ entity: string; entity_id: string; data: IncidentDto }>(
      sql`select entity, entity_id, data from changes where id > ${Number(maxBefore ?? 0)} order by id`,
    );
    const incidents = await openIncidents(env, 'tx');
    expect(changes.map((c) => c.entity)).toEqual(['incident', 'incident']);
    expect(changes.map((c) => c.entity_id).sort()).toEqual(incidents.map((i) => i.id).sort());
    for (const change of changes) {
      // The node list stays in the incident's row (it only grows); whoever reads the change joins it.
      const { nodes: _nodes, ...incident } = incidents.find((i) => i.id === change.entity_id)!;
      expect(change.data).toEqual(incident);
    }
    // What another process's follower and a resume read: the whole incident, nodes included.
    const byId = (list: IncidentDto[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
    const followed = await readChangesAfter(env.server.context.database, Number(maxBefore ?? 0), null, 10);
    expect(byId(followed.map((c) => c.incident))).toEqual(byId(incidents));
    const resumed = await readChangeLogAfter(env.server.context.database, Number(maxBefore ?? 0), 10);
    expect(byId(resumed.changes.map((c) => c.incident))).toEqual(byId(incidents));
    expect(incidents.every((i) => i.nodes.length > 0)).toBe(true);
  });

  it('all or nothing: when a write in the transaction fails, the webhook is not told OK and nothing of it is stored', async () => {
    const { rows } = env.server.context.database;
    await rows(sql.raw(`create or replace function wf_test_fail() returns trigger language plpgsql as $$
      begin if new.detail->>'summary' = 'Boom on x' then raise exception 'injected failure'; end if; return new; end $$`));
    await rows(sql.raw(`create trigger wf_test_fail before insert on timeline for each row execute function wf_test_fail()`));
    try {
      const before = await counts(env);
      const [{ n: signalsBefore }] = await rows<{ n: number | string }>(sql`select count(*) as n from signals`);
      const response = await fetch(`${env.server.url}/api/v1/ingest/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${env.token}` },
        body: alertmanager([
          { name: 'Fine', client: 'atomic', instance: 'a' },
          { name: 'Boom', client: 'atomic', instance: 'x' },
        ]),
      });
      expect(response.status).toBe(500);
      expect(await counts(env)).toEqual(before);
      const [{ n: signalsAfter }] = await rows<{ n: number | string }>(sql`select count(*) as n from signals`);
      expect(Number(signalsAfter)).toBe(Number(signalsBefore));
    } finally {
      await rows(sql.raw(`drop trigger wf_test_fail on timeline`));
    }
    // the pipeline keeps working after a failed transaction
    await send(env, alertmanager([{ name: 'Fine', client: 'atomic', instance: 'a' }]));
    expect(await openIncidents(env, 'atomic')).toHaveLength(1);
  });

  it('a storm of 500 alerts in one group → one incident with 500 alerts', async () => {
    const alerts = Array.from({ length: 500 }, (_, i) => ({ name: 'StormAlert', client: 'storm', instance: `node-${i}` }));
    await send(env, alertmanager(alerts));
    const incidents = await openIncidents(env, 'storm');
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ alertCount: 500, openAlertCount: 500 });
    const [{ n }] = await env.server.context.database.rows<{ n: number | string }>(sql`select count(*) as n from alerts where incident_id = ${incidents[0].id}`);
    expect(Number(n)).toBe(500);
  });

  it('the same storm as 20 concurrent webhooks (group commit) → still one incident with 500 alerts', async () => {
    const bodies = Array.from({ length: 20 }, (_, b) =>
      alertmanager(Array.from({ length: 25 }, (_, i) => ({ name: 'StormAlert', client: 'storm2', instance: `node-${b}-${i}` }))),
    );
    await Promise.all(bodies.map((body) => send(env, body)));
    const incidents = await openIncidents(env, 'storm2');
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ alertCount: 500, openAlertCount: 500 });
  });

  it("an incident's nodes are the distinct nodes of its alerts, in the order they came, across webhooks", async () => {
    const nodesOf = async () => (await openIncidents(env, 'nodes'))[0].nodes;
    await send(env, alertmanager([{ name: 'Down', client: 'nodes', instance: 'sw-1' }, { name: 'Down', client: 'nodes', instance: 'sw-2' }]));
    expect(await nodesOf()).toEqual(['sw-1', 'sw-2']);
    // A later webhook: one node it has, one new, one new twice.
    await send(env, alertmanager(['sw-2', 'sw-3', 'sw-4', 'sw-4'].map((instance, i) => ({ name: 'Down', client: 'nodes', instance, fingerprint: `nodes-late-${i}` }))));
    expect(await nodesOf()).toEqual(['sw-1', 'sw-2', 'sw-3', 'sw-4']);
    // Repeats change nothing: no new change row for the incident.
    const before = await counts(env);
    await send(env, alertmanager([{ name: 'Down', client: 'nodes', instance: 'sw-1' }]));
    expect(await nodesOf()).toEqual(['sw-1', 'sw-2', 'sw-3', 'sw-4']);
    expect((await counts(env)).changes).toBe(before.changes);
  });
});

describe.each(DATABASES)('reopen window 0 on $name', (database) => {
  let env: Env;

  beforeAll(async () => {
    env = await startEnv(database, { REOPEN_WINDOW_MINUTES: '0' });
  });
  afterAll(async () => {
    await env?.server.dispose();
  });

  it('a new firing after resolution, outside the window, opens a new incident', async () => {
    await send(env, alertmanager([{ name: 'Flappy', client: 'reopen', instance: 'ap-1', startsAt: '2025-03-01T08:00:00Z' }]));
    await send(env, alertmanager([{ name: 'Flappy', client: 'reopen', instance: 'ap-1', status: 'resolved', startsAt: '2025-03-01T08:00:00Z' }]));
    await new Promise((r) => setTimeout(r, 20));
    await send(env, alertmanager([{ name: 'Flappy', client: 'reopen', instance: 'ap-1', startsAt: '2025-03-01T08:30:00Z' }]));
    const all = await incidentsOf(env, 'reopen');
    expect(all.map((i) => i.status)).toEqual(['resolved', 'triggered']);
    expect(await timelineKinds(env, all[1].id)).toEqual(['triggered']);
    expect(await timelineKinds(env, all[0].id)).not.toContain('reopened');
    const open = await openIncidents(env, 'reopen');
    expect(open.map((i) => i.id)).toEqual([all[1].id]);
    expect(open[0].alertCount).toBe(1);
  });
});
