/**
 * `npm run bench:ingest`: the real server (a child process) ingesting Alertmanager batches over HTTP
 * while N real socket clients are subscribed. Prints committed signals/s and the delay from a
 * webhook's request to its delta arriving at the clients (p50/p99), for PGlite and — when
 * BENCH_DATABASE_URL or TEST_DATABASE_URL is set — Postgres, at 1, 100 and 500 clients. Up to 20
 * clients decode and time every delta; the rest are silent screens (see silentClient).
 *
 * Each server first takes BENCH_WARMUP seconds (default 3) of the max phase's load, unmeasured: the targets
 * are sustained rates, and a cold process (JIT, the database's caches) ran its first seconds at half speed.
 *
 * Options (env): BENCH_SECONDS (per phase, default 8), BENCH_CLIENTS (default "1,100,500"), BENCH_DATABASES (default
 * "pglite,postgres"; postgres only with a database URL), BENCH_WARMUP (seconds), BENCH_SENDERS (webhooks in flight
 * in the max phase, default 16).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import { io, type Socket } from 'socket.io-client';
import { decodeDelta, type IncidentDeltaFrame } from '../../src/lib/protocol/incidents.ts';
import { benchTargets, cli, maxSenders, percentile, startServer } from './bench-support.ts';
import { makeBatchFactory, postBatch } from './ingest-traffic.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const warmupSeconds = Number(process.env.BENCH_WARMUP ?? 3);
const clientCounts = (process.env.BENCH_CLIENTS ?? '1,100,500').split(',').map(Number);



/** Every marker is a new incident, unique across phases, so its first delta is unambiguous. */
let markerSeq = 0;

interface PhaseResult {
  signalsPerSecond: number;
  p50: number;
  p99: number;
  deliveries: number;
  failed: number;
  /** Mean size of a delta as one console receives it, JSON text (the wire adds the event name). */
  kbPerDelta: number;
}

/**
 * Posts batches (as fast as `concurrency` allows, or at `rate` signals/s) for `seconds`, and measures
 * when each batch's marker incident reaches each client.
 */
async function phase(url: string, token: string, clients: Socket[], options: { batch: number; concurrency: number; rate?: number; seconds?: number }): Promise<PhaseResult> {
  const sentAt = new Map<string, number>();
  const delays: number[] = [];
  const onDelta = (frame: IncidentDeltaFrame) => {
    const t = performance.now();
    for (const incident of decodeDelta(frame).incidents) {
      // A marker is a new incident: its first delta carries it whole, group key included; later ones are patches.
      if (incident.groupKey === undefined) continue;
      const start = sentAt.get(incident.groupKey.slice(incident.groupKey.indexOf('|') + 1));
      if (start !== undefined) delays.push(t - start);
    }
  };
  let deltaBytes = 0;
  let deltaCount = 0;
  const measureSize = (frame: IncidentDeltaFrame) => {
    deltaBytes += Buffer.byteLength(JSON.stringify(frame));
    deltaCount++;
  };
  for (const c of clients) c.on('incidents:changed', onDelta);
  clients[0]?.on('incidents:changed', measureSize);
  const makeBatch = makeBatchFactory();
  let committed = 0;
  let failed = 0;
  const deadline = performance.now() + (options.seconds ?? seconds) * 1000;
  const interval = options.rate ? (options.batch / options.rate) * 1000 : 0;
  const worker = async (w: number) => {
    let next = performance.now() + w * (interval / options.concurrency);
    while (performance.now() < deadline) {
      if (interval) {
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        next += interval * options.concurrency;
      }
      const marker = `Marker${process.pid}x${markerSeq++}`;
      const body = JSON.stringify(makeBatch(options.batch, marker));
      sentAt.set(marker, performance.now());
      if ((await postBatch(url, token, body)) < 300) committed += options.batch;
      else failed++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: options.concurrency }, (_, w) => worker(w)));
  const elapsed = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 1500)); // let the last deltas arrive
  for (const c of clients) c.off('incidents:changed', onDelta);
  clients[0]?.off('incidents:changed', measureSize);
  delays.sort((a, b) => a - b);
  const kbPerDelta = deltaCount === 0 ? 0 : Math.round(deltaBytes / deltaCount / 102.4) / 10;
  return { signalsPerSecond: Math.round(committed / elapsed), p50: Math.round(percentile(delays, 50)), p99: Math.round(percentile(delays, 99)), deliveries: delays.length, failed, kbPerDelta };
}

/** Clients that decode every delta in this process and time them; past this many, the rest are silent screens. */
const LISTENING_CLIENTS = 20;

/** A client-to-server WebSocket text frame (masked, as RFC 6455 requires of clients); short texts only. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((byte, i) => byte ^ mask[i % 4])]);
}
/** Engine.IO's ping as the server frames it: a one-byte text frame "2". JSON never holds byte 0x01, so it cannot occur inside a delta. */
const PING_FRAME = Buffer.from([0x81, 0x01, 0x32]);
/** What every silent screen reads into (each read is looked at before the next). */
const SILENT_READS = Buffer.alloc(64 * 1024);

