import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { io as connect } from 'socket.io-client';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';

const METRICS_TOKEN = 'scrape-token-0123456789abcdef';
const journal = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'drizzle', 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };

describe.each(DATABASES)('health and metrics on $name', (database) => {
  let server: TestServer;
  let adminCookie: string;
  let viewerCookie: string;

  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, { METRICS_TOKEN }, drop);
    const admin = await server.addUser('ada@example.com', 'admin');
    adminCookie = await server.signIn(admin.email, admin.password);
    const viewer = await server.addUser('vic@example.com', 'viewer');
    viewerCookie = await server.signIn(viewer.email, viewer.password);
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('/healthz answers 200 without a session', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 with the database kind and every migration applied', async () => {
    const response = await fetch(`${server.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', database: server.context.database.kind, migrations: journal.entries.length });
    expect(journal.entries.length).toBeGreaterThan(0);
  });

  it('/metrics without credentials → 401 JSON; with a viewer session → 403', async () => {
    const anonymous = await fetch(`${server.url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    expect((await fetch(`${server.url}/metrics`, { headers: { cookie: viewerCookie } })).status).toBe(403);
  });

  it('/metrics with an admin session → Prometheus text with requests, sockets, DB timings and event-loop lag', async () => {
    const socket = connect(server.url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie: adminCookie } });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('session:ready', () => resolve());
        socket.once('connect_error', reject);
      });
      await fetch(`${server.url}/healthz`);
      const response = await fetch(`${server.url}/metrics`, { headers: { cookie: adminCookie } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      for (const name of [
        'watchfloor_http_requests_total',
        'watchfloor_sockets_connected',
        'watchfloor_db_query_duration_seconds',
        'watchfloor_nodejs_eventloop_lag_seconds',
      ]) {
        expect(text).toContain(`# TYPE ${name} `);
      }
      expect(text).toMatch(/^watchfloor_http_requests_total\{method="GET",route="\/healthz",status="200"\} [1-9]/m);
      // The socket opened above is counted.
      expect(text).toMatch(/^watchfloor_sockets_connected [1-9]/m);
      // Signing in timed its queries.
      expect(text).toMatch(/^watchfloor_db_query_duration_seconds_count\{op="find_user"\} [1-9]/m);
      // No secret reaches the metrics.
      expect(text).not.toContain(adminCookie.split('=')[1]);
      expect(text).not.toContain(METRICS_TOKEN);
    } finally {
      socket.disconnect();
    }
  });

  it('/metrics with the METRICS_TOKEN bearer → 200; a wrong or malformed bearer → 401', async () => {
    const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('watchfloor_http_requests_total');
    for (const authorization of [`Bearer ${METRICS_TOKEN}x`, 'Bearer wrong', `Basic ${METRICS_TOKEN}`, 'Bearer ', METRICS_TOKEN]) {
      const refused = await fetch(`${server.url}/metrics`, { headers: { authorization } });
      expect(refused.status, authorization).toBe(401);
    }
  });

  it('every response carries its own x-request-id, and a client cannot choose it', async () => {
    const ids = new Set<string>();
    for (const [route, init] of [
      ['/healthz', {}],
      ['/readyz', {}],
      ['/api/v1/session', {}],
      ['/api/v1/nowhere', {}],
      ['/metrics', {}],
      ['/api/v1/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }],
      ['/healthz', { headers: { 'x-request-id': 'chosen-by-client' } }],
    ] as [string, RequestInit][]) {
      const response = await fetch(`${server.url}${route}`, init);
      const id = response.headers.get('x-request-id');
      expect(id, route).toMatch(/^[0-9a-f-]{36}$/);
      ids.add(id!);
    }
    expect(ids.size).toBe(7);
  });
});

describe('/metrics without METRICS_TOKEN configured', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('memory://');
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('refuses every bearer token', async () => {
    for (const authorization of ['Bearer ', 'Bearer null', 'Bearer undefined', 'Bearer x']) {
      expect((await fetch(`${server.url}/metrics`, { headers: { authorization } })).status, authorization).toBe(401);
    }
  });
});
