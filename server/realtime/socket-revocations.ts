import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.ts';
import { anyText } from '../db/sql-values.ts';
import { rooms, type ServerToClientEvents } from '../../src/lib/protocol/events.ts';
import type { WatchfloorIo } from './socket-server.ts';

/** Why a session's sockets end, as `session:ended` tells them. */
export type SessionEndReason = Parameters<ServerToClientEvents['session:ended']>[0]['reason'];

/** Whose sockets to end: one session's, or those of every session of one user. */
export type Revocation = { sessionTokenHash: string; reason: SessionEndReason } | { userId: string; reason: SessionEndReason };

/** The channel on which a process that ended sessions tells the others to end their sockets. */
export const REVOCATIONS_CHANNEL = 'watchfloor_revocations';

const reason = z.enum(['signed_out', 'revoked', 'expired']);
const revocationNotice = z.union([
  z.object({ sessionTokenHash: z.string().min(1).max(200), reason }),
  z.object({ userId: z.string().min(1).max(200), reason }),
]);

/**
 * Tells every other process on the database to end these sockets; call it after the commit that ended the
 * sessions. On embedded PGlite there is no other process (the CLI hands its commands to the running server).
 */
export async function announceRevocation(database: Database, revocation: Revocation): Promise<void> {
  if (database.kind !== 'postgres') return;
  await database.rows(sql`select pg_notify(${REVOCATIONS_CHANNEL}, ${JSON.stringify(revocation)})`);
}

/**
 * Ends the sockets of sessions that ended (signed out, revoked, user disabled, password reset): in this
 * process at once, and in every other server process on the database through {@link REVOCATIONS_CHANNEL}.
 * A socket's session is checked only at its handshake, so without this a socket held by another process
 * would keep receiving incidents.
 */
export class SocketRevocations {
  readonly #io: WatchfloorIo;
  readonly #database: Database;
  readonly #log: FastifyBaseLogger;

  constructor(options: { io: WatchfloorIo; database: Database; log: FastifyBaseLogger }) {
    this.#io = options.io;
    this.#database = options.database;
    this.#log = options.log;
  }

  /** Ends these sockets here, then in the other processes. Never throws: the sessions already ended in the database. */
  async end(revocation: Revocation): Promise<void> {
    this.#endHere(revocation);
    try {
      await announceRevocation(this.#database, revocation);
    } catch (error) {
      // The other processes' sweep ends those sockets within its interval.
      this.#log.error({ err: error }, 'could not tell the other server processes that sessions ended');
    }
  }

  /** A notice on the revocations channel (this process's own included: its sockets are gone already). */
  heard(payload: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      parsed = undefined;
    }
    const notice = revocationNotice.safeParse(parsed);
    if (notice.success) this.#endHere(notice.data);
    else this.#log.warn({ payload: payload.slice(0, 100) }, 'unreadable revocation notice');
  }

  /**
   * Ends the sockets here whose session no longer holds in the database (deleted, expired, its user
   * disabled): what a notice lost while the listening connection was down would have ended.
   */
  async sweep(): Promise<void> {
    const held = new Set<string>();
    for (const socket of this.#io.of('/').sockets.values()) if (socket.data.wallId === undefined) held.add(socket.data.sessionTokenHash);
    if (held.size === 0) return;
    const standing = await this.#database.rows<{ token_hash: string; expired: boolean }>(
      sql`select s.token_hash, s.expires_at <= now() as expired from sessions s join users u on u.id = s.user_id
          where s.token_hash = ${anyText([...held])} and not u.disabled`,
    );
    const expired = new Map(standing.map((row) => [row.token_hash, row.expired]));
    for (const tokenHash of held) {
      if (expired.get(tokenHash) === false) continue;
      this.#endHere({ sessionTokenHash: tokenHash, reason: expired.get(tokenHash) ? 'expired' : 'revoked' });
    }
  }

  #endHere(revocation: Revocation): void {
    const room = 'userId' in revocation ? rooms.user(revocation.userId) : rooms.session(revocation.sessionTokenHash);
    this.#io.to(room).emit('session:ended', { reason: revocation.reason });
    this.#io.in(room).disconnectSockets(true);
  }
}
