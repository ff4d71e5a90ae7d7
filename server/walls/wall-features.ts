/**
 * The wall's server side in one place, so the composition root wires it with a few lines: wall,
 * topology and uptime routes; the topology service (layout, socket news); the uptime roller; the
 * demo wall and the demo's link utilisation.
 */
import type { FastifyInstance } from 'fastify';
import { sql } from 'drizzle-orm';
import type { AppContext } from '../http/app-context.ts';
import { wallRoutes } from './wall-routes.ts';
import { createWall } from './wall-store.ts';
import { TopologyService } from '../topology/topology-service.ts';
import { topologyRoutes } from '../topology/topology-routes.ts';
import { recordLinkUtilisation } from '../topology/topology-store.ts';
import { UptimeRoller } from '../uptime/uptime-roller.ts';
import { uptimeRoutes } from '../uptime/uptime-routes.ts';
import { DEFAULT_WALL_PAGE } from '../../src/lib/protocol/walls.ts';

export interface WallFeatures {
  topology: TopologyService;
  uptime: UptimeRoller;
  /** After listen: start the roller, lay out new nodes, and with the demo a demo wall and moving link loads. */
  started(options: { demo: boolean; url: string; print: (line: string) => void }): Promise<void>;
  /** `watchfloor topology import` through the admin socket: lay out and tell the screens. */
  topologyImported(clients: string[]): Promise<void>;
  stop(): Promise<void>;
}

export function installWallFeatures(app: FastifyInstance, context: AppContext): WallFeatures {
  const { database, realtime, news } = context;
  const topology = new TopologyService({ database, realtime, news, log: app.log });
  // Heatmaps on every process reload: the roller that wrote the roll-ups may run in another process than theirs.
  const uptime = new UptimeRoller({ database, timeZone: context.config.timeZone, log: app.log, onRolled: () => news.tell({ kind: 'uptime:rolled' }) });
  wallRoutes(app, context);
  topologyRoutes(app, context, topology);
  uptimeRoutes(app, context);
  let demoLoad: ReturnType<typeof setInterval> | null = null;

  return {
    topology,
    uptime,
    async started({ demo, url, print }) {
      uptime.start();
      await topology.layout();
      if (!demo) return;
      // A first-time demo gets a wall to look at; its link is printed once, like the admin's password.
      const [{ walls }] = await database.rows<{ walls: number }>(sql`select count(*)::int as walls from walls`);
      if (Number(walls) === 0) {
        const { wall, token } = await createWall(database.db, { name: 'NOC overview (demo)', pages: [DEFAULT_WALL_PAGE] }, null);
        print(`Demo wall (open on the big screen; the link is shown once): ${url}/wall/${wall.id}?token=${token}`);
      }
      demoLoad = startDemoLinkLoad(context, topology);
    },
    async topologyImported(clients) {
      await topology.layout();
      await topology.changed(clients);
    },
    async stop() {
      if (demoLoad) clearInterval(demoLoad);
      await uptime.stop();
      await topology.idle();
    },
  };
}

/**
 * Demo links carry a slowly wandering load (a daily curve plus noise, a few links running hot), so
 * the map's utilisation colours move as they would on a real estate.
 */
function startDemoLinkLoad(context: AppContext, topology: TopologyService): ReturnType<typeof setInterval> {
  const { database } = context;
  const tick = async () => {
    const links = await database.rows<{ id: string; n: number }>(
      sql`select l.id, row_number() over (order by l.id)::int as n from links l join clients c on c.id = l.client_id where c.is_demo`,
    );
    if (links.length === 0) return;
    const t = Date.now() / 60_000;
    const samples = links.map((l) => {
      const base = 0.25 + 0.2 * Math.sin(t / 90 + l.n);
      const hot = l.n % 11 === 0 ? 0.45 : 0;
      const u = Math.min(1, Math.max(0, base + hot + (Math.random() - 0.5) * 0.08));
      return { link: l.id, utilisation: Math.round(u * 1000) / 1000 };
    });
    const result = await recordLinkUtilisation(database, { samples }, null);
    await topology.utilisation(result.links);
  };
  const timer = setInterval(() => void tick().catch(() => undefined), 15_000);
  timer.unref();
  void tick().catch(() => undefined);
  return timer;
}
