import { io } from 'socket.io-client';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { hashToken } from '../../server/auth/tokens.ts';
import { sessions, users } from '../../server/db/schema/index.ts';

/** Signs in and returns the raw response (the harness's signIn throws on anything but 201). */
function postSession(server: TestServer, body: unknown): Promise<Response> {
  return fetch(`${server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function getSession(server: TestServer, cookie?: string): Promise<Response> {
  return fetch(`${server.url}/api/v1/session`, { headers: cookie ? { cookie } : {} });
}

function tokenOf(cookie: string): string {
  return cookie.slice(cookie.indexOf('=') + 1);
}

describe.each(DATABASES)('sessions on $name', (database) => {
  let server: TestServer;
  let engineer: { email: string; password: string; id: string };

  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, {}, drop);
    engineer = await server.addUser('erin@example.com', 'engineer', 'Erin');
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('signs in with a 201 and an HttpOnly, SameSite=Lax, expiring, non-Secure cookie on http', async () => {
    const response = await postSession(server, { email: engineer.email, password: engineer.password });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { user: { email: string; role: string; name: string }; expiresAt: string };
    expect(body.user).toMatchObject({ email: 'erin@example.com', role: 'engineer', name: 'Erin' });
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now());

    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('wf_session='));
    expect(cookie).toBeDefined();
    const attributes = cookie!.split(';').map((part) => part.trim().toLowerCase());
    expect(attributes).toContain('httponly');
    expect(attributes).toContain('samesite=lax');
    expect(attributes).toContain('path=/');
    expect(attributes.some((a) => a.startsWith('expires='))).toBe(true);
    expect(attributes).not.toContain('secure');
    // The cookie carries a secret, never the user's id or email.
    expect(cookie).not.toContain(engineer.id);
    expect(cookie).not.toContain('erin');
  });

  it('accepts the email in any case and with surrounding spaces', async () => {
    const response = await postSession(server, { email: '  ERIN@Example.com ', password: engineer.password });
    expect(response.status).toBe(201);
  });

  it('says who is signed in', async () => {
    const cookie = await server.signIn(engineer.email, engineer.password);
    const response = await getSession(server, cookie);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { user: { id: string; email: string; role: string; mustChangePassword: boolean } };
    expect(body.user).toEqual({
      id: engineer.id,
      email: engineer.email,
      name: 'Erin',
      role: 'engineer',
      mustChangePassword: false,
      clients: null,
      onShift: false,
      chime: false,
    });
  });

  it('answers a wrong password and an unknown email with the same 401 body', async () => {
    const wrongPassword = await postSession(server, { email: engineer.email, password: 'not-the-password' });
    const unknownEmail = await postSession(server, { email: 'nobody@example.com', password: 'not-the-password' });
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    expect(wrongPassword.headers.get('content-type')).toMatch(/application\/json/);
    const a = await wrongPassword.json();
    const b = await unknownEmail.json();
    expect(a).toEqual(b);
    expect(a).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
    expect(wrongPassword.headers.getSetCookie()).toEqual([]);
  });

  it('refuses a request without a cookie or with an unknown one', async () => {
    expect((await getSession(server)).status).toBe(401);
    const response = await getSession(server, 'wf_session=made-up-token');
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: 'unauthenticated' } });
  });

  it('signs out with a 204: the cookie is cleared, the session is gone from the database and refused afterwards', async () => {
    const cookie = await server.signIn(engineer.email, engineer.password);
    const tokenHash = hashToken(tokenOf(cookie));
    const { db } = server.context.database;
    expect(await db.select().from(sessions).where(eq(sessions.tokenHash, tokenHash))).toHaveLength(1);

    const response = await fetch(`${server.url}/api/v1/session`, { method: 'DELETE', headers: { cookie } });
    expect(response.status).toBe(204);
    const cleared = response.headers.getSetCookie().find((c) => c.startsWith('wf_session='));
    expect(cleared).toMatch(/^wf_session=;/);
    expect(cleared!.toLowerCase()).toMatch(/expires=thu, 01 jan 1970|max-age=0/);

    expect((await getSession(server, cookie)).status).toBe(401);
    expect(await db.select().from(sessions).where(eq(sessions.tokenHash, tokenHash))).toHaveLength(0);
    // Signing out twice is refused like any other request without a session.
    expect((await fetch(`${server.url}/api/v1/session`, { method: 'DELETE', headers: { cookie } })).status).toBe(401);
  });

  it('stores only a hash of the session token', async () => {
    const cookie = await server.signIn(engineer.email, engineer.password);
    const token = tokenOf(cookie);
    const rows = await server.context.database.rows<Record<string, unknown>>(sql`select * from sessions`);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('refuses an expired session', async () => {
    const cookie = await server.signIn(engineer.email, engineer.password);
    expect((await getSession(server, cookie)).status).toBe(200);
    await server.context.database.db
      .update(sessions)
      .set({ expiresAt: new Date(Date.now() - 60_000) })
      .where(eq(sessions.tokenHash, hashToken(tokenOf(cookie))));
    expect((await getSession(server, cookie)).status).toBe(401);
  });

  it("refuses a disabled user's session and their sign-in", async () => {
    const dora = await server.addUser('dora@example.com', 'viewer');
    const cookie = await server.signIn(dora.email, dora.password);
    expect((await getSession(server, cookie)).status).toBe(200);
    await server.context.database.db.update(users).set({ disabled: true }).where(eq(users.id, dora.id));
    expect((await getSession(server, cookie)).status).toBe(401);
    const again = await postSession(server, { email: dora.email, password: dora.password });
    expect(again.status).toBe(401);
    const unknown = await postSession(server, { email: 'nobody@example.com', password: dora.password });
    expect(await again.json()).toEqual(await unknown.json());
  });

  it('changing the password ends the other sessions and keeps this one', async () => {
    const carl = await server.addUser('carl@example.com', 'lead');
    const here = await server.signIn(carl.email, carl.password);
    const elsewhere = await server.signIn(carl.email, carl.password);
    const change = (body: unknown) =>
      fetch(`${server.url}/api/v1/session/password`, {
        method: 'POST',
        headers: { cookie: here, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const wrongCurrent = await change({ currentPassword: 'wrong-password', newPassword: 'a-new-long-password' });
    expect(wrongCurrent.status).toBe(400);
    expect(await wrongCurrent.json()).toMatchObject({ error: { code: 'validation_failed', path: 'currentPassword' } });
    const tooShort = await change({ currentPassword: carl.password, newPassword: 'short' });
    expect(tooShort.status).toBe(400);
    expect(await tooShort.json()).toMatchObject({ error: { path: 'newPassword' } });
    expect((await getSession(server, elsewhere)).status).toBe(200);

    const changed = await change({ currentPassword: carl.password, newPassword: 'a-new-long-password' });
    expect(changed.status).toBe(204);
    expect((await getSession(server, here)).status).toBe(200);
    expect((await getSession(server, elsewhere)).status).toBe(401);
    expect((await postSession(server, { email: carl.email, password: carl.password })).status).toBe(401);
    expect((await postSession(server, { email: carl.email, password: 'a-new-long-password' })).status).toBe(201);
  });

  it('a one-time password must be changed: the session says so until it is', async () => {
    const root = await server.addUser('root@example.com', 'admin');
    const created = await fetch(`${server.url}/api/v1/users`, {
      method: 'POST',
      headers: { cookie: await server.signIn(root.email, root.password), 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'otto@example.com', name: 'Otto', role: 'viewer' }),
    });
    expect(created.status).toBe(201);
    const { oneTimePassword } = (await created.json()) as { oneTimePassword: string };
    const cookie = await server.signIn('otto@example.com', oneTimePassword);
    const before = (await (await getSession(server, cookie)).json()) as { user: { mustChangePassword: boolean } };
    expect(before.user.mustChangePassword).toBe(true);
    // Until then the one-time password opens nothing else: no data over REST, no socket.
    const incidentsBefore = await fetch(`${server.url}/api/v1/incidents`, { headers: { cookie } });
    expect(incidentsBefore.status).toBe(403);
    expect(((await incidentsBefore.json()) as { error: { message: string } }).error.message).toMatch(/new password/);
    const refused = io(server.url, { transports: ['websocket'], extraHeaders: { cookie }, reconnection: false });
    await expect(new Promise((resolve) => refused.once('connect_error', (e) => resolve(e.message)))).resolves.toBe('password_change_required');
    refused.close();
    const changed = await fetch(`${server.url}/api/v1/session/password`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ currentPassword: oneTimePassword, newPassword: 'otto-chose-this' }),
    });
    expect(changed.status).toBe(204);
    const after = (await (await getSession(server, cookie)).json()) as { user: { mustChangePassword: boolean } };
    expect(after.user.mustChangePassword).toBe(false);
    expect((await fetch(`${server.url}/api/v1/incidents`, { headers: { cookie } })).status).toBe(200);
  });
});

describe.each(DATABASES)('login rate limit on $name', (database) => {
  let server: TestServer;
  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, { LOGIN_RATE_LIMIT: '3' }, drop);
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('answers the 4th sign-in attempt within a minute with 429 rate_limited JSON', async () => {
    const attempt = () => postSession(server, { email: 'guess@example.com', password: 'guess-guess' });
    for (let i = 0; i < 3; i++) expect((await attempt()).status).toBe(401);
    const limited = await attempt();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toMatch(/application\/json/);
    expect(await limited.json()).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
    expect(limited.headers.get('retry-after')).toBeTruthy();
    // Only sign-in is limited: the rest of the API still answers.
    expect((await getSession(server)).status).toBe(401);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
