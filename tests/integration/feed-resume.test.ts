/**
 * Resuming the live feed from the change log: a screen that holds incidents at change id L and subscribes again
 * (a reconnect after a restart, on another server process, after a long sleep) gets what changed in its room
 * after L instead of every open incident, when that is safe; else a snapshot, as before.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { io as connect } from 'socket.io-client';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { postAlertmanager } from '../helpers/alertmanager.ts';
import { alertSource, person, uniqueAlert, until, type ClientSocket, type Person } from './console-support.ts';
import { decodeDelta, decodeCatchUp, decodeSnapshot, type FeedMode, type FeedScope, type IncidentCatchUp, type IncidentDelta, type IncidentDto } from '../../src/lib/protocol/incidents.ts';
import { applyDelta, applyResume, applySnapshot, awaitAnswer, emptySync, resumePoint, type SyncResult, type SyncState } from '../../src/lib/realtime/incident-sync.ts';
import { RESUME_CHANGES_MAX } from '../../server/realtime/feed-resume.ts';
import { openDatabase } from '../../server/db/database.ts';
import { recordIncidentChanges } from '../../server/db/incident-store.ts';
import { WRITER_LOCK } from '../../server/engine/change-writer.ts';

/**
 * A screen as the app is one: a socket, a subscription (with the resume point of the incidents it starts
 * with), and the app's pure reducer fed with every message. It never subscribes again by itself: a resync it
 * would ask for is recorded, and the tests want none.
 */
class Screen {
  readonly socket: ClientSocket;
  state: SyncState;
  readonly answers: ('snapshot' | 'resume')[] = [];
  readonly catchUps: IncidentCatchUp[] = [];
  readonly deltas: IncidentDelta[] = [];
  readonly resyncs: string[] = [];
  /** Clients of every incident it received (snapshot, catch-up, deltas). */
  readonly clientsSeen = new Set<string | null>();

  private constructor(socket: ClientSocket, from: SyncState) {
    this.socket = socket;
    this.state = awaitAnswer(from);
    const take = (result: SyncResult) => {
      this.state = result.state;
      if (result.resync) this.resyncs.push(result.reason);
    };
    socket.on('incidents:snapshot', (frame) => {
      this.answers.push('snapshot');
      const snapshot = decodeSnapshot(frame);
      for (const i of snapshot.incidents) this.clientsSeen.add(i.client);
      take(applySnapshot(this.state, snapshot));
    });
    socket.on('incidents:resumed', (frame) => {
      const catchUp = decodeCatchUp(frame);
      this.answers.push('resume');
      this.catchUps.push(catchUp);
      for (const i of catchUp.incidents) this.clientsSeen.add(i.client);
      take(applyResume(this.state, catchUp));
    });
    socket.on('incidents:changed', (frame) => {
      const delta = decodeDelta(frame);
      this.deltas.push(delta);
      for (const i of delta.incidents) this.clientsSeen.add(i.client);
      take(applyDelta(this.state, delta));
    });
  }

