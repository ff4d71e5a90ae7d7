/** What the secrets-at-rest and secret-rotation tests share: stores that outlive servers, Grafana webhooks, push actions, a server process. */
import { expect } from 'vitest';
import { createECDH, createHmac, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { DATABASES, type TestServer } from './test-server.ts';
import type { Database } from '../../server/db/database.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');

/** A database that outlives its servers: PGlite on disk, or a fresh database on the test Postgres. Key files go in `dataDir`. */
export interface Store {
  databaseUrl: string | null;
  dataDir: string;
  drop(): Promise<void>;
}

export const STORES: { name: string; open: () => Promise<Store> }[] = DATABASES.map((database) => ({
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

export interface RawSecrets {
  vapidPrivateKey: string;
  actionTokenSecret: string;
  hmacSecret: string;
}

/** The stored push keys and the HMAC secret of the source named `source` (default 'grafana'), as the database holds them. */
export async function rawSecrets(database: Database, source = 'grafana'): Promise<RawSecrets> {
  const [keys] = await database.rows<{ vapid_private_key: string; action_token_secret: string }>(sql`select vapid_private_key, action_token_secret from push_keys`);
  const [row] = await database.rows<{ hmac_secret: string }>(sql`select hmac_secret from sources where name = ${source}`);
  return { vapidPrivateKey: keys.vapid_private_key, actionTokenSecret: keys.action_token_secret, hmacSecret: row.hmac_secret };
}

/** Every value of every secret column, as stored. */
export async function everySealedValue(database: Database): Promise<string[]> {
  const rows = await database.rows<{ value: string }>(sql`
    select vapid_private_key as value from push_keys union all select action_token_secret from push_keys
    union all select hmac_secret from sources where hmac_secret is not null`);
  return rows.map((r) => r.value);
}

/** The public key that belongs to a VAPID private key (both base64url, P-256). */
export function publicKeyOf(privateKey: string): string {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(privateKey, 'base64url'));
  return ecdh.getPublicKey().toString('base64url');
}

/** A Grafana webhook body whose alert is new (fresh fingerprint), and its signature with `secret`. */
export function grafanaWebhook(secret: string): { body: string; signature: string; summary: string } {
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

/** Posts a Grafana webhook; returns the status and the error message, if any. */
export async function postGrafana(server: TestServer, token: string, body: string, signature?: string): Promise<{ status: number; message: string | null }> {
  const response = await fetch(`${server.url}/api/v1/ingest/grafana`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(signature ? { 'x-grafana-alerting-signature': signature } : {}) },
    body,
  });
  const answer = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
  return { status: response.status, message: answer?.error?.message ?? null };
}

/** Signed webhooks are taken; unsigned ones and ones signed with another secret are refused. Returns the incident the signed one opened. */
export async function expectGrafanaVerifiedWith(server: TestServer, token: string, secret: string): Promise<string> {
  const signed = grafanaWebhook(secret);
  expect((await postGrafana(server, token, signed.body, signed.signature)).status).toBe(200);
  const unsigned = grafanaWebhook(secret);
  expect((await postGrafana(server, token, unsigned.body)).status).toBe(401);
  const forged = grafanaWebhook('not-the-secret');
  expect((await postGrafana(server, token, forged.body, forged.signature)).status).toBe(401);
  const [row] = await server.context.database.rows<{ id: string }>(sql`select incident_id as id from alerts where summary = ${signed.summary}`);
  expect(row).toBeDefined();
  return row.id;
}

/** Creates a Grafana source with `hmacSecret` over REST, as an admin; returns its id and token. */
export async function addGrafanaSource(server: TestServer, cookie: string, name: string, hmacSecret: string): Promise<{ id: string; token: string }> {
  const created = await fetch(`${server.url}/api/v1/sources`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json' },
    body: JSON.stringify({ name, format: 'grafana', hmacSecret }),
  });
  expect(created.status).toBe(201);
  const { source, token } = (await created.json()) as { source: { id: string }; token: string };
  return { id: source.id, token };
}

export async function acknowledgeWith(server: TestServer, token: string): Promise<number> {
  const response = await fetch(`${server.url}/api/v1/push/actions/acknowledge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  await response.body?.cancel();
  return response.status;
}

/** Starts `node server/index.ts` as an operator would and waits for it to end (it must not start). */
export function runServerProcess(store: Pick<Store, 'databaseUrl' | 'dataDir'>, env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !['DATABASE_URL', 'WATCHFLOOR_DATA', 'WATCHFLOOR_SECRET_KEY', 'WATCHFLOOR_SECRET_KEY_PREVIOUS', 'PORT'].includes(key)),
  );
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
