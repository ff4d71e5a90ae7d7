import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../db/database.ts';
import { DomainError } from '../errors.ts';
import { findSession } from './sessions.ts';
import { hasRole } from './users.ts';
import { wallFromRequest } from '../walls/wall-auth.ts';

export const SESSION_COOKIE = 'wf_session';

/**
 * Every route under /api is closed unless its config says `public: true`; a `role` in the config
 * is the least role it needs. One hook, so no route can forget it. It runs on request, before the
 * body is read: a stranger's request is refused before it costs a parse of up to 1 MiB.
 */
export function installAuthentication(app: FastifyInstance, db: Db): void {
  app.decorateRequest('wall', null);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const config = request.routeOptions.config;
    const url = request.routeOptions.url ?? '';
    if (!url.startsWith('/api/') || config.public) return;
    const token = request.cookies[SESSION_COOKIE];
    const session = token ? await findSession(db, token) : null;
    if (!session) {
      // A wall screen: routes marked `wall` also take the device cookie of the wall they name (read-only).
      request.wall = config.wall ? await wallFromRequest(db, request) : null;
      if (request.wall) return;
      throw new DomainError('unauthenticated', 'sign in first');
    }
    // A one-time password was chosen by someone else: until the user picks their own, it opens nothing but that.
    if (session.user.mustChangePassword && !config.temporaryPasswordAllowed) {
      throw new DomainError('forbidden', 'choose a new password first (POST /api/v1/session/password)');
    }
    if (config.role && !hasRole(session.user.role, config.role)) {
      throw new DomainError('forbidden', `this needs the ${config.role} role or higher`);
    }
    request.session = session;
  });
}

/** The session of a route that the hook has already authenticated. */
export function sessionOf(request: FastifyRequest) {
  if (!request.session) throw new DomainError('unauthenticated', 'sign in first');
  return request.session;
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string, expiresAt: Date): void {
  void reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: request.protocol === 'https',
    expires: expiresAt,
  });
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: request.protocol === 'https' });
}
