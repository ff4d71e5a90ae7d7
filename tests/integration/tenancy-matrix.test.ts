/**
 * The full matrix: role (viewer, engineer, lead, admin) × action × client scope (the user's own
 * client, another client), over REST and over real Socket.IO sockets. Refused where it must be
 * (403 / `forbidden`), and incidents outside the user's clients are "not found" (404), never
 * revealed. Restricted users never receive other clients' incidents in snapshots or deltas.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { alertSource, footprint, person, uniqueAlert, until, type ClientSocket, type Person } from './console-support.ts';
import { decodeDelta, decodeSnapshot, type IncidentDto, type IncidentDelta, type IncidentSnapshot } from '../../src/lib/protocol/incidents.ts';
import type { Role } from '../../src/lib/protocol/api.ts';
import { addSource } from '../../server/ingest/sources.ts';
import type { ClientToServerEvents } from '../../src/lib/protocol/events.ts';

const ROLES: Role[] = ['viewer', 'engineer', 'lead', 'admin'];
const OWN = 'acme';
const OTHER = 'globex';

type Scope = 'own' | 'other';
type Outcome = 'ok' | 'forbidden' | 'not_found';

interface Action {
  name: string;
  /** Puts the incident into the state the action needs (done by an unrestricted engineer). */
  prepare?: (incident: IncidentDto) => Promise<void>;
  rest: (who: Person, incident: IncidentDto, extra: IncidentDto) => Promise<{ status: number; body: any }>;
  socket: (socket: ClientSocket, incident: IncidentDto, extra: IncidentDto) => Promise<any>;
  /** What this action needs beyond engineer (reassigning someone else's work: lead). */
  needsLead?: boolean;
}

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();
const emit = <E extends keyof ClientToServerEvents>(socket: ClientSocket, event: E, request: unknown) =>
  (socket.timeout(10_000).emitWithAck as (event: string, request: unknown) => Promise<any>)(event, request);

