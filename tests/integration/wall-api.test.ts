import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { addSource } from '../../server/ingest/sources.ts';
import { postAlertmanager } from '../helpers/alertmanager.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/lib/protocol/events.ts';
import { decodeDelta, decodeSnapshot, type IncidentDelta, type IncidentSnapshot } from '../../src/lib/protocol/incidents.ts';
import type { WallDisplayDto, WallDto, WallWithTokenDto } from '../../src/lib/protocol/walls.ts';
import { DEFAULT_WALL_PAGE } from '../../src/lib/protocol/walls.ts';
import { until } from '../helpers/until.ts';
import { appVersionOf } from '../../server/http/create-http.ts';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A wall screen's socket: its device cookie, and the wall it names in the handshake. */
function wallSocket(url: string, wallId: string, cookie: string): ClientSocket {
  return connect(url, { extraHeaders: { cookie }, auth: { wallId }, transports: ['websocket'], reconnection: false });
}

function connected(socket: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve();
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => reject(error));
  });
}

function refused(socket: ClientSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, but should have been refused')));
    socket.once('connect_error', (error) => resolve(error.message));
  });
}

for (const database of DATABASES) {
  describe(`walls and device tokens (${database.name})`, () => {
    let server: TestServer;
    let lead: string;
    let engineer: string;
    let sourceToken: string;

    const call = async (method: string, path: string, cookie: string | null, body?: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        redirect: 'manual',
        headers: { ...(cookie ? { cookie } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: response.status, json: json as never, headers: response.headers };
    };

    /** Opens the device link as a kiosk browser would; returns the cookie it was given. */
    const openWall = async (wallId: string, token: string) => {
      const response = await fetch(`${server.url}/wall/${wallId}?token=${encodeURIComponent(token)}`, { redirect: 'manual' });
      const cookie = response.headers.getSetCookie().find((c) => c.startsWith(`wf_wall_${wallId}=`));
      return { status: response.status, location: response.headers.get('location'), setCookie: cookie ?? null, cookie: cookie?.split(';')[0] ?? null };
    };

    beforeAll(async () => {
      const { url, drop } = await database.url();
      server = await startTestServer(url, { COALESCE_MS: '50' }, drop);
      const leadUser = await server.addUser('lena@example.com', 'lead', 'Lena');
      const engineerUser = await server.addUser('eli@example.com', 'engineer', 'Eli');
      lead = await server.signIn(leadUser.email, leadUser.password);
      engineer = await server.signIn(engineerUser.email, engineerUser.password);
      const db = server.context.database.db;
      await server.context.database.rows(sql`insert into clients (slug, name) values ('acme', 'Acme Logistics'), ('globex', 'Globex Health')`);
      ({ token: sourceToken } = await addSource(db, { name: 'prometheus', format: 'alertmanager' }));
    });
    afterAll(async () => {
      await server?.dispose();
    });

    it('creates a wall for leads and shows its device token once; others may not', async () => {
      const created = await call('POST', '/api/v1/walls', lead, { name: 'Acme NOC', clients: ['acme'], pages: [DEFAULT_WALL_PAGE] });
      expect(created.status).toBe(201);
      const body = created.json as WallWithTokenDto;
      expect(body.token).toMatch(/^wfw_[A-Za-z0-9_-]{40,}$/);
      expect(body.openPath).toBe(`/wall/${body.wall.id}?token=${body.token}`);
      expect(body.wall).toMatchObject({ name: 'Acme NOC', clients: ['acme'], chime: { enabled: false }, pixelShift: true, tokenPrefix: body.token.slice(0, 8) });

      // The token is never sent again: not in the list, not in the wall.
      const list = await call('GET', '/api/v1/walls', lead);
      expect(JSON.stringify(list.json)).not.toContain(body.token);
      expect((list.json as { walls: WallDto[] }).walls.map((w) => w.name)).toContain('Acme NOC');
      // Nor is it stored: only its hash.
      const [row] = await server.context.database.rows<{ token_hash: string }>(sql`select token_hash from walls where id = ${body.wall.id}`);
      expect(row.token_hash).not.toContain(body.token);

      expect((await call('POST', '/api/v1/walls', engineer, { name: 'Mine', pages: [DEFAULT_WALL_PAGE] })).status).toBe(403);
      expect((await call('GET', '/api/v1/walls', engineer)).status).toBe(403);
      expect((await call('GET', '/api/v1/walls', null)).status).toBe(401);
    });

    it('refuses bad walls with a 400 naming the problem, and stores nothing', async () => {
      const before = (await call('GET', '/api/v1/walls', lead)).json as { walls: WallDto[] };
      const cases: [unknown, RegExp][] = [
        [{ name: '', pages: [DEFAULT_WALL_PAGE] }, /name/],
        [{ name: 'x', pages: [] }, /pages/],
        [{ name: 'x', clients: ['nope'], pages: [DEFAULT_WALL_PAGE] }, /unknown client "nope"/],
        [{ name: 'x', pages: [{ ...DEFAULT_WALL_PAGE, panels: [{ kind: 'map', x: 0, y: 0, w: 13, h: 1 }] }] }, /pages\[0\]\.panels\[0\]\.w/],
        [{ name: 'x', pages: [{ ...DEFAULT_WALL_PAGE, panels: [{ kind: 'map', x: 0, y: 0, w: 6, h: 6 }, { kind: 'queue', x: 3, y: 3, w: 6, h: 6 }] }] }, /overlaps/],
        [{ name: 'x', pages: [{ ...DEFAULT_WALL_PAGE, panels: [{ kind: 'clock', x: 0, y: 0, w: 1, h: 1 }] }] }, /kind/],
        [{ name: 'x', clients: ['acme'], pages: [{ ...DEFAULT_WALL_PAGE, panels: [{ kind: 'map', x: 0, y: 0, w: 1, h: 1, client: 'globex' }] }] }, /not one of the wall's clients/],
        [{ name: 'x', pages: [DEFAULT_WALL_PAGE], token: 'mine' }, /token|Unrecognized/i],
      ];
      for (const [body, message] of cases) {
        const response = await call('POST', '/api/v1/walls', lead, body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect((response.json as { error: { code: string; message: string } }).error.code).toBe('validation_failed');
        expect((response.json as { error: { message: string } }).error.message).toMatch(message);
      }
      const after = (await call('GET', '/api/v1/walls', lead)).json as { walls: WallDto[] };
      expect(after.walls).toHaveLength(before.walls.length);
    });

    it('edits a wall with optimistic concurrency and deletes it', async () => {
      const { wall } = (await call('POST', '/api/v1/walls', lead, { name: 'Temp', pages: [DEFAULT_WALL_PAGE] })).json as WallWithTokenDto;
      const edited = await call('PATCH', `/api/v1/walls/${wall.id}`, lead, { name: 'Renamed', version: wall.version, chime: { enabled: true, repeatMinutes: 10 } });
      expect(edited.status).toBe(200);
      expect(edited.json).toMatchObject({ name: 'Renamed', chime: { enabled: true, repeatMinutes: 10 }, version: wall.version + 1 });
      const stale = await call('PATCH', `/api/v1/walls/${wall.id}`, lead, { name: 'Stale', version: wall.version });
      expect(stale.status).toBe(409);
      expect((await call('GET', `/api/v1/walls/${wall.id}`, lead)).json).toMatchObject({ name: 'Renamed' });
      expect((await call('DELETE', `/api/v1/walls/${wall.id}`, lead)).status).toBe(204);
      expect((await call('GET', `/api/v1/walls/${wall.id}`, lead)).status).toBe(404);
      expect((await call('GET', `/api/v1/walls/not-a-uuid`, lead)).status).toBe(400);
    });

    it('trades the device token for an HttpOnly cookie with a 303 to the bare address; a wrong token gets nothing', async () => {
      const { wall, token } = (await call('POST', '/api/v1/walls', lead, { name: 'Lobby', clients: ['acme'], pages: [DEFAULT_WALL_PAGE] })).json as WallWithTokenDto;
      const opened = await openWall(wall.id, token);
      expect(opened.status).toBe(303);
      expect(opened.location).toBe(`/wall/${wall.id}`);
      expect(opened.setCookie).toMatch(/HttpOnly/i);
      expect(opened.setCookie).toMatch(/SameSite=Lax/i);
      expect(opened.setCookie).toMatch(/Path=\//);

      const wrong = await openWall(wall.id, `${token.slice(0, -2)}xx`);
      expect(wrong.status).toBe(401);
      expect(wrong.setCookie).toBeNull();
      // Another wall's id with this token opens nothing either.
      const other = (await call('POST', '/api/v1/walls', lead, { name: 'Other', pages: [DEFAULT_WALL_PAGE] })).json as WallWithTokenDto;
      expect((await openWall(other.wall.id, token)).status).toBe(401);

      // The cookie opens what the wall needs, for this wall only, and nothing else.
      const display = await call('GET', `/api/v1/walls/${wall.id}/display`, opened.cookie);
      expect(display.status).toBe(200);
      expect(display.json as WallDisplayDto).toMatchObject({ id: wall.id, name: 'Lobby', clients: ['acme'], clientInfo: [{ slug: 'acme', name: 'Acme Logistics' }] });
      expect((await call('GET', `/api/v1/walls/${wall.id}/topology`, opened.cookie)).status).toBe(200);
      expect((await call('GET', `/api/v1/walls/${wall.id}/uptime?range=90d`, opened.cookie)).status).toBe(200);
      expect((await call('GET', `/api/v1/walls/${other.wall.id}/display`, opened.cookie)).status).toBe(401);
      expect((await call('GET', '/api/v1/walls', opened.cookie)).status).toBe(401);
      expect((await call('GET', '/api/v1/topology', opened.cookie)).status).toBe(401);
      expect((await call('GET', '/api/v1/incidents', opened.cookie)).status).toBe(401);
      expect((await call('PATCH', `/api/v1/walls/${wall.id}`, opened.cookie, { name: 'Hijacked' })).status).toBe(401);
      // A lead previews the same wall with their own session.
      expect((await call('GET', `/api/v1/walls/${wall.id}/display`, lead)).status).toBe(200);
    });

    it('gives a wall socket only its clients and refuses every command from it', async () => {
      const { wall, token } = (await call('POST', '/api/v1/walls', lead, { name: 'Acme only', clients: ['acme'], pages: [DEFAULT_WALL_PAGE] })).json as WallWithTokenDto;
      const { cookie } = await openWall(wall.id, token);
      expect((await postAlertmanager(server.url, sourceToken, [
        { name: 'WallScopeA', client: 'acme', instance: 'acme-sw-01', severity: 'critical' },
        { name: 'WallScopeG', client: 'globex', instance: 'globex-db-01', severity: 'critical' },
      ])).status).toBe(200);

      const socket = wallSocket(server.url, wall.id, cookie!);
      const ready = new Promise<{ wallId: string; name: string }>((resolve) => socket.once('wall:ready', resolve));
      const snapshots: IncidentSnapshot[] = [];
      const deltas: IncidentDelta[] = [];
      socket.on('incidents:snapshot', (s) => snapshots.push(decodeSnapshot(s)));
      socket.on('incidents:changed', (d) => deltas.push(decodeDelta(d)));
      await connected(socket);
      // The build the server serves (null when none is built): a screen of another build fetches it.
      expect(await ready).toEqual({ wallId: wall.id, name: 'Acme only', serverTime: expect.any(String), appVersion: appVersionOf(server.context.config.appDir) });

      // Asking for every client, or for another client, gives the wall's clients or nothing.
      const ack = await socket.emitWithAck('incidents:subscribe', { scope: {}, mode: 'screen' });
      expect(ack.ok).toBe(true);
      const snapshot = await until(() => snapshots[0], 'snapshot');
      expect(snapshot.incidents.map((i) => i.client)).toEqual(['acme']);
      expect(snapshot.incidents[0].nodes).toEqual(['acme-sw-01']);
      const other = await socket.emitWithAck('incidents:subscribe', { scope: { client: 'globex' }, mode: 'screen' });
      expect(other).toMatchObject({ ok: false, code: 'forbidden' });

      // New incidents of other clients never reach it.
      await socket.emitWithAck('incidents:subscribe', { scope: {}, mode: 'screen' });
      await postAlertmanager(server.url, sourceToken, [
        { name: 'WallScopeG2', client: 'globex', instance: 'globex-db-02', severity: 'critical' },
        { name: 'WallScopeA2', client: 'acme', instance: 'acme-sw-02', severity: 'high' },
      ]);
      await until(() => deltas.some((d) => d.incidents.some((i) => i.summary?.includes('WallScopeA2'))), 'the acme delta');
      expect(deltas.flatMap((d) => d.incidents).map((i) => i.client)).not.toContain('globex');

      // Read-only: every command is refused, whatever it is.
      const incidentId = snapshot.incidents[0].id;
      const acknowledge = await socket.emitWithAck('incident:acknowledge', { id: incidentId } as never);
      expect(acknowledge).toMatchObject({ ok: false, code: 'forbidden' });
      const resolve = await socket.emitWithAck('incident:resolve', { id: incidentId } as never);
      expect(resolve).toMatchObject({ ok: false, code: 'forbidden' });
      const [row] = await server.context.database.rows<{ status: string }>(sql`select status from incidents where id = ${incidentId}`);
      expect(row.status).toBe('triggered');
      // It still answers pings (the status strip's round trip).
      expect(await socket.emitWithAck('server:ping')).toMatchObject({ ok: true });
      socket.disconnect();
    });

    it('a socket naming a wall without its cookie is refused; a lead naming it previews only its clients', async () => {
      const { wall } = (await call('POST', '/api/v1/walls', lead, { name: 'Preview', clients: ['acme'], pages: [DEFAULT_WALL_PAGE] })).json as WallWithTokenDto;
      expect(await refused(wallSocket(server.url, wall.id, ''))).toBe('unauthenticated');
      const preview = wallSocket(server.url, wall.id, lead);
      const snapshots: IncidentSnapshot[] = [];
      preview.on('incidents:snapshot', (s) => snapshots.push(decodeSnapshot(s)));
      await connected(preview);
      await preview.emitWithAck('incidents:subscribe', { scope: {}, mode: 'screen' });
      const snapshot = await until(() => snapshots[0], 'snapshot');
      expect(snapshot.incidents.length).toBeGreaterThan(0);
      expect(new Set(snapshot.incidents.map((i) => i.client))).toEqual(new Set(['acme']));
      preview.disconnect();
    });

    for (const action of ['rotate', 'revoke'] as const) {
      it(`${action === 'rotate' ? 'rotating' : 'revoking'} the token disconnects the screen at once and the old token opens nothing`, async () => {
        const { wall, token } = (await call('POST', '/api/v1/walls', lead, { name: `To ${action}`, clients: ['acme'], pages: [DEFAULT_WALL_PAGE] })).json as WallWithTokenDto;
        const { cookie } = await openWall(wall.id, token);
        const socket = wallSocket(server.url, wall.id, cookie!);
        await connected(socket);
        const told = new Promise<{ reason: string }>((resolve) => socket.once('wall:disconnected', resolve));
        const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));

        const started = Date.now();
        const response = action === 'rotate' ? await call('POST', `/api/v1/walls/${wall.id}/token`, lead) : await call('DELETE', `/api/v1/walls/${wall.id}/token`, lead);
        expect(response.status).toBe(action === 'rotate' ? 201 : 200);
        expect(await told).toEqual({ reason: action === 'rotate' ? 'rotated' : 'revoked' });
        expect(await closed).toBe('io server disconnect');
        expect(Date.now() - started).toBeLessThan(3000);

        // The old cookie and the old link open nothing any more, socket or HTTP.
        expect(await refused(wallSocket(server.url, wall.id, cookie!))).toBe('unauthenticated');
        expect((await call('GET', `/api/v1/walls/${wall.id}/display`, cookie)).status).toBe(401);
        expect((await openWall(wall.id, token)).status).toBe(401);

        if (action === 'rotate') {
          const fresh = response.json as WallWithTokenDto;
          expect(fresh.token).not.toBe(token);
          const reopened = await openWall(wall.id, fresh.token);
          expect(reopened.status).toBe(303);
          await connected(wallSocket(server.url, wall.id, reopened.cookie!)).then(() => undefined);
        } else {
          expect((response.json as WallDto).tokenPrefix).toBeNull();
          expect((response.json as WallDto).revokedAt).not.toBeNull();
        }
        // Who did it is on the audit log.
        const audit = await server.context.database.rows<{ action: string; actor_name: string }>(
          sql`select action, actor_name from audit_log where entity = 'wall' and entity_id = ${wall.id} order by id`,
        );
        expect(audit).toEqual([
          { action: 'wall.create', actor_name: 'Lena' },
          { action: action === 'rotate' ? 'wall.token_rotate' : 'wall.token_revoke', actor_name: 'Lena' },
        ]);
      });
    }

    it('every wall action writes its audit row (who, from where, what) in its own transaction; a refused one writes none', async () => {
      const { database } = server.context;
      const browser = { 'user-agent': 'Firefox/140 (wall tests)' };
      const [lena] = await database.rows<{ id: string }>(sql`select id from users where email = 'lena@example.com'`);
      const auditOf = (wallId: string) =>
        database.rows<{ actor: string; actor_name: string; action: string; ip: string | null; user_agent: string | null; detail: Record<string, unknown> }>(
          sql`select actor, actor_name, action, ip, user_agent, detail from audit_log where entity = 'wall' and entity_id = ${wallId} order by id`,
        );
      const wallAudits = async () => (await database.rows<{ n: number }>(sql`select count(*)::int as n from audit_log where entity = 'wall'`))[0].n;

      const { wall } = (await call('POST', '/api/v1/walls', lead, { name: 'Audited', clients: ['acme'], pages: [DEFAULT_WALL_PAGE] }, browser)).json as WallWithTokenDto;
      expect((await call('PATCH', `/api/v1/walls/${wall.id}`, lead, { name: 'Audited twice', clients: ['acme', 'globex'], version: wall.version }, browser)).status).toBe(200);
      expect((await call('POST', `/api/v1/walls/${wall.id}/token`, lead, undefined, browser)).status).toBe(201);
      expect((await call('DELETE', `/api/v1/walls/${wall.id}/token`, lead, undefined, browser)).status).toBe(200);
      expect((await call('DELETE', `/api/v1/walls/${wall.id}`, lead, undefined, browser)).status).toBe(204);
      const rows = await auditOf(wall.id);
      expect(rows.map((r) => r.action)).toEqual(['wall.create', 'wall.update', 'wall.token_rotate', 'wall.token_revoke', 'wall.delete']);
      for (const row of rows) {
        expect(row).toMatchObject({ actor: `user:${lena.id}`, actor_name: 'Lena', user_agent: 'Firefox/140 (wall tests)' });
        expect(row.ip).toMatch(/127\.0\.0\.1/);
      }
      expect(rows[1].detail).toEqual({ before: { name: 'Audited', clients: ['acme'], pages: 1, timeZone: null }, after: { name: 'Audited twice', clients: ['acme', 'globex'], pages: 1, timeZone: null } });

      // Refused: bad input, a stale version, a wall that does not exist. No audit row for any of them.
      const kept = (await call('POST', '/api/v1/walls', lead, { name: 'Kept', pages: [DEFAULT_WALL_PAGE] })).json as WallWithTokenDto;
      const audits = await wallAudits();
      const gone = '00000000-0000-4000-8000-00000000dead';
      expect((await call('POST', '/api/v1/walls', lead, { name: 'x', clients: ['nope'], pages: [DEFAULT_WALL_PAGE] })).status).toBe(400);
      expect((await call('PATCH', `/api/v1/walls/${kept.wall.id}`, lead, { clients: ['nope'] })).status).toBe(400);
      expect((await call('PATCH', `/api/v1/walls/${kept.wall.id}`, lead, { name: 'Stale', version: kept.wall.version + 1 })).status).toBe(409);
      expect((await call('PATCH', `/api/v1/walls/${gone}`, lead, { name: 'Nobody' })).status).toBe(404);
      expect((await call('DELETE', `/api/v1/walls/${gone}`, lead)).status).toBe(404);
      expect((await call('POST', `/api/v1/walls/${gone}/token`, lead)).status).toBe(404);
      expect((await call('DELETE', `/api/v1/walls/${gone}/token`, lead)).status).toBe(404);
      expect(await wallAudits()).toBe(audits);

      // The audit log cannot be written: no change is made without its row.
      const walls = async () => database.rows(sql`select * from walls order by id`);
      const before = await walls();
      await database.rows(sql`create function refuse_wall_audit() returns trigger language plpgsql as $$
        begin if new.entity = 'wall' then raise exception 'audit log unavailable'; end if; return new; end $$`);
      await database.rows(sql`create trigger refuse_wall_audit before insert on audit_log for each row execute function refuse_wall_audit()`);
      try {
        expect((await call('POST', '/api/v1/walls', lead, { name: 'Unrecorded', pages: [DEFAULT_WALL_PAGE] })).status).toBe(500);
        expect((await call('PATCH', `/api/v1/walls/${kept.wall.id}`, lead, { name: 'Unrecorded' })).status).toBe(500);
        expect((await call('POST', `/api/v1/walls/${kept.wall.id}/token`, lead)).status).toBe(500);
        expect((await call('DELETE', `/api/v1/walls/${kept.wall.id}/token`, lead)).status).toBe(500);
        expect((await call('DELETE', `/api/v1/walls/${kept.wall.id}`, lead)).status).toBe(500);
      } finally {
        await database.rows(sql`drop trigger refuse_wall_audit on audit_log`);
        await database.rows(sql`drop function refuse_wall_audit()`);
      }
      expect(await walls()).toEqual(before);
      expect((await openWall(kept.wall.id, kept.token)).status).toBe(303);
    });

    it('closes every wall, topology and uptime route to strangers, and the managing ones to roles below them', async () => {
      const id = '00000000-0000-4000-8000-000000000000';
      const routes: { method: string; path: string; body?: unknown; least: 'any' | 'engineer' | 'lead' }[] = [
        { method: 'GET', path: '/api/v1/walls', least: 'lead' },
        { method: 'POST', path: '/api/v1/walls', body: { name: 'x', pages: [DEFAULT_WALL_PAGE] }, least: 'lead' },
        { method: 'GET', path: `/api/v1/walls/${id}`, least: 'lead' },
        { method: 'PATCH', path: `/api/v1/walls/${id}`, body: { name: 'y' }, least: 'lead' },
        { method: 'DELETE', path: `/api/v1/walls/${id}`, least: 'lead' },
        { method: 'POST', path: `/api/v1/walls/${id}/token`, least: 'lead' },
        { method: 'DELETE', path: `/api/v1/walls/${id}/token`, least: 'lead' },
        { method: 'GET', path: `/api/v1/walls/${id}/display`, least: 'any' },
        { method: 'GET', path: `/api/v1/walls/${id}/topology`, least: 'any' },
        { method: 'GET', path: `/api/v1/walls/${id}/uptime`, least: 'any' },
        { method: 'GET', path: '/api/v1/topology', least: 'any' },
        { method: 'GET', path: '/api/v1/uptime', least: 'any' },
        { method: 'POST', path: '/api/v1/topology/import', body: {}, least: 'lead' },
        { method: 'POST', path: '/api/v1/topology/nodes', body: { client: 'acme', name: 'n' }, least: 'lead' },
        { method: 'POST', path: '/api/v1/topology/layout', least: 'lead' },
        { method: 'PUT', path: '/api/v1/topology/positions', body: { positions: [{ id, x: 1, y: 1 }] }, least: 'engineer' },
        { method: 'POST', path: '/api/v1/topology/positions/unpin', body: { ids: [id] }, least: 'engineer' },
      ];
      const viewer = await server.addUser('vic@example.com', 'viewer', 'Vic');
      const viewerCookie = await server.signIn(viewer.email, viewer.password);
      for (const route of routes) {
        expect((await call(route.method, route.path, null, route.body)).status, `${route.method} ${route.path} without a session`).toBe(401);
        const asViewer = (await call(route.method, route.path, viewerCookie, route.body)).status;
        if (route.least === 'any') expect(asViewer, `${route.method} ${route.path} as viewer`).not.toBe(403);
        else expect(asViewer, `${route.method} ${route.path} as viewer`).toBe(403);
        if (route.least === 'lead') expect((await call(route.method, route.path, engineer, route.body)).status, `${route.method} ${route.path} as engineer`).toBe(403);
      }
    });

    it('deleting a wall disconnects its screens', async () => {
      const { wall, token } = (await call('POST', '/api/v1/walls', lead, { name: 'Doomed', pages: [DEFAULT_WALL_PAGE] })).json as WallWithTokenDto;
      const { cookie } = await openWall(wall.id, token);
      const socket = wallSocket(server.url, wall.id, cookie!);
      await connected(socket);
      const told = new Promise<{ reason: string }>((resolve) => socket.once('wall:disconnected', resolve));
      await call('DELETE', `/api/v1/walls/${wall.id}`, lead);
      expect(await told).toEqual({ reason: 'deleted' });
    });
  });
}
