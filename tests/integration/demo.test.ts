import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { io as connect, type Socket } from 'socket.io-client';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { sendToAdminSocket } from '../../server/cli/admin-socket.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/lib/protocol/events.ts';
import { decodeDelta, decodeSnapshot } from '../../src/lib/protocol/incidents.ts';
import { applyDelta, applySnapshot, emptySync } from '../../src/lib/realtime/incident-sync.ts';
import { until } from '../helpers/until.ts';
import { runCli } from '../helpers/cli.ts';
import { anyText } from '../../server/db/sql-values.ts';


/** A screen as the app is one: a subscribed socket feeding the app's own reducer; it never resubscribes. */
async function subscribedScreen(url: string, cookie: string) {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(url, { extraHeaders: { cookie }, transports: ['websocket'] });
  const screen = { socket, state: emptySync(), snapshots: 0, resyncs: [] as string[] };
  socket.on('incidents:snapshot', (frame) => {
    screen.snapshots++;
    const result = applySnapshot(screen.state, decodeSnapshot(frame));
    screen.state = result.state;
    if (result.resync) screen.resyncs.push(result.reason);
  });
  socket.on('incidents:changed', (delta) => {
    const result = applyDelta(screen.state, decodeDelta(delta));
    screen.state = result.state;
    if (result.resync) screen.resyncs.push(result.reason);
  });
  const reply = await socket.timeout(10_000).emitWithAck('incidents:subscribe', { scope: {}, mode: 'screen' });
  expect(reply).toMatchObject({ ok: true });
  return screen;
}

