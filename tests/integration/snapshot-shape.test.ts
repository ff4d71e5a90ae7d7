import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { INCIDENT_COLUMNS, openIncidentSnapshot, readChangesAfter, recordIncidentChanges, toIncidentDto, type IncidentRow } from '../../server/db/incident-store.ts';
import { decodeSnapshot, type IncidentDto, type IncidentSnapshot } from '../../src/lib/protocol/incidents.ts';
import { alertSource, person, uniqueAlert, until, type Person } from './console-support.ts';
import { shownIncidents } from '../helpers/shown-incidents.ts';

describe.each(DATABASES)('snapshot shape on $name', (database) => {
  let server: TestServer;
  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, {}, drop);
  });
  afterAll(async () => server?.dispose());

  it('builds every incident in a snapshot exactly as a delta or a REST read shows it', async () => {
    const admin = await person(server, 'admin@example.com', 'admin');
    const lead = await person(server, 'lead@example.com', 'lead', null, 'Lena Lead');
    const team = await admin.post('/api/v1/teams', { slug: 'network', name: 'Network', memberIds: [lead.id] });
    expect(team.status).toBe(201);
    const source = await alertSource(server);
    const fired = [uniqueAlert('acme', { severity: 'critical' }), uniqueAlert('globex', { severity: 'warning' }), uniqueAlert('acme', { severity: 'info' })];
    const [held, snoozed, plain] = await source.fire(fired);
    expect((await lead.post(`/api/v1/incidents/${held.id}/assign`, { assigneeId: lead.id, teamId: team.body.team.id })).status).toBe(200);
    expect((await lead.post(`/api/v1/incidents/${held.id}/acknowledge`, {})).status).toBe(200);
    const until = new Date(Date.now() + 3_600_000).toISOString();
    expect((await lead.post(`/api/v1/incidents/${snoozed.id}/snooze`, { until })).status).toBe(200);

    const snapshot = await openIncidentSnapshot(server.context.database, null);
    const rows = await server.context.database.rows<IncidentRow>(
      sql`select ${INCIDENT_COLUMNS} from incidents i left join clients c on c.slug = i.client where i.status <> 'resolved' order by i.created_at desc`,
    );
    const perRow = rows.map(toIncidentDto);
    expect(snapshot.incidents).toEqual(perRow);
    const byId = new Map(snapshot.incidents.map((i) => [i.id, i]));
    expect(byId.get(held.id)).toMatchObject({ assigneeName: 'Lena Lead', teamName: 'Network', status: 'acknowledged' });
    expect(byId.get(snoozed.id)?.snoozedUntil).toBe(until);
    expect(byId.get(plain.id)?.nodes).toEqual([plain.nodes[0]]);

    const acmeOnly = await openIncidentSnapshot(server.context.database, ['acme']);
    expect(acmeOnly.incidents.map((i) => i.id).sort()).toEqual([held.id, plain.id].sort());

    // Ingest builds its change rows (what deltas carry) in SQL as well: the same shape, names of the
    // person and team holding the incident included.
    await source.fire([{ ...fired[0], status: 'resolved' }]);
    // Read as every reader of the log reads it: the row's data, with the node list from the incident's row.
    const latestChange = async (id: string) => {
      const [{ id: changeId }] = await server.context.database.rows<{ id: number | string }>(sql`select id from changes where entity_id = ${id} order by id desc limit 1`);
      return (await readChangesAfter(server.context.database, Number(changeId) - 1, Number(changeId) + 1, 1))[0].incident;
    };
    const [resolvedRow] = await server.context.database.rows<IncidentRow>(
      sql`select ${INCIDENT_COLUMNS} from incidents i left join clients c on c.slug = i.client where i.id = ${held.id}::uuid`,
    );
    const delta = await latestChange(held.id);
    expect(delta).toEqual(toIncidentDto(resolvedRow));
    expect(delta).toMatchObject({ status: 'resolved', assigneeName: 'Lena Lead', teamName: 'Network' });
    expect(await latestChange(plain.id)).toEqual(byId.get(plain.id));
  });

  /** What a new subscriber is sent (served from the server's memory), sorted for comparison. */
  async function subscribedSnapshot(who: Person, client?: string): Promise<IncidentSnapshot> {
    const socket = await who.socket();
    try {
      const snapshot = new Promise<IncidentSnapshot>((resolve) => socket.once('incidents:snapshot', (frame) => resolve(decodeSnapshot(frame))));
      const reply = await socket.timeout(10_000).emitWithAck('incidents:subscribe', { scope: client ? { client } : {}, mode: 'console' });
      expect(reply.ok).toBe(true);
      const { lastChangeId, incidents } = await snapshot;
      return { lastChangeId, incidents: [...incidents].sort((a, b) => a.id.localeCompare(b.id)) };
    } finally {
      socket.disconnect();
    }
  }
  const fromDatabase = async (clients: string[] | null): Promise<IncidentSnapshot> => {
    const { lastChangeId, incidents } = await openIncidentSnapshot(server.context.database, clients);
    return { lastChangeId, incidents: [...incidents].sort((a, b) => a.id.localeCompare(b.id)) };
  };

  it('sends new subscribers the same snapshot the database holds, after changes, renames and writes it did not publish; renames reach open screens live', async () => {
    const admin = await person(server, 'admin2@example.com', 'admin');
    const lead = await person(server, 'lead2@example.com', 'lead', null, 'Old Name');
    const team = (await admin.post('/api/v1/teams', { slug: 'storage', name: 'Storage', memberIds: [lead.id] })).body.team;
    const source = await alertSource(server, 'memory-check');
    const [first, second] = await source.fire([uniqueAlert('acme', { severity: 'critical' }), uniqueAlert('globex')]);
    expect((await lead.post(`/api/v1/incidents/${first.id}/assign`, { assigneeId: lead.id, teamId: team.id })).status).toBe(200);
    expect((await lead.post(`/api/v1/incidents/${second.id}/resolve`, { note: 'fixed' })).status).toBe(200);
    expect(await subscribedSnapshot(admin)).toEqual(await fromDatabase(null));
    expect(await subscribedSnapshot(admin, 'acme')).toEqual(await fromDatabase(['acme']));

    // Renames: a screen already open gets the incidents that show the name again, with the new one…
    const watching = await admin.socket();
    const seen = shownIncidents(watching);
    await watching.timeout(10_000).emitWithAck('incidents:subscribe', { scope: {}, mode: 'console' });
    expect((await admin.call('PATCH', `/api/v1/users/${lead.id}`, { name: 'New Name' })).status).toBe(200);
    expect((await admin.call('PATCH', `/api/v1/teams/${team.id}`, { name: 'Storage & Backup' })).status).toBe(200);
    await until(() => seen.some((i) => i.id === first.id && i.assigneeName === 'New Name' && i.teamName === 'Storage & Backup'), 'the renamed incident, live');
    expect(seen.every((i) => i.id === first.id)).toBe(true); // only the incident showing those names
    // A client named (then renamed) by the topology: its incidents come again with the name.
    for (const name of ['Acme Corporation', 'Acme Holdings']) {
      expect((await admin.post('/api/v1/topology/clients', { slug: 'acme', name })).status).toBeLessThan(300);
      await until(() => seen.some((i) => i.id === first.id && i.clientName === name), `the client name ${name}, live`);
    }
    watching.disconnect();
    // …and a new subscriber's snapshot has them too.
    const renamed = await subscribedSnapshot(admin);
    expect(renamed.incidents.find((i) => i.id === first.id)).toMatchObject({ assigneeName: 'New Name', teamName: 'Storage & Backup', clientName: 'Acme Holdings' });
    expect(renamed).toEqual(await fromDatabase(null));

    // A change this server never published (as another server process on the same database would write).
    await server.context.database.db.transaction(async (tx) => {
      await server.context.database.rows(sql`update incidents set summary = 'written elsewhere', version = version + 1 where id = ${first.id}::uuid`, tx);
      await recordIncidentChanges(server.context.database, tx, [first.id]);
    });
    const elsewhere = await subscribedSnapshot(admin);
    expect(elsewhere.incidents.find((i) => i.id === first.id)?.summary).toBe('written elsewhere');
    expect(elsewhere).toEqual(await fromDatabase(null));

    // Rows deleted without a change row (the demo estate's reset does this to its incidents).
    await server.context.database.rows(sql`delete from incidents where id = ${first.id}::uuid`);
    const deleted = await subscribedSnapshot(admin);
    expect(deleted.incidents.map((i) => i.id)).not.toContain(first.id);
    expect(deleted).toEqual(await fromDatabase(null));
  });
});
