import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { sendToAdminSocket } from '../../server/cli/admin-socket.ts';

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
