/**
 * `npm run bench:resume`: what a console costs the network when it reconnects after a server restart, with
 * 10,000 open incidents and ~50 changes made meanwhile: a snapshot (what every reconnect took before resuming,
 * and still takes when the app does not ask to resume) against a catch-up from the change id it held.
 *
 * The server runs as `npm start` runs it (its own process, PGlite on disk; Postgres too when TEST_DATABASE_URL
 * or BENCH_DATABASE_URL is set). The consoles are `socket.io-client` connections that subscribe in the handshake
 * as the app does and apply what comes with the app's reducer; bytes are the Socket.IO messages they receive
 * from the handshake until their incidents are current. Prints JSON and a table.
 * Options (env): BENCH_INCIDENTS (10000), BENCH_CHANGES (50), BENCH_CONSOLES (consoles reconnecting at once: 1,20),
 * BENCH_DATABASES (default "pglite,postgres"; postgres only with a database URL).
 */
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { io, type Socket } from 'socket.io-client';
import { benchTargets, cli, startServer } from './bench-support.ts';
import { queueAlert, seedQueue } from './console-support.ts';
import { postAlertmanager } from '../helpers/alertmanager.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/lib/protocol/events.ts';
import { decodeDelta, decodeCatchUp, decodeSnapshot, type FeedRequest } from '../../src/lib/protocol/incidents.ts';
import { applyDelta, applyResume, applySnapshot, awaitAnswer, emptySync, resumePoint, type SyncState } from '../../src/lib/realtime/incident-sync.ts';

const incidents = Number(process.env.BENCH_INCIDENTS ?? 10_000);
const changes = Number(process.env.BENCH_CHANGES ?? 50);
const consoleCounts = (process.env.BENCH_CONSOLES ?? '1,20').split(',').map(Number);


interface Reconnect {
  /** Socket.IO messages received, from the handshake until the incidents were current. */
  bytes: number;
  ms: number;
  answer: 'snapshot' | 'resume';
  state: SyncState;
}

/**
 * A console opening a connection with its subscription in the handshake (as the app's reconnect does), holding
 * `from`: with `resume`, it asks to resume from it. Resolves once the answer is applied.
 */
function reconnect(url: string, cookie: string, from: SyncState, resume: boolean): Promise<Reconnect> {
  const point = resume ? resumePoint(from) : undefined;
  const feed: FeedRequest = { scope: {}, mode: 'console', ...(point ? { resume: point } : {}) };
  const started = performance.now();
  let bytes = 0;
  let state = awaitAnswer(resume ? from : emptySync());
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, {
    transports: ['websocket'],
    extraHeaders: { cookie },
    auth: { feed },
    reconnection: false,
    forceNew: true,
    autoConnect: false,
  });
  socket.io.on('open', () => socket.io.engine.on('data', (data) => (bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength)));
  return new Promise((resolve, reject) => {
    const done = (answer: Reconnect['answer']) => {
      const ms = Math.round(performance.now() - started);
      socket.disconnect();
      resolve({ bytes, ms, answer, state });
    };
    socket.on('incidents:snapshot', (frame) => {
      state = applySnapshot(state, decodeSnapshot(frame)).state;
      done('snapshot');
    });
    socket.on('incidents:resumed', (catchUp) => {
      state = applyResume(state, decodeCatchUp(catchUp)).state;
      done('resume');
    });
    socket.on('incidents:changed', (delta) => (state = applyDelta(state, decodeDelta(delta)).state));
    socket.on('incidents:refused', (refusal) => reject(new Error(`refused: ${refusal.message}`)));
    socket.on('connect_error', reject);
    socket.connect();
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const sameIncidents = (a: SyncState, b: SyncState) => isDeepStrictEqual(a.incidents, b.incidents);

const rows: Record<string, string | number>[] = [];
let port = 18990;
for (const target of await benchTargets('wf-bench-resume-')) {
  let server: ChildProcess | null = null;
  const serverPort = ++port;
  const url = `http://127.0.0.1:${serverPort}`;
  const stop = async () => {
    if (!server) return;
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    server = null;
  };
  try {
    server = await startServer(target.env, serverPort);
    const { token } = JSON.parse(cli(target.env, ['source', 'add', '--name', 'bench', '--format', 'alertmanager'])) as { token: string };
    const password = `bench-${randomBytes(8).toString('hex')}`;
    cli(target.env, ['user', 'add', '--email', 'bench@example.com', '--name', 'Bench Engineer', '--role', 'engineer', '--password-stdin'], password);
    await seedQueue(url, token, incidents);
    const login = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench@example.com', password }) });
    const cookie = login.headers.getSetCookie()[0].split(';')[0];
    // The console as it was when the server went down: every open incident, at the newest change id.
    const held = (await reconnect(url, cookie, emptySync(), false)).state;

    // A deploy: the server stops, starts again on the same database, and changes come in before the consoles are back.
    await stop();
    server = await startServer(target.env, serverPort);
    const half = Math.ceil(changes / 2);
    const batch = [...Array.from({ length: half }, (_, i) => queueAlert(incidents + i)), ...Array.from({ length: changes - half }, (_, i) => queueAlert(i, 'resolved'))];
    for (let i = 0; i < batch.length; i += 10) {
      const response = await postAlertmanager(url, token, batch.slice(i, i + 10));
      if (!response.ok) throw new Error(`posting changes failed: ${response.status}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));

    for (const count of consoleCounts) {
      const results: Record<'snapshot' | 'resume', { bytes: number[]; ms: number[]; all: number[] }> = {
        snapshot: { bytes: [], ms: [], all: [] },
        resume: { bytes: [], ms: [], all: [] },
      };
      // Rounds alternate, so the machine's noise falls on both alike.
      for (let round = 0; round < 5; round++) {
        for (const resume of round % 2 === 0 ? [false, true] : [true, false]) {
          const started = performance.now();
          const all = await Promise.all(Array.from({ length: count }, () => reconnect(url, cookie, held, resume)));
          const kind = resume ? 'resume' : 'snapshot';
          for (const one of all) {
            if (one.answer !== kind) throw new Error(`asked for a ${kind}, got a ${one.answer}`);
            results[kind].bytes.push(one.bytes);
            results[kind].ms.push(one.ms);
          }
          results[kind].all.push(Math.round(performance.now() - started));
          if (round === 0 && resume && !sameIncidents(all[0].state, (await reconnect(url, cookie, emptySync(), false)).state)) {
            throw new Error('the resumed console does not hold what a snapshot gives');
          }
        }
      }
      for (const kind of ['snapshot', 'resume'] as const) {
        rows.push({
          database: target.name,
          consoles: count,
          'reconnect takes': kind === 'snapshot' ? 'snapshot (before)' : 'catch-up (after)',
          'bytes per console': median(results[kind].bytes),
          'ms per console (median)': median(results[kind].ms),
          'ms until all current (median)': median(results[kind].all),
        });
      }
    }
  } finally {
    await stop();
    await target.cleanup();
  }
}

console.log(JSON.stringify({ incidents, changes, rows }, null, 2));
console.table(rows);