  /**
   * Opens a screen on `server` holding `from` (nothing: a first visit), subscribed to `feed` with the resume
   * point of what it holds: in the handshake, as the app's reconnects do, or with `incidents:subscribe`.
   */
  static async open(server: TestServer, cookie: string, options: { from?: SyncState; scope?: FeedScope; mode?: FeedMode; via?: 'handshake' | 'event' } = {}): Promise<Screen> {
    const from = options.from ?? emptySync();
    const resume = resumePoint(from);
    const feed = { scope: options.scope ?? {}, mode: options.mode ?? 'console', ...(resume ? { resume } : {}) };
    const viaHandshake = (options.via ?? 'handshake') === 'handshake';
    const socket: ClientSocket = connect(server.url, {
      extraHeaders: { cookie },
      auth: viaHandshake ? { feed } : {},
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    const screen = new Screen(socket, from);
    if (!viaHandshake) {
      const reply = await socket.timeout(10_000).emitWithAck('incidents:subscribe', feed);
      expect(reply).toMatchObject({ ok: true, data: { answer: screen.answers[0] } });
    }
    await until(() => screen.state.ready, 'the screen’s answer');
    return screen;
  }

  /** Disconnects and opens again on `server` (another process, a restarted one) with what it holds. */
  async reopen(server: TestServer, cookie: string, options: { scope?: FeedScope; mode?: FeedMode; via?: 'handshake' | 'event' } = {}): Promise<Screen> {
    this.socket.disconnect();
    return Screen.open(server, cookie, { ...options, from: this.state });
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** The open incidents as a screen holds them, keyed by id. */
const held = (screen: Screen): Record<string, IncidentDto> => Object.fromEntries(screen.state.incidents);

/** The server's answers so far, as its metrics count them. */
async function counted(server: TestServer): Promise<Record<string, number>> {
  const answers = await server.context.metrics.feedAnswers.get();
  const refused = await server.context.metrics.feedResumesRefused.get();
  return {
    ...Object.fromEntries(answers.values.map((v) => [v.labels.answer, v.value])),
    ...Object.fromEntries(refused.values.map((v) => [`refused ${v.labels.reason}`, v.value])),
  };
}

/** What `run` added to the server's counts. */
async function countedDuring(server: TestServer, run: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await counted(server);
  await run();
  const after = await counted(server);
  return Object.fromEntries(Object.entries(after).filter(([key, value]) => value !== (before[key] ?? 0)).map(([key, value]) => [key, value - (before[key] ?? 0)]));
}

async function newestChangeId(server: TestServer): Promise<number> {
  const [{ last }] = await server.context.database.rows<{ last: number | string | null }>(sql`select max(id) as last from changes`);
  return Number(last ?? 0);
}

describe.each(DATABASES)('resuming the live feed on $name', (database) => {
  let server: TestServer;
  let fire: Awaited<ReturnType<typeof alertSource>>['fire'];
  let token: string;
  let viewer: Person;
  let engineer: Person;
  let admin: Person;
  const screens: Screen[] = [];

  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, { INGEST_RATE_LIMIT: '100000' }, drop);
    ({ fire, token } = await alertSource(server));
    viewer = await person(server, 'wall@example.com', 'viewer');
    engineer = await person(server, 'eve@example.com', 'engineer', null, 'Eve');
    admin = await person(server, 'root@example.com', 'admin', null, 'Root');
  });
  afterEach(() => {
    for (const screen of screens.splice(0)) screen.close();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  async function open(options: Parameters<typeof Screen.open>[2] & { cookie?: string } = {}): Promise<Screen> {
    const screen = await Screen.open(server, options.cookie ?? viewer.cookie, options);
    screens.push(screen);
    return screen;
  }
  async function reopen(screen: Screen, options: Parameters<Screen['reopen']>[2] & { cookie?: string } = {}): Promise<Screen> {
    const again = await screen.reopen(server, options.cookie ?? viewer.cookie, options);
    screens.push(again);
    return again;
  }
  /** What a first visit gets now: the incidents every resumed screen must end up holding. */
  async function fresh(options: { scope?: FeedScope; cookie?: string } = {}): Promise<Record<string, IncidentDto>> {
    const screen = await open(options);
    return held(screen);
  }
  const act = (action: string, id: string, body: unknown = {}) => engineer.post(`/api/v1/incidents/${id}/${action}`, body);

  it('a screen holding incidents at L subscribes again and gets only what changed after L: no snapshot, then deltas as usual', async () => {
    const first = await open();
    const [stays, goes, acked] = await fire([uniqueAlert('acme'), uniqueAlert('acme'), uniqueAlert('globex')]);
    await until(() => first.state.incidents.size >= 3 && first.state.lastChangeId >= 1, 'the three incidents');
    await until(async () => first.state.lastChangeId === (await newestChangeId(server)), 'the screen to be current');
    const L = first.state.lastChangeId;
    first.close();

    // While it is away: one resolved, one acknowledged, one opened.
    expect((await act('resolve', goes.id)).status).toBe(200);
    expect((await act('acknowledge', acked.id)).status).toBe(200);
    const [opened] = await fire([uniqueAlert('initech')]);
    const X = await newestChangeId(server);

    // Once with the subscription in the handshake (as the app reconnects), once with `incidents:subscribe`.
    const again: Screen[] = [];
    const added = await countedDuring(server, async () => {
      for (const via of ['handshake', 'event'] as const) {
        const screen = await Screen.open(server, viewer.cookie, { from: first.state, via });
        screens.push(screen);
        again.push(screen);
      }
    });
    expect(added).toEqual({ resume: 2 });
    for (const screen of again) {
      expect(screen.answers).toEqual(['resume']);
      expect(screen.catchUps).toHaveLength(1);
      const [catchUp] = screen.catchUps;
      expect([catchUp.prev, catchUp.last]).toEqual([L, X]);
      // Exactly the incidents that changed meanwhile, each once, in its latest state: not the one that did not.
      expect(catchUp.incidents.map((i) => [i.id, i.status])).toEqual([
        [goes.id, 'resolved'],
        [acked.id, 'acknowledged'],
        [opened.id, 'triggered'],
      ]);
      expect(catchUp.incidents.map((i) => i.id)).not.toContain(stays.id);
      expect(Object.keys(held(screen))).not.toContain(goes.id);
      expect(held(screen)).toEqual(await fresh());
    }
    // The room's deltas go on from there.
    const [next] = await fire([uniqueAlert('acme')]);
    for (const screen of again) {
      await until(() => screen.state.incidents.has(next.id), 'the next change as a delta');
      expect(screen.resyncs).toEqual([]);
    }
  });

  it('a user restricted to some clients never receives another client’s incident in a catch-up', async () => {
    const ann = await person(server, 'ann@example.com', 'viewer', ['acme']);
    const first = await open({ cookie: ann.cookie });
    const [mine] = await fire([uniqueAlert('acme'), uniqueAlert('globex')]);
    await until(() => first.state.incidents.has(mine.id), 'acme’s incident');
    first.close();
    const [, acme, , nobody] = await fire([uniqueAlert('globex'), uniqueAlert('acme'), uniqueAlert('initech'), uniqueAlert('')]);
    const screen = await reopen(first, { cookie: ann.cookie });
    expect(screen.answers).toEqual(['resume']);
    expect(screen.catchUps[0].incidents.map((i) => i.id)).toEqual([acme.id]);
    expect(nobody.client).toBeNull();
    expect([...screen.clientsSeen]).toEqual(['acme']);
    expect(held(screen)).toEqual(await fresh({ cookie: ann.cookie }));
  });

  it('a screen whose incidents were built for other clients gets a snapshot: another scope, or the user’s clients changed since', async () => {
    const [acme] = await fire([uniqueAlert('acme'), uniqueAlert('globex')]);
    const oneClient = await open({ scope: { client: 'acme' } });
    const wider = await countedDuring(server, async () => {
      const screen = await reopen(oneClient, { scope: {} });
      expect(screen.answers).toEqual(['snapshot']);
      expect(held(screen)).toEqual(await fresh());
    });
    expect(wider).toEqual({ snapshot: 2, 'refused other_feed': 1 });

    // A user given another client: changing the scope signs them out; their screen comes back with the old incidents.
    const bo = await server.addUser('bo@example.com', 'viewer');
    await server.context.database.rows(sql`update users set clients = '{acme}' where id = ${bo.id}::uuid`);
    const before = await open({ cookie: await server.signIn(bo.email, bo.password) });
    expect(before.state.incidents.has(acme.id)).toBe(true);
    expect([...before.clientsSeen]).toEqual(['acme']);
    expect((await admin.call('PATCH', `/api/v1/users/${bo.id}`, { clients: ['acme', 'globex'] })).status).toBe(200);
    const cookie = await server.signIn(bo.email, bo.password);
    const after = await countedDuring(server, async () => {
      const screen = await reopen(before, { cookie });
      expect(screen.answers).toEqual(['snapshot']);
      expect([...new Set([...screen.state.incidents.values()].map((i) => i.client))].sort()).toEqual(['acme', 'globex']);
    });
    expect(after).toEqual({ snapshot: 1, 'refused other_feed': 1 });
  });

  it('an id this database has not reached gets a snapshot', async () => {
    const screen = await open();
    const future: SyncState = { ...screen.state, lastChangeId: (await newestChangeId(server)) + 1000 };
    screen.close();
    const added = await countedDuring(server, async () => {
      const again = await Screen.open(server, viewer.cookie, { from: future });
      screens.push(again);
      expect(again.answers).toEqual(['snapshot']);
      expect(held(again)).toEqual(await fresh());
    });
    expect(added).toEqual({ snapshot: 2, 'refused future': 1 });
  });

  it(`more than ${RESUME_CHANGES_MAX} changes since: a snapshot`, async () => {
    const screen = await open();
    screen.close();
    // A storm while it was away: more incidents changed than a catch-up carries.
    for (let from = 0; from <= RESUME_CHANGES_MAX; from += 500) {
      const alerts = Array.from({ length: Math.min(500, RESUME_CHANGES_MAX + 1 - from) }, () => uniqueAlert('storm'));
      const response = await postAlertmanager(server.url, token, alerts);
      expect(response.status).toBe(200);
      await response.body?.cancel();
    }
    expect((await newestChangeId(server)) - screen.state.lastChangeId).toBeGreaterThan(RESUME_CHANGES_MAX);
    const added = await countedDuring(server, async () => {
      const again = await reopen(screen);
      expect(again.answers).toEqual(['snapshot']);
      expect(held(again)).toEqual(await fresh());
    });
    expect(added).toEqual({ snapshot: 2, 'refused too_many': 1 });
    // Once current again, the next subscription resumes.
    const current = screens.at(-2)!;
    expect((await countedDuring(server, () => reopen(current))).resume).toBe(1);
  });

  it('renames, merges and resolutions while away arrive in the catch-up as deltas would bring them', async () => {
    const [target, source, assigned] = await fire([uniqueAlert('umbrella'), uniqueAlert('umbrella'), uniqueAlert('umbrella')]);
    expect((await act('assign', assigned.id, { assigneeId: engineer.id })).status).toBe(200);
    const first = await open();
    await until(() => first.state.incidents.get(assigned.id)?.assigneeName === 'Eve', 'the assignment');
    first.close();
    expect((await act('merge', target.id, { sourceIds: [source.id] })).status).toBe(200);
    expect((await admin.call('PATCH', `/api/v1/users/${engineer.id}`, { name: 'Eve Adams' })).status).toBe(200);
    const screen = await reopen(first);
    expect(screen.answers).toEqual(['resume']);
    expect(screen.catchUps[0].incidents.find((i) => i.id === source.id)).toMatchObject({ status: 'resolved', mergedIntoId: target.id });
    expect(screen.state.incidents.has(source.id)).toBe(false);
    expect(screen.state.incidents.get(assigned.id)?.assigneeName).toBe('Eve Adams');
    expect(held(screen)).toEqual(await fresh());
  });

  it('join first, read second: resuming again and again during a stream of commits never leaves a gap', async () => {
    let screen = await open();
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        const alert = uniqueAlert(Math.random() < 0.5 ? 'acme' : 'globex');
        await postAlertmanager(server.url, token, [alert, { ...alert, name: `${alert.name}b`, summary: `${alert.summary} b` }]).then((r) => r.body?.cancel());
      }
    })();
    try {
      for (let i = 0; i < 8; i++) {
        await new Promise((resolve) => setTimeout(resolve, 30 + Math.random() * 60));
        screen = await reopen(screen, { via: i % 2 === 0 ? 'handshake' : 'event' });
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
      }
    } finally {
      streaming = false;
      await stream;
    }
    const last = await newestChangeId(server);
    await until(() => screen.state.lastChangeId >= last, 'the last commit on the screen');
    expect(screens.flatMap((s) => s.resyncs)).toEqual([]);
    expect(screens.slice(1).flatMap((s) => s.answers)).toEqual(Array(8).fill('resume'));
    expect(held(screen)).toEqual(await fresh());
  });

  it('changes after the id no longer in the log (pruned): a snapshot', async () => {
    const screen = await open();
    screen.close();
    await fire([uniqueAlert('acme'), uniqueAlert('acme')]);
    // As a retention would: the oldest changes go, the two after the screen's id with them.
    await server.context.database.rows(sql`delete from changes where id <= ${screen.state.lastChangeId + 1}`);
    const added = await countedDuring(server, async () => {
      const again = await reopen(screen);
      expect(again.answers).toEqual(['snapshot']);
      expect(held(again)).toEqual(await fresh());
    });
    expect(added).toEqual({ snapshot: 2, 'refused pruned': 1 });
  });

  it('a malformed resume is refused, saying what it needs', async () => {
    const socket: ClientSocket = connect(server.url, { extraHeaders: { cookie: viewer.cookie }, transports: ['websocket'], forceNew: true });
    try {
      for (const resume of [{ after: -1, feedId: 'x' }, { after: 1.5, feedId: 'x' }, { after: 1, feedId: '' }, { after: 1, feedId: 'x'.repeat(65) }, { after: '1', feedId: 'x' }, 'L']) {
        const reply = await socket.timeout(10_000).emitWithAck('incidents:subscribe', { scope: {}, mode: 'console', resume } as never);
        expect(reply).toMatchObject({ ok: false, code: 'validation_failed', message: expect.stringMatching(/resume needs/) });
      }
    } finally {
      socket.disconnect();
    }
  });
});

