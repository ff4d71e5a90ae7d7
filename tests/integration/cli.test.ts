import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { openDatabase } from '../../server/db/database.ts';
import { runCli, type CliResult } from '../helpers/cli.ts';
import { postAlertmanager } from '../helpers/alertmanager.ts';
import { io as connect, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/lib/protocol/events.ts';

/** Runs the real CLI as a child process, as an operator would: its own environment, optional stdin. */
const cli = (args: string[], env: Record<string, string>, stdin?: string) => runCli(args, env, { stdin });

function json<T>(result: CliResult): T {
  expect(result.stderr, result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Wrong invocations: each must exit non-zero with a message on stderr that says what is wrong. */
const BAD_ARGUMENTS: { args: string[]; message: RegExp }[] = [
  { args: ['frobnicate'], message: /unknown command: frobnicate/ },
  { args: ['user'], message: /unknown command: user/ },
  { args: ['user', 'delete', '--email', 'a@b.co'], message: /unknown command: user delete/ },
  { args: ['user', 'add', '--name', 'A', '--role', 'engineer'], message: /--email is required/ },
  { args: ['user', 'add', '--email', 'z@example.com', '--role', 'engineer'], message: /--name is required/ },
  { args: ['user', 'add', '--email', 'z@example.com', '--name', 'Z', '--role', 'god'], message: /role/ },
  { args: ['user', 'add', '--email', 'not-an-email', '--name', 'Z', '--role', 'viewer'], message: /email/ },
  { args: ['user', 'add', '--email', 'z@example.com', '--name', 'Z', '--role', 'viewer', '--sudo'], message: /--sudo/ },
  { args: ['user', 'add', '--email', 'z@example.com', '--name', 'Z', '--role', 'viewer', 'extra'], message: /extra/ },
  { args: ['source', 'add', '--name', 'x', '--format', 'nagios'], message: /format/ },
  { args: ['source', 'add', '--format', 'grafana'], message: /--name is required/ },
  { args: ['source', 'list', '--verbose'], message: /--verbose/ },
  { args: ['db', 'drop'], message: /unknown command: db drop/ },
  { args: ['source', 'rotate-token'], message: /--name is required/ },
  { args: ['source', 'disable', '--name', 'am', '--format', 'grafana'], message: /--format/ },
];

/** The ones the issue names: enough where each CLI run has to open PGlite itself (seconds each). */
const BAD_ARGUMENTS_SHORT = BAD_ARGUMENTS.filter((_, i) => [0, 3, 5, 7, 9].includes(i));

/**
 * Checks with the same expectations whether the CLI opens the database or a server runs the command.
 * `parallel`: run the invocations at once (not on a PGlite folder the CLI must lock for itself).
 */
function commonCliChecks(env: () => Record<string, string>, prefix: string, { parallel }: { parallel: boolean }) {
  it(`${prefix}: bad arguments → non-zero exit and a clear message on stderr`, async () => {
    const cases = parallel ? BAD_ARGUMENTS : BAD_ARGUMENTS_SHORT;
    const results = parallel
      ? await Promise.all(cases.map(({ args }) => cli(args, env())))
      : await cases.reduce<Promise<CliResult[]>>(async (done, { args }) => [...(await done), await cli(args, env())], Promise.resolve([]));
    for (const [i, result] of results.entries()) {
      const what = cases[i].args.join(' ');
      expect(result.code, what).not.toBe(0);
      expect(result.stderr, what).toMatch(cases[i].message);
      expect(result.stdout, what).toBe('');
    }
  });

  it(`${prefix}: --json errors are JSON on stderr`, async () => {
    const result = await cli(['user', 'add', '--email', 'z@example.com', '--role', 'viewer', '--json'], env());
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr)).toEqual({ error: expect.stringContaining('--name') });
  });

  it(`${prefix}: a password from stdin that is too short is refused`, async () => {
    const result = await cli(['user', 'add', '--email', 'short@example.com', '--name', 'S', '--role', 'viewer', '--password-stdin'], env(), 'short\n');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/password.*at least 10/);
  });

  it(`${prefix}: reset-password of an unknown email fails with a message`, async () => {
    const result = await cli(['user', 'reset-password', '--email', 'ghost@example.com'], env());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no user with email ghost@example.com/);
  });
}

