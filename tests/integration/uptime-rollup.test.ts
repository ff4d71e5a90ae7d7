import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { UptimeRoller } from '../../server/uptime/uptime-roller.ts';
import { HOUR_MS, hourStart } from '../../server/uptime/uptime-rollup.ts';
import type { UptimeDto } from '../../src/lib/protocol/uptime.ts';
import { hourlyRollups, repeatIncidentChange, writeIncident, type TestIncident } from '../helpers/uptime.ts';

const MIN = 60_000;

for (const database of DATABASES) {
  describe(`uptime roll-ups from incident open periods (${database.name})`, () => {
    let server: TestServer;
    let cookie: string;
    let roller: UptimeRoller;
    const nodeIds: Record<string, string> = {};
    // Fixed against the real clock: the heatmap's buckets end "now".
    const now = Date.now();
    const H = hourStart(now);

    const incident = (i: TestIncident) => writeIncident(server.context.database, i);
    const hourly = () => hourlyRollups(server.context.database, nodeIds);

    beforeAll(async () => {
      const { url, drop } = await database.url();
      server = await startTestServer(url, {}, drop);
      const admin = await server.addUser('ada@example.com', 'admin', 'Ada');
      cookie = await server.signIn(admin.email, admin.password);
      const imported = await fetch(`${server.url}/api/v1/topology/import`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json' },
        body: JSON.stringify({
          clients: [{ slug: 'acme', name: 'Acme', uptimeTarget: 99.5 }],
          nodes: [{ client: 'acme', name: 'n1' }, { client: 'acme', name: 'n2' }, { client: 'acme', name: 'n3' }],
        }),
      });
      expect(imported.status).toBe(200);
      for (const r of await server.context.database.rows<{ id: string; name: string }>(sql`select id, name from nodes`)) nodeIds[r.name] = r.id;
      roller = new UptimeRoller({ database: server.context.database });
    });
    afterAll(async () => {
      await server?.dispose();
    });

    it('rolls known open periods up into hours and days, once', async () => {
      // n1 down for 30 min three hours ago; n2 degraded (high) for the last two hours and still open;
      // n1 and n2 both down for 20 minutes yesterday, in one incident; an info incident counts for nothing.
      await incident({ severity: 'critical', nodes: ['n1'], createdAt: H - 3 * HOUR_MS + 15 * MIN, resolvedAt: H - 3 * HOUR_MS + 45 * MIN });
      await incident({ id: '00000000-0000-4000-8000-0000000000b2', severity: 'high', nodes: ['n2'], createdAt: H - 2 * HOUR_MS, resolvedAt: null });
      await incident({ severity: 'critical', nodes: ['n1', 'n2', 'not-in-topology'], createdAt: H - 25 * HOUR_MS + 10 * MIN, resolvedAt: H - 25 * HOUR_MS + 30 * MIN });
      await incident({ severity: 'info', nodes: ['n3'], createdAt: H - 5 * HOUR_MS, resolvedAt: H - 4 * HOUR_MS });

      await roller.roll(new Date(now));
      const elapsed = Math.round((now - H) / 1000);
      // The current hour of the open period grows with the clock (the server's own roller may have moved it on).
      const rows = await hourly();
      const current = rows.find((r) => r.node === 'n2' && r.hour === H);
      if (elapsed > 0) expect(current?.degraded).toBeGreaterThanOrEqual(elapsed);
      expect(rows.filter((r) => r !== current)).toEqual([
        { node: 'n1', hour: H - 25 * HOUR_MS, down: 1200, degraded: 0 },
        { node: 'n1', hour: H - 3 * HOUR_MS, down: 1800, degraded: 0 },
        { node: 'n2', hour: H - 25 * HOUR_MS, down: 1200, degraded: 0 },
        { node: 'n2', hour: H - 2 * HOUR_MS, down: 0, degraded: 3600 },
        { node: 'n2', hour: H - HOUR_MS, down: 0, degraded: 3600 },
      ].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.hour - b.hour)));
      // Days are the sums of their hours.
      const days = await server.context.database.rows<{ node_id: string; day: string; down: number; degraded: number }>(
        sql`select node_id, day::text as day, down_seconds as down, degraded_seconds as degraded from uptime_daily order by node_id, day`,
      );
      const sums = new Map<string, { down: number; degraded: number }>();
      for (const h of await hourly()) {
        const key = `${nodeIds[h.node!]}|${new Date(h.hour).toISOString().slice(0, 10)}`;
        const s = sums.get(key) ?? { down: 0, degraded: 0 };
        sums.set(key, { down: s.down + h.down, degraded: s.degraded + h.degraded });
      }
      expect(Object.fromEntries(days.map((d) => [`${d.node_id}|${d.day}`, { down: Number(d.down), degraded: Number(d.degraded) }]))).toEqual(Object.fromEntries(sums));

      // Idempotent: a second pass at the same instant changes nothing.
      await roller.roll(new Date(now));
      const before = await hourly();
      await roller.roll(new Date(now));
      expect(await hourly()).toEqual(before);
    });

    it('serves the heatmap from the roll-ups: availability per hour and per day, and per client against its target', async () => {
      const response = await fetch(`${server.url}/api/v1/uptime?range=7d`, { headers: { cookie } });
      expect(response.status).toBe(200);
      const week = (await response.json()) as UptimeDto;
      expect(week.buckets).toBe(168);
      expect(Date.parse(week.from)).toBe(H - 167 * HOUR_MS);
      const row = (name: string) => week.rows.find((r) => r.name === name)!;
      const cell = (name: string, hour: number) => row(name).cells[(hour - Date.parse(week.from)) / HOUR_MS];
      expect(cell('n1', H - 3 * HOUR_MS)).toBe(0.5);
      expect(cell('n1', H - 25 * HOUR_MS)).toBeCloseTo(2 / 3, 4);
      expect(cell('n2', H - 2 * HOUR_MS)).toBe(1); // degraded is not down
      expect(cell('n3', H - 5 * HOUR_MS)).toBe(1);
      expect(row('n3').availability).toBe(1);
      const acme = week.clients.find((c) => c.slug === 'acme')!;
      expect(acme.uptimeTarget).toBe(99.5);
      expect(acme.cells[(H - 3 * HOUR_MS - Date.parse(week.from)) / HOUR_MS]).toBeCloseTo(0.5 / 3 + 2 / 3, 4);
      expect(acme.availability).toBeLessThan(1);

      const quarter = (await (await fetch(`${server.url}/api/v1/uptime?range=90d`, { headers: { cookie } })).json()) as UptimeDto;
      expect(quarter.buckets).toBe(90);
      const today = quarter.rows.find((r) => r.name === 'n1')!.cells[89];
      const yesterday = quarter.rows.find((r) => r.name === 'n1')!.cells[88];
      // 30 (or 50) minutes down on days of 24 hours (today: so far).
      expect(Math.min(today, yesterday)).toBeLessThan(1);

      // Read from the roll-ups, not the incidents: with the incidents gone, the history stays.
      await server.context.database.rows(sql`delete from incidents where severity = 'critical'`);
      const again = (await (await fetch(`${server.url}/api/v1/uptime?range=7d`, { headers: { cookie } })).json()) as UptimeDto;
      expect(again.rows.find((r) => r.name === 'n1')!.cells[(H - 3 * HOUR_MS - Date.parse(week.from)) / HOUR_MS]).toBe(0.5);

      // Bad input is refused by name.
      const bad = await fetch(`${server.url}/api/v1/uptime?range=1y`, { headers: { cookie } });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/range/);
    });

    it('moves an open period on as time passes and closes it when the incident resolves', async () => {
      const id = '00000000-0000-4000-8000-0000000000b2';
      const later = now + 10 * MIN;
      await incident({ id, severity: 'high', nodes: ['n2'], createdAt: H - 2 * HOUR_MS, resolvedAt: H - HOUR_MS + 30 * MIN });
      await roller.roll(new Date(later));
      const n2 = (await hourly()).filter((h) => h.node === 'n2' && h.hour >= H - 2 * HOUR_MS);
      expect(n2).toEqual([
        { node: 'n2', hour: H - 2 * HOUR_MS, down: 0, degraded: 3600 },
        { node: 'n2', hour: H - HOUR_MS, down: 0, degraded: 1800 },
      ]);
    });

    it('catches up with more changes than one pass takes, pass by pass, to the same roll-ups', async () => {
      // n3 went down six hours ago and stayed down through 1,200 changes (more than two passes' worth), then came back after 40 minutes.
      const down = { severity: 'critical', nodes: ['n3'], createdAt: H - 6 * HOUR_MS };
      const id = await incident({ ...down, resolvedAt: null });
      await repeatIncidentChange(server.context.database, { ...down, id, resolvedAt: null }, 1200);
      await incident({ ...down, id, resolvedAt: H - 6 * HOUR_MS + 40 * MIN });
      await roller.roll(new Date(now));
      expect((await hourly()).filter((h) => h.node === 'n3')).toEqual([{ node: 'n3', hour: H - 6 * HOUR_MS, down: 2400, degraded: 0 }]);
      const [{ rolled, last }] = await server.context.database.rows<{ rolled: number | string; last: number | string }>(
        sql`select (select last_change_id from uptime_roller_state where id = 'incidents') as rolled, (select max(id) from changes) as last`,
      );
      expect(Number(rolled)).toBe(Number(last));
    });
  });
}
