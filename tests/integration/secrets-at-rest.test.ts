/**
 * Secrets at rest: what a database dump shows of the push keys and Grafana's HMAC secrets (nothing in
 * clear), that everything that uses them still works across restarts, that a database from before
 * encryption is upgraded on start, and that a process with another key refuses to start.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { TEST_SECRET_KEY, type TestServer } from '../helpers/test-server.ts';
import { STORES, acknowledgeWith, expectGrafanaVerifiedWith, publicKeyOf, rawSecrets, runServerProcess, type Store } from '../helpers/stored-secrets.ts';
import type { Database } from '../../server/db/database.ts';
import { ServersOnStore } from '../helpers/servers-on-store.ts';
import { loadConfig } from '../../server/config.ts';
import { startWatchfloor } from '../../server/index.ts';
import { StoredSecretError, isSealed } from '../../server/auth/secret-box.ts';
import { secretKeyPath } from '../../server/auth/secret-key.ts';
import { PushActionTokens } from '../../server/push/action-tokens.ts';

const GRAFANA_SECRET = 'grafana-shared-secret-42';
const ANOTHER_KEY = Buffer.alloc(32, 9).toString('base64url');
const SAME_KEY_MESSAGE = 'give every server process the same WATCHFLOOR_SECRET_KEY';

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

describe.each(STORES)('secrets at rest on $name', ({ name, open }) => {
  let store: Store;
  /** The Grafana source's secret as the sender knows it (the upgrade test replaces it). */
  let hmacSecret = GRAFANA_SECRET;
  const servers = new ServersOnStore(() => store);
  const { running } = servers;
  let sourceToken: string;
  let engineer: { id: string };
  let firstKeys: { vapidPublicKey: string; vapidPrivateKey: string; actionTokenSecret: string };

  const start = (env: Record<string, string> = {}) => servers.start(env);
  const stop = (server: TestServer) => servers.stop(server);
  const withDatabase = <T>(use: (database: Database) => Promise<T>) => servers.withDatabase(use);

  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => {
    await servers.stopAll();
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

  it('open to other users (mode 0644), is refused: the server does not start and says how to fix it', async () => {
    fs.chmodSync(keyFile, 0o644);
    const attempt = startAndStop();
    await expect(attempt).rejects.toThrow(StoredSecretError);
    await expect(attempt).rejects.toThrow(`the key file ${keyFile} is open to other users (mode 0644)`);
    const refused = await runServerProcess({ databaseUrl: null, dataDir }, {});
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`chmod 600 ${keyFile}`);
    expect(refused.stderr + refused.stdout).not.toContain(fs.readFileSync(keyFile, 'utf8').trim());
    fs.chmodSync(keyFile, 0o600);
    await startAndStop();
  });

  it('when lost, is not silently replaced by new keys: the start is refused, naming where the key came from and what to do', async () => {
    fs.rmSync(keyFile);
    const attempt = startAndStop();
    await expect(attempt).rejects.toThrow(StoredSecretError);
    await expect(attempt).rejects.toThrow(`from the key file ${keyFile}`);
    await expect(attempt).rejects.toThrow('if that key is lost for good, `watchfloor secrets reset --yes`');
  });
});