describe('CLI on a PGlite folder', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-cli-'));
  const env = () => ({ WATCHFLOOR_DATA: dataDir });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  describe('with no server running: the CLI opens the folder itself', () => {
    it('prints usage and exits 2 without a command; --help exits 0', async () => {
      const none = await cli([], env());
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/Usage: watchfloor/);
      const help = await cli(['--help'], env());
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/user add --email/);
      expect(help.stdout).toMatch(/source rotate-token --name N/);
    });

    it('user add on a fresh folder prints a one-time password once (--json)', async () => {
      const created = json<{ id: string; email: string; role: string; oneTimePassword: string }>(
        await cli(['user', 'add', '--email', 'eng@example.com', '--name', 'Eng', '--role', 'engineer', '--json'], env()),
      );
      expect(created).toEqual({ id: expect.any(String), email: 'eng@example.com', role: 'engineer', oneTimePassword: expect.stringMatching(/^\S{12,}$/) });
      // The folder is released when the CLI is done.
      expect(fs.existsSync(path.join(dataDir, 'watchfloor.lock'))).toBe(false);
    });

    it('user add without --json says what it did, in words', async () => {
      const result = await cli(['user', 'add', '--email', 'words@example.com', '--name', 'Words', '--role', 'viewer'], env());
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Created viewer words@example.com/);
      expect(result.stdout).toMatch(/One-time password/);
    });

    it('user add --password-stdin takes the password from stdin and prints none', async () => {
      const created = json<{ email: string; oneTimePassword?: string }>(
        await cli(['user', 'add', '--email', 'lead@example.com', '--name', 'Lead', '--role', 'lead', '--password-stdin', '--json'], env(), 'lead-password-from-stdin\n'),
      );
      expect(created.email).toBe('lead@example.com');
      expect(created.oneTimePassword).toBeUndefined();
    });

    it('a duplicate email is refused', async () => {
      const result = await cli(['user', 'add', '--email', 'ENG@example.com', '--name', 'Again', '--role', 'viewer'], env());
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/already exists/);
    });

    it('user list (--json and text) shows the users without password material', async () => {
      const users = json<{ email: string; role: string }[]>(await cli(['user', 'list', '--json'], env()));
      expect(users.map((u) => u.email)).toEqual(['eng@example.com', 'lead@example.com', 'words@example.com']);
      const text = await cli(['user', 'list'], env());
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^email\s+name\s+role/m);
      expect(text.stdout).toContain('lead@example.com');
      expect(text.stdout + JSON.stringify(users)).not.toMatch(/argon2|passwordHash|password_hash/i);
    });

    it('source add --json prints {id, token} once; the database holds only the sha256 of the token', async () => {
      const created = json<{ id: string; token: string }>(await cli(['source', 'add', '--name', 'am', '--format', 'alertmanager', '--json'], env()));
      expect(Object.keys(created).sort()).toEqual(['id', 'token']);
      expect(created.token.length).toBeGreaterThanOrEqual(32);

      const database = await openDatabase({ url: null, dataDir });
      try {
        const rows = await database.rows<Record<string, unknown>>(sql`select * from sources`);
        expect(rows).toHaveLength(1);
        expect(rows[0].token_hash).toBe(sha256(created.token));
        expect(JSON.stringify(rows)).not.toContain(created.token);
        // Recorded in the audit log, in the same transaction, as the CLI's doing (never with the token).
        const audit = await database.rows<{ actor: string; action: string; entity_id: string; detail: unknown }>(
          sql`select actor, action, entity_id::text, detail from audit_log where entity = 'source'`,
        );
        expect(audit).toEqual([expect.objectContaining({ actor: 'cli', action: 'source.create', entity_id: created.id })]);
        expect(JSON.stringify(audit)).not.toContain(created.token);
        const users = await database.rows<{ action: string }>(sql`select action from audit_log where entity = 'user' and actor = 'cli'`);
        expect(users.map((u) => u.action)).toContain('user.create');
      } finally {
        await database.close();
      }

      const listed = await cli(['source', 'list'], env());
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/^am\s+alertmanager/m);
      expect(listed.stdout).not.toContain(created.token);
      const listedJson = json<{ id: string; name: string; format: string }[]>(await cli(['source', 'list', '--json'], env()));
      expect(listedJson).toEqual([expect.objectContaining({ id: created.id, name: 'am', format: 'alertmanager' })]);
      expect(JSON.stringify(listedJson)).not.toContain(created.token);

      const pagerduty = json<{ token: string }>(await cli(['source', 'add', '--name', 'pd', '--format', 'pagerduty', '--client', 'acme', '--json'], env()));
      expect(pagerduty.token).toMatch(/^[0-9a-f]{32}$/);
    });

    it('db status and db migrate report the migrations', async () => {
      const status = json<{ database: string; applied: number; known: number }>(await cli(['db', 'status', '--json'], env()));
      expect(status.database).toBe('pglite');
      expect(status.applied).toBe(status.known);
      expect(status.known).toBeGreaterThan(0);
      const migrated = await cli(['db', 'migrate'], env());
      expect(migrated.code).toBe(0);
      expect(migrated.stdout).toMatch(new RegExp(`Migrations applied: ${status.known} of ${status.known}`));
      const text = await cli(['db', 'status'], env());
      expect(text.stdout).toMatch(/up to date/);
    });

    it('db status on a folder that was never used says migrations are pending', async () => {
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-cli-empty-'));
      try {
        const status = json<{ applied: number; known: number }>(await cli(['db', 'status', '--json'], { WATCHFLOOR_DATA: empty }));
        expect(status.applied).toBe(0);
        expect(status.known).toBeGreaterThan(0);
      } finally {
        fs.rmSync(empty, { recursive: true, force: true });
      }
    });

    it('a bad environment is named and exits 2', async () => {
      const result = await cli(['user', 'list'], { WATCHFLOOR_DATA: dataDir, DATABASE_URL: 'mysql://root:hunter2@db/x' });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/DATABASE_URL/);
      expect(result.stderr).not.toContain('hunter2');
    });

    commonCliChecks(env, 'no server', { parallel: false });
  });

  describe('with a server running on the folder: the CLI goes through the admin socket', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(null, env());
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('the admin socket is in the data folder with mode 0600', () => {
      const stat = fs.statSync(path.join(dataDir, 'admin.sock'));
      expect(stat.isSocket()).toBe(true);
      expect(stat.mode & 0o777).toBe(0o600);
    });

    it('users made before the server started sign in', async () => {
      expect(await server.signIn('lead@example.com', 'lead-password-from-stdin')).toMatch(/^wf_session=/);
    });

    it('user add through the server: the new user signs in over HTTP at once', async () => {
      const created = json<{ email: string; oneTimePassword: string }>(
        await cli(['user', 'add', '--email', 'new@example.com', '--name', 'New', '--role', 'admin', '--json'], env()),
      );
      const cookie = await server.signIn('new@example.com', created.oneTimePassword);
      const session = (await (await fetch(`${server.url}/api/v1/session`, { headers: { cookie } })).json()) as { user: { role: string; mustChangePassword: boolean } };
      expect(session.user).toMatchObject({ role: 'admin', mustChangePassword: true });

      const withPassword = await cli(['user', 'add', '--email', 'piped@example.com', '--name', 'Piped', '--role', 'viewer', '--password-stdin'], env(), 'piped-password-123\n');
      expect(withPassword.code).toBe(0);
      expect(withPassword.stdout).not.toMatch(/One-time password/);
      expect(await server.signIn('piped@example.com', 'piped-password-123')).toMatch(/^wf_session=/);
      // The server kept the folder to itself: the lock is still this process's.
      expect(fs.readFileSync(path.join(dataDir, 'watchfloor.lock'), 'utf8')).toBe(String(process.pid));
    });

    it('user list, source add and source list through the server agree with the HTTP API', async () => {
      const users = json<{ email: string }[]>(await cli(['user', 'list', '--json'], env()));
      expect(users.map((u) => u.email)).toEqual(expect.arrayContaining(['eng@example.com', 'lead@example.com', 'new@example.com', 'piped@example.com']));

      const created = json<{ id: string; token: string }>(await cli(['source', 'add', '--name', 'grafana-prod', '--format', 'grafana', '--json'], env()));
      const admin = await server.addUser('http-admin@example.com', 'admin');
      const cookie = await server.signIn(admin.email, admin.password);
      const sources = (await (await fetch(`${server.url}/api/v1/sources`, { headers: { cookie } })).json()) as { sources: { id: string; name: string }[] };
      expect(sources.sources.map((s) => s.name).sort()).toEqual(['am', 'grafana-prod', 'pd']);
      expect(sources.sources.find((s) => s.name === 'grafana-prod')?.id).toBe(created.id);
      const listed = json<{ name: string }[]>(await cli(['source', 'list', '--json'], env()));
      expect(listed.map((s) => s.name).sort()).toEqual(['am', 'grafana-prod', 'pd']);
    });

    it('user reset-password through the server: the old password and sessions stop working', async () => {
      const cookie = await server.signIn('piped@example.com', 'piped-password-123');
      const reset = json<{ email: string; oneTimePassword: string }>(await cli(['user', 'reset-password', '--email', 'piped@example.com', '--json'], env()));
      expect((await fetch(`${server.url}/api/v1/session`, { headers: { cookie } })).status).toBe(401);
      const old = await fetch(`${server.url}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'piped@example.com', password: 'piped-password-123' }),
      });
      expect(old.status).toBe(401);
      expect(await server.signIn('piped@example.com', reset.oneTimePassword)).toMatch(/^wf_session=/);
    });

    it('user disable through the server: they can no longer sign in, and their open socket closes at once', async () => {
      const user = await server.addUser('leaving@example.com', 'engineer');
      const cookie = await server.signIn(user.email, user.password);
      const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(server.url, { extraHeaders: { cookie }, transports: ['websocket'], reconnection: false, forceNew: true });
      try {
        const ended = new Promise<string>((resolve) => socket.once('session:ended', ({ reason }) => resolve(reason)));
        await new Promise<void>((resolve, reject) => {
          socket.once('session:ready', () => resolve());
          socket.once('connect_error', reject);
        });
        const disabled = json<{ email: string; disabled: boolean }>(await cli(['user', 'disable', '--email', 'leaving@example.com', '--json'], env()));
        expect(disabled).toMatchObject({ email: 'leaving@example.com', disabled: true });
        expect(await ended).toBe('revoked');
        expect((await fetch(`${server.url}/api/v1/session`, { headers: { cookie } })).status).toBe(401);
        await expect(server.signIn(user.email, user.password)).rejects.toThrow(/401/);
        const unknown = await cli(['user', 'disable', '--email', 'ghost@example.com'], env());
        expect(unknown.code).toBe(1);
        expect(unknown.stderr).toMatch(/no user with email ghost@example.com/);
      } finally {
        socket.disconnect();
      }
    });

    it('source rotate-token, disable and enable through the server: its ingest sees each at once; an unknown name fails', async () => {
      const created = json<{ id: string; token: string }>(await cli(['source', 'add', '--name', 'cli-am', '--format', 'alertmanager', '--json'], env()));
      let serial = 0;
      const ingest = async (token: string) => {
        serial += 1;
        const response = await postAlertmanager(server.url, token, [{ name: `CliAlert${serial}`, client: 'acme', instance: 'core-sw-01' }]);
        return { status: response.status, body: (await response.json()) as { error?: { message: string } } };
      };
      expect((await ingest(created.token)).status).toBe(200); // looked up, and kept for a while, before the rotation

      const rotated = json<{ id: string; token: string }>(await cli(['source', 'rotate-token', '--name', 'cli-am', '--json'], env()));
      expect(rotated.id).toBe(created.id);
      expect(rotated.token).not.toBe(created.token);
      expect(await ingest(created.token)).toMatchObject({ status: 401, body: { error: { message: 'unknown source token' } } });
      expect((await ingest(rotated.token)).status).toBe(200);

      const disabled = await cli(['source', 'disable', '--name', 'cli-am'], env());
      expect(disabled.code).toBe(0);
      expect(disabled.stdout).toMatch(/Disabled source cli-am/);
      const refused = await ingest(rotated.token);
      expect(refused.status).toBe(401);
      expect(refused.body.error?.message).toContain('this source is disabled');
      expect(json(await cli(['source', 'enable', '--name', 'cli-am', '--json'], env()))).toEqual({ id: created.id, name: 'cli-am', enabled: true });
      expect((await ingest(rotated.token)).status).toBe(200);

      // In words, the new token is printed once.
      const again = await cli(['source', 'rotate-token', '--name', 'cli-am'], env());
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/^New token for alertmanager source cli-am .*\nToken \(shown once, store it in the sender\): wfs_\S{20,}\n$/);

      for (const action of ['rotate-token', 'disable', 'enable']) {
        const unknown = await cli(['source', action, '--name', 'ghost-source'], env());
        expect(unknown.code, action).toBe(1);
        expect(unknown.stderr, action).toMatch(/no source named ghost-source/);
        expect(unknown.stdout, action).toBe('');
      }

      // Each recorded as the CLI's doing, never with a token.
      const audit = await server.context.database.rows<{ actor: string; action: string; detail: unknown }>(
        sql`select actor, action, detail from audit_log where entity = 'source' and entity_id = ${created.id} order by id`,
      );
      expect(audit.map((a) => [a.actor, a.action, a.detail])).toEqual([
        ['cli', 'source.create', expect.anything()],
        ['cli', 'source.rotate_token', { changed: { token: '(rotated)' } }],
        ['cli', 'source.update', { changed: { enabled: false } }],
        ['cli', 'source.update', { changed: { enabled: true } }],
        ['cli', 'source.rotate_token', { changed: { token: '(rotated)' } }],
      ]);
      expect(JSON.stringify(audit)).not.toContain(created.token);
      expect(JSON.stringify(audit)).not.toContain(rotated.token);
    });

    it('db status and db migrate through the server', async () => {
      const status = json<{ database: string; applied: number; known: number }>(await cli(['db', 'status', '--json'], env()));
      expect(status).toMatchObject({ database: 'pglite' });
      expect(status.applied).toBe(status.known);
      expect((await cli(['db', 'migrate', '--json'], env())).code).toBe(0);
    });

    commonCliChecks(env, 'via server', { parallel: true });
  });
});

const postgres = DATABASES.find((d) => d.name === 'postgres');

describe.skipIf(!postgres)('CLI with DATABASE_URL (Postgres)', () => {
  let url = '';
  let drop = async () => {};
  const unusedFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-cli-pg-'));
  const env = () => ({ DATABASE_URL: url, WATCHFLOOR_DATA: unusedFolder });
  let server: TestServer | undefined;

  beforeAll(async () => {
    ({ url, drop } = await postgres!.url());
  });
  afterAll(async () => {
    await server?.stop();
    await drop();
    fs.rmSync(unusedFolder, { recursive: true, force: true });
  });

  it('works directly on a fresh database, then its users sign in to a server on that database', async () => {
    const created = json<{ email: string; oneTimePassword: string }>(
      await cli(['user', 'add', '--email', 'pg@example.com', '--name', 'Pg', '--role', 'lead', '--json'], env()),
    );
    const source = json<{ id: string; token: string }>(await cli(['source', 'add', '--name', 'am', '--format', 'alertmanager', '--json'], env()));
    const status = json<{ database: string; applied: number; known: number }>(await cli(['db', 'status', '--json'], env()));
    expect(status.database).toBe('postgres');
    expect(status.applied).toBe(status.known);
    // The PGlite folder is not touched when DATABASE_URL is set.
    expect(fs.readdirSync(unusedFolder)).toEqual([]);

    server = await startTestServer(url);
    expect(await server.signIn('pg@example.com', created.oneTimePassword)).toMatch(/^wf_session=/);
    const [row] = await server.context.database.rows<{ token_hash: string }>(sql`select token_hash from sources`);
    expect(row.token_hash).toBe(sha256(source.token));

    // While the server runs, the CLI still works directly on Postgres.
    const more = json<{ email: string }[]>(await cli(['user', 'list', '--json'], env()));
    expect(more.map((u) => u.email)).toContain('pg@example.com');
    const piped = await cli(['user', 'add', '--email', 'pg2@example.com', '--name', 'Pg2', '--role', 'viewer', '--password-stdin'], env(), 'pg2-password-123');
    expect(piped.code).toBe(0);
    expect(await server.signIn('pg2@example.com', 'pg2-password-123')).toMatch(/^wf_session=/);
  });

  commonCliChecks(env, 'postgres', { parallel: true });
});
