import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { addSource } from '../../server/ingest/sources.ts';
import { alertmanagerBody, type TestAlert } from '../helpers/alertmanager.ts';
import type { ClientToServerEvents, HandshakeAuth, ServerToClientEvents } from '../../src/lib/protocol/events.ts';
import { decodeDelta, decodeHead, decodeSnapshot, type FeedMode, type IncidentDelta, type IncidentDto, type IncidentHead, type IncidentSnapshot } from '../../src/lib/protocol/incidents.ts';
import { compareIncidents } from '../../src/lib/domain/priority.ts';
import type { IncidentListResponse } from '../../src/lib/protocol/console.ts';
import { applyDelta, applySnapshot, emptySync, type SyncState } from '../../src/lib/realtime/incident-sync.ts';
import { until } from '../helpers/until.ts';
import { shownIncidents } from '../helpers/shown-incidents.ts';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const COALESCE_MS = 300;

/** Alerts whose summaries name their client, which the assertions below look for. */
function alertmanager(alerts: Omit<TestAlert, 'summary'>[]): string {
  return alertmanagerBody(alerts.map((a) => ({ ...a, summary: `${a.name} for ${a.client}` })));
}

/**
 * A client as the app is one: a socket, a subscription, and the pure reducer fed with every message.
 * `drop` lets a test lose chosen deltas on purpose.
 */
class FeedClient {
  readonly socket: ClientSocket;
  snapshots: IncidentSnapshot[] = [];
  heads: IncidentHead[] = [];
  /** The order heads and snapshots arrived in. */
  arrivals: ('head' | 'snapshot')[] = [];
  deltas: IncidentDelta[] = [];
  /** Every state of an incident this socket was sent, whole (dropped deltas included: what was sent, not applied). */
  readonly shown: IncidentDto[];
  state: SyncState = emptySync();
  resyncs: string[] = [];
  drop: (delta: IncidentDelta, index: number) => boolean = () => false;
  subscription: { scope: { client?: string }; mode: FeedMode } | null = null;
  /** Re-subscribe by itself when the reducer asks (as the app does); off to observe the request. */
  autoResync = false;

  /** `auth`: what the handshake carries (`HandshakeAuth`: a subscription to start at once). */
  constructor(url: string, cookie: string, auth: HandshakeAuth = {}) {
    this.socket = connect(url, { auth, extraHeaders: { cookie }, transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 200 });
    this.shown = shownIncidents(this.socket, { snapshots: true });
    this.socket.on('incidents:head', (frame) => {
      this.heads.push(decodeHead(frame));
      this.arrivals.push('head');
    });
    this.socket.on('incidents:snapshot', (frame) => {
      this.arrivals.push('snapshot');
      const snapshot = decodeSnapshot(frame);
      this.snapshots.push(snapshot);
      const result = applySnapshot(this.state, snapshot);
      this.state = result.state;
      if (result.resync) this.#resync(result.reason);
    });
    let index = 0;
    this.socket.on('incidents:changed', (frame) => {
      const delta = decodeDelta(frame);
      if (this.drop(delta, index++)) return;
      this.deltas.push(delta);
      const result = applyDelta(this.state, delta);
      this.state = result.state;
      if (result.resync) this.#resync(result.reason);
    });
  }

  #resync(reason: string): void {
    this.resyncs.push(reason);
    if (this.autoResync) void this.subscribe();
  }

  connected(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', reject);
    });
  }

  async subscribe(subscription = this.subscription): Promise<{ ok: boolean; data?: { lastChangeId: number } }> {
    this.subscription = subscription;
    this.state = emptySync();
    return (await this.socket.timeout(10_000).emitWithAck('incidents:subscribe', subscription!)) as { ok: boolean; data?: { lastChangeId: number } };
  }

  /** The incidents this client shows, as id → (status, version, alertCount). */
  view(): Record<string, string> {
    return Object.fromEntries([...this.state.incidents.values()].map((i) => [i.id, `${i.status} v${i.version} ×${i.alertCount}`]));
  }

  close(): void {
    this.socket.disconnect();
  }
}

