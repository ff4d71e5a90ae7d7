import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { DATABASES, TEST_SECRET_KEY, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { loadConfig, ConfigError } from '../../server/config.ts';
import { startWatchfloor } from '../../server/index.ts';
import { UptimeRoller } from '../../server/uptime/uptime-roller.ts';
import { HOUR_MS, hourStart } from '../../server/uptime/uptime-rollup.ts';
import { addDays, localCalendar, type LocalCalendar } from '../../src/lib/domain/local-days.ts';
import { DEFAULT_WALL_PAGE, type WallDto } from '../../src/lib/protocol/walls.ts';
import type { UptimeDto } from '../../src/lib/protocol/uptime.ts';
import { dailyRollups, hourlyRollups, keptZones, writeIncident } from '../helpers/uptime.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
const MIN = 60_000;
const SYDNEY = 'Australia/Sydney';
const NEW_YORK = 'America/New_York';

/** What the daily roll-up should hold in `calendar`'s zone: the stored hours, summed by the local day each starts in. */
async function expectedDays(server: TestServer, nodeIds: Record<string, string>, calendar: LocalCalendar): Promise<Record<string, { down: number; degraded: number }>> {
  const out: Record<string, { down: number; degraded: number }> = {};
  for (const h of await hourlyRollups(server.context.database, nodeIds)) {
    const key = `${h.node}|${calendar.dayOf(h.hour)}`;
    out[key] = { down: (out[key]?.down ?? 0) + h.down, degraded: (out[key]?.degraded ?? 0) + h.degraded };
  }
  return out;
}

for (const database of DATABASES) {
  describe(`heatmap days in the NOC's time zone (${database.name})`, () => {
    // On PGlite a folder, not memory: one test restarts the server with another zone.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-zones-'));
    let url: string | null = null;
    let drop: () => Promise<void> = async () => {};
    let server: TestServer;
    let cookie: string;
    const nodeIds: Record<string, string> = {};
    const now = Date.now();
    const H = hourStart(now);
    const sydney = localCalendar(SYDNEY);
    const newYork = localCalendar(NEW_YORK);

    async function start(timeZone: string): Promise<void> {
      server = url === null ? await startTestServer(null, { WATCHFLOOR_DATA: dataDir, WATCHFLOOR_TIMEZONE: timeZone }) : await startTestServer(url, { WATCHFLOOR_TIMEZONE: timeZone });
    }
    const get = async <T>(pathAndQuery: string): Promise<T> => {
      const response = await fetch(`${server.url}${pathAndQuery}`, { headers: { cookie } });
      expect(response.status, pathAndQuery).toBe(200);
      return (await response.json()) as T;
    };
    /** A roll as the server's own roller does it, at the test's `now` (the server's may run too: it wants the same zones). */
    const roll = (timeZone: string) => new UptimeRoller({ database: server.context.database, timeZone }).roll(new Date(now));

    beforeAll(async () => {
      if (database.name !== 'pglite') ({ url, drop } = await database.url());
      await start(SYDNEY);
      const admin = await server.addUser('ada@example.com', 'admin', 'Ada');
      cookie = await server.signIn(admin.email, admin.password);
      const imported = await fetch(`${server.url}/api/v1/topology/import`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json' },
        body: JSON.stringify({ clients: [{ slug: 'acme', name: 'Acme' }], nodes: ['n1', 'n2'].map((name) => ({ client: 'acme', name })) }),
      });
      expect(imported.status).toBe(200);
      for (const r of (await get<{ nodes: { id: string; name: string }[] }>('/api/v1/topology')).nodes) nodeIds[r.name] = r.id;
    });
    afterAll(async () => {
      await server?.stop();
      await drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('cuts days at Sydney’s midnight: an outage across it lands in both Sydney days, and the 90 days end with Sydney’s today', async () => {
      const today = sydney.dayOf(H);
      const day = addDays(today, -2);
      const midnight = sydney.firstHourOf(day);
      await writeIncident(server.context.database, { severity: 'critical', nodes: ['n1'], createdAt: midnight - 30 * MIN, resolvedAt: midnight + 45 * MIN });
      await roll(SYDNEY);

      // Only Sydney's days are kept (the UTC days from before are dropped), split at Sydney's midnight.
      expect(await keptZones(server.context.database)).toEqual([SYDNEY]);
      expect(await dailyRollups(server.context.database, nodeIds, SYDNEY)).toEqual({
        [`n1|${addDays(day, -1)}`]: { down: 1800, degraded: 0 },
        [`n1|${day}`]: { down: 2700, degraded: 0 },
      });
      expect(await dailyRollups(server.context.database, nodeIds, 'UTC')).toEqual({});

      const quarter = await get<UptimeDto>('/api/v1/uptime?range=90d');
      expect(quarter.timeZone).toBe(SYDNEY);
      expect(quarter.buckets).toBe(90);
      expect(quarter.from).toBe(new Date(sydney.firstHourOf(addDays(today, -89))).toISOString());
      const hoursOf = (d: string) => (sydney.firstHourOf(addDays(d, 1)) - sydney.firstHourOf(d)) / HOUR_MS;
      const n1 = quarter.rows.find((r) => r.name === 'n1')!;
      expect(n1.cells[87]).toBeCloseTo(1 - 2700 / (hoursOf(day) * 3600), 5);
      expect(n1.cells[86]).toBeCloseTo(1 - 1800 / (hoursOf(addDays(day, -1)) * 3600), 5);
      expect(n1.cells.filter((c) => c < 1)).toHaveLength(2);

      // The hours are hours in any zone; the 7 days only label their midnights in Sydney's.
      const week = await get<UptimeDto>('/api/v1/uptime?range=7d');
      expect(week.timeZone).toBe(SYDNEY);
      const cell = (hour: number) => week.rows.find((r) => r.name === 'n1')!.cells[(hour - Date.parse(week.from)) / HOUR_MS];
      expect(cell(midnight - HOUR_MS)).toBe(0.5);
      expect(cell(midnight)).toBe(0.25);
    });

    it('gives a wall its own zone: a 25- or 23-hour New York day counts whole, built from the hours already stored', async () => {
      // The latest day in New York whose clocks changed: within the last year, always.
      let dstDay = addDays(newYork.dayOf(H), -2);
      const hoursOf = (d: string) => (newYork.firstHourOf(addDays(d, 1)) - newYork.firstHourOf(d)) / HOUR_MS;
      while (hoursOf(dstDay) === 24) dstDay = addDays(dstDay, -1);
      const dstHours = hoursOf(dstDay);
      await writeIncident(server.context.database, { severity: 'critical', nodes: ['n2'], createdAt: newYork.firstHourOf(dstDay), resolvedAt: newYork.firstHourOf(addDays(dstDay, 1)) });
      await roll(SYDNEY);

      const created = await fetch(`${server.url}/api/v1/walls`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'New York NOC', pages: [DEFAULT_WALL_PAGE], timeZone: NEW_YORK }),
      });
      expect(created.status).toBe(201);
      const wall = ((await created.json()) as { wall: WallDto }).wall;
      expect(wall.timeZone).toBe(NEW_YORK);

      // Until the roller builds New York's days, the wall's heatmap sums the hours itself, to the same cells.
      const beforeBuilt = await get<UptimeDto>(`/api/v1/walls/${wall.id}/uptime?range=90d`);
      expect(beforeBuilt.timeZone).toBe(NEW_YORK);
      expect(beforeBuilt.from).toBe(new Date(newYork.firstHourOf(addDays(newYork.dayOf(H), -89))).toISOString());
      await roll(SYDNEY);
      expect(await keptZones(server.context.database)).toEqual([NEW_YORK, SYDNEY]);
      const afterBuilt = await get<UptimeDto>(`/api/v1/walls/${wall.id}/uptime?range=90d`);
      expect(afterBuilt.rows).toEqual(beforeBuilt.rows);
      expect(afterBuilt.rows.find((r) => r.name === 'n1')!.cells.filter((c) => c < 1)).not.toHaveLength(0);

      // The whole local day down: 23 or 25 hours of it, none spilling into the days around it.
      const days = await dailyRollups(server.context.database, nodeIds, NEW_YORK);
      expect(days[`n2|${dstDay}`]).toEqual({ down: dstHours * 3600, degraded: 0 });
      expect(days).toEqual(await expectedDays(server, nodeIds, newYork));
      expect(Object.keys(days).filter((k) => k.startsWith('n2|'))).toEqual([`n2|${dstDay}`]);
      // Sydney's days, the server's, are there too, cut at Sydney's midnights.
      expect(await dailyRollups(server.context.database, nodeIds, SYDNEY)).toEqual(await expectedDays(server, nodeIds, sydney));

      // Back to the server's zone: New York's days go at the next roll.
      const patched = await fetch(`${server.url}/api/v1/walls/${wall.id}`, { method: 'PATCH', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ timeZone: null }) });
      expect(((await patched.json()) as WallDto).timeZone).toBeNull();
      expect((await get<UptimeDto>(`/api/v1/walls/${wall.id}/uptime?range=90d`)).timeZone).toBe(SYDNEY);
      await roll(SYDNEY);
      expect(await keptZones(server.context.database)).toEqual([SYDNEY]);
      expect(await dailyRollups(server.context.database, nodeIds, NEW_YORK)).toEqual({});
    });

    it('refuses zones that are not IANA names, on walls and in the preview, by name', async () => {
      for (const timeZone of ['+05:30', 'Mars/Olympus_Mons']) {
        const response = await fetch(`${server.url}/api/v1/walls`, {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'Bad zone', pages: [DEFAULT_WALL_PAGE], timeZone }),
        });
        expect(response.status).toBe(400);
        expect(((await response.json()) as { error: { path?: string } }).error.path).toBe('timeZone');
      }
      const preview = await fetch(`${server.url}/api/v1/uptime?range=90d&timeZone=${encodeURIComponent('+05:30')}`, { headers: { cookie } });
      expect(preview.status).toBe(400);
      // The wall editor's preview of a zone no wall keeps yet: summed from the hours, in that zone's days.
      const kolkata = localCalendar('Asia/Kolkata');
      const previewed = await get<UptimeDto>('/api/v1/uptime?range=90d&timeZone=Asia/Kolkata');
      expect(previewed.timeZone).toBe('Asia/Kolkata');
      expect(previewed.from).toBe(new Date(kolkata.firstHourOf(addDays(kolkata.dayOf(H), -89))).toISOString());
    });

    it('rebuilds the days from the hours when the NOC’s zone changes, leaving none of the old zone’s', async () => {
      await server.stop();
      await start('UTC');
      await roll('UTC');
      expect(await keptZones(server.context.database)).toEqual(['UTC']);
      expect(await dailyRollups(server.context.database, nodeIds, SYDNEY)).toEqual({});
      const utcDays = await dailyRollups(server.context.database, nodeIds, 'UTC');
      expect(Object.keys(utcDays).length).toBeGreaterThan(0);
      expect(utcDays).toEqual(await expectedDays(server, nodeIds, localCalendar('UTC')));
      expect((await get<UptimeDto>('/api/v1/uptime?range=90d')).timeZone).toBe('UTC');
    });

    it('will not start with a zone its database does not know, naming WATCHFLOOR_TIMEZONE', async () => {
      // A name Intl took but Postgres has no rules for (past the config check, as a newer zone could be).
      const config = { ...loadConfig({ PORT: '0', HOST: '127.0.0.1', WATCHFLOOR_DEMO: 'off', LOG_LEVEL: 'silent', WATCHFLOOR_SECRET_KEY: TEST_SECRET_KEY, ...(url ? { DATABASE_URL: url } : {}) }), timeZone: 'Nowhere/Atlantis' };
      if (url === null) config.databaseUrl = 'memory://';
      const refused = await startWatchfloor(config, { print: () => {} }).then(
        async (started) => (await started.stop(), null),
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as Error).message).toBe('environment variable WATCHFLOOR_TIMEZONE: the database does not know the time zone Nowhere/Atlantis');
    });
  });
}

describe('WATCHFLOOR_TIMEZONE', () => {
  it('stops `node server/index.ts` with a message naming the variable when the zone is unknown', async () => {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !['DATABASE_URL', 'WATCHFLOOR_DATA', 'PORT'].includes(key)));
    const child = spawn(process.execPath, [path.join(ROOT, 'server', 'index.ts')], {
      cwd: ROOT,
      env: { ...inherited, PORT: '0', HOST: '127.0.0.1', WATCHFLOOR_DEMO: 'off', WATCHFLOOR_TIMEZONE: 'Australia/Sydnee' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000); // it started after all: fail, do not hang
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (exit) => resolve(exit));
    });
    clearTimeout(timer);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('watchfloor: environment variable WATCHFLOOR_TIMEZONE: must be an IANA time zone name such as Australia/Sydney, America/New_York or UTC');
  });
});