describe.each(DATABASES)('tenancy matrix on $name', (database) => {
  let server: TestServer;
  let fire: Awaited<ReturnType<typeof alertSource>>['fire'];
  let setup: Person; // unrestricted engineer who prepares states
  const people = new Map<Role, Person>();
  const sockets = new Map<Role, ClientSocket>();

  const ACTIONS: Action[] = [
    {
      name: 'acknowledge',
      rest: (p, i) => p.post(`/api/v1/incidents/${i.id}/acknowledge`, { version: i.version }),
      socket: (s, i) => emit(s, 'incident:acknowledge', { id: i.id, version: i.version }),
    },
    {
      name: 'unacknowledge',
      prepare: async (i) => void (await setup.post(`/api/v1/incidents/${i.id}/acknowledge`)),
      rest: (p, i) => p.post(`/api/v1/incidents/${i.id}/unacknowledge`),
      socket: (s, i) => emit(s, 'incident:unacknowledge', { id: i.id }),
    },
    {
      name: 'assign to self',
      rest: (p, i) => p.post(`/api/v1/incidents/${i.id}/assign`, { assigneeId: p.id }),
      socket: (s, i) => emit(s, 'incident:assign', { id: i.id, assigneeId: (s as any).userId }),
    },
    {
      name: 'take over (unassigned)',
      rest: (p, i) => p.post(`/api/v1/incidents/${i.id}/take-over`),
      socket: (s, i) => emit(s, 'incident:take-over', { id: i.id }),
    },
    {
      name: "reassign someone else's",
      prepare: async (i) => void (await setup.post(`/api/v1/incidents/${i.id}/assign`, { assigneeId: setup.id })),
      rest: (p, i) => p.post(`/api/v1/incidents/${i.id}/reassign`, { assigneeId: p.id, reason: 'handover' }),
      socket: (s, i) => emit(s, 'incident:reassign', { id: i.id, assigneeId: (s as any).userId, reason: 'handover' }),
      needsLead: true,
    },
    {
      name: "take over someone else's",
      prepare: async (i) => void (await setup.post(`/api/v1/incidents/${i.id}/assign`, { assigneeId: setup.id })),
      rest: (p, i) => p.post(`/api/v1/incidents/${i.id}/take-over`, { reason: 'escalation' }),
      socket: (s, i) => emit(s, 'incident:take-over', { id: i.id, reason: 'escalation' }),
      needsLead: true,
    },
    {
      name: 'snooze',
      rest: (p, i) => p.post(`/api/v1/incidents/${i.id}/snooze`, { until: inAnHour() }),
      socket: (s, i) => emit(s, 'incident:snooze', { id: i.id, until: inAnHour() }),
    },
    {
      name: 'resolve',
      rest: (p, i) => p.post(`/api/v1/incidents/${i.id}/resolve`, { note: 'fixed' }),
      socket: (s, i) => emit(s, 'incident:resolve', { id: i.id, note: 'fixed' }),
    },
    {
      name: 'note',
      rest: (p, i) => p.post(`/api/v1/incidents/${i.id}/notes`, { text: 'hello' }),
      socket: (s, i) => emit(s, 'incident:note', { id: i.id, text: 'hello' }),
    },
    {
      name: 'severity',
      rest: (p, i) => p.post(`/api/v1/incidents/${i.id}/severity`, { severity: 'critical' }),
      socket: (s, i) => emit(s, 'incident:set-severity', { id: i.id, severity: 'critical' }),
    },
    {
      name: 'merge',
      rest: (p, i, extra) => p.post(`/api/v1/incidents/${i.id}/merge`, { sourceIds: [extra.id] }),
      socket: (s, i, extra) => emit(s, 'incident:merge', { id: i.id, sourceIds: [extra.id] }),
    },
  ];

  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, { INGEST_RATE_LIMIT: '100000' }, drop);
    fire = (await alertSource(server)).fire;
    setup = await person(server, 'setup@example.com', 'engineer');
    for (const role of ROLES) {
      const p = await person(server, `${role}@example.com`, role, [OWN]);
      people.set(role, p);
      const socket = await p.socket();
      (socket as any).userId = p.id;
      sockets.set(role, socket);
    }
  });
  afterAll(async () => {
    for (const s of sockets.values()) s.disconnect();
    await server?.dispose();
  });

  function expected(role: Role, scope: Scope, action: Action): Outcome {
    if (role === 'viewer') return 'forbidden'; // viewers are refused before anything is looked up: nothing revealed
    if (scope === 'other') return 'not_found';
    if (action.needsLead && role === 'engineer') return 'forbidden';
    return 'ok';
  }
  const STATUS: Record<Outcome, number> = { ok: 200, forbidden: 403, not_found: 404 };

  async function incidentFor(scope: Scope, action: Action): Promise<{ incident: IncidentDto; extra: IncidentDto }> {
    const client = scope === 'own' ? OWN : OTHER;
    const [incident, extra] = await fire([uniqueAlert(client), uniqueAlert(client)]);
    await action.prepare?.(incident);
    const [row] = await server.context.database.rows<{ version: number }>(sql`select version from incidents where id = ${incident.id}::uuid`);
    return { incident: { ...incident, version: Number(row.version) }, extra };
  }

  it('REST: every role × action × scope gets exactly the expected answer, and a refusal changes nothing', async () => {
    const seen: string[] = [];
    const wrong: string[] = [];
    for (const role of ROLES) {
      for (const scope of ['own', 'other'] as Scope[]) {
        for (const action of ACTIONS) {
          const { incident, extra } = await incidentFor(scope, action);
          const before = await footprint(server, incident.id);
          const reply = await action.rest(people.get(role)!, incident, extra);
          const want = expected(role, scope, action);
          const line = `${role} × ${action.name} × ${scope}: ${reply.status}`;
          seen.push(line);
          if (reply.status !== STATUS[want]) wrong.push(`${line} (wanted ${STATUS[want]}: ${JSON.stringify(reply.body)})`);
          if (want !== 'ok') {
            expect(reply.body.error.code).toBe(want);
            // the refusal says nothing about the incident: no number, no summary
            if (want === 'not_found') expect(reply.body.error.message).not.toContain(incident.summary);
            if (want === 'not_found') expect(reply.body.error.message).not.toContain(`#${incident.number}`);
            expect(await footprint(server, incident.id), line).toBe(before);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(seen).toHaveLength(ROLES.length * 2 * ACTIONS.length);
  });

  it('sockets: the same matrix through real socket.io-client acks', async () => {
    const wrong: string[] = [];
    for (const role of ROLES) {
      for (const scope of ['own', 'other'] as Scope[]) {
        for (const action of ACTIONS) {
          const { incident, extra } = await incidentFor(scope, action);
          const before = await footprint(server, incident.id);
          const reply = await action.socket(sockets.get(role)!, incident, extra);
          const want = expected(role, scope, action);
          const got: Outcome | string = reply.ok ? 'ok' : reply.code;
          if (got !== want) wrong.push(`${role} × ${action.name} × ${scope}: ${got} (wanted ${want}: ${JSON.stringify(reply)})`);
          if (want !== 'ok') expect(await footprint(server, incident.id)).toBe(before);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('bulk over REST and sockets: viewers refused; incidents of other clients fail as not found, own ones succeed', async () => {
    for (const role of ROLES) {
      const [own, other] = [(await fire([uniqueAlert(OWN)]))[0], (await fire([uniqueAlert(OTHER)]))[0]];
      const reply = await people.get(role)!.post('/api/v1/incidents/bulk/acknowledge', { ids: [own.id, other.id] });
      const [own2, other2] = [(await fire([uniqueAlert(OWN)]))[0], (await fire([uniqueAlert(OTHER)]))[0]];
      const ack = await emit(sockets.get(role)!, 'incidents:bulk', { action: 'acknowledge', ids: [own2.id, other2.id] });
      if (role === 'viewer') {
        expect(reply.status).toBe(403);
        expect(ack).toMatchObject({ ok: false, code: 'forbidden' });
        continue;
      }
      expect(reply.body).toEqual({ succeeded: [own.id], failed: [{ id: other.id, code: 'not_found', message: `no incident ${other.id}` }] });
      expect(ack.data).toEqual({ succeeded: [own2.id], failed: [{ id: other2.id, code: 'not_found', message: `no incident ${other2.id}` }] });
      // a filter never reaches beyond the user's clients
      const byFilter = await people.get(role)!.post('/api/v1/incidents/bulk/notes', { filter: `client=${OTHER}`, text: 'x' });
      expect(byFilter.body).toEqual({ succeeded: [], failed: [] });
    }
  });

  it('reads: lists and details are limited to the user\'s clients; other clients\' incidents are 404', async () => {
    const [own] = await fire([uniqueAlert(OWN)]);
    const [other] = await fire([uniqueAlert(OTHER)]);
    for (const role of ROLES) {
      const p = people.get(role)!;
      const list = await p.get('/api/v1/incidents');
      expect(list.status).toBe(200);
      expect(new Set(list.body.incidents.map((i: IncidentDto) => i.client))).toEqual(new Set([OWN]));
      expect(list.body.incidents.map((i: IncidentDto) => i.id)).toContain(own.id);
      const otherList = await p.get(`/api/v1/incidents?client=${OTHER}`);
      expect(otherList.body.incidents).toEqual([]);
      expect(Object.values(otherList.body.counts.state)).toEqual([0, 0, 0, 0]);
      expect((await p.get(`/api/v1/incidents/${own.id}`)).status).toBe(200);
      const hidden = await p.get(`/api/v1/incidents/${other.id}`);
      expect(hidden.status).toBe(404);
      expect(hidden.body.error.code).toBe('not_found');
    }
  });

  it('routes by role: lead views for leads and admins (scoped), audit and team, user and source admin for admins only', async () => {
    const [own] = await fire([uniqueAlert(OWN)]);
    const [other] = await fire([uniqueAlert(OTHER)]);
    const someUser = people.get('engineer')!.id;
    const { source } = await addSource(server.context.database.db, { name: 'matrix-source', format: 'generic' });
    const routes: { method: string; path: string; body?: unknown; least: Role }[] = [
      { method: 'GET', path: '/api/v1/incidents', least: 'viewer' },
      { method: 'GET', path: '/api/v1/teams', least: 'viewer' },
      { method: 'GET', path: '/api/v1/assignees', least: 'viewer' },
      { method: 'PATCH', path: '/api/v1/session/me', body: { chime: true }, least: 'viewer' },
      { method: 'GET', path: '/api/v1/lead/overview', least: 'lead' },
      { method: 'GET', path: `/api/v1/lead/handover?since=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`, least: 'lead' },
      { method: 'GET', path: '/api/v1/audit', least: 'admin' },
      { method: 'POST', path: '/api/v1/teams', body: { slug: 'x', name: 'X' }, least: 'admin' },
      { method: 'GET', path: '/api/v1/users', least: 'admin' },
      { method: 'PATCH', path: `/api/v1/users/${someUser}`, body: { name: 'Eve Engineer' }, least: 'admin' },
      { method: 'GET', path: '/api/v1/sources', least: 'admin' },
      { method: 'POST', path: `/api/v1/sources/${source.id}/token`, least: 'admin' },
      { method: 'PATCH', path: `/api/v1/sources/${source.id}`, body: { enabled: true }, least: 'admin' },
    ];
    const rank: Record<Role, number> = { viewer: 0, engineer: 1, lead: 2, admin: 3 };
    const wrong: string[] = [];
    for (const role of ROLES) {
      for (const route of routes) {
        const body = route.path === '/api/v1/teams' && route.method === 'POST' ? { slug: `team-${role}`, name: `Team ${role}` } : route.body;
        const reply = await people.get(role)!.call(route.method, route.path, body);
        const allowed = rank[role] >= rank[route.least];
        const ok = allowed ? reply.status >= 200 && reply.status < 300 : reply.status === 403;
        if (!ok) wrong.push(`${role} ${route.method} ${route.path}: ${reply.status}`);
      }
    }
    expect(wrong).toEqual([]);
    // a restricted lead's overview and handover hold their clients only
    const overview = (await people.get('lead')!.get('/api/v1/lead/overview')).body;
    const ids = overview.byAssignee.flatMap((g: any) => g.incidents.map((i: any) => i.id));
    expect(ids).toContain(own.id);
    expect(ids).not.toContain(other.id);
    expect(overview.unacknowledged.every((i: any) => i.client === OWN)).toBe(true);
    const handover = (await people.get('lead')!.get(`/api/v1/lead/handover?since=${encodeURIComponent(new Date(0).toISOString())}`)).body;
    expect(handover.open.every((i: any) => i.client === OWN)).toBe(true);
  });

  it('snapshots and deltas: a restricted user receives only their clients, whatever scope they ask for', async () => {
    const socket = await people.get('engineer')!.socket();
    const snapshots: IncidentSnapshot[] = [];
    const deltas: IncidentDelta[] = [];
    socket.on('incidents:snapshot', (s) => snapshots.push(decodeSnapshot(s)));
    socket.on('incidents:changed', (d) => deltas.push(decodeDelta(d)));
    try {
      await fire([uniqueAlert(OWN), uniqueAlert(OTHER)]);
      await server.context.database.rows(sql`select 1`);
      const refused = await emit(socket, 'incidents:subscribe', { scope: { client: OTHER }, mode: 'console' });
      expect(refused).toMatchObject({ ok: false, code: 'forbidden' });
      for (const mode of ['console', 'screen'] as const) {
        const ok = await emit(socket, 'incidents:subscribe', { scope: {}, mode });
        expect(ok.ok).toBe(true);
        await until(() => snapshots.length > 0, 'the snapshot');
        const snapshot = snapshots.pop()!;
        expect(snapshot.incidents.length).toBeGreaterThan(0);
        expect(snapshot.incidents.every((i) => i.client === OWN)).toBe(true);
        // changes to both clients (including an unrestricted person's command on the other client's incident)
        const [own, other] = await fire([uniqueAlert(OWN), uniqueAlert(OTHER)]);
        await setup.post(`/api/v1/incidents/${other.id}/acknowledge`);
        const [noClient] = await fire([uniqueAlert('', { summary: `no client ${mode}` })]);
        await setup.post(`/api/v1/incidents/${own.id}/acknowledge`);
        await until(() => deltas.some((d) => d.incidents.some((i) => i.id === own.id && i.status === 'acknowledged')), 'the own client delta');
        const received = deltas.flatMap((d) => d.incidents);
        expect(received.every((i) => i.client === OWN)).toBe(true);
        expect(received.map((i) => i.id)).not.toContain(other.id);
        expect(received.map((i) => i.id)).not.toContain(noClient.id);
        deltas.length = 0;
      }
    } finally {
      socket.disconnect();
    }
  });

  it("an admin changing a user's clients signs them out; the new scope applies at the next sign-in", async () => {
    const admin = await person(server, 'root@example.com', 'admin');
    const target = await server.addUser('moved@example.com', 'engineer');
    const cookie = await server.signIn(target.email, target.password);
    const changed = await admin.call('PATCH', `/api/v1/users/${target.id}`, { clients: [OTHER, OTHER] });
    expect(changed.status).toBe(200);
    expect(changed.body.user.clients).toEqual([OTHER]);
    const old = await fetch(`${server.url}/api/v1/incidents`, { headers: { cookie } });
    expect(old.status).toBe(401);
    const again = await server.signIn(target.email, target.password);
    const list = await (await fetch(`${server.url}/api/v1/incidents`, { headers: { cookie: again } })).json();
    expect(list.incidents.every((i: IncidentDto) => i.client === OTHER)).toBe(true);
    const bad = await admin.call('PATCH', `/api/v1/users/${target.id}`, { clients: ['Not A Slug'] });
    expect(bad.status).toBe(400);
    const audit = await admin.get(`/api/v1/audit?entity=user&action=user.update&entityId=${target.id}`);
    expect(audit.body.entries[0]).toMatchObject({ action: 'user.update', detail: { changed: { clients: [OTHER] }, signedOut: true } });
  });
});
