import type { Database } from '../db/database.ts';
import { CHANGES_CHANNEL } from '../engine/change-writer.ts';
import type { ChangeFollower } from './change-follower.ts';

/** How often a process makes up for notices it may have lost: catching up with the changes. */
const SAFETY_NET_MS = 5000;

/**
 * On Postgres, other processes write the same database (servers behind a load balancer, the CLI): this
 * process hears of their commits on a listening connection. Notices sent while that connection was down
 * are lost, so whenever it listens again, and every few seconds besides, the follower catches up from
 * the `changes` table.
 * @returns stop: no more listening or catching up.
 */
export async function hearOtherProcesses(options: {
  database: Database;
  follower: ChangeFollower;
}): Promise<{ stop(): Promise<void> }> {
  const { database: { listen }, follower } = options;
  if (!listen) throw new Error('embedded PGlite has no other processes to hear');
  const listening = await Promise.all([listen(CHANGES_CHANNEL, (payload) => follower.heard(payload), () => follower.catchUp())]);
  const safetyNet = setInterval(() => follower.catchUp(), SAFETY_NET_MS);
  safetyNet.unref();
  return {
    async stop() {
      clearInterval(safetyNet);
      await Promise.all(listening.map((l) => l.unlisten()));
      await follower.close();
    },
  };
}
