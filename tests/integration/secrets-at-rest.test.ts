/**
 * Secrets at rest: what a database dump shows of the push keys and Grafana's HMAC secrets (nothing in
 * clear), that everything that uses them still works across restarts, that a database from before
 * encryption is upgraded on start, and that a process with another key refuses to start.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createECDH, createHmac, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { DATABASES, TEST_SECRET_KEY, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { openDatabase, type Database } from '../../server/db/database.ts';
import { loadConfig } from '../../server/config.ts';
import { startWatchfloor } from '../../server/index.ts';
import { StoredSecretError, isSealed } from '../../server/auth/secret-box.ts';
import { secretKeyPath } from '../../server/auth/secret-key.ts';
import { PushActionTokens } from '../../server/push/action-tokens.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
const GRAFANA_SECRET = 'grafana-shared-secret-42';
const ANOTHER_KEY = Buffer.alloc(32, 9).toString('base64url');
const SAME_KEY_MESSAGE = 'give every server process the same WATCHFLOOR_SECRET_KEY';

/** A database that outlives its servers: PGlite on disk, or a fresh database on the test Postgres. Keys go in `dataDir`. */
interface Store {
  databaseUrl: string | null;
  dataDir: string;
  drop(): Promise<void>;
}

const STORES: { name: string; open: () => Promise<Store> }[] = DATABASES.map((database) => ({
  name: database.name === 'pglite' ? 'pglite on disk' : database.name,
  async open() {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-secrets-'));
    const { url, drop } = database.name === 'pglite' ? { url: null, drop: async () => {} } : await database.url();
    return {
      databaseUrl: url,
      dataDir,
      async drop() {
        await drop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
}));

/** Every row of every table as Postgres prints it: what a dump or a read replica shows. */
async function everythingStored(database: Database): Promise<string> {
  const tables = await database.rows<{ name: string }>(sql`select table_name as name from information_schema.tables where table_schema = 'public'`);
  const dump: string[] = [];
  for (const { name } of tables) {
    const rows = await database.rows<{ row: string }>(sql`select t::text as row from ${sql.identifier(name)} t`);
    dump.push(...rows.map((r) => r.row));
  }
  return dump.join('\n');
}

interface RawSecrets {
  vapidPrivateKey: string;
  actionTokenSecret: string;
  hmacSecret: string;
}

async function rawSecrets(database: Database): Promise<RawSecrets> {
  const [keys] = await database.rows<{ vapid_private_key: string; action_token_secret: string }>(sql`select vapid_private_key, action_token_secret from push_keys`);
  const [source] = await database.rows<{ hmac_secret: string }>(sql`select hmac_secret from sources where name = 'grafana'`);
  return { vapidPrivateKey: keys.vapid_private_key, actionTokenSecret: keys.action_token_secret, hmacSecret: source.hmac_secret };
}

/** The public key that belongs to a VAPID private key (both base64url, P-256). */
function publicKeyOf(privateKey: string): string {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(privateKey, 'base64url'));
  return ecdh.getPublicKey().toString('base64url');
}

/** A Grafana webhook body whose alert is new (fresh fingerprint), and its signature with `secret`. */
function grafanaWebhook(secret: string): { body: string; signature: string; summary: string } {
  const payload = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'grafana-v1.json'), 'utf8')) as {
    alerts: { labels: Record<string, string>; annotations: Record<string, string>; fingerprint: string }[];
  };
  const name = `Secret${randomBytes(4).toString('hex')}`;
  payload.alerts[0].labels.alertname = name;
  payload.alerts[0].annotations.description = `signed ${name}`;
  payload.alerts[0].fingerprint = `fp-${name}`;
  const body = JSON.stringify(payload);
  return { body, signature: createHmac('sha256', secret).update(body).digest('hex'), summary: `signed ${name}` };
}

async function postGrafana(server: TestServer, token: string, body: string, signature?: string): Promise<number> {
  const response = await fetch(`${server.url}/api/v1/ingest/grafana`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(signature ? { 'x-grafana-alerting-signature': signature } : {}) },
    body,
  });
  await response.body?.cancel();
  return response.status;
}

/** Signed webhooks are taken; unsigned ones and ones signed with another secret are refused. Returns the incident the signed one opened. */
async function expectGrafanaVerifiedWith(server: TestServer, token: string, secret: string): Promise<string> {
  const signed = grafanaWebhook(secret);
  expect(await postGrafana(server, token, signed.body, signed.signature)).toBe(200);
  const unsigned = grafanaWebhook(secret);
  expect(await postGrafana(server, token, unsigned.body)).toBe(401);
  const forged = grafanaWebhook('not-the-secret');
  expect(await postGrafana(server, token, forged.body, forged.signature)).toBe(401);
  const [row] = await server.context.database.rows<{ id: string }>(sql`select incident_id as id from alerts where summary = ${signed.summary}`);
  expect(row).toBeDefined();
  return row.id;
}

