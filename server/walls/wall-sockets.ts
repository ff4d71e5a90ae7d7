import type { Db } from '../db/database.ts';
import { rooms, type AppVersion, type ServerToClientEvents } from '../../src/lib/protocol/events.ts';
import type { WatchfloorIo, WatchfloorSocket } from '../realtime/socket-server.ts';
import { getWallRow, isWallId, sameTokenHash, wallCookieName, wallForToken, type WallPrincipal, type WallStanding } from './wall-store.ts';
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
  socket.data.wallScreen = { tokenHash: wall.tokenHash, openedAt: wall.version, toldOf: wall.version };
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
export function welcomeWallSocket(socket: WatchfloorSocket, appVersion: AppVersion): void {
  const wallId = socket.data.wallId!;
  void socket.join(rooms.wall(wallId));
  socket.use(([event, ...args], next) => {
    if (WALL_EVENTS.has(event)) return next();
    const ack = args[args.length - 1];
    if (typeof ack === 'function') ack({ ok: false, code: 'forbidden', message: 'a wall screen is read-only' });
  });
  socket.emit('wall:ready', { wallId, name: socket.data.user.name, serverTime: new Date().toISOString(), appVersion });
}

/** Why a wall's screens end for good, as `wall:disconnected` tells them. */
export type WallEndReason = Parameters<ServerToClientEvents['wall:disconnected']>[0]['reason'];

/** This process's screens of one wall. */
function screensOf(io: WatchfloorIo, wallId: string): WatchfloorSocket[] {
  const namespace = io.of('/');
  const ids = namespace.adapter.rooms.get(rooms.wall(wallId)) ?? new Set<string>();
  return [...ids].flatMap((id) => namespace.sockets.get(id) ?? []);
}

function endScreen(socket: WatchfloorSocket, reason: WallEndReason): void {
  socket.emit('wall:disconnected', { reason });
  socket.disconnect(true);
}

/**
 * Tells a wall's screens opened before `version` (the wall's version after the token changed, or past its
 * last one when it was deleted) that they are disconnected for good, and closes them. A screen opened since,
 * with the new token, stays: hearing the same news twice, or late, ends nothing it should not.
 */
export function endWallScreens(io: WatchfloorIo, wallId: string, reason: WallEndReason, version: number): void {
  for (const socket of screensOf(io, wallId)) if (socket.data.wallScreen!.openedAt < version) endScreen(socket, reason);
}

/**
 * The wall's clients changed at `version`: its screens opened before are closed (not ended), so they reconnect
 * by themselves and are scoped anew at the handshake; until then they would keep receiving the old clients.
 */
export function rescopeWallScreens(io: WatchfloorIo, wallId: string, version: number): void {
  for (const socket of screensOf(io, wallId)) if (socket.data.wallScreen!.openedAt < version) socket.disconnect(true);
}

function tellOfVersion(socket: WatchfloorSocket, wallId: string, version: number): void {
  const screen = socket.data.wallScreen!;
  if (screen.toldOf >= version) return;
  screen.toldOf = version;
  socket.emit('wall:changed', { wallId, version });
}

/** The wall's layout or settings changed: its screens not yet told of `version` load them again. */
export function showWallChange(io: WatchfloorIo, wallId: string, version: number): void {
  for (const socket of screensOf(io, wallId)) tellOfVersion(socket, wallId, version);
}

/** Every wall screen connected to this process now. */
export function wallScreensHere(io: WatchfloorIo): WatchfloorSocket[] {
  return [...io.of('/').sockets.values()].filter((socket) => socket.data.wallId !== undefined);
}

function sameClients(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  const inB = new Set(b);
  return a.length === b.length && a.every((c) => inB.has(c));
}

/**
 * What a lost notice would have done, from each wall's standing read after these screens connected (a wall
 * missing from `standings` was deleted): screens whose token is no longer the wall's end, screens scoped to
 * other clients reconnect, screens behind the wall's version are told it changed. Only screens that connected
 * before the read may be judged by it: one opened since, with a token rotated meanwhile, would look rotated.
 */
export function checkWallScreens(screens: readonly WatchfloorSocket[], standings: ReadonlyMap<string, WallStanding>): void {
  for (const socket of screens) {
    const wallId = socket.data.wallId!;
    if (!socket.connected) continue;
    const standing = standings.get(wallId);
    const screen = socket.data.wallScreen!;
    if (!standing) endScreen(socket, 'deleted');
    else if (standing.tokenHash === null) endScreen(socket, 'revoked');
    else if (!sameTokenHash(standing.tokenHash, screen.tokenHash)) endScreen(socket, 'rotated');
    else if (!sameClients(standing.clients, socket.data.clients)) socket.disconnect(true);
    else tellOfVersion(socket, wallId, standing.version);
  }
}
