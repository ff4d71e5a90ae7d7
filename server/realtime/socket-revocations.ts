import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.ts';
import { anyText } from '../db/sql-values.ts';
import { rooms, type ServerToClientEvents } from '../../src/lib/protocol/events.ts';
import type { WatchfloorIo } from './socket-server.ts';
import { readNotice } from './read-notice.ts';
import { checkWallScreens, endWallScreens, rescopeWallScreens, wallScreensHere, type WallEndReason } from '../walls/wall-sockets.ts';
import { wallStandings } from '../walls/wall-store.ts';

/** Why a session's sockets end, as `session:ended` tells them. */
export type SessionEndReason = Parameters<ServerToClientEvents['session:ended']>[0]['reason'];

/**
 * Whose sockets to end: one session's, those of every session of one user, or a wall's screens opened before
 * the wall reached `version` (its token revoked or rotated, the wall deleted: for good; its clients changed:
 * they reconnect, to be scoped anew).
 */
export type Revocation =
  | { sessionTokenHash: string; reason: SessionEndReason }
  | { userId: string; reason: SessionEndReason }
  | { wallId: string; reason: WallEndReason; version: number }
  | { wallId: string; rescope: true; version: number };

/** The channel on which a process that ended sessions tells the others to end their sockets. */
export const REVOCATIONS_CHANNEL = 'watchfloor_revocations';

const reason = z.enum(['signed_out', 'revoked', 'expired']);
const wallId = z.string().uuid();
const version = z.number().int().nonnegative();
const revocationNotice = z.union([
  z.strictObject({ sessionTokenHash: z.string().min(1).max(200), reason }),
  z.strictObject({ userId: z.string().min(1).max(200), reason }),
  z.strictObject({ wallId, reason: z.enum(['revoked', 'rotated', 'deleted']), version }),
  z.strictObject({ wallId, rescope: z.literal(true), version }),
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
 * Ends the sockets of sessions that ended (signed out, revoked, user disabled, password reset), and the
 * screens of walls whose device token was revoked or rotated, or which were deleted or given other clients:
 * in this process at once, and in every other server process on the database through
 * {@link REVOCATIONS_CHANNEL}. A socket's session or wall token is checked only at its handshake, so without
 * this a socket held by another process would keep receiving incidents.
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
    const notice = readNotice(payload, revocationNotice, this.#log, 'revocation');
    if (notice) this.#endHere(notice);
  }

  /**
   * Ends the sockets here whose session no longer holds in the database (deleted, expired, its user
   * disabled), and checks the wall screens here against their walls: what a notice lost while the listening
   * connection was down would have done.
   */
  async sweep(): Promise<void> {
    await Promise.all([this.#sweepSessions(), this.#sweepWallScreens()]);
  }

  async #sweepSessions(): Promise<void> {
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

  async #sweepWallScreens(): Promise<void> {
    // The screens first, then their walls: each screen is judged by a read newer than its handshake.
    const screens = wallScreensHere(this.#io);
    if (screens.length === 0) return;
    const walls = [...new Set(screens.map((socket) => socket.data.wallId!))];
    checkWallScreens(screens, await wallStandings(this.#database.db, walls));
  }

  #endHere(revocation: Revocation): void {
    if ('wallId' in revocation) {
      if ('rescope' in revocation) rescopeWallScreens(this.#io, revocation.wallId, revocation.version);
      else endWallScreens(this.#io, revocation.wallId, revocation.reason, revocation.version);
      return;
    }
    const room = 'userId' in revocation ? rooms.user(revocation.userId) : rooms.session(revocation.sessionTokenHash);
    this.#io.to(room).emit('session:ended', { reason: revocation.reason });
    this.#io.in(room).disconnectSockets(true);
  }
}