async function acknowledgeWith(server: TestServer, token: string): Promise<number> {
  const response = await fetch(`${server.url}/api/v1/push/actions/acknowledge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  await response.body?.cancel();
  return response.status;
}

/** Starts `node server/index.ts` as an operator would and waits for it to end (it must not start). */
function runServerProcess(store: Store, env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !['DATABASE_URL', 'WATCHFLOOR_DATA', 'WATCHFLOOR_SECRET_KEY', 'PORT'].includes(key)));
  const child = spawn(process.execPath, [path.join(ROOT, 'server', 'index.ts')], {
    cwd: ROOT,
    env: {
      ...inherited,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      WATCHFLOOR_DEMO: 'off',
      WATCHFLOOR_DATA: store.dataDir,
      ...(store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000); // it started after all: fail, do not hang
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.each(STORES)('secrets at rest on $name', ({ name, open }) => {
  let store: Store;
  /** The Grafana source's secret as the sender knows it (the upgrade test replaces it). */
  let hmacSecret = GRAFANA_SECRET;
  const running: TestServer[] = [];
  let sourceToken: string;
  let engineer: { id: string };
  let firstKeys: { vapidPublicKey: string; vapidPrivateKey: string; actionTokenSecret: string };

  async function start(env: Record<string, string> = {}): Promise<TestServer> {
    const server = await startTestServer(store.databaseUrl, { WATCHFLOOR_DATA: store.dataDir, ...env });
    running.push(server);
    return server;
  }
  async function stop(server: TestServer): Promise<void> {
    await server.stop();
    running.splice(running.indexOf(server), 1);
  }
  /** The database itself, while no server holds it (PGlite allows one process). */
  async function withDatabase<T>(use: (database: Database) => Promise<T>): Promise<T> {
    const database = await openDatabase({ url: store.databaseUrl, dataDir: store.dataDir });
    try {
      return await use(database);
    } finally {
      await database.close();
    }
  }

  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => {
    for (const server of running.splice(0)) await server.stop();
    await store?.drop();
  });

  it('stores the push keys and a Grafana source’s HMAC secret encrypted: a dump shows none of them', async () => {
    const server = await start();
    const admin = await server.addUser('admin@example.com', 'admin');
    const cookie = await server.signIn(admin.email, admin.password);
    const created = await fetch(`${server.url}/api/v1/sources`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'grafana', format: 'grafana', hmacSecret: GRAFANA_SECRET }),
    });
    expect(created.status).toBe(201);
    sourceToken = ((await created.json()) as { token: string }).token;
    engineer = await server.addUser('eng@example.com', 'engineer');

    const keys = server.context.push.keys;
    firstKeys = { vapidPublicKey: keys.vapidPublicKey, vapidPrivateKey: keys.vapidPrivateKey, actionTokenSecret: Buffer.from(keys.actionTokenSecret).toString('base64url') };
    expect(publicKeyOf(firstKeys.vapidPrivateKey)).toBe(firstKeys.vapidPublicKey);

    const raw = await rawSecrets(server.context.database);
    expect(Object.values(raw).map(isSealed)).toEqual([true, true, true]);
    const dump = await everythingStored(server.context.database);
    expect(dump).toContain(raw.hmacSecret); // the dump does read the column
    for (const secret of [GRAFANA_SECRET, firstKeys.vapidPrivateKey, firstKeys.actionTokenSecret]) expect(dump).not.toContain(secret);
  });

  it('verifies signed Grafana webhooks and refuses unsigned and forged ones', async () => {
    await expectGrafanaVerifiedWith(running[0], sourceToken, hmacSecret);
  });

  it('keeps the same push keys across a restart: a push-action token issued before is accepted after', async () => {
    const before = running[0];
    const incidentId = await expectGrafanaVerifiedWith(before, sourceToken, hmacSecret);
    const token = await before.context.push.tokens.issue(engineer.id, incidentId);
    await stop(before);

    const after = await start();
    expect(after.context.push.keys.vapidPublicKey).toBe(firstKeys.vapidPublicKey);
    expect(after.context.push.keys.vapidPrivateKey).toBe(firstKeys.vapidPrivateKey);
    expect(await acknowledgeWith(after, token)).toBe(200);
    expect(await acknowledgeWith(after, token)).toBe(401); // spent
    await expectGrafanaVerifiedWith(after, sourceToken, hmacSecret);
    await stop(after);
  });

  it('refuses to start with another key, with a clear message and a non-zero exit, and changes nothing', async () => {
    const before = await withDatabase(rawSecrets);
    await expect(start({ WATCHFLOOR_SECRET_KEY: ANOTHER_KEY })).rejects.toThrow(StoredSecretError);
    await expect(start({ WATCHFLOOR_SECRET_KEY: ANOTHER_KEY })).rejects.toThrow(SAME_KEY_MESSAGE);

    const refused = await runServerProcess(store, { WATCHFLOOR_SECRET_KEY: ANOTHER_KEY });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the stored secrets were encrypted with another key');
    expect(refused.stderr).toContain(SAME_KEY_MESSAGE);
    for (const key of [ANOTHER_KEY, TEST_SECRET_KEY]) expect(refused.stderr + refused.stdout).not.toContain(key);
    // No keys were generated again in its place: the phones' subscriptions and outstanding tokens still hold.
    expect(await withDatabase(rawSecrets)).toEqual(before);
  });

  it('encrypts the plain-text secrets of a database from before on start, once, and they keep working', async () => {
    const plainActionSecret = randomBytes(32).toString('base64url');
    const plainHmacSecret = 'plain-grafana-secret-from-before';
    // As the versions before encryption stored them.
    await withDatabase(async (database) => {
      await database.rows(sql`update push_keys set vapid_private_key = ${firstKeys.vapidPrivateKey}, action_token_secret = ${plainActionSecret}`);
      await database.rows(sql`update sources set hmac_secret = ${plainHmacSecret} where name = 'grafana'`);
    });
    hmacSecret = plainHmacSecret;

    const upgraded = await start();
    const raw = await rawSecrets(upgraded.context.database);
    expect(Object.values(raw).map(isSealed)).toEqual([true, true, true]);
    const dump = await everythingStored(upgraded.context.database);
    for (const secret of [plainHmacSecret, firstKeys.vapidPrivateKey, plainActionSecret]) expect(dump).not.toContain(secret);
    // The same secrets, now read through the encryption.
    expect(upgraded.context.push.keys.vapidPrivateKey).toBe(firstKeys.vapidPrivateKey);
    const incidentId = await expectGrafanaVerifiedWith(upgraded, sourceToken, hmacSecret);
    const issuedBefore = await new PushActionTokens(upgraded.context.database.db, Buffer.from(plainActionSecret, 'base64url'), 300).issue(engineer.id, incidentId);
    expect(await acknowledgeWith(upgraded, issuedBefore)).toBe(200);
    await stop(upgraded);

    // Idempotent: a second start finds them encrypted and rewrites nothing.
    const again = await start();
    expect(await rawSecrets(again.context.database)).toEqual(raw);
    await stop(again);
  });

  // PGlite is one process per folder.
  it.runIf(name === 'postgres')('lets several processes with the same key share one Postgres, and keeps one with another key out', async () => {
    const first = await start();
    const second = await start();
    const incidentId = await expectGrafanaVerifiedWith(first, sourceToken, hmacSecret);
    // A token from one process is accepted by the other: they read the same secret.
    expect(await acknowledgeWith(second, await first.context.push.tokens.issue(engineer.id, incidentId))).toBe(200);
    await expect(start({ WATCHFLOOR_SECRET_KEY: ANOTHER_KEY })).rejects.toThrow(SAME_KEY_MESSAGE);
  });
});

describe('the key file, without WATCHFLOOR_SECRET_KEY (pglite on disk)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-keyfile-'));
  const keyFile = secretKeyPath(dataDir);
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  /** Starts and stops a server the way `npm start` does (no key in the environment unless given); returns what it printed. */
  async function startAndStop(env: Record<string, string> = {}): Promise<string[]> {
    const printed: string[] = [];
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', WATCHFLOOR_DEMO: 'off', WATCHFLOOR_DATA: dataDir, ...env });
    const server = await startWatchfloor(config, { print: (line) => printed.push(line) });
    await server.stop();
    return printed;
  }

  it('is generated on the first start (mode 0600), said so once, and reused unchanged', async () => {
    const first = await startAndStop();
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(first.filter((line) => line.includes(keyFile))).toEqual([expect.stringContaining('Generated the key that encrypts stored secrets')]);
    const key = fs.readFileSync(keyFile, 'utf8');

    const second = await startAndStop();
    expect(second.some((line) => line.includes(keyFile))).toBe(false);
    expect(fs.readFileSync(keyFile, 'utf8')).toBe(key);
    // The same key given through the environment (how several processes share it) opens the same secrets.
    await startAndStop({ WATCHFLOOR_SECRET_KEY: key.trim() });
  });

  it('when lost, is not silently replaced by new keys: the start is refused, naming where the key came from', async () => {
    fs.rmSync(keyFile);
    const attempt = startAndStop();
    await expect(attempt).rejects.toThrow(StoredSecretError);
    await expect(attempt).rejects.toThrow(`from the key file ${keyFile}`);
  });
});
