import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { alertSource, person, uniqueAlert, until, type Person } from './console-support.ts';
import type { AuditPage, HandoverDto, LeadOverviewDto, TeamDto } from '../../src/lib/protocol/console.ts';
import { shownIncidents } from '../helpers/shown-incidents.ts';

describe.each(DATABASES)('teams, audit, lead views and preferences on $name', (database) => {
  let server: TestServer;
  let fire: Awaited<ReturnType<typeof alertSource>>['fire'];
  let admin: Person;
  let ana: Person;
  let ben: Person;
  let lea: Person;

  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, { INGEST_RATE_LIMIT: '100000' }, drop);
    fire = (await alertSource(server)).fire;
    admin = await person(server, 'admin@example.com', 'admin', null, 'Ada Admin');
    ana = await person(server, 'ana@example.com', 'engineer', null, 'Ana Lopez');
    ben = await person(server, 'ben@example.com', 'engineer', null, 'Ben Okafor');
    lea = await person(server, 'lea@example.com', 'lead', null, 'Lea Marsh');
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('teams: admins create, rename, change members and delete; a team holding open incidents is not deleted', async () => {
    const created = await admin.post<{ team: TeamDto }>('/api/v1/teams', { slug: 'network', name: 'Network', memberIds: [ana.id, ben.id] });
    expect(created.status).toBe(201);
    const team = created.body.team;
    expect(team.members.map((m) => m.name)).toEqual(['Ana Lopez', 'Ben Okafor']);
    expect((await admin.post('/api/v1/teams', { slug: 'network', name: 'Again' })).status).toBe(409);
    expect((await admin.post('/api/v1/teams', { slug: 'Bad Slug', name: 'x' })).status).toBe(400);
    expect((await admin.post('/api/v1/teams', { slug: 'ghosts', name: 'Ghosts', memberIds: ['00000000-0000-4000-8000-000000000009'] })).status).toBe(400);
    const renamed = await admin.call('PATCH', `/api/v1/teams/${team.id}`, { name: 'Network Ops', memberIds: [ana.id] });
    expect(renamed.body.team).toMatchObject({ name: 'Network Ops', slug: 'network' });
    expect(renamed.body.team.members.map((m: { id: string }) => m.id)).toEqual([ana.id]);
    const added = await admin.post(`/api/v1/teams/${team.id}/members`, { userId: lea.id });
    expect(added.body.team.members).toHaveLength(2);
    const removed = await admin.call('DELETE', `/api/v1/teams/${team.id}/members/${lea.id}`);
    expect(removed.body.team.members).toHaveLength(1);
    expect((await admin.call('DELETE', `/api/v1/teams/${team.id}/members/${lea.id}`)).status).toBe(404);
    const list = await ana.get<{ teams: TeamDto[] }>('/api/v1/teams');
    expect(list.body.teams.find((t) => t.id === team.id)).toMatchObject({ name: 'Network Ops', openIncidents: 0 });
    const assignees = await ana.get('/api/v1/assignees');
    expect(assignees.body.users.find((u: { id: string }) => u.id === ana.id)).toMatchObject({ teamIds: [team.id], role: 'engineer' });

    // "team=mine" in the queue follows membership
    const [incident] = await fire([uniqueAlert('acme')]);
    await ben.post(`/api/v1/incidents/${incident.id}/assign`, { teamId: team.id });
    expect((await ana.get('/api/v1/incidents?team=mine')).body.incidents.map((i: { id: string }) => i.id)).toEqual([incident.id]);
    expect((await ben.get('/api/v1/incidents?team=mine')).body.incidents).toEqual([]);
    const refused = await admin.call('DELETE', `/api/v1/teams/${team.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/holds 1 open incident/);
    await ben.post(`/api/v1/incidents/${incident.id}/resolve`);
    expect((await admin.call('DELETE', `/api/v1/teams/${team.id}`)).status).toBe(204);
    expect((await admin.call('PATCH', `/api/v1/teams/${team.id}`, { name: 'x' })).status).toBe(404);
    const actions = (await admin.get<AuditPage>(`/api/v1/audit?entity=team&entityId=${team.id}`)).body.entries.map((e) => e.action);
    expect(actions).toEqual(['team.delete', 'team.remove_member', 'team.add_member', 'team.update', 'team.create']);
  });

  it('audit: every action recorded with who, when, from where and what; filters and paging; the database refuses updates and deletes', async () => {
    const [incident] = await fire([uniqueAlert('acme')]);
    await ana.post(`/api/v1/incidents/${incident.id}/acknowledge`);
    await ana.post(`/api/v1/incidents/${incident.id}/notes`, { text: 'checking' });
    await admin.post('/api/v1/sources', { name: 'grafana', format: 'grafana', hmacSecret: 'very-secret-value' });
    const page = (await admin.get<AuditPage>(`/api/v1/audit?actor=${ana.id}&action=incident.`)).body;
    expect(page.entries.map((e) => e.action).slice(0, 3)).toEqual(['incident.note', 'incident.assign', 'incident.acknowledge']);
    const ack = page.entries.find((e) => e.action === 'incident.acknowledge')!;
    expect(ack).toMatchObject({ actor: `user:${ana.id}`, actorName: 'Ana Lopez', entity: 'incident', entityId: incident.id, detail: { number: incident.number, via: 'web' } });
    expect(ack.ip).toBeTruthy();
    expect(Date.parse(ack.at)).toBeGreaterThan(Date.now() - 60_000);
    const source = (await admin.get<AuditPage>('/api/v1/audit?action=source.create')).body.entries[0];
    expect(source.detail).toMatchObject({ after: { name: 'grafana', hmacSecret: '(set)' } });
    expect(JSON.stringify(source)).not.toContain('very-secret-value');
    expect((await admin.get<AuditPage>('/api/v1/audit?action=session.sign_in')).body.entries.length).toBeGreaterThan(0);

    // paging: newest first, `before` continues where the page ended
    const first = (await admin.get<AuditPage>('/api/v1/audit?limit=2')).body;
    expect(first.entries).toHaveLength(2);
    expect(first.nextBefore).toBe(first.entries[1].id);
    const second = (await admin.get<AuditPage>(`/api/v1/audit?limit=2&before=${first.nextBefore}`)).body;
    expect(second.entries[0].id).toBeLessThan(first.entries[1].id);
    const future = (await admin.get<AuditPage>(`/api/v1/audit?from=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`)).body;
    expect(future).toEqual({ entries: [], nextBefore: null });
    expect((await admin.get('/api/v1/audit?from=yesterday')).status).toBe(400);
    expect((await admin.get('/api/v1/audit?colour=blue')).status).toBe(400);

    // append-only, enforced by the database itself
    const db = server.context.database;
    const refusal = (query: Promise<unknown>) =>
      query.then(
        () => 'allowed',
        (error: Error & { cause?: Error }) => `${error.message} ${error.cause?.message ?? ''}`,
      );
    expect(await refusal(db.rows(sql`update audit_log set actor_name = 'someone else'`))).toMatch(/audit_log is append-only: UPDATE refused/);
    expect(await refusal(db.rows(sql`delete from audit_log`))).toMatch(/audit_log is append-only: DELETE refused/);
    expect(await refusal(db.rows(sql`truncate audit_log`))).toMatch(/audit_log is append-only: TRUNCATE refused/);
    const [{ n }] = await db.rows<{ n: number }>(sql`select count(*)::int as n from audit_log where actor_name = 'someone else'`);
    expect(Number(n)).toBe(0);
  });

  it('CLI: team add and team list, refusing a duplicate', async () => {
    const { prepareCommand, runPrepared } = await import('../../server/cli/commands.ts');
    const run = async (argv: string[]) => {
      const prepared = prepareCommand(argv, null);
      return typeof prepared === 'function' ? runPrepared(argv, prepared, server.context.database) : prepared;
    };
    const added = await run(['team', 'add', '--slug', 'storage', '--name', 'Storage', '--json']);
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ slug: 'storage', name: 'Storage' });
    expect((await run(['team', 'add', '--slug', 'storage', '--name', 'Again'])).code).toBe(1);
    expect((await run(['team', 'add', '--name', 'No slug'])).code).toBe(2);
    expect((await run(['team', 'list'])).stdout).toMatch(/storage\s+Storage/);
    const audit = (await admin.get<AuditPage>('/api/v1/audit?actor=cli')).body.entries;
    expect(audit[0]).toMatchObject({ action: 'team.create', actorName: 'CLI' });
  });

  it('no admin change without its audit row: when the audit log cannot be written, the change is not made', async () => {
    const { database } = server.context;
    const target = await person(server, 'aud@example.com', 'engineer', null, 'Audrey Before');
    const stored = sql`select u.name, u.password_hash, (select count(*)::int from sessions s where s.user_id = u.id) as sessions from users u where u.id = ${target.id}::uuid`;
    const before = await database.rows(stored);
    await database.rows(sql`create function refuse_audit() returns trigger language plpgsql as $$ begin raise exception 'audit log unavailable'; end $$`);
    await database.rows(sql`create trigger refuse_audit before insert on audit_log for each row execute function refuse_audit()`);
    try {
      expect((await admin.post('/api/v1/users', { email: 'never@example.com', name: 'Never', role: 'viewer' })).status).toBe(500);
      expect((await admin.call('PATCH', `/api/v1/users/${target.id}`, { name: 'Audrey After', role: 'viewer' })).status).toBe(500);
      expect((await admin.post(`/api/v1/users/${target.id}/reset-password`)).status).toBe(500);
      expect((await admin.post('/api/v1/sources', { name: 'never-source', format: 'generic' })).status).toBe(500);
    } finally {
      await database.rows(sql`drop trigger refuse_audit on audit_log`);
      await database.rows(sql`drop function refuse_audit()`);
    }
    expect(await database.rows(sql`select id from users where email = 'never@example.com'`)).toEqual([]);
    expect(await database.rows(sql`select id from sources where name = 'never-source'`)).toEqual([]);
    // Same name, role, password and sessions: still signed in, as before.
    expect(await database.rows(stored)).toEqual(before);
    expect((await target.get('/api/v1/session')).status).toBe(200);
  });

  it('a rename and the change rows that show it on open screens commit together: when those cannot be written, nothing is renamed', async () => {
    const { database } = server.context;
    const holder = await person(server, 'renata@example.com', 'engineer', null, 'Renata');
    const team = (await admin.post<{ team: TeamDto }>('/api/v1/teams', { slug: 'field', name: 'Field' })).body.team;
    expect((await admin.post('/api/v1/topology/clients', { slug: 'initech', name: 'Initech' })).status).toBe(201);
    const [incident] = await fire([uniqueAlert('initech')]);
    expect((await admin.post(`/api/v1/incidents/${incident.id}/assign`, { assigneeId: holder.id, teamId: team.id })).status).toBe(200);
    // A console open on the incident all along.
    const screen = await admin.socket();
    const shown = shownIncidents(screen);
    expect(await screen.timeout(10_000).emitWithAck('incidents:subscribe', { scope: {}, mode: 'console' })).toMatchObject({ ok: true });
    const stored = async () => ({
      names: await database.rows(
        sql`select (select name from users where id = ${holder.id}::uuid) as person, (select name from teams where id = ${team.id}::uuid) as team,
                   (select name from clients where slug = 'initech') as client, (select count(*)::int from nodes where name = 'initech-fw') as nodes`,
      ),
      audit: await database.rows(sql`select count(*)::int as n from audit_log`),
      changes: await database.rows(sql`select count(*)::int as n from changes`),
    });
    const before = await stored();

    // The change rows carrying the new name fail (as a crash between rename and change rows would leave them).
    await database.rows(sql`create function refuse_renamed() returns trigger language plpgsql as $$
      begin if new.data::text like '%Never Shown%' then raise exception 'change log unavailable'; end if; return new; end $$`);
    await database.rows(sql`create trigger refuse_renamed before insert on changes for each row execute function refuse_renamed()`);
    try {
      expect((await admin.call('PATCH', `/api/v1/users/${holder.id}`, { name: 'Never Shown' })).status).toBe(500);
      expect((await admin.call('PATCH', `/api/v1/teams/${team.id}`, { name: 'Never Shown' })).status).toBe(500);
      expect((await admin.post('/api/v1/topology/clients', { slug: 'initech', name: 'Never Shown' })).status).toBe(500);
      const importing = { clients: [{ slug: 'initech', name: 'Never Shown' }], nodes: [{ client: 'initech', name: 'initech-fw' }] };
      expect((await admin.post('/api/v1/topology/import', importing)).status).toBe(500);
    } finally {
      await database.rows(sql`drop trigger refuse_renamed on changes`);
      await database.rows(sql`drop function refuse_renamed()`);
    }
    // Not renamed, not imported, not audited: nothing any screen could show, now or after a reload.
    expect(await stored()).toEqual(before);

    // Renamed for real, the open screen shows each new name.
    expect((await admin.call('PATCH', `/api/v1/users/${holder.id}`, { name: 'Renata Ruiz' })).status).toBe(200);
    expect((await admin.call('PATCH', `/api/v1/teams/${team.id}`, { name: 'Field Ops' })).status).toBe(200);
    expect((await admin.post('/api/v1/topology/import', { clients: [{ slug: 'initech', name: 'Initech Finance' }] })).status).toBe(200);
    await until(
      () => shown.some((i) => i.id === incident.id && i.assigneeName === 'Renata Ruiz' && i.teamName === 'Field Ops' && i.clientName === 'Initech Finance'),
      'the new names on the open screen',
    );
    expect(shown.filter((i) => [i.assigneeName, i.teamName, i.clientName].includes('Never Shown'))).toEqual([]);
    screen.disconnect();
  });

  it('a refused command leaves no audit row', async () => {
    const [incident] = await fire([uniqueAlert('acme')]);
    await ana.post(`/api/v1/incidents/${incident.id}/resolve`);
    const before = (await admin.get<AuditPage>(`/api/v1/audit?entityId=${incident.id}`)).body.entries.length;
    expect((await ana.post(`/api/v1/incidents/${incident.id}/resolve`)).status).toBe(409);
    expect((await admin.get<AuditPage>(`/api/v1/audit?entityId=${incident.id}`)).body.entries.length).toBe(before);
  });

  it('session/me: a user marks themselves on shift and turns the chime on; the lead sees who is on shift now', async () => {
    const bad = await ana.call('PATCH', '/api/v1/session/me', { onShift: 'yes' });
    expect(bad.status).toBe(400);
    expect((await ana.call('PATCH', '/api/v1/session/me', {})).status).toBe(400);
    const me = await ana.call('PATCH', '/api/v1/session/me', { onShift: true, chime: true });
    expect(me.body.user).toMatchObject({ id: ana.id, onShift: true, chime: true });
    expect((await ana.get('/api/v1/session')).body.user).toMatchObject({ onShift: true, chime: true });
    // on shift but signed out: not "on shift now"
    const gone = await server.addUser('gone@example.com', 'engineer', 'Gone Home');
    await server.context.database.rows(sql`update users set on_shift = true where id = ${gone.id}::uuid`);
    const overview = (await lea.get<LeadOverviewDto>('/api/v1/lead/overview')).body;
    expect(overview.onShift.map((p) => p.name)).toContain('Ana Lopez');
    expect(overview.onShift.map((p) => p.name)).not.toContain('Gone Home');
    expect(overview.workload.find((w) => w.userId === gone.id)).toMatchObject({ onShift: true, signedIn: false });
  });

  it('lead overview: open incidents by assignee with age and state, unacknowledged oldest first, workload per engineer', async () => {
    const [first] = await fire([uniqueAlert('lead-view')]);
    await new Promise((r) => setTimeout(r, 30));
    const [second, third] = await fire([uniqueAlert('lead-view', { severity: 'critical' }), uniqueAlert('lead-view', { name: 'Other' })]);
    await ben.post(`/api/v1/incidents/${third.id}/acknowledge`);
    const overview = (await lea.get<LeadOverviewDto>('/api/v1/lead/overview')).body;
    const unacked = overview.unacknowledged.map((i) => i.id);
    expect(unacked.indexOf(first.id)).toBeLessThan(unacked.indexOf(second.id));
    expect(unacked).not.toContain(third.id);
    const bens = overview.byAssignee.find((g) => g.assigneeId === ben.id)!;
    expect(bens.name).toBe('Ben Okafor');
    expect(bens.incidents.find((i) => i.id === third.id)).toMatchObject({ status: 'acknowledged', assigneeName: 'Ben Okafor' });
    expect(bens.incidents[0].ageSeconds).toBeGreaterThanOrEqual(0);
    const unassigned = overview.byAssignee.find((g) => g.assigneeId === null)!;
    expect(unassigned.incidents.map((i) => i.id)).toEqual(expect.arrayContaining([first.id, second.id]));
    // priority order inside a group: the critical one first
    expect(unassigned.incidents.findIndex((i) => i.id === second.id)).toBeLessThan(unassigned.incidents.findIndex((i) => i.id === first.id));
    const load = overview.workload.find((w) => w.userId === ben.id)!;
    expect(load).toMatchObject({ name: 'Ben Okafor', signedIn: true });
    expect(load.open).toBeGreaterThanOrEqual(1);
    expect(load.acknowledged).toBeGreaterThanOrEqual(1);
  });

  it('handover: what is open, who holds it, the notes since a time, and what was resolved since', async () => {
    const [held] = await fire([uniqueAlert('handover')]);
    await ana.post(`/api/v1/incidents/${held.id}/take-over`);
    await ana.post(`/api/v1/incidents/${held.id}/notes`, { text: 'old note' });
    await new Promise((r) => setTimeout(r, 50));
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 10));
    await ana.post(`/api/v1/incidents/${held.id}/notes`, { text: 'vendor ticket 4711 open' });
    const [done] = await fire([uniqueAlert('handover')]);
    await ana.post(`/api/v1/incidents/${done.id}/resolve`, { note: 'rebooted' });
    const reply = await lea.get<HandoverDto>(`/api/v1/lead/handover?since=${encodeURIComponent(since)}`);
    expect(reply.status).toBe(200);
    const entry = reply.body.open.find((i) => i.id === held.id)!;
    expect(entry).toMatchObject({ assigneeName: 'Ana Lopez' });
    expect(entry.notes.map((n) => [n.by, n.text])).toEqual([['Ana Lopez', 'vendor ticket 4711 open']]);
    expect(reply.body.resolvedSince.map((i) => i.id)).toContain(done.id);
    expect(reply.body.open.map((i) => i.id)).not.toContain(done.id);
    expect((await lea.get('/api/v1/lead/handover')).status).toBe(400);
    expect((await ana.get(`/api/v1/lead/handover?since=${encodeURIComponent(since)}`)).status).toBe(403);
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('snooze wake-up with two server processes on one Postgres', () => {
  it('wakes each due incident exactly once, whichever server gets there', async () => {
    const { url, drop } = await DATABASES.find((d) => d.name === 'postgres')!.url();
    const one = await startTestServer(url, { INGEST_RATE_LIMIT: '100000' });
    const two = await startTestServer(url, { INGEST_RATE_LIMIT: '100000' });
    try {
      const fire = (await alertSource(one)).fire;
      const ana = await person(one, 'ana@example.com', 'engineer');
      const incidents = await fire(Array.from({ length: 20 }, () => uniqueAlert('acme')));
      const due = new Date(Date.now() + 1200).toISOString();
      const result = await ana.post('/api/v1/incidents/bulk/snooze', { ids: incidents.map((i) => i.id), until: due });
      expect(result.body.succeeded).toHaveLength(20);
      // both servers' timers race for the same due snoozes
      await Promise.all([
        until(async () => {
          const [{ n }] = await one.context.database.rows<{ n: number }>(sql`select count(*)::int as n from incidents where snoozed_until is not null`);
          return Number(n) === 0;
        }, 'every wake-up'),
        new Promise((r) => setTimeout(r, 2500)),
      ]);
      await new Promise((r) => setTimeout(r, 1200)); // both timers have ticked again since
      const rows = await one.context.database.rows<{ incident_id: string; n: number }>(
        sql`select incident_id, count(*)::int as n from timeline where kind = 'snooze_ended' group by incident_id`,
      );
      expect(rows).toHaveLength(20);
      expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
      const states = await one.context.database.rows<{ status: string; version: number }>(sql`select status, version from incidents`);
      expect(states.every((s) => s.status === 'triggered')).toBe(true);
    } finally {
      await two.stop();
      await one.stop();
      await drop();
    }
  });
});
