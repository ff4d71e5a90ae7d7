import { Worker } from 'node:worker_threads';
import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.ts';
import type { RealtimeServer, WatchfloorSocket } from '../realtime/socket-server.ts';
import type { ScreenNews } from '../realtime/screen-news.ts';
import { rooms } from '../../src/lib/protocol/events.ts';
import { layoutTopology, type LayoutLink, type LayoutNode, type LayoutOptions, type Point } from '../../src/lib/wall/topology-layout.ts';
import { storeLayout } from './topology-store.ts';

/** Below this many nodes the layout runs in-process: a thread costs more than the work. */
const THREAD_ABOVE_NODES = 400;

/** Runs the layout in a worker thread so a big import does not stall sockets and webhooks. */
function layoutInThread(nodes: LayoutNode[], links: LayoutLink[], options: LayoutOptions): Promise<Map<string, Point>> {
  if (nodes.length < THREAD_ABOVE_NODES) return Promise.resolve(layoutTopology(nodes, links, options));
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./layout-thread.ts', import.meta.url), { workerData: { nodes, links, options } });
    worker.once('message', (entries: [string, Point][]) => resolve(new Map(entries)));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`layout thread exited with ${code}`));
    });
  });
}

/**
 * Positions for nodes that have none (or, with `full`, for every node not pinned), stored so every
 * screen draws the same map after a reload. Returns the clients whose nodes moved.
 */
export async function layoutStoredTopology(database: Database, options: LayoutOptions = {}): Promise<{ moved: number; clients: string[] }> {
  const nodes = await database.rows<{ id: string; client: string; site_id: string | null; x: number | null; y: number | null; pinned: boolean }>(
    sql`select n.id, c.slug as client, n.site_id, n.x, n.y, (p.node_id is not null) as pinned
        from nodes n join clients c on c.id = n.client_id left join node_pins p on p.node_id = n.id`,
  );
  const missing = nodes.filter((n) => n.x === null || n.y === null);
  if (!options.full && missing.length === 0) return { moved: 0, clients: [] };
  const links = await database.rows<{ from: string; to: string }>(sql`select from_node_id as "from", to_node_id as "to" from links`);
  const input: LayoutNode[] = nodes.map((n) => ({
    id: n.id,
    client: n.client,
    site: n.site_id,
    x: n.x === null ? null : Number(n.x),
    y: n.y === null ? null : Number(n.y),
    pinned: Boolean(n.pinned),
  }));
  const positions = await layoutInThread(input, links, options);
  // Store what moved: everything in a full layout, else only the new ones.
  const before = new Map(input.map((n) => [n.id, n]));
  const moved = new Map([...positions].filter(([id, p]) => before.get(id)?.x !== p.x || before.get(id)?.y !== p.y));
  await storeLayout(database, moved);
  return { moved: moved.size, clients: [...new Set(nodes.filter((n) => moved.has(n.id)).map((n) => n.client))] };
}

/**
 * Topology news for screens, and the automatic layout. Sockets join a topology room per client they
 * may see (or the room for every client), so news of one client reaches only those allowed to see it.
 */
export class TopologyService {
  readonly #database: Database;
  readonly #news: ScreenNews;
  readonly #log: FastifyBaseLogger;
  #layoutTail: Promise<unknown> = Promise.resolve();

  constructor(options: { database: Database; realtime: RealtimeServer; news: ScreenNews; log: FastifyBaseLogger }) {
    this.#database = options.database;
    this.#news = options.news;
    this.#log = options.log;
    options.realtime.io.on('connection', (socket) => this.#attach(socket));
  }

  #attach(socket: WatchfloorSocket): void {
    const clients = socket.data.clients ?? null;
    void socket.join(clients === null ? [rooms.topology(null)] : clients.map((c) => rooms.topology(c)));
  }

  /**
   * Tells screens, on every server process, that the structure or positions of these clients changed: they
   * load the topology again.
   */
  async changed(clients: readonly string[]): Promise<void> {
    if (clients.length === 0) return;
    await this.#news.tell({ kind: 'topology:changed', clients: [...new Set(clients)] });
  }

  /** New utilisation values, to the screens of each link's client on every server process. */
  async utilisation(links: { id: string; utilisation: number; client: string }[]): Promise<void> {
    if (links.length === 0) return;
    await this.#news.tell({ kind: 'topology:utilisation', links });
  }

  /**
   * Positions for nodes that have none (or, with `full`, for every node not pinned), stored so every
   * screen draws the same map after a reload. Runs one at a time.
   */
  layout(options: LayoutOptions = {}): Promise<number> {
    const run = async () => {
      const started = Date.now();
      const { moved, clients } = await layoutStoredTopology(this.#database, options);
      if (moved > 0) this.#log.info({ moved, ms: Date.now() - started }, 'topology laid out');
      await this.changed(clients);
      return moved;
    };
    const next = this.#layoutTail.then(run, run);
    this.#layoutTail = next.catch((err: unknown) => this.#log.warn({ err }, 'topology layout failed'));
    return next;
  }

  /** Resolves when no layout is running (graceful shutdown). */
  async idle(): Promise<void> {
    await this.#layoutTail;
  }
}