/** Polls until `check` holds; fails with `what` after a generous limit. */
async function eventually<T>(what: string, check: () => Promise<T | undefined | false>): Promise<T> {
  for (let i = 0; i < 150; i++) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the demo estate (npm start on an empty embedded database)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-demo-'));
  let server: TestServer;
  let cookie: string;

  const count = async (query: ReturnType<typeof sql>) => Number((await server.context.database.rows<{ n: number }>(query))[0].n);
  const openIncidents = async () =>
    ((await (await fetch(`${server.url}/api/v1/incidents`, { headers: { cookie } })).json()) as { incidents: { client: string }[] }).incidents;

  beforeAll(async () => {
    server = await startTestServer(null, { WATCHFLOOR_DATA: dataDir, WATCHFLOOR_DEMO: 'on' });
    const viewer = await server.addUser('viewer@example.com', 'viewer');
    cookie = await server.signIn(viewer.email, viewer.password);
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('builds an MSP estate: several clients, ~150 nodes with links, one source per format, all marked demo', async () => {
    expect(await count(sql`select count(*)::int as n from clients where is_demo`)).toBeGreaterThanOrEqual(3);
    expect(await count(sql`select count(*)::int as n from clients where not is_demo`)).toBe(0);
    const nodes = await count(sql`select count(*)::int as n from nodes`);
    expect(nodes).toBeGreaterThanOrEqual(120);
    expect(nodes).toBeLessThanOrEqual(200);
    expect(await count(sql`select count(*)::int as n from links`)).toBeGreaterThan(100);
    const formats = await server.context.database.rows<{ format: string }>(sql`select format from sources where name like 'demo-%' order by format`);
    expect(formats.map((f) => f.format)).toEqual(['alertmanager', 'generic', 'grafana', 'pagerduty']);
    const info = (await (await fetch(`${server.url}/api/v1/info`, { headers: { cookie } })).json()) as { demo: boolean };
    expect(info.demo).toBe(true);
  });

  it('streams alerts through the real webhooks: incidents for demo clients, signals recorded per source', async () => {
    const incidents = await eventually('demo incidents', async () => {
      const list = await openIncidents();
      return list.length > 0 && list;
    });
    const demoClients = (await server.context.database.rows<{ slug: string }>(sql`select slug from clients`)).map((c) => c.slug);
    for (const incident of incidents) expect(demoClients).toContain(incident.client);
    // Signals are written only by the ingest pipeline behind the webhooks, never by a side door.
    expect(await count(sql`select count(distinct source_id)::int as n from signals`)).toBeGreaterThanOrEqual(1);
  });

  it('a `demo reset` that fails changes nothing: the same estate, sources and incidents, still streaming', async () => {
    const { database } = server.context;
    const sources = sql`select id, token_hash from sources order by name`;
    const before = await database.rows(sources);
    const open = await database.rows<{ id: string }>(sql`select id::text from incidents where status <> 'resolved'`);
    expect(open.length).toBeGreaterThan(0);
    // The seeding half fails, after the deleting half ran in the same transaction.
    await database.rows(sql`create function refuse_insert() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$`);
    await database.rows(sql`create trigger refuse_sources before insert on sources for each row execute function refuse_insert()`);
    const result = await runCli(['demo', 'reset', '--json'], { WATCHFLOOR_DATA: dataDir }).finally(async () => {
      await database.rows(sql`drop trigger refuse_sources on sources`);
      await database.rows(sql`drop function refuse_insert()`);
    });
    expect(result.code).toBe(1);
    expect(await database.rows(sources)).toEqual(before);
    const kept = await database.rows<{ id: string }>(sql`select id::text from incidents where id::text = ${anyText(open.map((o) => o.id))}`);
    expect(kept).toHaveLength(open.length);
    const failedAt = new Date();
    await eventually('signals after the failed reset, with the old tokens', async () =>
      (await count(sql`select count(*)::int as n from signals where received_at > ${failedAt.toISOString()}::timestamptz`)) > 0,
    );
  });

  it('`watchfloor demo reset` tells screens already open that the old incidents are gone, without a new snapshot', async () => {
    const screen = await subscribedScreen(server.url, cookie);
    try {
      await until(() => screen.state.incidents.size > 0, 'the screen to show demo incidents');
      const shown = [...screen.state.incidents.keys()];
      const result = await runCli(['demo', 'reset', '--json'], { WATCHFLOOR_DATA: dataDir });
      expect(result, result.stderr).toMatchObject({ code: 0 });
      const left = await server.context.database.rows<{ id: string }>(sql`select id::text from incidents where id::text = ${anyText(shown)}`);
      expect(left).toEqual([]);
      // What the wall shows: none of the deleted incidents, told by deltas on the subscription it already had.
      await until(() => shown.every((id) => !screen.state.incidents.has(id)), 'the screen to drop the deleted incidents', 5000);
      expect(screen.snapshots).toBe(1);
      expect(screen.resyncs).toEqual([]);
    } finally {
      screen.socket.disconnect();
    }
  });

  it('`demo reset` through the running server rebuilds the estate with fresh tokens and keeps streaming', async () => {
    const before = await server.context.database.rows<{ id: string; token_hash: string }>(sql`select id, token_hash from sources order by name`);
    const result = await sendToAdminSocket(dataDir, { argv: ['demo', 'reset', '--json'], stdin: null });
    expect(result).toMatchObject({ code: 0 });
    const after = await server.context.database.rows<{ id: string; token_hash: string }>(sql`select id, token_hash from sources order by name`);
    expect(after).toHaveLength(4);
    for (const source of after) expect(before.map((b) => b.token_hash)).not.toContain(source.token_hash);
    // The generator now posts with the new tokens: new signals arrive from the new sources.
    await eventually('signals from the rebuilt sources', async () =>
      (await count(sql`select count(*)::int as n from signals where source_id in (select id from sources)`)) > 0,
    );
  });
});

const postgres = DATABASES.find((d) => d.name === 'postgres');

describe.skipIf(!postgres)('the demo on Postgres, reset by the CLI on its own (no admin socket there)', () => {
  const unusedFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-demo-pg-'));
  let url = '';
  let server: TestServer;

  beforeAll(async () => {
    const fresh = await postgres!.url();
    url = fresh.url;
    server = await startTestServer(url, { WATCHFLOOR_DEMO: 'on' }, fresh.drop);
  });
  afterAll(async () => {
    await server?.dispose();
    fs.rmSync(unusedFolder, { recursive: true, force: true });
  });

  it('records every open incident it deletes as resolved in the changes log', async () => {
    const open = await eventually('demo incidents', async () => {
      const rows = await server.context.database.rows<{ id: string }>(sql`select id::text from incidents where status <> 'resolved'`);
      return rows.length > 0 && rows.map((r) => r.id);
    });
    const result = await runCli(['demo', 'reset', '--json'], { DATABASE_URL: url, WATCHFLOOR_DATA: unusedFolder });
    expect(result, result.stderr).toMatchObject({ code: 0 });
    const latest = await server.context.database.rows<{ id: string; status: string }>(
      sql`select distinct on (c.entity_id) c.entity_id as id, c.data->>'status' as status from changes c
          where c.entity = 'incident' and c.entity_id = ${anyText(open)} order by c.entity_id, c.id desc`,
    );
    expect(Object.fromEntries(latest.map((c) => [c.id, c.status]))).toEqual(Object.fromEntries(open.map((id) => [id, 'resolved'])));
    expect(await server.context.database.rows(sql`select id from incidents where id::text = ${anyText(open)}`)).toEqual([]);
  });
});

describe('without the demo', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('memory://'); // WATCHFLOOR_DEMO=off, as the harness sets it
  });
  afterAll(async () => server?.dispose());

  it('WATCHFLOOR_DEMO=off creates nothing and the app shows no demo badge', async () => {
    expect(Number((await server.context.database.rows<{ n: number }>(sql`select count(*)::int as n from clients`))[0].n)).toBe(0);
    const viewer = await server.addUser('v@example.com', 'viewer');
    const cookie = await server.signIn(viewer.email, viewer.password);
    const info = (await (await fetch(`${server.url}/api/v1/info`, { headers: { cookie } })).json()) as { demo: boolean };
    expect(info.demo).toBe(false);
  });
});
