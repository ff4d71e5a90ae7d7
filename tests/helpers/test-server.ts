import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { loadConfig } from '../../server/config.ts';
import { startWatchfloor, type RunningServer, type StartOptions } from '../../server/index.ts';
import { addUser } from '../../server/auth/users.ts';
import type { Role } from '../../src/lib/protocol/api.ts';

/** The databases every integration test runs against: PGlite always, Postgres when TEST_DATABASE_URL is set. */
export const DATABASES: { name: string; url: () => Promise<{ url: string; drop: () => Promise<void> }> }[] = [
  { name: 'pglite', url: async () => ({ url: 'memory://', drop: async () => {} }) },
  ...(process.env.TEST_DATABASE_URL ? [{ name: 'postgres', url: () => freshPostgresDatabase(process.env.TEST_DATABASE_URL!) }] : []),
];

/** A throwaway database on the Postgres server, so test files never see each other's rows. */
async function freshPostgresDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `wf_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const again = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await again.unsafe(`drop database if exists ${name} with (force)`);
      await again.end();
    },
  };
}

/**
 * The key test servers encrypt stored secrets with (WATCHFLOOR_SECRET_KEY), unless a test gives its own:
 * without it, a server on memory:// or a test Postgres would write a key file into ./data.
 */
export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString('base64url');

export interface TestServer extends RunningServer {
  /** Creates a user and returns the password it was given. */
  addUser(email: string, role: Role, name?: string): Promise<{ email: string; password: string; id: string }>;
  /** Signs in over HTTP and returns the cookie header to send. */
  signIn(email: string, password: string): Promise<string>;
  /** Stops the server and drops its database. */
  dispose(): Promise<void>;
}

/**
 * Starts a real server on a random loopback port. `databaseUrl` null means embedded PGlite on disk in
 * the `WATCHFLOOR_DATA` folder given in `env` (as `npm start` does without DATABASE_URL).
 */
export async function startTestServer(
  databaseUrl: string | null,
  env: Record<string, string> = {},
  drop: () => Promise<void> = async () => {},
  options: Omit<StartOptions, 'print'> = {},
): Promise<TestServer> {
  if (databaseUrl === null && !env.WATCHFLOOR_DATA) throw new Error('startTestServer(null) needs env.WATCHFLOOR_DATA');
  // 'memory://' is a test-only choice the environment does not offer: it is set on the parsed config.
  const inMemory = databaseUrl === 'memory://';
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ...(databaseUrl === null || inMemory ? {} : { DATABASE_URL: databaseUrl }),
    WATCHFLOOR_DEMO: 'off',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    LOGIN_RATE_LIMIT: '1000',
    WATCHFLOOR_SECRET_KEY: TEST_SECRET_KEY,
    ...env,
  });
  if (inMemory) config.databaseUrl = 'memory://';
  const server = await startWatchfloor(config, { ...options, print: () => {} });
  return {
    ...server,
    async addUser(email, role, name = email.split('@')[0]) {
      const password = `pw-${randomBytes(9).toString('base64url')}`;
      const { user } = await addUser(server.context.database.db, { email, role, name, password });
      return { email, password, id: user.id };
    },
    async signIn(email, password) {
      const response = await fetch(`${server.url}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      if (response.status !== 201) throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
      const cookie = response.headers.getSetCookie().find((c) => c.startsWith('wf_session='));
      if (!cookie) throw new Error('no session cookie');
      return cookie.split(';')[0];
    },
    async dispose() {
      await server.stop();
      await drop();
    },
  };
}

/**
 * Makes the server's copy of the open incidents fail to read, as a database that went away would: every
 * subscription (a snapshot or a resume from the change log) and queue read is refused. Returns the undo (the
 * database is back); calling it twice is fine.
 */
export function failOpenIncidentReads(server: TestServer): () => void {
  const open = server.context.openIncidents;
  const unreachable = async (): Promise<never> => {
    throw new Error('injected: the database cannot be reached');
  };
  Object.assign(open, { snapshot: unreachable, changeLogAfter: unreachable });
  return () => {
    Reflect.deleteProperty(open, 'snapshot');
    Reflect.deleteProperty(open, 'changeLogAfter');
  };
}

/**
 * Drops every socket's connection as an outage longer than the recovery window (`RECOVERY_WINDOW_MS`)
 * would: the screens reconnect by themselves, cannot recover their rooms, and subscribe again for a
 * fresh snapshot. Resolves once the server has seen them go.
 */
export async function dropConnectionsPastRecovery(server: TestServer): Promise<void> {
  const namespace = server.context.realtime.io.of('/');
  const sockets = [...namespace.sockets.values()];
  const gone = sockets.map((socket) => new Promise<void>((resolve) => socket.once('disconnect', () => resolve())));
  for (const socket of sockets) socket.conn.close();
  await Promise.all(gone);
  // What the window's end throws away: the rooms and missed packets a dropped socket would come back to.
  // Socket.IO offers no call for it; its in-memory adapter keeps them in this map.
  (namespace.adapter as unknown as { sessions: Map<string, unknown> }).sessions.clear();
}
