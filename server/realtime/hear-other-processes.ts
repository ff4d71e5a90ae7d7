import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.ts';
import { CHANGES_CHANNEL } from '../engine/change-writer.ts';
import type { ChangeFollower } from './change-follower.ts';
import { REVOCATIONS_CHANNEL, type SocketRevocations } from './socket-revocations.ts';
import { SCREEN_NEWS_CHANNEL, type ScreenNews } from './screen-news.ts';
import { SOURCES_CHANNEL, type SourceLookup } from '../ingest/source-lookup.ts';

/** How often a process makes up for notices it may have lost: catching up with the changes, sweeping ended sessions and walls' screens. */
const SAFETY_NET_MS = 5000;

/**
 * On Postgres, other processes write the same database (servers behind a load balancer, the CLI): this
 * process hears their commits, revocations, screen news and changed sources on one listening connection. Notices sent while
 * that connection was down are lost, so whenever it listens again, and every few seconds besides, the follower
 * catches up from the `changes` table and the revocations sweep the sessions and walls this process's sockets
 * hold (which also tells a wall's screens of a layout change they missed).
 * @returns stop: no more listening, catching up or sweeping.
 */
export async function hearOtherProcesses(options: {
  database: Database;
  follower: ChangeFollower;
  revocations: SocketRevocations;
  news: ScreenNews;
  sources: SourceLookup;
  log: FastifyBaseLogger;
}): Promise<{ stop(): Promise<void> }> {
  const { database: { listen }, follower, revocations, news, sources, log } = options;
  if (!listen) throw new Error('embedded PGlite has no other processes to hear');
  const sweep = () => void revocations.sweep().catch((err: unknown) => log.warn({ err }, 'sweeping ended sessions and walls failed'));
  const listening = await Promise.all([
    listen(CHANGES_CHANNEL, (payload) => follower.heard(payload), () => follower.catchUp()),
    listen(REVOCATIONS_CHANNEL, (payload) => revocations.heard(payload), sweep),
    // Screen news lost meanwhile is not read back: the sweep tells walls of a layout they missed, roll-ups come again.
    listen(SCREEN_NEWS_CHANNEL, (payload) => news.heard(payload), () => {}),
    // A source changed elsewhere (a token rotated, a source disabled): forget; when notices may have been lost, too.
    listen(SOURCES_CHANNEL, () => sources.forget(), () => sources.forget()),
  ]);
  const safetyNet = setInterval(() => {
    follower.catchUp();
    sweep();
  }, SAFETY_NET_MS);
  safetyNet.unref();
  return {
    async stop() {
      clearInterval(safetyNet);
      await Promise.all(listening.map((l) => l.unlisten()));
      await follower.close();
    },
  };
}
