import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { io as connect, type Socket } from 'socket.io-client';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { addSource } from '../../server/ingest/sources.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/lib/protocol/events.ts';
import type { TopologyDto } from '../../src/lib/protocol/topology.ts';
import { postAlertmanager } from '../helpers/alertmanager.ts';
import type { WallWithTokenDto } from '../../src/lib/protocol/walls.ts';
import { DEFAULT_WALL_PAGE } from '../../src/lib/protocol/walls.ts';
import { until } from '../helpers/until.ts';
import { runCli } from '../helpers/cli.ts';
import { shownIncidents } from '../helpers/shown-incidents.ts';

const cli = (args: string[], env: Record<string, string>, cwd?: string) => runCli(args, env, { cwd });

const GOOD_CSV = [
  'record,client,name,site,kind,parent,from,to,capacity_mbps,utilisation,timezone,uptime_target,location,labels',
  'client,acme,Acme Logistics,,,,,,,,America/New_York,99.95,,',
  'site,acme,Newark Hub,,,,,,,,,,"Newark, NJ",',
  'node,acme,rtr-01,Newark Hub,router,,,,,,,,,role=edge',
  'node,acme,sw-01,Newark Hub,switch,rtr-01,,,,,,,,',
  'node,acme,srv-01,Newark Hub,server,sw-01,,,,,,,,',
  'link,acme,,,,,rtr-01,sw-01,10000,0.42,,,,',
  'link,acme,,,,,sw-01,srv-01,1000,,,,,',
].join('\n');

/** Counts of every topology table: "nothing was changed" is checked against these. */
async function counts(server: TestServer) {
  const [row] = await server.context.database.rows<Record<string, number>>(
    sql`select (select count(*)::int from clients) as clients, (select count(*)::int from sites) as sites,
               (select count(*)::int from nodes) as nodes, (select count(*)::int from links) as links`,
  );
  return row;
}

