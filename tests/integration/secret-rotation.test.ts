/**
 * Rotating the key that seals stored secrets, and recovering from its loss:
 * - `watchfloor secrets rotate-key` on the key file, through a running server (PGlite) and alone: every
 *   stored secret re-sealed with the new key, the old key kept as previous, the server still signing and
 *   opening; a process with only the old key refused afterwards; refused beside servers on Postgres, and
 *   explained instead with WATCHFLOOR_SECRET_KEY;
 * - the rolling procedure for several processes on one Postgres (WATCHFLOOR_SECRET_KEY_PREVIOUS), during
 *   which no process ever meets a value it cannot open;
 * - `watchfloor secrets reset --yes` after the key is lost: new push keys, devices and Grafana secrets gone,
 *   said so, audited, and the server starts again.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { runCli, type CliResult } from '../helpers/cli.ts';
import {
  STORES,
  acknowledgeWith,
  addGrafanaSource,
  everySealedValue,
  expectGrafanaVerifiedWith,
  grafanaWebhook,
  postGrafana,
  publicKeyOf,
  runServerProcess,
  type Store,
} from '../helpers/stored-secrets.ts';
import { openDatabase, type Database } from '../../server/db/database.ts';
import { ServersOnStore } from '../helpers/servers-on-store.ts';
import { StoredSecretError, sealedKeyId, secretKeyId } from '../../server/auth/secret-box.ts';
import { previousSecretKeysPath, secretKeyPath } from '../../server/auth/secret-key.ts';

const newKey = () => randomBytes(32).toString('base64url');
const keyIdOfText = (text: string) => secretKeyId(Buffer.from(text.trim(), 'base64url'));

function json<T>(result: CliResult): T {
  expect(result.stderr, result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/** The key ids the stored secrets are sealed with, one per stored value. */
async function sealingKeyIds(database: Database): Promise<string[]> {
  return (await everySealedValue(database)).map((value) => sealedKeyId(value) ?? '(not sealed)');
}

async function auditActions(database: Database, prefix: string): Promise<{ actor: string; action: string; entity_id: string | null; detail: Record<string, unknown> }[]> {
  return database.rows(sql`select actor, action, entity_id, detail from audit_log where starts_with(action, ${prefix}) order by id`);
}

interface KeyRotationJson {
  keyId: string;
  keyFile: string;
  previousKeyId: string;
  previousKeyFile: string;
  resealed: number;
}

