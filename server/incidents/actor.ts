import type { FastifyRequest } from 'fastify';
import { ROLE_RANK, type Role, type SessionUser } from '../../src/lib/protocol/api.ts';
import type { Via } from '../../src/lib/protocol/console.ts';
import { DomainError } from '../errors.ts';

/** Who acts on an incident, with their rights and where from: every command takes one. */
export interface Actor {
  userId: string;
  name: string;
  role: Role;
  /** Client slugs the actor may see; null = every client. */
  clients: string[] | null;
  via: Via;
  ip: string | null;
  userAgent: string | null;
}

/** The actor behind a REST request the authentication hook has let through. */
export function actorFromRequest(request: FastifyRequest): Actor {
  if (!request.session) throw new DomainError('unauthenticated', 'sign in first');
  return actorOf(request.session.user, 'web', request.ip, request.headers['user-agent'] ?? null);
}

export function actorOf(user: SessionUser, via: Via, ip: string | null, userAgent: string | null): Actor {
  return { userId: user.id, name: user.name, role: user.role, clients: user.clients, via, ip, userAgent: userAgent?.slice(0, 512) ?? null };
}

/** True when the actor's client scope covers an incident of `client` (incidents without a client need an unrestricted actor). */
export function canSeeClient(scope: readonly string[] | null, client: string | null): boolean {
  if (scope === null) return true;
  return client !== null && scope.includes(client);
}

export function hasRoleAtLeast(role: Role, atLeast: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[atLeast];
}

/** The audit log's and timeline's name for a person. */
export function actorKey(actor: Pick<Actor, 'userId'>): string {
  return `user:${actor.userId}`;
}
