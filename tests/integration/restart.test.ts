import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { io as connect } from 'socket.io-client';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { loadConfig } from '../../server/config.ts';
import { startWatchfloor } from '../../server/index.ts';
import { DataFolderInUseError } from '../../server/db/data-lock.ts';

/** The server's own environment for an on-disk PGlite folder (no DATABASE_URL: the `npm start` default). */
function onDisk(dataDir: string): Record<string, string> {
  return { WATCHFLOOR_DATA: dataDir };
}

function signInRequest(server: TestServer, email: string, password: string): Promise<Response> {
  return fetch(`${server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
}

describe('restart on the same PGlite folder', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-restart-'));
  const running: TestServer[] = [];
  afterAll(async () => {
    for (const server of running) await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<TestServer> {
    const server = await startTestServer(null, onDisk(dataDir));
    running.push(server);
    return server;
  }

  let user: { email: string; password: string; id: string };
  let sourceId: string;

  it('keeps users, sessions and sources across a graceful stop and start', async () => {
    const first = await start();
    expect(first.context.database.kind).toBe('pglite');
    expect(fs.existsSync(path.join(dataDir, 'pglite'))).toBe(true);
    user = await first.addUser('ada@example.com', 'admin', 'Ada');
    const cookie = await first.signIn(user.email, user.password);
    const created = await fetch(`${first.url}/api/v1/sources`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'prod-alertmanager', format: 'alertmanager' }),
    });
    expect(created.status).toBe(201);
    sourceId = ((await created.json()) as { source: { id: string } }).source.id;

    await first.stop();
    running.splice(running.indexOf(first), 1);
    // The folder is released: no lock and no admin socket left behind.
    expect(fs.existsSync(path.join(dataDir, 'watchfloor.lock'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'admin.sock'))).toBe(false);

    const second = await start();
    // The session from before the restart is still valid: sessions live in the database.
    expect((await fetch(`${second.url}/api/v1/session`, { headers: { cookie } })).status).toBe(200);
    const again = await second.signIn(user.email, user.password);
    const users = (await (await fetch(`${second.url}/api/v1/users`, { headers: { cookie: again } })).json()) as { users: { email: string; name: string }[] };
    expect(users.users).toEqual(expect.arrayContaining([expect.objectContaining({ email: 'ada@example.com', name: 'Ada' })]));
    // The first start's admin was created once, not again on the second start.
    expect(users.users.filter((u) => u.email === 'admin@watchfloor.local')).toHaveLength(1);
    const sources = (await (await fetch(`${second.url}/api/v1/sources`, { headers: { cookie: again } })).json()) as { sources: { id: string; name: string }[] };
    expect(sources.sources).toEqual([expect.objectContaining({ id: sourceId, name: 'prod-alertmanager' })]);
    const ready = (await (await fetch(`${second.url}/readyz`)).json()) as { status: string };
    expect(ready.status).toBe('ready');
  });

  it('refuses a second server on a folder that one already holds, naming DATABASE_URL as the way out', async () => {
    const holder = running[0] ?? (await start());
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', WATCHFLOOR_DEMO: 'off', ...onDisk(dataDir) });
    const attempt = startWatchfloor(config, { print: () => {} });
    await expect(attempt).rejects.toBeInstanceOf(DataFolderInUseError);
    await expect(attempt).rejects.toThrow(/DATABASE_URL/);
    await expect(attempt).rejects.toThrow(dataDir);
    // The holder is untouched: it still answers and still owns the folder.
    expect((await fetch(`${holder.url}/readyz`)).status).toBe(200);
    expect(await holder.signIn(user.email, user.password)).toMatch(/^wf_session=/);
    expect(fs.readFileSync(path.join(dataDir, 'watchfloor.lock'), 'utf8')).toBe(String(process.pid));
  });

  it('finishes a request in flight during a graceful stop, closes sockets, then stops answering', async () => {
    const server = running[0] ?? (await start());
    const cookie = await server.signIn(user.email, user.password);
    const socket = connect(server.url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie } });
    await new Promise<void>((resolve, reject) => {
      socket.once('session:ready', () => resolve());
      socket.once('connect_error', reject);
    });
    const socketClosed = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));

    // Sign-in runs argon2: slow enough to still be running when stop() begins. The stop starts only once
    // the server has the request in hand, so the test does not depend on timing.
    const httpServer = server.context.realtime.io.httpServer;
    const received = new Promise<void>((resolve) => httpServer.once('request', () => resolve()));
    const inFlight = signInRequest(server, user.email, user.password);
    await received;
    const stopped = server.stop();
    const response = await inFlight;
    expect(response.status).toBe(201);
    expect(((await response.json()) as { user: { email: string } }).user.email).toBe(user.email);
    await stopped;
    running.splice(running.indexOf(server), 1);
    await socketClosed;
    expect(socket.connected).toBe(false);
    socket.disconnect();

    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    expect(fs.existsSync(path.join(dataDir, 'watchfloor.lock'))).toBe(false);

    // And the sign-in that finished during the stop was written: its session works after a restart.
    const cookieFromStop = response.headers.getSetCookie().find((c) => c.startsWith('wf_session='))!.split(';')[0];
    const next = await start();
    expect((await fetch(`${next.url}/api/v1/session`, { headers: { cookie: cookieFromStop } })).status).toBe(200);
  });

  it('takes over a lock left by a process that is gone', async () => {
    for (const server of running.splice(0)) await server.stop();
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    fs.writeFileSync(path.join(dataDir, 'watchfloor.lock'), String(dead));
    fs.writeFileSync(path.join(dataDir, 'admin.sock'), ''); // a leftover of a killed server
    const server = await start();
    expect(await server.signIn(user.email, user.password)).toMatch(/^wf_session=/);
    expect(fs.readFileSync(path.join(dataDir, 'watchfloor.lock'), 'utf8')).toBe(String(process.pid));
    expect(fs.statSync(path.join(dataDir, 'admin.sock')).isSocket()).toBe(true);
  });
});