describe('a restarted server on the same PGlite folder resumes its screens', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-resume-restart-'));
  let server: TestServer;
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('the screen gets what changed while the server was down and since it started again, not a snapshot', async () => {
    server = await startTestServer(null, { WATCHFLOOR_DATA: dataDir });
    const { fire } = await alertSource(server);
    const user = await server.addUser('wall@example.com', 'viewer');
    let cookie = await server.signIn(user.email, user.password);
    const [resolved, stays] = await fire([uniqueAlert('acme'), uniqueAlert('acme')]);
    const screen = await Screen.open(server, cookie);
    await server.stop();
    expect(screen.state.incidents.has(resolved.id) && screen.state.incidents.has(stays.id)).toBe(true);

    server = await startTestServer(null, { WATCHFLOOR_DATA: dataDir });
    cookie = await server.signIn(user.email, user.password);
    const engineer = await person(server, 'eve@example.com', 'engineer');
    expect((await engineer.post(`/api/v1/incidents/${resolved.id}/resolve`)).status).toBe(200);
    const [opened] = await (await alertSource(server, 'prometheus-2')).fire([uniqueAlert('acme')]);
    const again = await Screen.open(server, cookie, { from: screen.state });
    try {
      expect(again.answers).toEqual(['resume']);
      expect(again.catchUps[0].incidents.map((i) => i.id)).toEqual([resolved.id, opened.id]);
      expect(await counted(server)).toEqual({ resume: 1 });
      expect(again.state.incidents.has(resolved.id)).toBe(false);
      expect(again.state.incidents.has(opened.id)).toBe(true);
      const first = await Screen.open(server, cookie);
      expect(Object.fromEntries(again.state.incidents)).toEqual(Object.fromEntries(first.state.incidents));
      first.close();
    } finally {
      again.close();
    }
  });
});

