import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import type { AppVersion, ClientToServerEvents, ServerToClientEvents } from '../../src/lib/protocol/events.ts';
import type { SessionUser, UserDto } from '../../src/lib/protocol/api.ts';
import { appVersionOf } from '../../server/http/create-http.ts';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const SOME_UUID = '00000000-0000-4000-8000-000000000000';

/** Every route under /api/v1 (from server/api/*-routes.ts), with a body that would be valid. */
const API_ROUTES: { method: string; path: string; body?: unknown }[] = [
  { method: 'GET', path: '/api/v1/session' },
  { method: 'DELETE', path: '/api/v1/session' },
  { method: 'POST', path: '/api/v1/session/password', body: { currentPassword: 'old-password', newPassword: 'new-password-1' } },
  { method: 'GET', path: '/api/v1/users' },
  { method: 'POST', path: '/api/v1/users', body: { email: 'x@example.com', name: 'X', role: 'viewer' } },
  { method: 'PATCH', path: `/api/v1/users/${SOME_UUID}`, body: { role: 'admin' } },
  { method: 'POST', path: `/api/v1/users/${SOME_UUID}/reset-password`, body: {} },
  { method: 'GET', path: '/api/v1/sources' },
  { method: 'POST', path: '/api/v1/sources', body: { name: 'am', format: 'alertmanager' } },
  { method: 'PUT', path: `/api/v1/sources/${SOME_UUID}/hmac-secret`, body: { hmacSecret: 'long-enough-secret' } },
  { method: 'POST', path: `/api/v1/sources/${SOME_UUID}/token` },
  { method: 'PATCH', path: `/api/v1/sources/${SOME_UUID}`, body: { enabled: false } },
];

const ADMIN_ROUTES = API_ROUTES.filter((r) => r.path.startsWith('/api/v1/users') || r.path.startsWith('/api/v1/sources'));