/**
 * A screen whose decoding happens on its own machine, as every real one's does: over a plain TCP socket
 * it upgrades to a WebSocket with the session cookie, opens Socket.IO with the subscription in the
 * handshake, waits for its snapshot, then answers pings and drops every delta unread. The server does
 * for it everything it does for a real screen; only the decoding is left out, which for 500 clients on
 * two shared cores made this process the limit instead of the server.
 */
function silentClient(url: string, cookie: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let seen = '';
    let stage: 'opening' | 'subscribing' | 'live' = 'opening';
    const take = (chunk: Buffer) => {
      if (stage === 'live') {
        if (chunk.includes(PING_FRAME)) socket.write(textFrame('3'));
        return;
      }
      seen += chunk.toString('latin1');
      if (stage === 'opening' && seen.includes('"pingInterval"')) {
        stage = 'subscribing';
        socket.write(textFrame(`40${JSON.stringify({ feed: { scope: {}, mode: 'console' } })}`));
      } else if (stage === 'subscribing' && seen.includes('"incidents:snapshot"')) {
        stage = 'live';
        seen = '';
        resolve(socket);
      } else if (seen.includes('"incidents:refused"') || (stage === 'opening' && seen.startsWith('HTTP/1.1') && !seen.startsWith('HTTP/1.1 101'))) {
        reject(new Error(`silent client refused: ${seen.slice(0, 200)}`));
      }
    };
    // Read into one buffer all silent screens share, not a new one per read: at 500 screens the deltas are
    // hundreds of MB/s, and allocating them cost this process (on the server's two cores) what a remote screen
    // costs its own machine.
    const socket = net.connect({
      port: Number(port),
      host: hostname,
      onread: {
        buffer: SILENT_READS,
        callback: (read) => {
          take(SILENT_READS.subarray(0, read));
          return true; // keep reading
        },
      },
    });
    socket.write(
      `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nCookie: ${cookie}\r\n\r\n`,
    );
    socket.on('error', reject);
  });
}

/** `count` subscribed console clients: up to LISTENING_CLIENTS real socket.io clients (measured), the rest silent. */
async function connectClients(url: string, cookie: string, count: number): Promise<{ listening: Socket[]; close: () => void }> {
  const listening: Socket[] = [];
  const silent: net.Socket[] = [];
  for (let i = 0; i < count; i += 50) {
    const size = Math.min(50, count - i);
    const real = Math.max(0, Math.min(size, LISTENING_CLIENTS - listening.length));
    const group = Array.from({ length: real }, () => io(url, { transports: ['websocket'], extraHeaders: { cookie }, reconnection: false }));
    const [, quiet] = await Promise.all([
      Promise.all(group.map((s) => new Promise<void>((resolve, reject) => {
        s.once('incidents:snapshot', () => resolve());
        s.once('connect_error', reject);
        s.once('connect', () => s.emit('incidents:subscribe', { scope: {}, mode: 'console' }, () => {}));
      }))),
      Promise.all(Array.from({ length: size - real }, () => silentClient(url, cookie))),
    ]);
    listening.push(...group);
    silent.push(...quiet);
  }
  return {
    listening,
    close: () => {
      for (const c of listening) c.disconnect();
      for (const socket of silent) socket.destroy();
    },
  };
}

const rows: Record<string, string | number>[] = [];
let port = 18950;
for (const target of await benchTargets('wf-bench-')) {
  const server = await startServer(target.env, ++port);
  const url = `http://127.0.0.1:${port}`;
  try {
    const { token } = JSON.parse(cli(target.env, ['source', 'add', '--name', 'bench', '--format', 'alertmanager'])) as { token: string };
    const password = `bench-${randomBytes(8).toString('hex')}`;
    cli(target.env, ['user', 'add', '--email', 'bench@example.com', '--name', 'Bench', '--role', 'viewer', '--password-stdin'], password);
    const login = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench@example.com', password }) });
    const cookie = login.headers.getSetCookie()[0].split(';')[0];
    if (warmupSeconds > 0) await phase(url, token, [], { batch: 500, concurrency: maxSenders, seconds: warmupSeconds });
    for (const count of clientCounts) {
      const { listening, close } = await connectClients(url, cookie, count);
      const max = await phase(url, token, listening, { batch: 500, concurrency: maxSenders });
      const paced = count >= 500 ? { rate: 5000, batch: 500, concurrency: 4 } : { rate: 1000, batch: 100, concurrency: 2 };
      const steady = await phase(url, token, listening, paced);
      const row = {
        database: target.name,
        clients: count,
        'max signals/s': max.signalsPerSecond,
        'p50 ms @max': max.p50,
        'p99 ms @max': max.p99,
        'KB/delta @max': max.kbPerDelta,
        'paced signals/s': steady.signalsPerSecond,
        'p50 ms @paced': steady.p50,
        'p99 ms @paced': steady.p99,
        'failed requests': max.failed + steady.failed,
      };
      rows.push(row);
      console.error(JSON.stringify(row));
      close();
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await target.cleanup();
  }
}

console.log(JSON.stringify({ bench: 'ingest', seconds, senders: maxSenders, cpus: os.cpus().length, node: process.version, rows }, null, 2));
console.table(rows);
