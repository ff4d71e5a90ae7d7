/**
 * Several processes on one Postgres: two servers (as behind a load balancer) and the CLI. A screen on one
 * server hears every commit, whoever made it, in order; a session ended anywhere closes its sockets everywhere;
 * a wall's token revoked or rotated, the wall deleted or narrowed anywhere ends or re-scopes its screens
 * everywhere, and its layout and topology news reach them wherever they are connected.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { io as connect } from 'socket.io-client';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { runCli } from '../helpers/cli.ts';
import { alertSource, person, Person, uniqueAlert, until, type ClientSocket } from './console-support.ts';
import { TestPushService } from './push-test-endpoint.ts';
import { decodeDelta, decodeSnapshot, type FeedMode, type IncidentDelta, type IncidentDto, type IncidentSnapshot } from '../../src/lib/protocol/incidents.ts';
import { applyDelta, applySnapshot, emptySync } from '../../src/lib/realtime/incident-sync.ts';
import { postAlertmanager, type TestAlert } from '../helpers/alertmanager.ts';
import { openDatabase, type Database } from '../../server/db/database.ts';
import { ChangeWriter } from '../../server/engine/change-writer.ts';
import { Renames } from '../../server/incidents/renames.ts';
import { announceRevocation } from '../../server/realtime/socket-revocations.ts';
import { DEFAULT_WALL_PAGE, type WallWithTokenDto } from '../../src/lib/protocol/walls.ts';

/** A screen as the app is one: a subscribed socket feeding the app's reducer. It never subscribes again by itself. */
class Screen {
  readonly socket: ClientSocket;
  snapshot: IncidentSnapshot | null = null;
  /** Deltas after the snapshot, as they came. */
  readonly deltas: IncidentDelta[] = [];
  readonly resyncs: string[] = [];
  state = emptySync();

  private constructor(socket: ClientSocket) {
    this.socket = socket;
    socket.on('incidents:snapshot', (frame) => {
      this.snapshot = decodeSnapshot(frame);
      const result = applySnapshot(this.state, this.snapshot);
      this.state = result.state;
      if (result.resync) this.resyncs.push(result.reason);
    });
    socket.on('incidents:changed', (frame) => {
      const delta = decodeDelta(frame);
      if (this.snapshot) this.deltas.push(delta);
      const result = applyDelta(this.state, delta);
      this.state = result.state;
      if (result.resync) this.resyncs.push(result.reason);
    });
  }

  static async open(server: TestServer, cookie: string, mode: FeedMode): Promise<Screen> {
    const screen = new Screen(connect(server.url, { extraHeaders: { cookie }, transports: ['websocket'], forceNew: true }));
    const reply = await screen.socket.timeout(10_000).emitWithAck('incidents:subscribe', { scope: {}, mode });
    expect(reply).toMatchObject({ ok: true });
    await until(() => screen.snapshot !== null, 'the snapshot');
    return screen;
  }

  /**
   * What is wrong with the deltas' chain: each must start where the one before ended (the first at or below
   * the snapshot), so every change after the snapshot arrived once, none twice, none skipped. Deltas the
   * snapshot overtook (all at or below its id) come first, if any; the app drops them.
   */
  chainProblems(): string[] {
    const problems: string[] = [];
    let last = this.snapshot!.lastChangeId;
    const overtaken = this.deltas.findIndex((delta) => delta.last > last);
    this.deltas.slice(overtaken < 0 ? this.deltas.length : overtaken).forEach((delta, i) => {
      if (i === 0 ? delta.prev > last : delta.prev !== last) problems.push(`delta ${i} starts after ${delta.prev}, the one before ended at ${last}`);
      if (delta.last <= last) problems.push(`delta ${i} (${delta.prev}→${delta.last}) brings nothing after ${last}`);
      last = delta.last;
    });
    return problems;
  }

  /** Open incidents as this screen shows them: id → status, version and client name. */
  view(): Record<string, string> {
    return Object.fromEntries([...this.state.incidents.values()].map((i) => [i.id, `${i.status} v${i.version} ${i.clientName ?? '-'}`]));
  }
}

/** Opens a wall's device link as a kiosk browser does; returns the cookie it was given. */
async function openWallLink(server: TestServer, wallId: string, token: string): Promise<string> {
  const response = await fetch(`${server.url}/wall/${wallId}?token=${encodeURIComponent(token)}`, { redirect: 'manual' });
  expect(response.status).toBe(303);
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith(`wf_wall_${wallId}=`));
  return cookie!.split(';')[0];
}

