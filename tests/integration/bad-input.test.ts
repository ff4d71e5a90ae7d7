import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';

/** Fragments of files outside build/ that must never be served. */
const FORBIDDEN_CONTENT = ['root:x:0:0', '"name": "watchfloor"', 'DATABASE_URL', 'BEGIN PRIVATE KEY', '"compilerOptions"'];

interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/**
 * Sends bytes exactly as given (fetch and node:http normalise paths; attackers do not) and reads the
 * answer until the server closes. status 0: the server closed without an HTTP answer.
 */
function raw(port: number, request: string | Buffer, options: { halfClose?: boolean } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    // halfClose: the client says it has nothing more to send (a body shorter than its content-length).
    socket.on('connect', () => (options.halfClose ? socket.end(request) : socket.write(request)));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? socket.destroy() : reject(error)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split < 0 ? text : text.slice(0, split);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: split < 0 ? '' : text.slice(split + 4) });
    });
  });
}

function get(port: number, target: string, headers = ''): Promise<RawResponse> {
  return raw(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`);
}

function postJson(server: TestServer, route: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

describe.each(DATABASES)('bad input on $name', (database) => {
  let server: TestServer;
  let adminCookie: string;

  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, {}, drop);
    const admin = await server.addUser('ada@example.com', 'admin');
    adminCookie = await server.signIn(admin.email, admin.password);
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('malformed JSON → 400 JSON that says the body is not valid JSON', async () => {
    const response = await postJson(server, '/api/v1/session', '{"email": "a@b.c", "password": ');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toMatch(/JSON/);
  });

  it('an empty JSON body → 400 JSON', async () => {
    const response = await postJson(server, '/api/v1/session', '');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'bad_request' } });
  });

  it('wrong types → 400 validation_failed naming the field in error.path', async () => {
    const response = await postJson(server, '/api/v1/session', JSON.stringify({ email: 5, password: 'x' }));
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string; path: string } };
    expect(body.error).toMatchObject({ code: 'validation_failed', path: 'email' });
    expect(body.error.message).toContain('email');

    const users = await postJson(server, '/api/v1/users', JSON.stringify({ email: 'x@example.com', name: 'X', role: 'superuser' }), { cookie: adminCookie });
    expect(users.status).toBe(400);
    expect(await users.json()).toMatchObject({ error: { code: 'validation_failed', path: 'role' } });

    for (const notAnObject of ['[]', '"text"', '42', 'null']) {
      const response = await postJson(server, '/api/v1/session', notAnObject);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: expect.stringMatching(/^(bad_request|validation_failed)$/) } });
    }
  });

  it('a body over 1 MiB → 413 JSON', async () => {
    const big = JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(1024 * 1024 + 10) });
    const response = await postJson(server, '/api/v1/session', big);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('a chunked body over 1 MiB (no content-length) → 413 JSON', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 1.5 * 1024 * 1024) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${server.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('a text/plain body to a JSON route → 415 JSON', async () => {
    const response = await fetch(`${server.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ email: 'a@b.c', password: 'x' }),
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: { code: 'unsupported_media_type' } });
  });

  it('an unknown /api route → 404 JSON, whatever the method', async () => {
    for (const [method, route] of [
      ['GET', '/api/v1/nothing-here'],
      ['POST', '/api/v1/nothing-here'],
      ['GET', '/api'],
      ['GET', '/api/'],
      ['DELETE', '/api/v2/session'],
    ] as const) {
      const response = await fetch(`${server.url}${route}`, { method, headers: { cookie: adminCookie } });
      expect(response.status, `${method} ${route}`).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      expect(await response.json()).toMatchObject({ error: { code: 'not_found' } });
    }
  });

  it("a file of the build's that is not there → 404 JSON, not the app's HTML", async () => {
    for (const route of ['/_app/immutable/chunks/gone-since-the-last-deploy.js', '/_app/version.json.old']) {
      const response = await fetch(`${server.url}${route}`);
      expect(response.status, route).toBe(404);
      expect(response.headers.get('content-type'), route).toMatch(/application\/json/);
      expect(await response.json()).toMatchObject({ error: { code: 'not_found' } });
    }
  });

  it('any other path → the app (or a plain 503 when no build exists)', async () => {
    const built = fs.existsSync(path.join(server.context.config.appDir, 'pages', 'shell.html'));
    for (const route of ['/settings/users', '/', '/wall', '/m/incidents/123?x=1']) {
      const response = await fetch(`${server.url}${route}`);
      if (built) {
        expect(response.status, route).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/text\/html/);
        expect(await response.text()).toMatch(/<html/i);
      } else {
        expect(response.status, route).toBe(503);
        expect(response.headers.get('content-type')).toMatch(/text\/plain/);
        expect(await response.text()).toMatch(/npm run build/);
      }
    }
  });

  it("a page built ahead gets its own HTML, naming its code; any other path gets the app's shell", async () => {
    const pages = path.join(server.context.config.appDir, 'pages');
    if (!fs.existsSync(path.join(pages, 'shell.html'))) return; // no build: the 503 above covers it
    const shell = fs.readFileSync(path.join(pages, 'shell.html'), 'utf8');
    const html = async (route: string) => (await fetch(`${server.url}${route}`)).text();
    for (const [route, file] of [['/', 'index.html'], ['/lead', 'lead.html'], ['/lead/', 'lead.html'], ['/m', 'm.html'], ['/m/', 'm.html'], ['/m/settings', 'm/settings.html']]) {
      const page = await html(route);
      expect(page, route).toBe(fs.readFileSync(path.join(pages, file), 'utf8'));
      expect(page, route).not.toBe(shell);
      // It lists more of the app's code than the shell does: its page's own modules.
      const preloads = (text: string) => text.match(/rel="modulepreload"/g)?.length ?? 0;
      expect(preloads(page), route).toBeGreaterThan(preloads(shell));
    }
    // Pages with a parameter, unknown paths and anything that is not a plain page path get the shell.
    for (const route of ['/incident/5b6c4a0e-0000-4000-8000-000000000000', '/wall/abc', '/no-such-page', '/Lead', '/lead.html', '/m/settings%2e']) {
      expect(await html(route), route).toBe(shell);
    }
  });

  it('a hostile batch never gets a 500 nor a file from outside build/, and the server keeps answering', async () => {
    const { port } = server;
    const built = fs.existsSync(path.join(server.context.config.appDir, 'pages', 'shell.html'));
    const answers: { what: string; response: RawResponse }[] = [];
    const record = async (what: string, pending: Promise<RawResponse>) => answers.push({ what, response: await pending });

    // Huge header: Node's 16 KiB limit answers 431.
    const huge = await get(port, '/api/v1/session', `X-Filler: ${'a'.repeat(20 * 1024)}\r\n`);
    expect(huge.status).toBe(431);
    const hugeCookie = await fetch(`${server.url}/api/v1/session`, { headers: { cookie: `wf_session=${'b'.repeat(20 * 1024)}` } }).catch(() => null);
    if (hugeCookie) expect(hugeCookie.status).toBe(431);

    // Path traversal and odd encodings aimed at the static file server.
    for (const target of [
      '/../../etc/passwd',
      '/..%2f..%2fetc%2fpasswd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/%2e%2e%2f%2e%2e%2fpackage.json',
      '/_app/..%2f..%2fpackage.json',
      '/_app/../../package.json',
      '/_app/%2e%2e/%2e%2e/package.json',
      '/_app/immutable/..%5c..%5c..%5cpackage.json',
      '/..\\..\\package.json',
      '/%252e%252e/%252e%252e/package.json',
      '/package.json',
      '/server/config.ts',
      '/tsconfig.json',
      '/build/../package.json',
      '//etc/passwd',
      '/_app/%00../../package.json',
      '/index.html%00.js',
      '/%00',
      '/api/v1/session%00',
      '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
      '/_app/%ff%fe',
      '/?%',
      '/%',
    ]) {
      await record(`GET ${target}`, get(port, target));
    }

    // Requests that are not quite HTTP.
    await record('bad method', raw(port, 'BREW /pot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    await record('no host, HTTP/1.0', raw(port, 'GET / HTTP/1.0\r\n\r\n'));
    await record('bad content-length', raw(port, 'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\nConnection: close\r\n\r\n{}'));
    await record('short body', raw(port, 'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{}', { halfClose: true }));
    await record('control chars in header', raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Evil: a\x01b\r\nConnection: close\r\n\r\n'));
    await record('lf only', raw(port, 'GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n'));
    await record('binary garbage', raw(port, randomBytes(4096)));
    await record('text garbage', raw(port, 'hello there\r\n\r\n'));
    await record('request smuggling', raw(port, 'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'));
    await record('socket.io garbage', get(port, '/socket.io/?EIO=4&transport=polling&sid=%00%ff'));
    await record('socket.io bad upgrade', get(port, '/socket.io/?EIO=4&transport=websocket', 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: nope\r\n'));

    // JSON bodies meant to hurt the parser or the objects behind it.
    const deepArrays = '['.repeat(10_000) + ']'.repeat(10_000);
    const deepObjects = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const hostileBodies = [
      deepArrays,
      deepObjects,
      JSON.stringify({ email: 'a@b.c', password: 'x', nested: JSON.parse('[' .repeat(1000) + ']'.repeat(1000)) }),
      '{"__proto__":{"role":"admin"},"email":"a@b.c","password":"x"}',
      '{"constructor":{"prototype":{"role":"admin"}},"email":"a@b.c","password":"x"}',
      '{"email":"a@b.c","password":"x","__proto__":{"isAdmin":true}}',
      '{"email":"\\ud800","password":"\\u0000"}',
      '{"email":"' + 'a'.repeat(100_000) + '@b.c","password":"x"}',
      '{"email":"a@b.c","password":"' + 'p'.repeat(500_000) + '"}',
      '\ufeff{"email":"a@b.c","password":"x"}',
      '{"email":"a@b.c","password":"x"}garbage',
      '{"email":"a@b.c" "password":"x"}',
      '1e999999',
      '{"email": {"$ne": null}, "password": {"$gt": ""}}',
      '{"email":"\' OR 1=1 --","password":"\' OR \'1\'=\'1"}',
    ];
    for (const [i, body] of hostileBodies.entries()) {
      const response = await postJson(server, '/api/v1/session', body);
      answers.push({ what: `hostile body #${i}`, response: { status: response.status, head: '', body: await response.text() } });
      expect(response.status, `hostile body #${i}`).toBeGreaterThanOrEqual(400);
      expect(response.status, `hostile body #${i}`).toBeLessThan(500);
    }
    for (const body of ['{"__proto__":{"role":"admin"},"email":"p@example.com","name":"P","role":"viewer"}', deepObjects]) {
      const response = await postJson(server, '/api/v1/users', body, { cookie: adminCookie });
      answers.push({ what: 'hostile user', response: { status: response.status, head: '', body: await response.text() } });
      expect(response.status).toBe(400);
    }
    // The server runs in this process: nothing leaked into Object.prototype.
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();

    for (const { what, response } of answers) {
      // 503 is only the plain "app not built" answer of a checkout without build/.
      const acceptable = response.status < 500 || (!built && response.status === 503);
      expect(acceptable, `${what}: ${response.head.split('\r\n')[0]}`).toBe(true);
      for (const fragment of FORBIDDEN_CONTENT) expect(response.body, what).not.toContain(fragment);
    }

    // Still answering, on HTTP and on the API.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/api/v1/session`, { headers: { cookie: adminCookie } })).status).toBe(200);
  });

  it('a URL that is not valid percent-encoding → 400 in the same JSON shape as every other error', async () => {
    for (const target of ['/_app/%ff%fe', '/%', '/api/v1/%c0%ae']) {
      const response = await get(server.port, target);
      expect(response.status, target).toBe(400);
      expect(JSON.parse(response.body), target).toEqual({ error: { code: 'bad_request', message: expect.any(String) } });
    }
  });

  it('a file inside build/ is served as it is', async () => {
    const { appDir } = server.context.config;
    const version = path.join(appDir, '_app', 'version.json');
    if (!fs.existsSync(version)) return; // no build: nothing to serve
    const response = await fetch(`${server.url}/_app/version.json`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(fs.readFileSync(version, 'utf8'));
  });

  it('after all that, /healthz answers 200', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});
