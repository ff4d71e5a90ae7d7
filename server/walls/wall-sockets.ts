import type { Db } from '../db/database.ts';
import { rooms } from '../../src/lib/protocol/events.ts';
import type { WatchfloorIo, WatchfloorSocket } from '../realtime/socket-server.ts';
import { getWallRow, isWallId, wallCookieName, wallForToken, type WallPrincipal } from './wall-store.ts';
import { intersectClients } from './wall-auth.ts';
import { DomainError } from '../errors.ts';

/** What a wall screen may send: keep-alive and its subscription. Every command is refused. */
const WALL_EVENTS: ReadonlySet<string> = new Set(['server:ping', 'incidents:subscribe']);

function wallIdOf(auth: unknown): string | null {
  const id = (auth as { wallId?: unknown } | null | undefined)?.wallId;
  return isWallId(id) ? id : null;
}

/** The wall a handshake names (`auth: { wallId }`) and proves with that wall's device cookie, or null. */
export async function wallOfHandshake(db: Db, auth: unknown, cookies: Record<string, string | undefined>): Promise<WallPrincipal | null> {
  const wallId = wallIdOf(auth);
  return wallId === null ? null : wallForToken(db, wallId, cookies[wallCookieName(wallId)]);
}

/**
 * A signed-in person opening a wall page without its device cookie (an admin previewing it): the
 * wall's clients within their own. Other sockets keep the user's clients.
 */
export async function previewClients(db: Db, auth: unknown, userClients: string[] | null): Promise<string[] | null> {
  const wallId = wallIdOf(auth);
  if (wallId === null) return userClients;
  try {
    const row = await getWallRow(db, wallId);
    return intersectClients(row.clients ?? null, userClients);
  } catch (error) {
    if (error instanceof DomainError) return []; // no such wall: show nothing rather than everything
    throw error;
  }
}

/** Fills the socket's data for a wall screen: a read-only principal scoped to the wall's clients. */
export function becomeWallSocket(socket: WatchfloorSocket, wall: WallPrincipal): void {
  socket.data.wallId = wall.wallId;
  socket.data.userId = `wall:${wall.wallId}`;
  socket.data.sessionTokenHash = `wall:${wall.wallId}`;
  socket.data.clients = wall.clients;
  socket.data.expiresAt = Number.MAX_SAFE_INTEGER;
  socket.data.user = {
    id: `wall:${wall.wallId}`,
    email: '',
    name: wall.name,
    role: 'viewer',
    mustChangePassword: false,
    clients: wall.clients,
    onShift: false,
    chime: false,
  };
}

/** After the handshake: the wall's room (for revocation), the greeting, and the refusal of every command. */
export function welcomeWallSocket(socket: WatchfloorSocket): void {
  const wallId = socket.data.wallId!;
  void socket.join(rooms.wall(wallId));
  socket.use(([event, ...args], next) => {
    if (WALL_EVENTS.has(event)) return next();
    const ack = args[args.length - 1];
    if (typeof ack === 'function') ack({ ok: false, code: 'forbidden', message: 'a wall screen is read-only' });
  });
  socket.emit('wall:ready', { wallId, name: socket.data.user.name, serverTime: new Date().toISOString() });
}

/** Tells a wall's screens they are disconnected for good, then closes their sockets. */
export function disconnectWallScreens(io: WatchfloorIo, wallId: string, reason: 'revoked' | 'rotated' | 'deleted'): void {
  io.to(rooms.wall(wallId)).emit('wall:disconnected', { reason });
  io.in(rooms.wall(wallId)).disconnectSockets(true);
}