describe('watchfloor topology import (PGlite on disk, through the running server)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-topology-'));
  const files = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-topology-files-'));
  let server: TestServer;
  let cookie: string;

  beforeAll(async () => {
    server = await startTestServer(null, { WATCHFLOOR_DATA: dataDir });
    const admin = await server.addUser('ada@example.com', 'admin', 'Ada');
    cookie = await server.signIn(admin.email, admin.password);
  });
  afterAll(async () => {
    await server?.dispose();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(files, { recursive: true, force: true });
  });

  it('imports a CSV file, the running server lays out the nodes and a wall hears of it at once', async () => {
    // A wall of acme is watching when the import lands.
    const created = await fetch(`${server.url}/api/v1/topology/clients`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ slug: 'acme', name: 'Acme' }) });
    expect(created.status).toBe(201);
    const wall = (await (await fetch(`${server.url}/api/v1/walls`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Acme wall', clients: ['acme'], pages: [DEFAULT_WALL_PAGE] }) })).json()) as WallWithTokenDto;
    const opened = await fetch(`${server.url}${wall.openPath}`, { redirect: 'manual' });
    const wallCookie = opened.headers.getSetCookie()[0].split(';')[0];
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(server.url, { extraHeaders: { cookie: wallCookie }, auth: { wallId: wall.wall.id }, transports: ['websocket'] });
    const heard: string[][] = [];
    socket.on('topology:changed', ({ clients }) => heard.push(clients));
    await new Promise<void>((resolve) => socket.once('wall:ready', () => resolve()));
    // It shows an open incident of acme, with the client's name as it is now.
    const { token } = await addSource(server.context.database.db, { name: 'prometheus', format: 'alertmanager' });
    expect((await postAlertmanager(server.url, token, [{ name: 'UplinkDown', client: 'acme', instance: 'rtr-01', severity: 'critical' }])).status).toBe(200);
    const shown = shownIncidents(socket, { snapshots: true });
    await socket.timeout(10_000).emitWithAck('incidents:subscribe', { scope: {}, mode: 'screen' });
    await until(() => shown.some((i) => i.summary.startsWith('UplinkDown') && i.clientName === 'Acme'), 'the incident on the wall');

    const file = path.join(files, 'estate.csv');
    fs.writeFileSync(file, GOOD_CSV);
    // Run from another directory with a relative path: the CLI reads the file, not the server.
    const result = await cli(['topology', 'import', path.relative(files, file), '--json'], { WATCHFLOOR_DATA: dataDir }, files);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      clients: { created: 0, updated: 1 },
      sites: { created: 1, updated: 0 },
      nodes: { created: 3, updated: 0 },
      links: { created: 2, updated: 0 },
    });
    const topology = (await (await fetch(`${server.url}/api/v1/topology`, { headers: { cookie } })).json()) as TopologyDto;
    expect(topology.clients).toEqual([{ slug: 'acme', name: 'Acme Logistics', uptimeTarget: 99.95 }]);
    expect(topology.nodes.map((n) => [n.name, n.kind, n.labels])).toEqual([
      ['rtr-01', 'router', { role: 'edge' }],
      ['srv-01', 'server', {}],
      ['sw-01', 'switch', {}],
    ]);
    const byName = new Map(topology.nodes.map((n) => [n.name, n]));
    expect(byName.get('sw-01')!.parentId).toBe(byName.get('rtr-01')!.id);
    // Laid out and stored by the server before the CLI returned.
    expect(topology.nodes.every((n) => n.x !== null && n.y !== null)).toBe(true);
    expect(topology.links.find((l) => l.from === byName.get('rtr-01')!.id)).toMatchObject({ capacityMbps: 10000, utilisation: 0.42 });
    await until(async () => heard.some((c) => c.includes('acme')), 'topology:changed on the wall');
    // The file renamed the client: the open incident comes again with the new name.
    await until(() => shown.some((i) => i.summary.startsWith('UplinkDown') && i.clientName === 'Acme Logistics'), 'the renamed client on the wall');
    socket.disconnect();

    // Importing the same file again changes nothing but says "updated".
    const again = await cli(['topology', 'import', file, '--json'], { WATCHFLOOR_DATA: dataDir });
    expect(JSON.parse(again.stdout).nodes).toEqual({ created: 0, updated: 3 });
    expect(await counts(server)).toMatchObject({ clients: 1, sites: 1, nodes: 3, links: 2 });
  });

  it('a rename goes through the running server with the change rows that show it: when those fail, nothing is imported', async () => {
    const { database } = server.context;
    const stored = async () => ({ counts: await counts(server), names: await database.rows(sql`select slug, name from clients order by slug`) });
    const before = await stored();
    expect(before.names).toEqual([{ slug: 'acme', name: 'Acme Logistics' }]);
    const file = path.join(files, 'rename.json');
    fs.writeFileSync(file, JSON.stringify({ clients: [{ slug: 'acme', name: 'Never Shown' }], nodes: [{ client: 'acme', name: 'fw-09' }] }));
    // acme's open incident would be recorded again with the new name: that change row fails.
    await database.rows(sql`create function refuse_renamed() returns trigger language plpgsql as $$
      begin if new.data::text like '%Never Shown%' then raise exception 'change log unavailable'; end if; return new; end $$`);
    await database.rows(sql`create trigger refuse_renamed before insert on changes for each row execute function refuse_renamed()`);
    try {
      const result = await cli(['topology', 'import', file], { WATCHFLOOR_DATA: dataDir });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/failed on the server/);
    } finally {
      await database.rows(sql`drop trigger refuse_renamed on changes`);
      await database.rows(sql`drop function refuse_renamed()`);
    }
    expect(await stored()).toEqual(before);
  });

  it('refuses a bad file as a whole, naming each problem by line, and stores nothing', async () => {
    const before = await counts(server);
    const file = path.join(files, 'bad.csv');
    fs.writeFileSync(
      file,
      [
        'record,client,name,site,kind,parent,from,to',
        'node,acme,new-01,Newark Hub,server,,,', // fine on its own
        'node,acme,new-02,Nowhere,server,,,', // unknown site
        'node,acme,new-03,,server,ghost-99,,', // unknown parent
        'link,acme,,,,,new-01,ghost-98', // unknown node
        'node,acme,new-01,,server,,,', // twice
      ].join('\n'),
    );
    const result = await cli(['topology', 'import', file], { WATCHFLOOR_DATA: dataDir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/nothing was changed/);
    expect(result.stderr).toMatch(/line 3 \(nodes\[1\]\.site\): unknown site "Nowhere" of acme/);
    expect(result.stderr).toMatch(/line 4 \(nodes\[2\]\.parent\): unknown parent node "ghost-99"/);
    expect(result.stderr).toMatch(/line 5 \(links\[0\]\.to\): unknown node "ghost-98"/);
    expect(result.stderr).toMatch(/line 6 \(nodes\[3\]\): node "new-01" of acme appears twice \(first at line 2\)/);
    expect(await counts(server)).toEqual(before);

    // Syntax and schema problems are told before any database is touched.
    fs.writeFileSync(path.join(files, 'broken.json'), '{\n  "nodes": [\n    { "client": "acme", "name": "x", "kind": "toaster" }\n  ]\n}');
    const broken = await cli(['topology', 'import', path.join(files, 'broken.json')], { WATCHFLOOR_DATA: dataDir });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/line 3 \(nodes\[0\]\.kind\)/);
    const missing = await cli(['topology', 'import', path.join(files, 'nope.json')], { WATCHFLOOR_DATA: dataDir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
    const unknownFormat = await cli(['topology', 'import', path.join(files, 'estate.txt')], { WATCHFLOOR_DATA: dataDir });
    expect(unknownFormat.code).toBe(2);
    expect(unknownFormat.stderr).toMatch(/--format json\|csv/);
    expect(await counts(server)).toEqual(before);
  });
});

