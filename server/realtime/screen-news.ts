import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.ts';
import { rooms } from '../../src/lib/protocol/events.ts';
import type { WatchfloorIo } from './socket-server.ts';
import { readNotice } from './read-notice.ts';
import { showWallChange } from '../walls/wall-sockets.ts';

/** The channel on which a process tells the others what their screens must hear besides incidents. */
export const SCREEN_NEWS_CHANNEL = 'watchfloor_screen_news';

/**
 * News for screens that is not an incident change (those travel through the `changes` table): a wall's layout
 * edited, a client's topology changed, new link utilisation, new uptime roll-ups. Each goes to the screens
 * that may see it, as the matching Socket.IO event.
 */
export type ScreenNotice =
  | { kind: 'wall:changed'; wallId: string; version: number }
  | { kind: 'topology:changed'; clients: string[] }
  | { kind: 'topology:utilisation'; links: { id: string; utilisation: number; client: string }[] }
  | { kind: 'uptime:rolled' };

/** Postgres refuses a notice of 8000 bytes or more: long lists go out this many links or clients at a time. */
const LINKS_PER_NOTICE = 40;
const CLIENTS_PER_NOTICE = 100;

const slug = z.string().min(1).max(64);
const screenNotice = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('wall:changed'), wallId: z.string().uuid(), version: z.number().int().nonnegative() }),
  z.strictObject({ kind: z.literal('topology:changed'), clients: z.array(slug).max(CLIENTS_PER_NOTICE) }),
  z.strictObject({
    kind: z.literal('topology:utilisation'),
    links: z.array(z.strictObject({ id: z.string().uuid(), utilisation: z.number().min(0).max(1), client: slug })).max(LINKS_PER_NOTICE),
  }),
  z.strictObject({ kind: z.literal('uptime:rolled') }),
]);
const envelope = z.strictObject({ from: z.string().min(1).max(100), notice: screenNotice });

function slices<T>(list: readonly T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let i = 0; i < list.length; i += size) parts.push(list.slice(i, i + size));
  return parts;
}

/** Notices no larger than Postgres takes (under 8000 bytes each, with their envelope): a long list split into several. */
export function noticesToSend(notice: ScreenNotice): ScreenNotice[] {
  if (notice.kind === 'topology:utilisation') return slices(notice.links, LINKS_PER_NOTICE).map((links) => ({ kind: notice.kind, links }));
  if (notice.kind === 'topology:changed') return slices([...new Set(notice.clients)], CLIENTS_PER_NOTICE).map((clients) => ({ kind: notice.kind, clients }));
  return [notice];
}

/**
 * Tells the screens of every other process on the database (sent by `from`, which ignores its own notices).
 * On embedded PGlite there is no other process.
 */
export async function announceScreenNews(database: Database, from: string, notice: ScreenNotice): Promise<void> {
  if (database.kind !== 'postgres') return;
  const payloads = noticesToSend(notice).map((part) => JSON.stringify({ from, notice: part }));
  if (payloads.length === 0) return;
  await database.rows(sql`select pg_notify(${SCREEN_NEWS_CHANNEL}, p) from jsonb_array_elements_text(${JSON.stringify(payloads)}::jsonb) as p`);
}

/**
 * Screen news in this process at once, and in every other server process on the database through
 * {@link SCREEN_NEWS_CHANNEL}, so a wall on any process hears of an edit made on another. A lost notice costs
 * a screen a late reload (a wall's layout is checked again by the revocations' sweep; roll-ups come every 30 s).
 */
export class ScreenNews {
  readonly #io: WatchfloorIo;
  readonly #database: Database;
  readonly #log: FastifyBaseLogger;
  readonly #processId: string;

  constructor(options: { io: WatchfloorIo; database: Database; log: FastifyBaseLogger; processId: string }) {
    this.#io = options.io;
    this.#database = options.database;
    this.#log = options.log;
    this.#processId = options.processId;
  }

  /** Shows the news here, then tells the other processes. Never throws: screens only miss a reload. */
  async tell(notice: ScreenNotice): Promise<void> {
    this.#showHere(notice);
    try {
      await announceScreenNews(this.#database, this.#processId, notice);
    } catch (error) {
      this.#log.warn({ err: error, kind: notice.kind }, 'could not tell the other server processes’ screens');
    }
  }

  /** A notice on the screen news channel; this process's own were shown already. */
  heard(payload: string): void {
    const heard = readNotice(payload, envelope, this.#log, 'screen');
    if (heard && heard.from !== this.#processId) this.#showHere(heard.notice);
  }

  #showHere(notice: ScreenNotice): void {
    const io = this.#io;
    // Topology news of a client goes to its room and to the room of sockets that see every client.
    const roomsFor = (client: string) => [rooms.topology(null), rooms.topology(client)];
    switch (notice.kind) {
      case 'wall:changed':
        showWallChange(io, notice.wallId, notice.version);
        return;
      case 'topology:changed':
        for (const client of new Set(notice.clients)) io.to(roomsFor(client)).emit('topology:changed', { clients: [client] });
        return;
      case 'topology:utilisation': {
        const byClient = new Map<string, { id: string; utilisation: number }[]>();
        for (const link of notice.links) {
          const list = byClient.get(link.client) ?? [];
          list.push({ id: link.id, utilisation: link.utilisation });
          byClient.set(link.client, list);
        }
        for (const [client, links] of byClient) io.to(roomsFor(client)).emit('topology:utilisation', { links });
        return;
      }
      case 'uptime:rolled':
        io.emit('uptime:rolled', { at: new Date().toISOString() });
        return;
    }
  }
}
