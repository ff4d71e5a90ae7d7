/** Shared pieces of the console integration tests: HTTP as the app speaks it, incidents through the real webhook. */
import { expect } from 'vitest';
import { sql } from 'drizzle-orm';
import { io as connect, type Socket } from 'socket.io-client';
import type { TestServer } from '../helpers/test-server.ts';
import { postAlertmanager, type TestAlert } from '../helpers/alertmanager.ts';
import { addSource } from '../../server/ingest/sources.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/lib/protocol/events.ts';
import type { IncidentDto } from '../../src/lib/protocol/incidents.ts';
import type { Role } from '../../src/lib/protocol/api.ts';
export { until } from '../helpers/until.ts';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface Reply<T = any> {
  status: number;
  body: T;
}

/** A signed-in person talking to the REST API. */
export class Person {
  readonly server: TestServer;
  readonly cookie: string;
  readonly id: string;
  readonly email: string;
  readonly role: Role;

  constructor(server: TestServer, cookie: string, id: string, email: string, role: Role) {
    this.server = server;
    this.cookie = cookie;
    this.id = id;
    this.email = email;
    this.role = role;
  }

  async call<T = any>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    const response = await fetch(`${this.server.url}${path}`, {
      method,
      headers: { cookie: this.cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  get<T = any>(path: string): Promise<Reply<T>> {
    return this.call<T>('GET', path);
  }

  post<T = any>(path: string, body: unknown = {}): Promise<Reply<T>> {
    return this.call<T>('POST', path, body);
  }

  /** A real Socket.IO connection with this person's cookie, once the server said ready. */
  async socket(): Promise<ClientSocket> {
    const socket: ClientSocket = connect(this.server.url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie: this.cookie } });
    await new Promise<void>((resolve, reject) => {
      socket.once('session:ready', () => resolve());
      socket.once('connect_error', reject);
    });
    return socket;
  }
}

/** Creates a user of `role` (optionally restricted to `clients`) and signs them in. */
export async function person(server: TestServer, email: string, role: Role, clients: string[] | null = null, name?: string): Promise<Person> {
  const user = await server.addUser(email, role, name);
  if (clients !== null) await server.context.database.rows(sql`update users set clients = ${`{${clients.join(',')}}`}::text[] where id = ${user.id}::uuid`);
  const cookie = await server.signIn(user.email, user.password);
  return new Person(server, cookie, user.id, email, role);
}

/** An Alertmanager source; `fire` opens (or joins) incidents through the real webhook and returns them. */
export async function alertSource(server: TestServer, name = 'prometheus'): Promise<{ fire: (alerts: TestAlert[]) => Promise<IncidentDto[]>; token: string }> {
  const { token } = await addSource(server.context.database.db, { name, format: 'alertmanager' });
  return {
    token,
    async fire(alerts) {
      const response = await postAlertmanager(server.url, token, alerts);
      expect(response.status).toBe(200);
      await response.body?.cancel();
      const summaries = alerts.map((a) => a.summary ?? `${a.name} on ${a.instance}`);
      const rows = await server.context.database.rows<{ id: string; summary: string }>(
        sql`select a.incident_id as id, a.summary from alerts a where a.summary = any(${`{${summaries.map((s) => JSON.stringify(s)).join(',')}}`}::text[])`,
      );
      const ids = summaries.map((s) => rows.find((r) => r.summary === s)!.id);
      return Promise.all(ids.map((id) => incidentById(server, id)));
    },
  };
}

export async function incidentById(server: TestServer, id: string): Promise<IncidentDto> {
  const [row] = await server.context.database.rows<{ status: string; version: number; id: string }>(sql`select * from incidents where id = ${id}::uuid`);
  expect(row, `incident ${id}`).toBeDefined();
  // The REST detail as an unrestricted reader sees it: through the same code as the app.
  const { incidentDetail } = await import('../../server/incidents/incident-queries.ts');
  return (await incidentDetail(server.context.database, { userId: '00000000-0000-4000-8000-000000000000', clients: null }, id)).incident;
}

/** Rows of a table about one incident, to prove nothing changed after a refusal. */
export async function footprint(server: TestServer, id: string): Promise<string> {
  const db = server.context.database;
  const [incident] = await db.rows(sql`select * from incidents where id = ${id}::uuid`);
  const timeline = await db.rows(sql`select kind, actor, detail from timeline where incident_id = ${id}::uuid order by at, id`);
  const audit = await db.rows(sql`select action from audit_log where entity_id = ${id} order by id`);
  const changes = await db.rows(sql`select id from changes where entity_id = ${id} order by id`);
  const alerts = await db.rows(sql`select id, status, incident_id from alerts where incident_id = ${id}::uuid order by id`);
  return JSON.stringify({ incident, timeline, audit, changes, alerts });
}

let serial = 0;
/** An alert whose name and summary are unique in this test file. */
export function uniqueAlert(client: string, over: Partial<TestAlert> = {}): TestAlert {
  serial += 1;
  const name = `Alert${serial}`;
  return { name, client, instance: `node-${serial}`, summary: `${name} for ${client}`, ...over };
}