function call(server: TestServer, route: { method: string; path: string; body?: unknown }, cookie?: string, body = route.body) {
  return fetch(`${server.url}${route.path}`, {
    method: route.method,
    headers: { ...(cookie ? { cookie } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Opens a real Socket.IO connection; resolves once the server said `session:ready` or refused. */
function openSocket(server: TestServer, cookie?: string): Promise<{ socket: ClientSocket; ready?: { user: SessionUser; appVersion: AppVersion }; error?: Error }> {
  const socket: ClientSocket = connect(server.url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(cookie === undefined ? {} : { extraHeaders: { cookie } }),
  });
  return new Promise((resolve) => {
    socket.once('session:ready', (ready) => resolve({ socket, ready }));
    socket.once('connect_error', (error) => resolve({ socket, error }));
  });
}

/** Resolves with what happened to a connected socket when its session ends: the reason, then the disconnect. */
function whenEnded(socket: ClientSocket): Promise<{ reason: string; disconnect: string }> {
  return new Promise((resolve) => {
    let reason = '';
    socket.once('session:ended', (info) => (reason = info.reason));
    socket.once('disconnect', (disconnect) => resolve({ reason, disconnect }));
  });
}

/** A round trip through the socket: proves it is still connected and served. */
function ping(socket: ClientSocket): Promise<boolean> {
  return new Promise((resolve) => socket.emit('server:ping', (reply) => resolve(reply.ok)));
}

describe.each(DATABASES)('authorization on $name', (database) => {
  let server: TestServer;
  let admin: { email: string; password: string; id: string };
  let adminCookie: string;
  const cookies: Record<'viewer' | 'engineer' | 'lead', string> = { viewer: '', engineer: '', lead: '' };
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, {}, drop);
    admin = await server.addUser('ada@example.com', 'admin', 'Ada');
    adminCookie = await server.signIn(admin.email, admin.password);
    for (const role of ['viewer', 'engineer', 'lead'] as const) {
      const user = await server.addUser(`${role}@example.com`, role);
      cookies[role] = await server.signIn(user.email, user.password);
    }
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await server?.dispose();
  });

  async function socketFor(cookie?: string) {
    const opened = await openSocket(server, cookie);
    sockets.push(opened.socket);
    return opened;
  }

  describe('REST', () => {
    it.each(API_ROUTES)('$method $path without a cookie → 401 JSON', async (route) => {
      const response = await call(server, route);
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      expect(await response.json()).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
    });

    it.each(API_ROUTES.filter((r) => r.body !== undefined))('$method $path without a cookie → 401 before the body is even read', async (route) => {
      const response = await call(server, route, undefined, '{"not json');
      expect(response.status).toBe(401);
    });

    it.each(API_ROUTES)('$method $path with a forged cookie → 401', async (route) => {
      const response = await call(server, route, 'wf_session=forged-token-value');
      expect(response.status).toBe(401);
    });

    for (const role of ['viewer', 'engineer', 'lead'] as const) {
      it.each(ADMIN_ROUTES)(`$method $path as ${role} → 403 JSON`, async (route) => {
        const response = await call(server, route, cookies[role]);
        expect(response.status).toBe(403);
        expect(await response.json()).toEqual({ error: { code: 'forbidden', message: expect.any(String) } });
      });
    }

    it('an admin lists users without any password material', async () => {
      const response = await call(server, { method: 'GET', path: '/api/v1/users' }, adminCookie);
      expect(response.status).toBe(200);
      const { users } = (await response.json()) as { users: UserDto[] };
      expect(users.map((u) => u.email)).toEqual(expect.arrayContaining(['ada@example.com', 'viewer@example.com', 'lead@example.com']));
      const text = JSON.stringify(users);
      expect(text).not.toMatch(/argon2|password_?hash/i);
    });

    it('an admin creates a user: the one-time password comes once and signs in; a duplicate email → 409', async () => {
      const created = await call(server, { method: 'POST', path: '/api/v1/users', body: { email: 'New.Person@Example.com', name: 'New Person', role: 'engineer' } }, adminCookie);
      expect(created.status).toBe(201);
      const body = (await created.json()) as { user: UserDto; oneTimePassword: string };
      expect(body.user).toMatchObject({ email: 'new.person@example.com', role: 'engineer', mustChangePassword: true, disabled: false });
      expect(body.oneTimePassword).toMatch(/^\S{12,}$/);
      expect(await server.signIn('new.person@example.com', body.oneTimePassword)).toMatch(/^wf_session=/);

      const listed = (await (await call(server, { method: 'GET', path: '/api/v1/users' }, adminCookie)).json()) as { users: UserDto[] };
      expect(JSON.stringify(listed)).not.toContain(body.oneTimePassword);

      const duplicate = await call(server, { method: 'POST', path: '/api/v1/users', body: { email: 'NEW.person@example.com', name: 'Again', role: 'viewer' } }, adminCookie);
      expect(duplicate.status).toBe(409);
      expect(await duplicate.json()).toMatchObject({ error: { code: 'conflict', path: 'email' } });
    });

    it('an admin with a password given gets no one-time password back', async () => {
      const created = await call(server, { method: 'POST', path: '/api/v1/users', body: { email: 'pat@example.com', name: 'Pat', role: 'viewer', password: 'pats-own-password' } }, adminCookie);
      expect(created.status).toBe(201);
      const body = (await created.json()) as { oneTimePassword?: string; user: UserDto };
      expect(body.oneTimePassword).toBeUndefined();
      expect(body.user.mustChangePassword).toBe(false);
      expect(await server.signIn('pat@example.com', 'pats-own-password')).toMatch(/^wf_session=/);
    });

    it('an admin creates and lists sources; the token is shown once', async () => {
      const created = await call(server, { method: 'POST', path: '/api/v1/sources', body: { name: 'prod-am', format: 'alertmanager' } }, adminCookie);
      expect(created.status).toBe(201);
      const { token } = (await created.json()) as { token: string };
      expect(token.length).toBeGreaterThan(20);
      const listed = await call(server, { method: 'GET', path: '/api/v1/sources' }, adminCookie);
      expect(listed.status).toBe(200);
      const text = await listed.text();
      expect(text).toContain('prod-am');
      expect(text).not.toContain(token);
      const duplicate = await call(server, { method: 'POST', path: '/api/v1/sources', body: { name: 'prod-am', format: 'grafana' } }, adminCookie);
      expect(duplicate.status).toBe(409);
    });

    it('PATCH of an unknown user → 404, of a malformed id → 400', async () => {
      expect((await call(server, { method: 'PATCH', path: `/api/v1/users/${SOME_UUID}`, body: { name: 'X' } }, adminCookie)).status).toBe(404);
      const malformed = await call(server, { method: 'PATCH', path: '/api/v1/users/not-a-uuid', body: { name: 'X' } }, adminCookie);
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toMatchObject({ error: { code: 'validation_failed' } });
    });

    it('the last active admin can be neither demoted nor disabled (409); with a second admin it can', async () => {
      const listed = (await (await call(server, { method: 'GET', path: '/api/v1/users' }, adminCookie)).json()) as { users: UserDto[] };
      // Demote every other admin (the first-start admin among them) so Ada is the last.
      for (const other of listed.users.filter((u) => u.role === 'admin' && u.id !== admin.id)) {
        const demoted = await call(server, { method: 'PATCH', path: `/api/v1/users/${other.id}`, body: { role: 'viewer' } }, adminCookie);
        expect(demoted.status).toBe(200);
      }
      const patchAda = (body: unknown) => call(server, { method: 'PATCH', path: `/api/v1/users/${admin.id}`, body }, adminCookie);
      for (const body of [{ role: 'lead' }, { disabled: true }]) {
        const refused = await patchAda(body);
        expect(refused.status).toBe(409);
        expect(await refused.json()).toMatchObject({ error: { code: 'conflict' } });
      }
      // Still an admin and still signed in.
      expect((await call(server, { method: 'GET', path: '/api/v1/users' }, adminCookie)).status).toBe(200);
      // Renaming the last admin is fine.
      expect((await patchAda({ name: 'Ada L.' })).status).toBe(200);
    });

    it('an unknown field in a user patch is refused', async () => {
      const response = await call(server, { method: 'PATCH', path: `/api/v1/users/${admin.id}`, body: { passwordHash: 'x' } }, adminCookie);
      expect(response.status).toBe(400);
    });
  });

  describe('Socket.IO', () => {
    it('refuses a handshake without a cookie', async () => {
      const { error, ready } = await socketFor();
      expect(ready).toBeUndefined();
      expect(error?.message).toBe('unauthenticated');
    });

    it('refuses a handshake with a garbage cookie', async () => {
      for (const cookie of ['wf_session=garbage', 'garbage', 'wf_session=; other=1', '%%%;;;==']) {
        const { error, ready } = await socketFor(cookie);
        expect(ready).toBeUndefined();
        expect(error?.message).toBe('unauthenticated');
      }
    });

    it('greets a valid session with session:ready and the user, and answers pings', async () => {
      const { ready, error, socket } = await socketFor(cookies.engineer);
      expect(error).toBeUndefined();
      expect(ready?.user).toMatchObject({ email: 'engineer@example.com', role: 'engineer' });
      // And the build the server serves (null when none is built): a page of another build fetches it.
      expect(ready?.appVersion).toBe(appVersionOf(server.context.config.appDir));
      expect(await ping(socket)).toBe(true);
    });

    it('signing out ends that session’s sockets (session:ended, then disconnected) and not the others', async () => {
      const person = await server.addUser('sam@example.com', 'engineer');
      const cookieA = await server.signIn(person.email, person.password);
      const cookieB = await server.signIn(person.email, person.password);
      const a = await socketFor(cookieA);
      const b = await socketFor(cookieB);
      expect(a.ready && b.ready).toBeTruthy();
      const ended = whenEnded(a.socket);
      expect((await fetch(`${server.url}/api/v1/session`, { method: 'DELETE', headers: { cookie: cookieA } })).status).toBe(204);
      expect(await ended).toEqual({ reason: 'signed_out', disconnect: 'io server disconnect' });
      expect(a.socket.connected).toBe(false);
      expect(await ping(b.socket)).toBe(true);
      // And the signed-out cookie cannot open a new socket.
      expect((await socketFor(cookieA)).error?.message).toBe('unauthenticated');
    });

    it("disabling a user disconnects all of that user's sockets", async () => {
      const person = await server.addUser('dan@example.com', 'viewer');
      const first = await socketFor(await server.signIn(person.email, person.password));
      const second = await socketFor(await server.signIn(person.email, person.password));
      const endings = [whenEnded(first.socket), whenEnded(second.socket)];
      const disabled = await call(server, { method: 'PATCH', path: `/api/v1/users/${person.id}`, body: { disabled: true } }, adminCookie);
      expect(disabled.status).toBe(200);
      expect((await disabled.json()) as { user: UserDto }).toMatchObject({ user: { disabled: true } });
      for (const ending of await Promise.all(endings)) expect(ending).toEqual({ reason: 'revoked', disconnect: 'io server disconnect' });
      expect((await fetch(`${server.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: person.email, password: person.password }) })).status).toBe(401);
    });

    it("changing a user's role ends their sessions and sockets: they sign in again with the new role", async () => {
      const person = await server.addUser('rita@example.com', 'engineer');
      const cookie = await server.signIn(person.email, person.password);
      const opened = await socketFor(cookie);
      expect(opened.ready?.user.role).toBe('engineer');
      const ending = whenEnded(opened.socket);
      const changed = await call(server, { method: 'PATCH', path: `/api/v1/users/${person.id}`, body: { role: 'viewer' } }, adminCookie);
      expect(changed.status).toBe(200);
      expect(await ending).toEqual({ reason: 'revoked', disconnect: 'io server disconnect' });
      expect((await fetch(`${server.url}/api/v1/session`, { headers: { cookie } })).status).toBe(401);
      const again = await socketFor(await server.signIn(person.email, person.password));
      expect(again.ready?.user.role).toBe('viewer');
    });

    it("an admin's password reset ends the user's sockets and returns a one-time password", async () => {
      const person = await server.addUser('ron@example.com', 'lead');
      const opened = await socketFor(await server.signIn(person.email, person.password));
      const ending = whenEnded(opened.socket);
      const reset = await call(server, { method: 'POST', path: `/api/v1/users/${person.id}/reset-password`, body: {} }, adminCookie);
      expect(reset.status).toBe(200);
      const { oneTimePassword } = (await reset.json()) as { oneTimePassword: string };
      expect(await ending).toEqual({ reason: 'revoked', disconnect: 'io server disconnect' });
      expect(await server.signIn(person.email, oneTimePassword)).toMatch(/^wf_session=/);
    });

    it("changing one's own password ends the sockets of the other sessions and keeps this one", async () => {
      const person = await server.addUser('cho@example.com', 'engineer');
      const here = await server.signIn(person.email, person.password);
      const there = await server.signIn(person.email, person.password);
      const mine = await socketFor(here);
      const theirs = await socketFor(there);
      const ending = whenEnded(theirs.socket);
      const changed = await fetch(`${server.url}/api/v1/session/password`, {
        method: 'POST',
        headers: { cookie: here, 'content-type': 'application/json' },
        body: JSON.stringify({ currentPassword: person.password, newPassword: 'cho-new-password' }),
      });
      expect(changed.status).toBe(204);
      expect(await ending).toEqual({ reason: 'revoked', disconnect: 'io server disconnect' });
      expect(await ping(mine.socket)).toBe(true);
    });
  });
});