describe.each(DATABASES)('live feed on $name', (database) => {
  let server: TestServer;
  let token: string;
  let cookie: string;
  const clients: FeedClient[] = [];

  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, { COALESCE_MS: String(COALESCE_MS), INGEST_RATE_LIMIT: '100000' }, drop);
    token = (await addSource(server.context.database.db, { name: 'prometheus', format: 'alertmanager' })).token;
    const user = await server.addUser('wall@example.com', 'viewer');
    cookie = await server.signIn(user.email, user.password);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  async function client(auth: HandshakeAuth = {}, as = cookie): Promise<FeedClient> {
    const c = new FeedClient(server.url, as, auth);
    clients.push(c);
    await c.connected();
    return c;
  }

  async function send(body: string): Promise<void> {
    const response = await fetch(`${server.url}/api/v1/ingest/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
    });
    expect(response.status).toBe(200);
    await response.body?.cancel();
  }

  /** The open incidents in the database, as FeedClient.view() shows them. */
  async function dbView(client?: string): Promise<Record<string, string>> {
    const rows = await server.context.database.rows<{ id: string; status: string; version: number; alert_count: number }>(
      sql`select id, status, version, alert_count from incidents where status <> 'resolved' ${client === undefined ? sql`` : sql`and client = ${client}`}`,
    );
    return Object.fromEntries(rows.map((r) => [r.id, `${r.status} v${Number(r.version)} ×${Number(r.alert_count)}`]));
  }

  async function lastChangeId(): Promise<number> {
    const [{ last }] = await server.context.database.rows<{ last: number | string | null }>(sql`select max(id) as last from changes`);
    return Number(last ?? 0);
  }

  /** The last state of the incident with this summary the client was sent (resolved ones included). */
  const findIn = (c: FeedClient, summary: string): IncidentDto | undefined => c.shown.findLast((i) => i.summary === summary);

  it('console: a snapshot tagged with the last change id, then ordered deltas that chain; webhooks arrive as deltas, resolved ones as resolved', async () => {
    await send(alertmanager([{ name: 'Before', client: 'order', instance: 'a' }]));
    const c = await client();
    const ack = await c.subscribe({ scope: {}, mode: 'console' });
    expect(ack.ok).toBe(true);
    await until(() => c.snapshots.length === 1, 'the snapshot');
    const snapshot = c.snapshots[0];
    expect(snapshot.lastChangeId).toBe(await lastChangeId());
    expect(ack.data?.lastChangeId).toBe(snapshot.lastChangeId);
    expect(snapshot.incidents.map((i) => i.summary)).toContain('Before for order');

    for (let i = 0; i < 5; i++) await send(alertmanager([{ name: `Order${i}`, client: 'order', instance: 'a' }]));
    await send(alertmanager([{ name: 'Order0', client: 'order', instance: 'a', status: 'resolved' }]));
    await until(() => findIn(c, 'Order0 for order')?.status === 'resolved', 'the resolved incident');

    // a delta per commit, chained by prev, strictly increasing
    expect(c.deltas.length).toBe(6);
    expect(c.deltas[0].prev).toBeLessThanOrEqual(snapshot.lastChangeId);
    expect(c.deltas[0].last).toBeGreaterThan(snapshot.lastChangeId);
    for (let i = 1; i < c.deltas.length; i++) {
      expect(c.deltas[i].prev).toBe(c.deltas[i - 1].last);
      expect(c.deltas[i].last).toBeGreaterThan(c.deltas[i - 1].last);
    }
    expect(c.deltas.at(-1)!.last).toBe(await lastChangeId());
    expect(findIn(c, 'Order1 for order')).toMatchObject({ status: 'triggered', client: 'order', severity: 'warning', alertCount: 1 });
    expect(c.resyncs).toEqual([]);
    expect(c.view()).toEqual(await dbView());
  });

  it('a subscription sent with the handshake: the snapshot and then the deltas come without asking; one the socket may not have is refused, saying why', async () => {
    await send(alertmanager([{ name: 'Handshake', client: 'hs-a', instance: 'a' }]));
    const c = await client({ feed: { scope: { client: 'hs-a' }, mode: 'console' } });
    await until(() => c.snapshots.length === 1, 'the snapshot, unasked');
    expect(c.snapshots[0].lastChangeId).toBe(await lastChangeId());
    expect(c.snapshots[0].incidents.map((i) => i.summary)).toEqual(['Handshake for hs-a']);
    await send(alertmanager([{ name: 'Handshake', client: 'hs-a', instance: 'a', status: 'resolved' }]));
    await send(alertmanager([{ name: 'Elsewhere', client: 'hs-b', instance: 'a' }]));
    await until(() => findIn(c, 'Handshake for hs-a')?.status === 'resolved', 'the delta');
    expect(c.view()).toEqual(await dbView('hs-a'));

    const restricted = await server.addUser('restricted-hs@example.com', 'viewer');
    await server.context.database.rows(sql`update users set clients = '{hs-a}' where id = ${restricted.id}::uuid`);
    const restrictedCookie = await server.signIn(restricted.email, restricted.password);
    for (const [auth, code] of [
      [{ feed: { scope: { client: 'hs-b' }, mode: 'console' } }, 'forbidden'],
      [{ feed: { scope: 'everything', mode: 'console' } }, 'validation_failed'],
    ] as const) {
      const refusedClient = new FeedClient(server.url, restrictedCookie, auth as unknown as HandshakeAuth);
      clients.push(refusedClient);
      const refused = new Promise<{ code: string }>((resolve) => refusedClient.socket.once('incidents:refused', resolve));
      await refusedClient.connected();
      expect((await refused).code).toBe(code);
      await send(alertmanager([{ name: 'NotForThem', client: 'hs-b', instance: 'a' }]));
      expect(refusedClient.snapshots).toEqual([]);
      expect(refusedClient.deltas).toEqual([]);
    }
  });

  it('a console that asks for the head of its queue gets it before the snapshot: the first rows for its filter, how many match, and the counts the REST list gives', async () => {
    const severities = ['critical', 'warning', 'high', 'critical', 'info', 'high', 'critical'];
    await send(alertmanagerBody(severities.map((severity, i) => ({ name: `Head${i}`, client: 'hd-a', instance: `n${i}`, severity, summary: `head ${i}` }))));
    await send(alertmanager([{ name: 'HeadElsewhere', client: 'hd-b', instance: 'a', severity: 'critical' }]));
    const filter = 'client=hd-a&severity=critical,high';
    const c = await client({ feed: { scope: {}, mode: 'console', head: { filter, rows: 3 } } });
    await until(() => c.snapshots.length === 1, 'the snapshot');
    expect(c.arrivals).toEqual(['head', 'snapshot']);
    const [head] = c.heads;
    const snapshot = c.snapshots[0];
    expect(head.lastChangeId).toBe(snapshot.lastChangeId);
    expect(head.filter).toBe(filter);
    expect(head.open).toBe(snapshot.incidents.length);
    const wanted = snapshot.incidents.filter((i) => i.client === 'hd-a' && (i.severity === 'critical' || i.severity === 'high')).sort(compareIncidents);
    expect(head.matching).toBe(5);
    expect(head.first).toEqual(wanted.slice(0, 3));
    expect(head.first.map((i) => i.severity)).toEqual(['critical', 'critical', 'critical']);
    // The chips' counts are the ones the REST list gives for the same person and filter.
    const list = (await (await fetch(`${server.url}/api/v1/incidents?${filter}`, { headers: { cookie } })).json()) as IncidentListResponse;
    expect(list.total).toBe(head.matching);
    expect(head.counts).toEqual(list.counts);
    expect(head.counts.severity).toEqual({ critical: 3, high: 2, warning: 1, info: 1 }); // every severity, the state filter kept

    // Someone restricted to hd-b asking for everything gets a head of hd-b only.
    const restricted = await server.addUser('restricted-head@example.com', 'viewer');
    await server.context.database.rows(sql`update users set clients = '{hd-b}' where id = ${restricted.id}::uuid`);
    const theirs = await client({ feed: { scope: {}, mode: 'console', head: { filter: '', rows: 50 } } }, await server.signIn(restricted.email, restricted.password));
    await until(() => theirs.snapshots.length === 1, 'their snapshot');
    expect(theirs.heads[0].first.map((i) => i.summary)).toEqual(['HeadElsewhere for hd-b']);
    expect([theirs.heads[0].open, theirs.heads[0].matching]).toEqual([1, 1]);

    // Without asking for a head, none comes.
    const plain = await client({ feed: { scope: {}, mode: 'console' } });
    await until(() => plain.snapshots.length === 1, 'the plain snapshot');
    expect(plain.heads).toEqual([]);
  });

  it('screen: a burst of 50 commits arrives as far fewer coalesced deltas, ending in the right state', async () => {
    const screen = await client();
    const consoleClient = await client();
    await screen.subscribe({ scope: {}, mode: 'screen' });
    await consoleClient.subscribe({ scope: {}, mode: 'console' });
    await until(() => screen.state.ready && consoleClient.state.ready, 'both snapshots');
    const before = await lastChangeId();
    for (let i = 0; i < 50; i++) await send(alertmanager([{ name: 'Burst', client: 'burst', instance: `n${i}` }]));
    const commits = (await lastChangeId()) - before;
    expect(commits).toBe(50); // one incident, changed by each webhook
    await until(() => findIn(screen, 'Burst for burst')?.alertCount === 50, 'the final state on the screen');
    await until(() => findIn(consoleClient, 'Burst for burst')?.alertCount === 50, 'the final state on the console');
    expect(consoleClient.deltas.length).toBe(50);
    expect(screen.deltas.length).toBeLessThanOrEqual(10);
    // coalesced: one entry per incident per delta, and the chain still holds
    for (const d of screen.deltas) expect(new Set(d.incidents.map((i) => i.id)).size).toBe(d.incidents.length);
    for (let i = 1; i < screen.deltas.length; i++) expect(screen.deltas[i].prev).toBe(screen.deltas[i - 1].last);
    expect(screen.resyncs).toEqual([]);
    expect(screen.view()).toEqual(await dbView());
  });

  it('an incident travels once: each delta carries only what changed (the nodes it gained among it), and every screen ends with the whole incident', async () => {
    const screen = await client();
    const consoleClient = await client();
    await screen.subscribe({ scope: {}, mode: 'screen' });
    await consoleClient.subscribe({ scope: {}, mode: 'console' });
    await until(() => screen.state.ready && consoleClient.state.ready, 'both snapshots');
    for (let i = 0; i < 30; i++) await send(alertmanager([{ name: 'Spread', client: 'spread', instance: `host-${i}` }]));
    const held = (c: FeedClient) => [...c.state.incidents.values()].find((i) => i.summary === 'Spread for spread');
    await until(() => held(screen)?.alertCount === 30 && held(consoleClient)?.alertCount === 30, 'the last alert on both');
    const [{ nodes }] = await server.context.database.rows<{ nodes: string[] }>(sql`select nodes from incidents where group_key = 'spread|Spread'`);
    expect(nodes).toEqual(Array.from({ length: 30 }, (_, i) => `host-${i}`));
    for (const c of [consoleClient, screen]) {
      expect(held(c)?.nodes).toEqual(nodes);
      expect(c.resyncs).toEqual([]);
      const updates = c.deltas.flatMap((d) => d.incidents).filter((i) => i.id === held(c)?.id);
      // The first carries the whole incident; each later one a patch: what changed since what the screens held, the
      // node list continued (30 names in all, not 465), and neither the summary nor the labels again.
      expect(updates[0]).toMatchObject({ summary: 'Spread for spread', labels: { alertname: 'Spread' } });
      expect(updates[0].from).toBeUndefined();
      expect(updates[0].nodesFrom).toBeUndefined();
      for (const u of updates.slice(1)) {
        expect(u).toMatchObject({ from: expect.any(Number), nodesFrom: expect.any(Number), alertCount: expect.any(Number) });
        expect(u).not.toHaveProperty('summary');
        expect(u).not.toHaveProperty('labels');
      }
      expect(updates.reduce((sum, u) => sum + (u.nodes?.length ?? 0), 0)).toBe(30);
    }
    expect(consoleClient.deltas.flatMap((d) => d.incidents).filter((i) => i.id === held(consoleClient)?.id).map((u) => u.nodes)).toEqual(nodes.map((n) => [n]));
    // A screen opening now gets the whole list in its snapshot.
    const late = await client();
    await late.subscribe({ scope: {}, mode: 'screen' });
    await until(() => late.state.ready, 'the late snapshot');
    expect(held(late)?.nodes).toEqual(nodes);
  });

  it("a subscriber scoped to one client sees only that client's incidents", async () => {
    await send(alertmanager([{ name: 'Early', client: 'scope-b', instance: 'x' }]));
    await send(alertmanager([{ name: 'Early', client: 'scope-a', instance: 'x' }]));
    const c = await client();
    await c.subscribe({ scope: { client: 'scope-a' }, mode: 'console' });
    await until(() => c.state.ready, 'the snapshot');
    expect(c.snapshots[0].incidents.map((i) => i.client)).toEqual(['scope-a']);
    await send(alertmanager([{ name: 'Later', client: 'scope-b', instance: 'x' }]));
    await send(alertmanager([{ name: 'Later', client: 'scope-a', instance: 'x' }]));
    await until(() => findIn(c, 'Later for scope-a'), 'the scoped delta');
    expect(c.deltas.flatMap((d) => d.incidents).every((i) => i.client === 'scope-a')).toBe(true);
    expect(c.view()).toEqual(await dbView('scope-a'));
    expect(c.resyncs).toEqual([]);
  });

  it('gap recovery: a dropped delta makes the reducer ask for a resync; subscribing again gives a snapshot that matches the database', async () => {
    const c = await client();
    c.drop = (_delta, index) => index === 1; // lose the second delta
    await c.subscribe({ scope: {}, mode: 'console' });
    await until(() => c.state.ready, 'the snapshot');
    await send(alertmanager([{ name: 'Gap1', client: 'gap', instance: 'a' }]));
    await send(alertmanager([{ name: 'Gap2', client: 'gap', instance: 'a' }]));
    expect(c.resyncs).toEqual([]);
    await send(alertmanager([{ name: 'Gap3', client: 'gap', instance: 'a' }]));
    await until(() => c.resyncs.length > 0, 'the reducer to notice the gap');
    expect(c.resyncs[0]).toMatch(/missed changes/);
    // the client holds Gap1 but not Gap2 or Gap3 now
    const held = [...c.state.incidents.values()].map((i) => i.summary);
    expect(held).toContain('Gap1 for gap');
    expect(held).not.toContain('Gap2 for gap');

    const ack = await c.subscribe();
    expect(ack.ok).toBe(true);
    await until(() => c.snapshots.length === 2 && c.state.ready, 'the fresh snapshot');
    expect(c.state.lastChangeId).toBe(await lastChangeId());
    expect(c.view()).toEqual(await dbView());
    // and live deltas continue on top of it
    await send(alertmanager([{ name: 'Gap1', client: 'gap', instance: 'a', status: 'resolved' }]));
    await until(() => findIn(c, 'Gap1 for gap')?.status === 'resolved', 'the delta after the resync');
    expect(c.resyncs).toHaveLength(1);
    expect(c.view()).toEqual(await dbView());
  });

  it('reconnect: a client that disconnects, misses changes and subscribes again sees what the database holds', async () => {
    const c = await client();
    await c.subscribe({ scope: { client: 'reconnect' }, mode: 'screen' });
    await until(() => c.state.ready, 'the snapshot');
    await send(alertmanager([{ name: 'Stays', client: 'reconnect', instance: 'a' }, { name: 'Goes', client: 'reconnect', instance: 'a' }]));
    await until(() => c.state.incidents.size === 2, 'both incidents');

    c.socket.disconnect();
    await send(alertmanager([{ name: 'Goes', client: 'reconnect', instance: 'a', status: 'resolved' }]));
    await send(alertmanager([{ name: 'New', client: 'reconnect', instance: 'a' }]));
    c.socket.connect();
    await c.connected();
    expect(c.socket.recovered).toBe(false); // a deliberate disconnect is not a blip
    await c.subscribe();
    await until(() => c.state.ready, 'the snapshot after reconnecting');
    expect(c.view()).toEqual(await dbView('reconnect'));
    expect(Object.keys(c.view())).toHaveLength(2);
  });

  it('a network blip: the only subscriber of a scope loses its connection, changes happen, the recovered socket ends up matching the database', async () => {
    const c = await client();
    c.autoResync = true;
    await c.subscribe({ scope: { client: 'blip' }, mode: 'console' });
    await until(() => c.state.ready, 'the snapshot');
    await send(alertmanager([{ name: 'Blip', client: 'blip', instance: 'a' }]));
    await until(() => c.state.incidents.size === 1, 'the incident');

    const reconnected = new Promise<void>((resolve) => c.socket.io.once('reconnect', () => resolve()));
    // the transport dies under the socket (as on a network blip): Socket.IO reconnects and recovers it
    c.socket.io.engine.close();
    await until(async () => (await server.context.realtime.io.in('feed:console:blip').fetchSockets()).length === 0, 'the server to see the socket go');
    await send(alertmanager([{ name: 'Blip', client: 'blip', instance: 'a', status: 'resolved' }]));
    await reconnected;
    await c.connected();
    expect(c.socket.recovered).toBe(true);
    // no further change arrives in this scope: the client must be right without one
    await until(async () => JSON.stringify(c.view()) === JSON.stringify(await dbView('blip')), 'the recovered view to match the database', 5000);
    expect(c.view()).toEqual({});
  });

  it('unauthenticated sockets are refused at the handshake', async () => {
    for (const headers of [{}, { cookie: 'wf_session=not-a-session' }] as Record<string, string>[]) {
      const socket: ClientSocket = connect(server.url, { extraHeaders: headers, transports: ['websocket'], reconnection: false });
      const error = await new Promise<Error>((resolve) => socket.once('connect_error', resolve));
      expect(error.message).toBe('unauthenticated');
      expect(socket.connected).toBe(false);
      socket.close();
    }
  });

  it('malformed subscribe payloads are answered validation_failed and the server stays up', async () => {
    const c = await client();
    const bad: unknown[] = [
      undefined,
      null,
      42,
      'console',
      [],
      {},
      { mode: 'wall' },
      { mode: 'console', scope: { client: 42 } },
      { mode: 'console', scope: { client: 'x'.repeat(1000) } },
      { mode: ['console'] },
      { mode: 'console', scope: { client: { $ne: null } } },
      { mode: 'console', scope: 'acme' },
      { mode: 'console', scope: {}, head: 'severity=critical' },
      { mode: 'console', scope: {}, head: { filter: 'severity=critical' } },
      { mode: 'console', scope: {}, head: { filter: 'q=x', rows: 0 } },
      { mode: 'console', scope: {}, head: { filter: 'q=x', rows: 1.5 } },
      { mode: 'console', scope: {}, head: { filter: 'q=x', rows: 100_000 } },
      { mode: 'console', scope: {}, head: { filter: 'q='.padEnd(5000, 'x'), rows: 10 } },
      { mode: 'console', scope: {}, head: { filter: ['severity=critical'], rows: 10 } },
      { __proto__: { mode: 'console' } },
      JSON.parse('{"__proto__": {"mode": "console"}}'),
    ];
    for (const payload of bad) {
      const ack = (await c.socket.timeout(5000).emitWithAck('incidents:subscribe', payload as never)) as { ok: boolean; code?: string };
      expect(ack, JSON.stringify(payload)).toMatchObject({ ok: false, code: 'validation_failed' });
    }
    // no ack callback at all: nothing to answer, nothing breaks
    c.socket.emit('incidents:subscribe', { scope: {}, mode: 'console' } as never, undefined as never);
    expect(c.snapshots).toEqual([]);
    expect(c.socket.connected).toBe(true);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const ok = await c.subscribe({ scope: {}, mode: 'console' });
    expect(ok.ok).toBe(true);
  });
});