for (const database of DATABASES) {
  describe(`topology over REST (${database.name})`, () => {
    let server: TestServer;
    let admin: string;
    let engineer: string;
    let restricted: string;
    let sourceToken: string;

    const call = async (method: string, url: string, cookie: string | null, body?: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${server.url}${url}`, {
        method,
        headers: { ...(cookie ? { cookie } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, json: (text ? JSON.parse(text) : null) as never };
    };

    beforeAll(async () => {
      const { url, drop } = await database.url();
      server = await startTestServer(url, {}, drop);
      const a = await server.addUser('ada@example.com', 'admin', 'Ada');
      const e = await server.addUser('eli@example.com', 'engineer', 'Eli');
      const r = await server.addUser('rita@example.com', 'engineer', 'Rita');
      admin = await server.signIn(a.email, a.password);
      engineer = await server.signIn(e.email, e.password);
      await server.context.database.rows(sql`update users set clients = array['globex'] where id = ${r.id}`);
      restricted = await server.signIn(r.email, r.password);
      ({ token: sourceToken } = await addSource(server.context.database.db, { name: 'metrics', format: 'generic' }));
    });
    afterAll(async () => {
      await server?.dispose();
    });

    it('imports a document all-or-nothing and scopes what each user reads', async () => {
      const doc = {
        clients: [{ slug: 'acme', name: 'Acme' }, { slug: 'globex', name: 'Globex' }],
        sites: [{ client: 'acme', name: 'HQ' }],
        nodes: [
          { client: 'acme', name: 'a-rtr', site: 'HQ', kind: 'router' },
          { client: 'acme', name: 'a-sw', site: 'HQ', kind: 'switch', parent: 'a-rtr' },
          { client: 'globex', name: 'g-rtr', kind: 'router', x: 10, y: 20 },
        ],
        links: [{ client: 'acme', from: 'a-rtr', to: 'a-sw', capacityMbps: 1000 }],
      };
      expect((await call('POST', '/api/v1/topology/import', engineer, doc)).status).toBe(403);
      const bad = await call('POST', '/api/v1/topology/import', admin, { ...doc, links: [...doc.links, { client: 'acme', from: 'a-rtr', to: 'nope' }] });
      expect(bad.status).toBe(400);
      expect((bad.json as { error: { message: string } }).error.message).toMatch(/links\[1\]\.to\): unknown node "nope"/);
      expect(await counts(server)).toEqual({ clients: 0, sites: 0, nodes: 0, links: 0 });
      const control = await call('POST', '/api/v1/topology/import', admin, { nodes: [{ client: 'acme', name: 'bad\u0000name' }] });
      expect(control.status).toBe(400);

      const ok = await call('POST', '/api/v1/topology/import', admin, doc);
      expect(ok.status).toBe(200);
      expect(await counts(server)).toEqual({ clients: 2, sites: 1, nodes: 3, links: 1 });
      // A position in the document pins the node.
      const all = (await call('GET', '/api/v1/topology', admin)).json as TopologyDto;
      expect(all.nodes.find((n) => n.name === 'g-rtr')).toMatchObject({ x: 10, y: 20, pinned: true });
      await until(async () => ((await call('GET', '/api/v1/topology', admin)).json as TopologyDto).nodes.every((n) => n.x !== null), 'the layout');
      // A user restricted to globex sees only globex.
      const theirs = (await call('GET', '/api/v1/topology', restricted)).json as TopologyDto;
      expect(theirs.clients.map((c) => c.slug)).toEqual(['globex']);
      expect(theirs.nodes.map((n) => n.name)).toEqual(['g-rtr']);
      expect(theirs.links).toEqual([]);
    });

    it('stores positions dragged in /map (pinned) for engineers, within their clients only', async () => {
      const all = (await call('GET', '/api/v1/topology', admin)).json as TopologyDto;
      const aSw = all.nodes.find((n) => n.name === 'a-sw')!;
      const gRtr = all.nodes.find((n) => n.name === 'g-rtr')!;
      expect((await call('PUT', '/api/v1/topology/positions', engineer, { positions: [{ id: aSw.id, x: 123.5, y: -40 }] })).status).toBe(200);
      const after = (await call('GET', '/api/v1/topology', admin)).json as TopologyDto;
      expect(after.nodes.find((n) => n.id === aSw.id)).toMatchObject({ x: 123.5, y: -40, pinned: true });
      // Rita may not move acme's nodes: refused whole, nothing moved.
      const refused = await call('PUT', '/api/v1/topology/positions', restricted, { positions: [{ id: gRtr.id, x: 1, y: 1 }, { id: aSw.id, x: 0, y: 0 }] });
      expect(refused.status).toBe(404);
      expect(((await call('GET', '/api/v1/topology', admin)).json as TopologyDto).nodes.find((n) => n.id === gRtr.id)).toMatchObject({ x: 10, y: 20 });
      expect((await call('PUT', '/api/v1/topology/positions', engineer, { positions: [{ id: aSw.id, x: 'left', y: 0 }] })).status).toBe(400);
      expect((await call('POST', '/api/v1/topology/positions/unpin', engineer, { ids: [aSw.id] })).status).toBe(200);
      expect(((await call('GET', '/api/v1/topology', admin)).json as TopologyDto).nodes.find((n) => n.id === aSw.id)!.pinned).toBe(false);
    });

    it('takes link utilisation as a metric with a source token, and pushes it to screens', async () => {
      const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(server.url, { extraHeaders: { cookie: engineer }, transports: ['websocket'] });
      const samples: { id: string; utilisation: number | null }[][] = [];
      socket.on('topology:utilisation', ({ links }) => samples.push(links));
      await new Promise<void>((resolve) => socket.once('session:ready', () => resolve()));
      const body = { samples: [{ client: 'acme', from: 'a-rtr', to: 'a-sw', utilisation: 0.87 }] };
      expect((await call('POST', '/api/v1/topology/link-utilisation', null, body)).status).toBe(401);
      expect((await call('POST', '/api/v1/topology/link-utilisation', null, body, { authorization: 'Bearer wfs_wrong' })).status).toBe(401);
      const bad = await call('POST', '/api/v1/topology/link-utilisation', null, { samples: [{ client: 'acme', from: 'a-rtr', to: 'ghost', utilisation: 0.5 }] }, { authorization: `Bearer ${sourceToken}` });
      expect(bad.status).toBe(400);
      expect((bad.json as { error: { message: string } }).error.message).toMatch(/samples\[0\]: no such link/);
      const ok = await call('POST', '/api/v1/topology/link-utilisation', null, body, { authorization: `Bearer ${sourceToken}` });
      expect(ok.status).toBe(200);
      const link = ((await call('GET', '/api/v1/topology', admin)).json as TopologyDto).links[0];
      expect(link.utilisation).toBeCloseTo(0.87, 5);
      await until(async () => samples.some((s) => s.some((l) => l.id === link.id)), 'the utilisation event');
      socket.disconnect();
    });
  });
}
