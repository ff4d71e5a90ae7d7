import { and, eq, ne } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../http/app-context.ts';
import { changePasswordRequest, loginRequest, type SessionResponse } from '../../src/lib/protocol/api.ts';
import { DomainError, parseOrThrow } from '../errors.ts';
import { findUserByEmail, toSessionUser } from '../auth/users.ts';
import { DUMMY_HASH, hashPassword, verifyPassword } from '../auth/passwords.ts';
import { createSession, deleteSession } from '../auth/sessions.ts';
import { clearSessionCookie, sessionOf, setSessionCookie } from '../auth/authenticate.ts';
import { sessions, users } from '../db/schema/index.ts';
import { timed } from '../metrics.ts';
import { recordAudit } from '../audit/audit-log.ts';

/** Sign in, who am I, sign out, change my password. */
export function sessionRoutes(app: FastifyInstance, { config, database, metrics, revocations }: AppContext): void {
  const { db } = database;

  app.post(
    '/api/v1/session',
    {
      config: { public: true, rateLimit: { max: config.loginRateLimitPerMinute, timeWindow: 60_000 } },
    },
    async (request, reply) => {
      const body = parseOrThrow(loginRequest, request.body);
      const user = await timed(metrics, 'find_user', () => findUserByEmail(db, body.email));
      // Verify against a dummy hash when the email is unknown: same work, same time, same answer.
      const valid = await verifyPassword(user?.passwordHash ?? DUMMY_HASH, body.password);
      if (!user || !valid || user.disabled) {
        throw new DomainError('unauthenticated', 'wrong email or password');
      }
      const { token, expiresAt } = await timed(metrics, 'create_session', () =>
        createSession(db, user.id, config.sessionMaxAgeMs, { ip: request.ip, userAgent: request.headers['user-agent'] ?? null }),
      );
      setSessionCookie(request, reply, token, expiresAt);
      request.log.info({ userId: user.id }, 'signed in');
      const userAgent = request.headers['user-agent']?.slice(0, 512) ?? null;
      await recordAudit(database, db, { actor: `user:${user.id}`, actorName: user.name, action: 'session.sign_in', entity: 'user', entityId: user.id, detail: {}, ip: request.ip, userAgent });
      const response: SessionResponse = {
        user: toSessionUser(user),
        expiresAt: expiresAt.toISOString(),
      };
      return reply.status(201).send(response);
    },
  );

  const temporary = { config: { temporaryPasswordAllowed: true } };

  app.get('/api/v1/session', temporary, async (request) => {
    const session = sessionOf(request);
    const response: SessionResponse = { user: session.user, expiresAt: session.expiresAt.toISOString() };
    return response;
  });

  app.delete('/api/v1/session', temporary, async (request, reply) => {
    const session = sessionOf(request);
    await deleteSession(db, session.tokenHash);
    await revocations.end({ sessionTokenHash: session.tokenHash, reason: 'signed_out' });
    clearSessionCookie(request, reply);
    return reply.status(204).send();
  });

  app.post('/api/v1/session/password', temporary, async (request, reply) => {
    const session = sessionOf(request);
    const body = parseOrThrow(changePasswordRequest, request.body);
    const [user] = await db.select().from(users).where(eq(users.id, session.user.id));
    if (!(await verifyPassword(user.passwordHash, body.currentPassword))) {
      throw new DomainError('validation_failed', 'the current password is wrong', 'currentPassword');
    }
    const passwordHash = await hashPassword(body.newPassword);
    const ended = await db.transaction(async (tx) => {
      await tx.update(users).set({ passwordHash, mustChangePassword: false, updatedAt: new Date() }).where(eq(users.id, user.id));
      // Other sessions of this user end: whoever knew the old password is out.
      return tx
        .delete(sessions)
        .where(and(eq(sessions.userId, user.id), ne(sessions.tokenHash, session.tokenHash)))
        .returning({ tokenHash: sessions.tokenHash });
    });
    // Their open sockets too, not only their next HTTP request.
    for (const { tokenHash } of ended) await revocations.end({ sessionTokenHash: tokenHash, reason: 'revoked' });
    return reply.status(204).send();
  });
}
