import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql } from 'drizzle-orm';
import { DATABASES } from '../helpers/test-server.ts';
import { openDatabase, type Database } from '../../server/db/database.ts';
import { UptimeRoller } from '../../server/uptime/uptime-roller.ts';
import { HOUR_MS, hourStart } from '../../server/uptime/uptime-rollup.ts';
import { hourlyRollups, repeatIncidentChange, writeIncident } from '../helpers/uptime.ts';

const MIN = 60_000;

/**
 * The roller's two guards, on the database alone (no server: its own roller's timer would roll the same
 * changes): one roll at a time, and a stop that ends a catch-up between passes. The rolls are held and
 * stopped at chosen passes through `beforePass`, never by timing.
 */
for (const database of DATABASES) {
  describe(`uptime roller: one roll at a time, stopped between passes (${database.name})`, () => {
    let db: Database;
    let drop: () => Promise<void>;
    const nodeIds: Record<string, string> = {};
    const now = Date.now();
    const H = hourStart(now);

    const lastRolledChange = async () =>
      Number((await db.rows<{ id: number | string }>(sql`select last_change_id as id from uptime_roller_state where id = 'incidents'`))[0]?.id ?? 0);
    /** The id of the `n`th incident change after `after`. */
    const nthChangeAfter = async (after: number, n: number) =>
      Number((await db.rows<{ id: number | string }>(sql`select id from changes where entity = 'incident' and id > ${after} order by id offset ${n - 1} limit 1`))[0].id);
    const newestChange = async () => Number((await db.rows<{ id: number | string }>(sql`select max(id) as id from changes`))[0].id);

    /** An outage on `node` that stays open through `repeats` changes (more than two passes' worth), then ends. */
    async function longBacklog(node: string, createdAt: number, resolvedAt: number, repeats = 1200): Promise<void> {
      const outage = { severity: 'critical', nodes: [node], createdAt };
      const id = await writeIncident(db, { ...outage, resolvedAt: null });
      await repeatIncidentChange(db, { ...outage, id, resolvedAt: null }, repeats);
      await writeIncident(db, { ...outage, id, resolvedAt });
    }

    beforeAll(async () => {
      const target = await database.url();
      drop = target.drop;
      db = await openDatabase({ url: target.url, dataDir: '/nonexistent' });
      await db.migrate();
      await db.rows(sql`insert into clients (slug, name) values ('acme', 'Acme')`);
      for (const r of await db.rows<{ id: string; name: string }>(
        sql`insert into nodes (client_id, name) select c.id, n from clients c, unnest(array['n1', 'n2']) as n returning id, name`,
      ))
        nodeIds[r.name] = r.id;
    });
    afterAll(async () => {
      await db?.close();
      await drop?.();
    });

    it('joins a roll asked for while one runs instead of starting a second catch-up beside it: each pass runs once', async () => {
      await longBacklog('n1', H - 6 * HOUR_MS, H - 6 * HOUR_MS + 40 * MIN);
      const passes: number[] = [];
      let enteredFirstPass!: () => void;
      const inFirstPass = new Promise<void>((resolve) => (enteredFirstPass = resolve));
      let releaseFirstPass!: () => void;
      const firstPassHeld = new Promise<void>((resolve) => (releaseFirstPass = resolve));
      const roller = new UptimeRoller({
        database: db,
        beforePass: async (pass) => {
          passes.push(pass);
          if (passes.length === 1) {
            enteredFirstPass();
            await firstPassHeld;
          }
        },
      });

      const first = roller.roll(new Date(now));
      await inFirstPass;
      // A timer tick (or anyone) asks again while the first roll is held before its first pass.
      const second = roller.roll(new Date(now));
      releaseFirstPass();
      const [a, b] = await Promise.all([first, second]);

      // 1,202 changes: three passes of at most 500, run once.
      expect(passes).toEqual([1, 2, 3]);
      expect(b).toBe(a);
      expect(await hourlyRollups(db, nodeIds)).toEqual([{ node: 'n1', hour: H - 6 * HOUR_MS, down: 2400, degraded: 0 }]);
      expect(await lastRolledChange()).toBe(await newestChange());
      await roller.stop();
    });

    it('stops a long catch-up after the pass under way, with its state whole, and a later roller resumes from there', async () => {
      const before = await lastRolledChange();
      // n2 down from five hours ago; the roller will stop before it reads that the outage ended after 20 minutes.
      await longBacklog('n2', H - 5 * HOUR_MS, H - 5 * HOUR_MS + 20 * MIN);
      const passes: number[] = [];
      let stopped: Promise<void> | null = null;
      const roller = new UptimeRoller({
        database: db,
        beforePass: (pass) => {
          passes.push(pass);
          // Shutdown begins while the catch-up is about to run its second pass.
          if (pass === 2) stopped = roller.stop();
        },
      });

      const rolling = roller.roll(new Date(now));
      await rolling;
      expect(stopped).not.toBeNull();
      await stopped;
      expect(passes).toEqual([1, 2]);
      // Both passes are committed whole: the roller read exactly 1,000 changes, and the roll-ups say what
      // those changes said (n2 still down: the resolution is in the third pass's share).
      expect(await lastRolledChange()).toBe(await nthChangeAfter(before, 1000));
      const n2 = (await hourlyRollups(db, nodeIds)).filter((h) => h.node === 'n2');
      expect(n2[0]).toEqual({ node: 'n2', hour: H - 5 * HOUR_MS, down: 3600, degraded: 0 });
      expect(n2.length).toBeGreaterThanOrEqual(5);
      // A stopped roller rolls no more.
      expect(await roller.roll(new Date(now))).toBe(0);
      expect(passes).toEqual([1, 2]);

      // The next roller (the next start) takes up the rest, to the same roll-ups as one uninterrupted catch-up.
      const next = new UptimeRoller({ database: db });
      await next.roll(new Date(now));
      expect(await lastRolledChange()).toBe(await newestChange());
      expect(await hourlyRollups(db, nodeIds)).toEqual([
        { node: 'n1', hour: H - 6 * HOUR_MS, down: 2400, degraded: 0 },
        { node: 'n2', hour: H - 5 * HOUR_MS, down: 1200, degraded: 0 },
      ]);
      await next.stop();
    });

    it('lets other work run between passes: on embedded PGlite a catch-up held every webhook until it ended', async () => {
      await longBacklog('n1', H - 3 * HOUR_MS, H - 3 * HOUR_MS + 30 * MIN); // three passes
      const roller = new UptimeRoller({ database: db });
      let rolled = false;
      const rolling = roller.roll(new Date(now)).then(() => (rolled = true));
      // Work that came in as the catch-up began (a webhook, say) runs before it ends.
      const ranDuringRoll = await new Promise<boolean>((resolve) => setTimeout(() => resolve(!rolled), 0));
      await rolling;
      expect(ranDuringRoll).toBe(true);
      await roller.stop();
    });
  });
}