/** A wall screen: its socket (named by the wall, proved by the device cookie), subscribed as the wall app subscribes. */
class WallScreen {
  readonly socket: ClientSocket;
  /** What the wall was told besides incidents, in order: `wall:disconnected revoked`, `wall:changed 3`, `topology:changed acme`… */
  readonly told: string[] = [];
  /** Clients of every incident it received (snapshot and deltas). */
  readonly clientsSeen = new Set<string>();
  snapshot: IncidentSnapshot | null = null;
  closedBecause: string | undefined;

  private constructor(socket: ClientSocket) {
    this.socket = socket;
    socket.on('wall:disconnected', ({ reason }) => this.told.push(`wall:disconnected ${reason}`));
    socket.on('wall:changed', ({ version }) => this.told.push(`wall:changed ${version}`));
    socket.on('topology:changed', ({ clients }) => this.told.push(`topology:changed ${clients.join(',')}`));
    socket.on('topology:utilisation', ({ links }) => this.told.push(`topology:utilisation ${links.map((l) => l.utilisation).join(',')}`));
    socket.on('incidents:snapshot', (frame) => {
      this.snapshot = decodeSnapshot(frame);
      for (const incident of this.snapshot.incidents) if (incident.client) this.clientsSeen.add(incident.client);
    });
    socket.on('incidents:changed', (delta) => {
      for (const incident of decodeDelta(delta).incidents) if (incident.client) this.clientsSeen.add(incident.client);
    });
    socket.on('disconnect', (reason) => (this.closedBecause = reason));
  }

  static async open(server: TestServer, wallId: string, cookie: string): Promise<WallScreen> {
    const socket: ClientSocket = connect(server.url, { extraHeaders: { cookie }, auth: { wallId }, transports: ['websocket'], reconnection: false, forceNew: true });
    const screen = new WallScreen(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('wall:ready', () => resolve());
      socket.once('connect_error', reject);
    });
    expect(await socket.timeout(10_000).emitWithAck('incidents:subscribe', { scope: {}, mode: 'screen' })).toMatchObject({ ok: true });
    await until(() => screen.snapshot !== null, 'the wall’s snapshot');
    return screen;
  }
}