describe('secrets rotate-key with the key file (pglite on disk)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-rotate-'));
  const keyFile = secretKeyPath(dataDir);
  const env = { WATCHFLOOR_DATA: dataDir };
  const servers = new ServersOnStore(() => ({ databaseUrl: null, dataDir }));
  const { running } = servers;
  let admin: { email: string; password: string };
  let engineer: { id: string };
  let first: { id: string; token: string };
  let vapid: { publicKey: string; privateKey: string };
  let tokenBefore: string;
  let oldKeyText: string;

  /** A server as `npm start` runs one without WATCHFLOOR_SECRET_KEY: its keys in the data folder's files. */
  const start = () => servers.start({ WATCHFLOOR_SECRET_KEY: '' });
  const stop = (server: TestServer) => servers.stop(server);
  const withDatabase = <T>(use: (database: Database) => Promise<T>) => servers.withDatabase(use);

  afterAll(async () => {
    await servers.stopAll();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('through the running server: a new key file, the old key kept as previous, every stored secret re-sealed, and the server keeps signing and opening', async () => {
    const server = await start();
    admin = await server.addUser('admin@example.com', 'admin');
    engineer = await server.addUser('eng@example.com', 'engineer');
    const cookie = await server.signIn(admin.email, admin.password);
    first = await addGrafanaSource(server, cookie, 'grafana', 'grafana-secret-before');
    const incidentId = await expectGrafanaVerifiedWith(server, first.token, 'grafana-secret-before');
    tokenBefore = await server.context.push.tokens.issue(engineer.id, incidentId);
    vapid = { publicKey: server.context.push.keys.vapidPublicKey, privateKey: server.context.push.keys.vapidPrivateKey };
    oldKeyText = fs.readFileSync(keyFile, 'utf8');
    const oldKeyId = keyIdOfText(oldKeyText);
    expect(server.context.secrets.keyId).toBe(oldKeyId);

    const rotation = json<KeyRotationJson>(await runCli(['secrets', 'rotate-key', '--json'], env));
    const previousFile = path.join(previousSecretKeysPath(dataDir), `${oldKeyId}.key`);
    expect(rotation).toEqual({ keyId: expect.any(String), keyFile, previousKeyId: oldKeyId, previousKeyFile: previousFile, resealed: 3 });
    // The files: the new key is the key file's, the old one kept beside it, both for the owner only.
    expect(keyIdOfText(fs.readFileSync(keyFile, 'utf8'))).toBe(rotation.keyId);
    expect(fs.readFileSync(previousFile, 'utf8')).toBe(oldKeyText);
    for (const file of [keyFile, previousFile]) expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // Every stored secret is sealed with the new key; the running server seals with it too.
    expect(await sealingKeyIds(server.context.database)).toEqual([rotation.keyId, rotation.keyId, rotation.keyId]);
    expect(server.context.secrets.keyId).toBe(rotation.keyId);
    const second = await addGrafanaSource(server, cookie, 'grafana-after', 'grafana-secret-after');
    expect(await sealingKeyIds(server.context.database)).toEqual(Array(4).fill(rotation.keyId));
    await expectGrafanaVerifiedWith(server, second.token, 'grafana-secret-after');
    await expectGrafanaVerifiedWith(server, first.token, 'grafana-secret-before');
    // Recorded as the CLI's doing, without any key.
    const audit = await auditActions(server.context.database, 'secrets.');
    expect(audit).toEqual([{ actor: 'cli', action: 'secrets.rotate_key', entity_id: rotation.keyId, detail: { previousKeyId: oldKeyId, resealed: 3 } }]);

    const status = await runCli(['secrets', 'status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Current key: id ${rotation.keyId}, from the key file ${keyFile}`);
    expect(status.stdout).toContain(`Previous keys (open only): ${oldKeyId}`);
    expect(status.stdout).toContain('Every stored secret is sealed with the current key: the servers no longer need the previous keys');
    await stop(server);
  });

  it('after a restart, the re-sealed secrets are the same: push keys, an Acknowledge token issued before, Grafana’s secret', async () => {
    const server = await start();
    expect(server.context.push.keys.vapidPublicKey).toBe(vapid.publicKey);
    expect(server.context.push.keys.vapidPrivateKey).toBe(vapid.privateKey);
    expect(await acknowledgeWith(server, tokenBefore)).toBe(200);
    await expectGrafanaVerifiedWith(server, first.token, 'grafana-secret-before');
    await stop(server);
  });

  it('a process with only the old key refuses to start, with the message that says what to do', async () => {
    const refused = await runServerProcess({ databaseUrl: null, dataDir }, { WATCHFLOOR_SECRET_KEY: oldKeyText.trim() });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`the stored secrets were encrypted with another key (key id ${keyIdOfText(fs.readFileSync(keyFile, 'utf8'))}`);
    expect(refused.stderr).toContain('WATCHFLOOR_SECRET_KEY_PREVIOUS');
    expect(refused.stderr).toContain('`watchfloor secrets reset --yes`');
    expect(refused.stderr + refused.stdout).not.toContain(oldKeyText.trim());
  });

  it('alone (no server running), the CLI rotates the folder’s key itself and says what it did; the old key files can then go', async () => {
    const before = fs.readFileSync(keyFile, 'utf8');
    const result = await runCli(['secrets', 'rotate-key'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`key id ${keyIdOfText(fs.readFileSync(keyFile, 'utf8'))} is now current (${keyFile})`);
    expect(result.stdout).toContain(`key id ${keyIdOfText(before)} is kept as a previous key`);
    expect(result.stdout).toContain('Re-sealed 4 stored secrets with the new key, in one transaction.');
    expect(result.stdout).toContain('The server reads the new key file when it starts.');
    expect(result.stdout).toContain('keep its file while you keep database backups from before this rotation');
    expect(fs.readdirSync(previousSecretKeysPath(dataDir))).toHaveLength(2);

    // Everything is sealed with the current key: the previous keys are not needed to start.
    fs.rmSync(previousSecretKeysPath(dataDir), { recursive: true });
    const server = await start();
    await expectGrafanaVerifiedWith(server, first.token, 'grafana-secret-before');
    await stop(server);
    expect(await withDatabase((database) => auditActions(database, 'secrets.rotate_key'))).toHaveLength(2);
  });

  it('refuses a key file open to other users: the CLI says how to fix it, and rotates nothing', async () => {
    const before = fs.readFileSync(keyFile, 'utf8');
    fs.chmodSync(keyFile, 0o644);
    try {
      const result = await runCli(['secrets', 'rotate-key'], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`the key file ${keyFile} is open to other users (mode 0644)`);
      expect(result.stderr).toContain(`chmod 600 ${keyFile}`);
      expect(result.stdout).toBe('');
      expect(fs.readFileSync(keyFile, 'utf8')).toBe(before);
    } finally {
      fs.chmodSync(keyFile, 0o600);
    }
  });

  it('with WATCHFLOOR_SECRET_KEY set, explains how to rotate the variable instead, and writes no file', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-rotate-env-'));
    try {
      const result = await runCli(['secrets', 'rotate-key'], { WATCHFLOOR_DATA: elsewhere, WATCHFLOOR_SECRET_KEY: newKey() });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('WATCHFLOOR_SECRET_KEY is set, so the key is yours to change');
      expect(result.stderr).toContain('Give every server process WATCHFLOOR_SECRET_KEY_PREVIOUS=<new key>, the current key unchanged');
      expect(result.stderr).toContain('WATCHFLOOR_SECRET_KEY=<new key> and WATCHFLOOR_SECRET_KEY_PREVIOUS=<old key>');
      expect(fs.existsSync(secretKeyPath(elsewhere))).toBe(false);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('bad input: a clear message and a non-zero exit, before any database is opened', async () => {
    const cases: { args: string[]; message: RegExp }[] = [
      { args: ['secrets'], message: /unknown command: secrets/ },
      { args: ['secrets', 'rotate'], message: /unknown command: secrets rotate/ },
      { args: ['secrets', 'rotate-key', '--force'], message: /--force/ },
      { args: ['secrets', 'reset'], message: /Add --yes to reset/ },
      { args: ['secrets', 'reset', '--yes', 'now'], message: /now/ },
    ];
    const results = await Promise.all(cases.map(({ args }) => runCli(args, { WATCHFLOOR_DATA: path.join(dataDir, 'never-created') })));
    for (const [i, result] of results.entries()) {
      expect(result.code, cases[i].args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(cases[i].message);
      expect(result.stdout).toBe('');
    }
    expect(fs.existsSync(path.join(dataDir, 'never-created'))).toBe(false);
  });
});

describe.runIf(DATABASES.some((d) => d.name === 'postgres'))('several server processes on one Postgres', () => {
  let url: string;
  let drop: () => Promise<void>;
  const running = new Set<TestServer>();
  const oldKey = newKey();
  const nextKey = newKey();
  let cookieOf: Map<TestServer, string>;
  let admin: { email: string; password: string };
  let engineer: { id: string };
  let database: Database;

  async function start(env: Record<string, string>): Promise<TestServer> {
    const server = await startTestServer(url, env);
    running.add(server);
    return server;
  }
  async function stop(server: TestServer): Promise<void> {
    await server.stop();
    running.delete(server);
  }
  const keys = (current: string, previous?: string) => ({ WATCHFLOOR_SECRET_KEY: current, WATCHFLOOR_SECRET_KEY_PREVIOUS: previous ?? '' });
  /** A process restarted with other keys, as an operator restarts one behind the load balancer. */
  async function restart(server: TestServer, env: Record<string, string>): Promise<TestServer> {
    await stop(server);
    const again = await start(env);
    cookieOf.set(again, await again.signIn(admin.email, admin.password));
    return again;
  }
  /**
   * A Grafana source created on `on` (its secret sealed by that process) whose webhooks `at` verifies: a
   * fresh source, so `at` opens its secret now rather than from a source it read before.
   */
  async function expectSourceMadeOnVerifiedAt(on: TestServer, at: TestServer): Promise<void> {
    const secret = `secret-${randomBytes(6).toString('hex')}`;
    const source = await addGrafanaSource(on, cookieOf.get(on)!, `grafana-${randomBytes(4).toString('hex')}`, secret);
    await expectGrafanaVerifiedWith(at, source.token, secret);
  }

  beforeAll(async () => {
    ({ url, drop } = await DATABASES.find((d) => d.name === 'postgres')!.url());
    database = await openDatabase({ url, dataDir: os.tmpdir() });
    const a = await start(keys(oldKey));
    admin = await a.addUser('admin@example.com', 'admin');
    engineer = await a.addUser('eng@example.com', 'engineer');
    cookieOf = new Map([[a, await a.signIn(admin.email, admin.password)]]);
    const b = await start(keys(oldKey));
    cookieOf.set(b, await b.signIn(admin.email, admin.password));
  });
  afterAll(async () => {
    for (const server of running) await server.stop();
    await database?.close();
    await drop?.();
  });

  const servers = () => [...running];

  it('rolls to a new key with no process ever unable to open a stored secret: the new key first as previous everywhere, then as current, then the old one goes', async () => {
    let [a, b] = servers();
    await expectSourceMadeOnVerifiedAt(a, b);
    const oldId = keyIdOfText(oldKey);
    const newId = keyIdOfText(nextKey);

    // Step 1: every process learns the new key as a previous key, one restart at a time. Nothing seals with it yet.
    a = await restart(a, keys(oldKey, nextKey));
    await expectSourceMadeOnVerifiedAt(a, b);
    await expectSourceMadeOnVerifiedAt(b, a);
    b = await restart(b, keys(oldKey, nextKey));
    expect(new Set(await sealingKeyIds(database))).toEqual(new Set([oldId]));

    // Step 2: the new key becomes current, one restart at a time. A re-seals everything as it starts …
    a = await restart(a, keys(nextKey, oldKey));
    expect(new Set(await sealingKeyIds(database))).toEqual(new Set([newId]));
    // … and B, still sealing with the old key, opens what A re-sealed and seals, and A what B seals.
    await expectSourceMadeOnVerifiedAt(a, b);
    await expectSourceMadeOnVerifiedAt(b, a);
    const [{ id: incidentId }] = await database.rows<{ id: string }>(sql`select id from incidents limit 1`);
    expect(await acknowledgeWith(b, await a.context.push.tokens.issue(engineer.id, incidentId))).toBe(200);
    expect(new Set(await sealingKeyIds(database))).toEqual(new Set([newId, oldId])); // B's source
    b = await restart(b, keys(nextKey, oldKey));
    expect(new Set(await sealingKeyIds(database))).toEqual(new Set([newId]));
    const resealed = await auditActions(database, 'secrets.reseal');
    expect(resealed.map((r) => [r.actor, r.entity_id, r.detail.fromKeyIds])).toEqual([
      ['system', newId, [oldId]],
      ['system', newId, [oldId]],
    ]);

    // Step 3: `secrets status` shows nothing under the old key, so it goes.
    const status = json<{ underPreviousKeys: number; unopenable: number; previousKeyIds: string[] }>(
      await runCli(['secrets', 'status', '--json'], { DATABASE_URL: url, ...keys(nextKey, oldKey) }),
    );
    expect(status).toMatchObject({ underPreviousKeys: 0, unopenable: 0, previousKeyIds: [oldId] });
    a = await restart(a, keys(nextKey));
    b = await restart(b, keys(nextKey));
    await expectSourceMadeOnVerifiedAt(a, b);
    await expectSourceMadeOnVerifiedAt(b, a);
  });

  it('a process given only the old key after the rotation refuses to start, pointing to what to do', async () => {
    const attempt = start(keys(oldKey));
    await expect(attempt).rejects.toThrow(StoredSecretError);
    await expect(attempt).rejects.toThrow('WATCHFLOOR_SECRET_KEY_PREVIOUS');
    await expect(attempt).rejects.toThrow('`watchfloor secrets reset --yes`');
  });

  it('secrets status fails when values need a key the CLI lacks, and names the keys', async () => {
    const result = await runCli(['secrets', 'status'], { DATABASE_URL: url, ...keys(oldKey) });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`key ${keyIdOfText(nextKey)} (not a key of this process)`);
    expect(result.stdout).toContain('a server with these keys refuses to start');
  });

  it('rotate-key with a key file is refused while servers are connected (they could not open what it re-seals), and runs once they are stopped', async () => {
    const keyFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-rotate-pg-'));
    try {
      // The CLI's key file holds the servers' key, as on the host of a single server that uses the key file.
      fs.writeFileSync(secretKeyPath(keyFolder), `${nextKey}\n`, { mode: 0o600 });
      const cliEnv = { DATABASE_URL: url, WATCHFLOOR_DATA: keyFolder };
      const refused = await runCli(['secrets', 'rotate-key'], cliEnv);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/Watchfloor servers are connected to this database \(\d+ connections\): stop those that use this key file/);
      expect(fs.readFileSync(secretKeyPath(keyFolder), 'utf8')).toBe(`${nextKey}\n`);
      expect(fs.existsSync(previousSecretKeysPath(keyFolder))).toBe(false);

      for (const server of servers()) await stop(server);
      const rotation = json<KeyRotationJson>(await runCli(['secrets', 'rotate-key', '--json'], cliEnv));
      expect(rotation.previousKeyId).toBe(keyIdOfText(nextKey));
      expect(new Set(await sealingKeyIds(database))).toEqual(new Set([rotation.keyId]));
      const server = await start({ WATCHFLOOR_SECRET_KEY: '', WATCHFLOOR_DATA: keyFolder });
      cookieOf.set(server, await server.signIn(admin.email, admin.password));
      await expectSourceMadeOnVerifiedAt(server, server);
      await stop(server);
    } finally {
      fs.rmSync(keyFolder, { recursive: true, force: true });
    }
  });
});

describe.each(STORES)('after the key is lost: secrets reset on $name', ({ name, open }) => {
  let store: Store;
  const servers = new ServersOnStore(() => store);
  const { running } = servers;
  /** PGlite: the key file (as most single servers run); Postgres: WATCHFLOOR_SECRET_KEY (as several processes run). */
  const usesKeyFile = name !== 'postgres';
  let keyEnv: Record<string, string>;
  let cliEnv: Record<string, string>;
  let before: { vapidPublicKey: string; token: string; incidentId: string; eu: { id: string; token: string }; us: { id: string; token: string } };
  let admin: { email: string; password: string };
  let engineer: { id: string };

  const start = () => servers.start(keyEnv);
  const stop = (server: TestServer) => servers.stop(server);
  const withDatabase = <T>(use: (database: Database) => Promise<T>) => servers.withDatabase(use);
  const devices = (database: Database) => database.rows<{ n: number }>(sql`select count(*)::int as n from push_subscriptions`).then(([row]) => row.n);

  beforeAll(async () => {
    store = await open();
    keyEnv = usesKeyFile ? { WATCHFLOOR_SECRET_KEY: '' } : { WATCHFLOOR_SECRET_KEY: newKey() };
    cliEnv = { WATCHFLOOR_DATA: store.dataDir, ...(store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {}) };
  });
  afterAll(async () => {
    await servers.stopAll();
    await store?.drop();
  });

  it('once the key is gone, the server refuses to start and points to `secrets reset --yes`', async () => {
    const server = await start();
    admin = await server.addUser('admin@example.com', 'admin');
    engineer = await server.addUser('eng@example.com', 'engineer');
    const cookie = await server.signIn(admin.email, admin.password);
    const eu = await addGrafanaSource(server, cookie, 'grafana-eu', 'grafana-eu-secret');
    const us = await addGrafanaSource(server, cookie, 'grafana-us', 'grafana-us-secret');
    const prometheus = await fetch(`${server.url}/api/v1/sources`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'prometheus', format: 'alertmanager' }),
    });
    expect(prometheus.status).toBe(201);
    const incidentId = await expectGrafanaVerifiedWith(server, eu.token, 'grafana-eu-secret');
    // Two phones subscribed with the VAPID key about to be lost.
    for (const device of ['a', 'b']) {
      await server.context.database.rows(
        sql`insert into push_subscriptions (user_id, endpoint, p256dh, auth) values (${engineer.id}, ${`https://push.example.com/${device}`}, 'p256dh', 'auth')`,
      );
    }
    before = { vapidPublicKey: server.context.push.keys.vapidPublicKey, token: await server.context.push.tokens.issue(engineer.id, incidentId), incidentId, eu, us };
    await stop(server);

    // Lost: the key file deleted (the next start generates a new one), or the variable replaced.
    if (usesKeyFile) fs.rmSync(secretKeyPath(store.dataDir));
    else keyEnv = { WATCHFLOOR_SECRET_KEY: newKey() };
    cliEnv = { ...cliEnv, ...keyEnv };
    const attempt = start();
    await expect(attempt).rejects.toThrow(StoredSecretError);
    await expect(attempt).rejects.toThrow('if that key is lost for good, `watchfloor secrets reset --yes` replaces what it protected');
  });

  it('without --yes, reset says what it would do and changes nothing', async () => {
    const stored = await withDatabase(everySealedValue);
    const result = await runCli(['secrets', 'reset'], cliEnv);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('phones must enable notifications again');
    expect(result.stderr).toContain('Add --yes to reset');
    expect(await withDatabase(everySealedValue)).toEqual(stored);
  });

  it('reset --yes regenerates the push keys, clears the Grafana secrets, says so in words, and the server starts', async () => {
    const result = await runCli(['secrets', 'reset', '--yes'], cliEnv);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('- Web Push: a new VAPID key pair. Every phone must enable notifications again (/m/settings); 2 device subscriptions were made for the lost key and deleted.');
    expect(result.stdout).toContain('- Acknowledge links: a new push-action secret. Links in notifications already sent no longer work');
    expect(result.stdout).toContain('- Sources whose HMAC secret was lost: grafana-eu, grafana-us. A Grafana source among them refuses every webhook until an admin sets a new secret');
    expect(result.stdout).toContain('Start the server now.');

    const server = await start();
    const keys = server.context.push.keys;
    expect(keys.vapidPublicKey).not.toBe(before.vapidPublicKey);
    expect(publicKeyOf(keys.vapidPrivateKey)).toBe(keys.vapidPublicKey);
    expect(await devices(server.context.database)).toBe(0);
    // Acknowledge links from before no longer work; new ones do.
    expect(await acknowledgeWith(server, before.token)).toBe(401);
    expect(await acknowledgeWith(server, await server.context.push.tokens.issue(engineer.id, before.incidentId))).toBe(200);
  });

  it('a source whose secret was lost shows it, refuses signed and unsigned webhooks alike, and takes signed ones again once given a new secret', async () => {
    const server = running[0];
    const cookie = await server.signIn(admin.email, admin.password);
    const listed = (await (await fetch(`${server.url}/api/v1/sources`, { headers: { cookie } })).json()) as { sources: { id: string; name: string; hmacSecretStatus: string }[] };
    expect(Object.fromEntries(listed.sources.map((s) => [s.name, s.hmacSecretStatus]))).toEqual({ 'grafana-eu': 'lost', 'grafana-us': 'lost', prometheus: 'none' });

    const signedWithOld = grafanaWebhook('grafana-eu-secret');
    const refused = await postGrafana(server, before.eu.token, signedWithOld.body, signedWithOld.signature);
    expect(refused.status).toBe(401);
    expect(refused.message).toContain('HMAC secret was lost with the server’s secret key: an admin sets a new one in Settings → Sources');
    expect((await postGrafana(server, before.eu.token, grafanaWebhook('x').body)).status).toBe(401);

    const set = await fetch(`${server.url}/api/v1/sources/${before.us.id}/hmac-secret`, {
      method: 'PUT',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ hmacSecret: 'grafana-us-new-secret' }),
    });
    expect(set.status).toBe(200);
    expect(((await set.json()) as { source: { hmacSecretStatus: string } }).source.hmacSecretStatus).toBe('set');
    await expectGrafanaVerifiedWith(server, before.us.token, 'grafana-us-new-secret');
    // Too short, or for a source that checks no signature: refused.
    const put = (id: string, hmacSecret: string) =>
      fetch(`${server.url}/api/v1/sources/${id}/hmac-secret`, { method: 'PUT', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ hmacSecret }) });
    expect((await put(before.eu.id, 'short')).status).toBe(400);
    expect((await put(listed.sources.find((s) => s.name === 'prometheus')!.id, 'long-enough-secret')).status).toBe(409);
  });

  it('records the reset in the audit log as the CLI’s doing, one row per source that lost its secret, without secrets', async () => {
    const database = running[0].context.database;
    const rows = await database.rows<{ actor: string; action: string; entity: string; detail: Record<string, unknown> }>(
      sql`select actor, action, entity, detail from audit_log where action in ('secrets.reset', 'source.hmac_secret_lost', 'source.update') order by id`,
    );
    expect(rows.map((r) => [r.actor, r.action, r.entity])).toEqual([
      ['cli', 'secrets.reset', 'secret_key'],
      ['cli', 'source.hmac_secret_lost', 'source'],
      ['cli', 'source.hmac_secret_lost', 'source'],
      [expect.stringMatching(/^user:/), 'source.update', 'source'],
    ]);
    expect(rows[0].detail).toEqual({ vapidKeysReplaced: true, devicesRemoved: 2, actionSecretReplaced: true, sourcesWithoutSecret: ['grafana-eu', 'grafana-us'] });
    expect(JSON.stringify(rows)).not.toMatch(/grafana-(eu|us)-(new-)?secret/);
  });

  it('refuses to reset when nothing is lost (every stored secret opens), and changes nothing', async () => {
    await stop(running[0]);
    const stored = await withDatabase(everySealedValue);
    const result = await runCli(['secrets', 'reset', '--yes'], cliEnv);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("every stored secret opens with this process's keys");
    expect(result.stderr).toContain('nothing is lost, nothing was reset');
    expect(await withDatabase(everySealedValue)).toEqual(stored);
  });

  it.runIf(name === 'postgres')('refuses to reset beside running servers: their key opens the stored secrets', async () => {
    await start();
    const result = await runCli(['secrets', 'reset', '--yes'], { ...cliEnv, WATCHFLOOR_SECRET_KEY: newKey() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Watchfloor servers are connected to this database \(\d+ connections\), so their key opens the stored secrets/);
    expect(await withDatabase(devices)).toBe(0);
  });
});
