import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { INCIDENT_COLUMNS, openIncidentSnapshot, toIncidentDto, type IncidentRow } from '../../server/db/incident-store.ts';
import { alertSource, person, uniqueAlert } from './console-support.ts';

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
    const latestChange = async (id: string) =>
      (await server.context.database.rows<{ data: unknown }>(sql`select data from changes where entity_id = ${id} order by id desc limit 1`))[0].data;
    const [resolvedRow] = await server.context.database.rows<IncidentRow>(
      sql`select ${INCIDENT_COLUMNS} from incidents i left join clients c on c.slug = i.client where i.id = ${held.id}::uuid`,
    );
    const delta = await latestChange(held.id);
    expect(delta).toEqual(toIncidentDto(resolvedRow));
    expect(delta).toMatchObject({ status: 'resolved', assigneeName: 'Lena Lead', teamName: 'Network' });
    expect(await latestChange(plain.id)).toEqual(byId.get(plain.id));
  });
});