const postgres = DATABASES.find((d) => d.name === 'postgres');

describe.skipIf(!postgres)('several server processes on one Postgres', () => {
  let url = '';
  let drop: () => Promise<void> = async () => {};
  let a: TestServer;
  let b: TestServer;
  const screens: Screen[] = [];

  beforeAll(async () => {
    ({ url, drop } = await postgres!.url());
    a = await startTestServer(url);
    b = await startTestServer(url);
  });
  afterEach(() => {
    for (const screen of screens.splice(0)) screen.close();
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await drop();
  });

  it('a screen whose incidents came from server A resumes on server B (as behind a load balancer), and on A restarted', async () => {
    const user = await a.addUser('wall@example.com', 'viewer');
    const [cookieA, cookieB] = [await a.signIn(user.email, user.password), await b.signIn(user.email, user.password)];
    const fireOnA = (await alertSource(a, 'on-a')).fire;
    const fireOnB = (await alertSource(b, 'on-b')).fire;
    await fireOnA([uniqueAlert('acme'), uniqueAlert('globex')]);
    const onA = await Screen.open(a, cookieA);
    screens.push(onA);
    onA.close();
    const [fromA] = await fireOnA([uniqueAlert('acme')]);
    const [fromB] = await fireOnB([uniqueAlert('globex')]);
    const onB = await Screen.open(b, cookieB, { from: onA.state });
    screens.push(onB);
    expect(onB.answers).toEqual(['resume']);
    expect(onB.catchUps[0].incidents.map((i) => i.id)).toEqual([fromA.id, fromB.id]);
    const [next] = await fireOnA([uniqueAlert('acme')]);
    await until(() => onB.state.incidents.has(next.id), 'A’s next commit on the screen on B');
    expect(onB.resyncs).toEqual([]);

    // A restarts (a deploy) on the same database: the screen comes back to it from where it was on B.
    onB.close();
    await a.stop();
    const [whileDown] = await fireOnB([uniqueAlert('acme')]);
    a = await startTestServer(url);
    const back = await Screen.open(a, await a.signIn(user.email, user.password), { from: onB.state });
    screens.push(back);
    expect(back.answers).toEqual(['resume']);
    expect(back.catchUps[0].incidents.map((i) => i.id)).toEqual([whileDown.id]);
    expect(Object.fromEntries(back.state.incidents)).toEqual(Object.fromEntries((await Screen.open(a, cookieA)).state.incidents));
  });

  it('a catch-up on B reads a commit B has not published yet: when B publishes it, the screen drops it, and goes on without a gap', async () => {
    const user = await b.addUser('lag@example.com', 'viewer');
    const cookie = await b.signIn(user.email, user.password);
    const [incident] = await (await alertSource(a, 'lag-a')).fire([uniqueAlert('acme')]);
    const first = await Screen.open(b, cookie);
    screens.push(first);
    await until(() => first.state.incidents.has(incident.id), 'the incident on B');
    first.close();

    // A process whose notice was lost commits a change: B hears of it only at its next safety-net catch-up (every 5 s).
    const third = await openDatabase({ url, dataDir: os.tmpdir() });
    let committed: number;
    try {
      const changes = await third.db.transaction(async (tx) => {
        await third.rows(sql`select pg_advisory_xact_lock(${WRITER_LOCK})`, tx);
        await third.rows(sql`update incidents set summary = 'changed unannounced', version = version + 1 where id = ${incident.id}::uuid`, tx);
        return recordIncidentChanges(third, tx, [incident.id]);
      });
      committed = changes[0].changeId;
    } finally {
      await third.close();
    }
    expect(b.context.realtime.lastChangeId).toBeLessThan(committed);
    const screen = await Screen.open(b, cookie, { from: first.state });
    screens.push(screen);
    expect(screen.answers).toEqual(['resume']);
    expect(screen.catchUps[0].last).toBe(committed);
    expect(screen.state.incidents.get(incident.id)?.summary).toBe('changed unannounced');
    expect(b.context.realtime.lastChangeId).toBeLessThan(committed); // still not published on B when the catch-up came

    // B publishes it (its safety net), then A commits more: the screen on B drops the first, applies the next.
    await until(() => b.context.realtime.lastChangeId >= committed, 'B to publish the unannounced commit', 10_000);
    const [next] = await (await alertSource(a, 'lag-a2')).fire([uniqueAlert('acme')]);
    await until(() => screen.state.incidents.has(next.id), 'the next commit on the screen on B');
    expect(screen.resyncs).toEqual([]);
    expect(screen.state.incidents.get(incident.id)?.summary).toBe('changed unannounced');
  });
});