describe.runIf(process.env.TEST_DATABASE_URL)('several processes on one Postgres', () => {
  let url: string;
  let drop: () => Promise<void>;
  let push: TestPushService;
  let a: TestServer;
  let b: TestServer;
  /** Server A's listening connection, found before B starts (the only one then). */
  let listenerOfA: number | undefined;
  let fireOnA: (alerts: TestAlert[]) => Promise<IncidentDto[]>;
  let fireOnB: (alerts: TestAlert[]) => Promise<IncidentDto[]>;
  let viewerOnA: Person;
  let engineerOnB: Person;
  const screens: Screen[] = [];
  const sockets: ClientSocket[] = [];
  const wallScreens: WallScreen[] = [];
  let leadOnB: Person;
  let walls = 0;

  /** The database as a third process sees it (not either server's connections). */
  const rows = <T,>(query: ReturnType<typeof sql>) => a.context.database.rows<T>(query);
  const newestChangeId = async () => Number((await rows<{ n: string | null }>(sql`select max(id)::text as n from changes`))[0].n ?? 0);
  const openInDatabase = async () =>
    Object.fromEntries(
      (await rows<{ id: string; status: string; version: number; name: string | null }>(
        sql`select i.id, i.status, i.version, c.name from incidents i left join clients c on c.slug = i.client where i.status <> 'resolved'`,
      )).map((r) => [r.id, `${r.status} v${r.version} ${r.name ?? '-'}`]),
    );
  const cli = (args: string[], stdin?: string) => runCli([...args, '--json'], { DATABASE_URL: url }, { stdin });

  async function screenOnA(mode: FeedMode): Promise<Screen> {
    const screen = await Screen.open(a, viewerOnA.cookie, mode);
    screens.push(screen);
    return screen;
  }

  /** Waits until the screen has everything committed, then checks it got it in order, once, without resubscribing. */
  async function expectInStep(screen: Screen): Promise<void> {
    const newest = await newestChangeId();
    await until(() => screen.state.lastChangeId >= newest, `the screen to reach change ${newest} (it has ${screen.state.lastChangeId})`);
    expect(screen.chainProblems()).toEqual([]);
    expect(screen.resyncs).toEqual([]);
    expect(screen.view()).toEqual(await openInDatabase());
  }

  /** A wall made on B by a lead (clients null: every client), with its device token. */
  async function wallOnB(clients: string[] | null): Promise<WallWithTokenDto> {
    const created = await leadOnB.post<WallWithTokenDto>('/api/v1/walls', { name: `Wall ${++walls}`, ...(clients ? { clients } : {}), pages: [DEFAULT_WALL_PAGE] });
    expect(created.status).toBe(201);
    return created.body;
  }

  /** A screen of that wall on A, its device link opened on A. */
  async function wallScreenOnA(wall: WallWithTokenDto): Promise<WallScreen> {
    const screen = await WallScreen.open(a, wall.wall.id, await openWallLink(a, wall.wall.id, wall.token));
    wallScreens.push(screen);
    return screen;
  }

  /** A socket of `who` on their server; the check gives why it ended, once it has been told and closed. */
  async function socketEnding(who: Person): Promise<() => string | undefined> {
    const socket = await who.socket();
    sockets.push(socket);
    let reason: string | undefined;
    socket.on('session:ended', (info) => (reason = info.reason));
    return () => (reason !== undefined && !socket.connected ? reason : undefined);
  }

  beforeAll(async () => {
    ({ url, drop } = await DATABASES.find((d) => d.name === 'postgres')!.url());
    push = await TestPushService.start();
    // A source looked up is trusted for an hour: only the notice of a change can make a server read it again.
    const env = { WATCHFLOOR_PUSH_TEST_LOOPBACK: 'on', WATCHFLOOR_PUSH_TEST_CA: push.caFile, INGEST_RATE_LIMIT: '100000', SOURCE_CACHE_MS: '3600000' };
    a = await startTestServer(url, env);
    listenerOfA = (await rows<{ pid: number }>(sql`select pid from pg_stat_activity where datname = current_database() and query ilike 'listen%'`))[0]?.pid;
    b = await startTestServer(url, env);
    fireOnA = (await alertSource(a, 'prometheus-a')).fire;
    fireOnB = (await alertSource(b, 'prometheus-b')).fire;
    viewerOnA = await person(a, 'wall@example.com', 'viewer');
    engineerOnB = await person(b, 'eve@example.com', 'engineer', null, 'Eve');
    leadOnB = await person(b, 'lena@example.com', 'lead', null, 'Lena');
    await rows(sql`insert into clients (slug, name) values ('umbrella', 'Umbrella Corp'), ('hooli', 'Hooli') on conflict (slug) do nothing`);
  });
  afterAll(async () => {
    for (const screen of [...screens, ...wallScreens]) screen.socket.disconnect();
    for (const socket of sockets) socket.disconnect();
    await b?.stop();
    await a?.stop();
    await push?.close();
    await drop?.();
  });

  it('a screen on A sees what B ingests and what is done on B, live, in order, once', async () => {
    const console = await screenOnA('console');
    const wall = await screenOnA('screen');
    const [incident] = await fireOnB([uniqueAlert('acme', { summary: 'BGP down (through B)' })]);
    await until(() => console.state.incidents.has(incident.id), 'B’s incident on the screen on A');
    expect((await engineerOnB.post(`/api/v1/incidents/${incident.id}/acknowledge`, {})).status).toBe(200);
    await until(() => console.state.incidents.get(incident.id)?.status === 'acknowledged', 'the acknowledgement made on B');
    // Both servers ingesting at once: A's own commits wait for B's before them, and nothing comes twice.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? fireOnA : fireOnB)(Array.from({ length: 5 }, () => uniqueAlert(i % 3 === 0 ? 'globex' : 'acme')))),
    );
    await expectInStep(console);
    await expectInStep(wall);
  });

  it('pages once for an incident B committed, though A hears of it too', async () => {
    const ana = await person(b, 'ana@example.com', 'engineer');
    expect((await ana.call('PATCH', '/api/v1/session/me', { onShift: true })).status).toBe(200);
    const device = push.subscribe();
    expect((await ana.post('/api/v1/push/subscriptions', device.json)).status).toBe(201);
    const console = await screenOnA('console');
    const [incident] = await fireOnB([uniqueAlert('acme', { severity: 'critical' })]);
    await until(() => console.state.incidents.has(incident.id), 'the incident on the screen on A');
    await Promise.all([a.context.push.pager.idle(), b.context.push.pager.idle()]);
    const pages = push.received.filter((p) => p.subscriptionId === device.id && JSON.parse(p.plaintext ?? '{}').incidentId === incident.id);
    expect(pages).toHaveLength(1);
  });

  it('a screen on A sees what the CLI writes: a demo reset, a client renamed by a topology import', async () => {
    const console = await screenOnA('console');
    const wall = await screenOnA('screen');
    expect((await cli(['demo', 'reset'])).code).toBe(0); // builds the demo estate (globex is one of its clients)
    const demoIncidents = await fireOnB(Array.from({ length: 3 }, () => uniqueAlert('globex')));
    await until(() => demoIncidents.every((i) => console.state.incidents.has(i.id)), 'the demo client’s incidents on the screen');
    expect((await cli(['demo', 'reset'])).code).toBe(0);
    await until(() => demoIncidents.every((i) => !console.state.incidents.has(i.id)), 'the reset to take them off the screen on A');

    const files = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-processes-'));
    try {
      const file = (name: string) => {
        const at = path.join(files, `${name}.json`);
        fs.writeFileSync(at, JSON.stringify({ clients: [{ slug: 'contoso', name }] }));
        return at;
      };
      expect((await cli(['topology', 'import', file('Contoso')])).code).toBe(0);
      const [incident] = await fireOnB([uniqueAlert('contoso')]);
      await until(() => console.state.incidents.get(incident.id)?.clientName === 'Contoso', 'the contoso incident');
      const renamed = await cli(['topology', 'import', file('Contoso Pharma')]);
      expect(renamed.code, renamed.stderr).toBe(0);
      await until(() => console.state.incidents.get(incident.id)?.clientName === 'Contoso Pharma', 'the new name on the screen on A');
    } finally {
      fs.rmSync(files, { recursive: true, force: true });
    }
    await expectInStep(console);
    await expectInStep(wall);
  });

  it('a person and a team renamed on B show on a screen on A; a client rename by the CLI whose change rows fail is not made at all', async () => {
    const console = await screenOnA('console');
    const ivy = await person(b, 'ivy@example.com', 'engineer', null, 'Ivy');
    const admin = await person(b, 'root@example.com', 'admin', null, 'Root');
    const crew = (await admin.post('/api/v1/teams', { slug: 'crew', name: 'Crew' })).body.team as { id: string };
    const [incident] = await fireOnB([uniqueAlert('hooli')]);
    expect((await admin.post(`/api/v1/incidents/${incident.id}/assign`, { assigneeId: ivy.id, teamId: crew.id })).status).toBe(200);
    await until(() => console.state.incidents.get(incident.id)?.assigneeName === 'Ivy', 'the assigned incident on A');

    expect((await admin.call('PATCH', `/api/v1/users/${ivy.id}`, { name: 'Ivy Chen' })).status).toBe(200);
    expect((await admin.call('PATCH', `/api/v1/teams/${crew.id}`, { name: 'Night Crew' })).status).toBe(200);
    await until(() => console.state.incidents.get(incident.id)?.assigneeName === 'Ivy Chen' && console.state.incidents.get(incident.id)?.teamName === 'Night Crew', 'the new names on A');

    // The CLI alone on Postgres: a rename whose change rows fail is not made, by the CLI nor anyone.
    const files = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-renames-'));
    const file = path.join(files, 'hooli.json');
    fs.writeFileSync(file, JSON.stringify({ clients: [{ slug: 'hooli', name: 'Never Shown' }], nodes: [{ client: 'hooli', name: 'hooli-vpn' }] }));
    const stored = async () => rows(sql`select c.name, (select count(*)::int from nodes n where n.client_id = c.id) as nodes from clients c where c.slug = 'hooli'`);
    const before = await stored();
    await rows(sql`create function refuse_renamed() returns trigger language plpgsql as $$
      begin if new.data::text like '%Never Shown%' then raise exception 'change log unavailable'; end if; return new; end $$`);
    await rows(sql`create trigger refuse_renamed before insert on changes for each row execute function refuse_renamed()`);
    try {
      const refused = await cli(['topology', 'import', file]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/change log unavailable/);
    } finally {
      await rows(sql`drop trigger refuse_renamed on changes`);
      await rows(sql`drop function refuse_renamed()`);
      fs.rmSync(files, { recursive: true, force: true });
    }
    expect(await stored()).toEqual(before);
    expect(console.state.incidents.get(incident.id)?.clientName).toBe('Hooli');
    await expectInStep(console);
  });

  it('a user disabled with the CLI, and a session revoked on B, lose their sockets on A', async () => {
    const miaEnded = await socketEnding(await person(a, 'mia@example.com', 'engineer'));
    const disabled = await cli(['user', 'disable', '--email', 'mia@example.com']);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(await until(miaEnded, 'Mia’s socket on A to end')).toBe('revoked');

    // Two sessions of Leo's, each with a socket on A: changing the password with one on B ends the other.
    const leo = await a.addUser('leo@example.com', 'engineer');
    const [first, second] = [await a.signIn(leo.email, leo.password), await b.signIn(leo.email, leo.password)];
    const leoOn = (server: TestServer, cookie: string) => new Person(server, cookie, leo.id, leo.email, 'engineer');
    const firstEnded = await socketEnding(leoOn(a, first));
    const secondEnded = await socketEnding(leoOn(a, second));
    expect((await leoOn(b, second).post('/api/v1/session/password', { currentPassword: leo.password, newPassword: 'a much newer passphrase' })).status).toBe(204);
    expect(await until(firstEnded, 'the revoked session’s socket on A to end')).toBe('revoked');
    // Signing out on B ends that session's sockets on A too.
    expect((await leoOn(b, second).call('DELETE', '/api/v1/session')).status).toBe(204);
    expect(await until(secondEnded, 'the signed-out session’s socket on A to end')).toBe('signed_out');
  });

  it('a source’s token rotated on B, or the source disabled by the CLI, is refused on A at once, though A had it in memory', async () => {
    const { token } = await alertSource(b, 'prometheus-leaked');
    const [{ id }] = await rows<{ id: string }>(sql`select id from sources where name = 'prometheus-leaked'`);
    const postOnA = async (with_: string) => {
      const response = await postAlertmanager(a.url, with_, [uniqueAlert('acme')]);
      await response.body?.cancel();
      return response.status;
    };
    expect(await postOnA(token)).toBe(200); // A has looked the token up, and keeps it
    const adminOnB = await person(b, 'sources-admin@example.com', 'admin');
    const rotated = await adminOnB.post<{ token: string }>(`/api/v1/sources/${id}/token`, {});
    expect(rotated.status).toBe(200);
    await until(async () => (await postOnA(token)) === 401, 'A to refuse the old token');
    expect(await postOnA(rotated.body.token)).toBe(200);
    expect((await cli(['source', 'disable', '--name', 'prometheus-leaked'])).code).toBe(0);
    await until(async () => (await postOnA(rotated.body.token)) === 401, 'A to refuse the disabled source');
  });

  it('A catches up with what was committed while its listening connection was down', async () => {
    const listener = listenerOfA;
    if (listener === undefined) expect.fail('server A has no listening connection');
    const console = await screenOnA('console');
    const [incident] = await fireOnB([uniqueAlert('initech')]);
    await until(() => console.state.incidents.has(incident.id), 'the incident on the screen on A');
    const zoe = await person(a, 'zoe@example.com', 'engineer');
    const zoeEnded = await socketEnding(zoe);

    // A third process (as the CLI is) with its connection open before A's goes down.
    const third: Database = await openDatabase({ url, dataDir: os.tmpdir() });
    const admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    const name = new URL(url).pathname.slice(1);
    try {
      await third.rows(sql`select 1`);
      // A's listening connection goes, and cannot come back until we say: what is notified meanwhile is lost to A.
      await admin.unsafe(`alter database ${name} allow_connections false`);
      await admin`select pg_terminate_backend(${listener}, 5000)`;
      await new Renames(third, new ChangeWriter(third, () => {})).write(async (tx) => {
        await third.rows(sql`update clients set name = 'Initech Finance Group' where slug = 'initech'`, tx);
        return { result: undefined, renamed: { clients: ['initech'] } };
      });
      await third.rows(sql`delete from sessions where user_id = ${zoe.id}::uuid`);
      await announceRevocation(third, { userId: zoe.id, reason: 'revoked' });
      await new Promise((resolve) => setTimeout(resolve, 300)); // A keeps trying to listen again, refused
    } finally {
      await admin.unsafe(`alter database ${name} allow_connections true`);
      await admin.end();
      await third.close();
    }
    await until(() => console.state.incidents.get(incident.id)?.clientName === 'Initech Finance Group', 'the change made while A was not listening');
    expect(await until(zoeEnded, 'the revoked session’s socket on A to end')).toBe('revoked');
    await expectInStep(console);
    // And it listens again: a change on B reaches it as before.
    const [next] = await fireOnB([uniqueAlert('initech')]);
    await until(() => console.state.incidents.has(next.id), 'a change after the reconnection');
  });

  it('a wall’s token rotated or revoked, or the wall deleted, on B ends its screens on A at once', async () => {
    const rotated = await wallOnB(['umbrella']);
    const revoked = await wallOnB(['umbrella']);
    const deleted = await wallOnB(null);
    const [onRotated, onRevoked, onDeleted] = [await wallScreenOnA(rotated), await wallScreenOnA(revoked), await wallScreenOnA(deleted)];
    const oldCookie = await openWallLink(a, rotated.wall.id, rotated.token);

    const started = Date.now();
    const fresh = await leadOnB.post<WallWithTokenDto>(`/api/v1/walls/${rotated.wall.id}/token`);
    expect(fresh.status).toBe(201);
    expect((await leadOnB.call('DELETE', `/api/v1/walls/${revoked.wall.id}/token`)).status).toBe(200);
    expect((await leadOnB.call('DELETE', `/api/v1/walls/${deleted.wall.id}`)).status).toBe(204);
    await until(() => [onRotated, onRevoked, onDeleted].every((s) => s.closedBecause !== undefined), 'the three screens on A to close');
    // Promptly: the notice does it, the 5 s safety net is only for a lost one.
    expect(Date.now() - started).toBeLessThan(3000);
    expect([onRotated, onRevoked, onDeleted].map((s) => [s.told, s.closedBecause])).toEqual([
      [['wall:disconnected rotated'], 'io server disconnect'],
      [['wall:disconnected revoked'], 'io server disconnect'],
      [['wall:disconnected deleted'], 'io server disconnect'],
    ]);
    // The old cookie opens nothing on A; a screen opened on A with the new token stays, even through a sweep.
    await expect(WallScreen.open(a, rotated.wall.id, oldCookie)).rejects.toThrow('unauthenticated');
    const renewed = await wallScreenOnA({ ...rotated, token: fresh.body.token });
    await a.context.revocations.sweep();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(renewed.socket.connected).toBe(true);
    expect(renewed.told).toEqual([]);
  });

  it('a wall narrowed on B to fewer clients stops showing the others on A: its screen there reconnects, scoped anew', async () => {
    const wall = await wallOnB(['umbrella', 'hooli']);
    const cookie = await openWallLink(a, wall.wall.id, wall.token);
    const before = await WallScreen.open(a, wall.wall.id, cookie);
    wallScreens.push(before);
    const [hooli] = await fireOnB([uniqueAlert('hooli')]);
    await until(() => before.clientsSeen.has('hooli'), 'hooli’s incident on the wall on A');

    const narrowed = await leadOnB.call('PATCH', `/api/v1/walls/${wall.wall.id}`, { clients: ['umbrella'] });
    expect(narrowed.status).toBe(200);
    // As on one process: closed without "disconnected for good", so the wall app reconnects by itself.
    expect(await until(() => before.closedBecause, 'the screen on A to be closed')).toBe('io server disconnect');
    expect(before.told).toEqual([]);

    const after = await WallScreen.open(a, wall.wall.id, cookie);
    wallScreens.push(after);
    expect(after.snapshot!.incidents.map((i) => i.id)).not.toContain(hooli.id);
    // One commit: once umbrella's incident is on the screen, hooli's would be too, were it let through.
    const [, umbrella] = await fireOnB([uniqueAlert('hooli'), uniqueAlert('umbrella')]);
    await until(() => after.clientsSeen.has('umbrella'), `umbrella’s incident ${umbrella.id} on the wall on A`);
    expect([...after.clientsSeen]).toEqual(['umbrella']);
  });

  it('a wall’s layout edited on B, and topology news from B and the CLI, reach its screen on A', async () => {
    const wall = await wallOnB(null);
    const screen = await wallScreenOnA(wall);
    const started = Date.now();
    const edited = await leadOnB.call<{ version: number }>('PATCH', `/api/v1/walls/${wall.wall.id}`, { name: 'Renamed on B', pixelShift: false });
    expect(edited.status).toBe(200);
    await until(() => screen.told.includes(`wall:changed ${edited.body.version}`), 'wall:changed on A');
    // Promptly: the notice does it (the 5 s sweep would too, late).
    expect(Date.now() - started).toBeLessThan(1500);

    const imported = await leadOnB.post('/api/v1/topology/import', {
      nodes: [{ client: 'hooli', name: 'hooli-core' }, { client: 'hooli', name: 'hooli-edge' }],
      links: [{ client: 'hooli', from: 'hooli-core', to: 'hooli-edge' }],
    });
    expect(imported.status).toBe(200);
    await until(() => screen.told.includes('topology:changed hooli'), 'topology:changed on A');
    const { token } = await alertSource(b, 'metrics-b');
    const utilisation = await fetch(`${b.url}/api/v1/topology/link-utilisation`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ samples: [{ client: 'hooli', from: 'hooli-core', to: 'hooli-edge', utilisation: 0.93 }] }),
    });
    expect(utilisation.status).toBe(200);
    await until(() => screen.told.includes('topology:utilisation 0.93'), 'the utilisation on A');

    const files = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-walls-'));
    try {
      const file = path.join(files, 'umbrella.json');
      fs.writeFileSync(file, JSON.stringify({ nodes: [{ client: 'umbrella', name: 'umbrella-fw' }] }));
      const result = await cli(['topology', 'import', file]);
      expect(result.code, result.stderr).toBe(0);
    } finally {
      fs.rmSync(files, { recursive: true, force: true });
    }
    await until(() => screen.told.includes('topology:changed umbrella'), 'topology:changed for the CLI’s import on A');
    // Each once: A does not show its own news twice, nor B's.
    expect(screen.told.filter((t) => t.startsWith('wall:changed'))).toEqual([`wall:changed ${edited.body.version}`]);
    expect(screen.told.filter((t) => t === 'topology:utilisation 0.93')).toHaveLength(1);
  });

  it('a wall changed by a process whose notice was lost: the periodic check ends, re-scopes or tells its screens on A', async () => {
    const [rotated, revoked, deleted, narrowed, edited, untouched] = [
      await wallOnB(['umbrella']),
      await wallOnB(['umbrella']),
      await wallOnB(['umbrella']),
      await wallOnB(['umbrella', 'hooli']),
      await wallOnB(['umbrella']),
      await wallOnB(['umbrella']),
    ];
    const on = new Map<WallWithTokenDto, WallScreen>();
    for (const wall of [rotated, revoked, deleted, narrowed, edited, untouched]) on.set(wall, await wallScreenOnA(wall));
    // Written straight to the database, as by a process whose notices never arrived.
    const id = (wall: WallWithTokenDto) => wall.wall.id;
    await rows(sql`update walls set token_hash = md5(random()::text) || md5(random()::text), version = version + 1 where id = ${id(rotated)}`);
    await rows(sql`update walls set token_hash = null, revoked_at = now(), version = version + 1 where id = ${id(revoked)}`);
    await rows(sql`delete from walls where id = ${id(deleted)}`);
    await rows(sql`update walls set clients = '{umbrella}', version = version + 1 where id = ${id(narrowed)}`);
    await rows(sql`update walls set name = 'Edited elsewhere', version = version + 1 where id = ${id(edited)}`);

    const ended = [rotated, revoked, deleted, narrowed].map((wall) => on.get(wall)!);
    await until(() => ended.every((s) => s.closedBecause !== undefined) && on.get(edited)!.told.length > 0, 'the sweep to deal with the screens on A');
    expect(ended.map((s) => s.told)).toEqual([['wall:disconnected rotated'], ['wall:disconnected revoked'], ['wall:disconnected deleted'], []]);
    expect(on.get(edited)!.told).toEqual([`wall:changed ${edited.wall.version + 1}`]);
    // Another sweep tells nothing twice, and leaves the untouched wall's screen alone.
    await a.context.revocations.sweep();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(on.get(edited)!.told).toHaveLength(1);
    expect(on.get(edited)!.socket.connected).toBe(true);
    expect(on.get(untouched)!.socket.connected).toBe(true);
    expect(on.get(untouched)!.told).toEqual([]);
  }, 20_000);
});
