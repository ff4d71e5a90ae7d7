import type { FastifyRequest } from 'fastify';
import type { Db } from '../db/database.ts';
import { DomainError } from '../errors.ts';
import { getWallRow, isWallId, wallCookieName, wallForToken, type WallPrincipal } from './wall-store.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when a wall screen (not a person) made the request, with its device cookie. */
    wall: WallPrincipal | null;
  }
  interface FastifyContextConfig {
    /** A wall screen may call this route with the device cookie of the wall the route names as `:id`. */
    wall?: boolean;
  }
}

/** The wall whose device cookie this request carries for the wall named in its path, or null. */
export async function wallFromRequest(db: Db, request: FastifyRequest): Promise<WallPrincipal | null> {
  const id = (request.params as { id?: unknown } | undefined)?.id;
  if (!isWallId(id)) return null;
  return wallForToken(db, id, request.cookies[wallCookieName(id)]);
}

/** Client scopes: null = every client. The clients both allow. */
export function intersectClients(a: readonly string[] | null, b: readonly string[] | null): string[] | null {
  if (a === null) return b === null ? null : [...b];
  if (b === null) return [...a];
  const inB = new Set(b);
  return a.filter((c) => inB.has(c));
}

/**
 * What a request on a wall route may see: a wall screen its own clients; a signed-in person (an admin
 * previewing it) the wall's clients within their own.
 */
export async function wallScope(db: Db, request: FastifyRequest): Promise<{ wallId: string; clients: string[] | null }> {
  if (request.wall) return { wallId: request.wall.wallId, clients: request.wall.clients };
  const id = (request.params as { id?: unknown }).id;
  if (!isWallId(id)) throw new DomainError('not_found', 'no such wall');
  const session = request.session;
  if (!session) throw new DomainError('unauthenticated', 'sign in first, or open the wall with its device link');
  const row = await getWallRow(db, id);
  return { wallId: row.id, clients: intersectClients(row.clients ?? null, session.user.clients) };
}

/** The client scope of a request on an ordinary route: the signed-in user's. */
export function userScope(request: FastifyRequest): string[] | null {
  if (!request.session) throw new DomainError('unauthenticated', 'sign in first');
  return request.session.user.clients;
}
