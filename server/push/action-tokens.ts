import { randomUUID } from 'node:crypto';
import { lt, sql } from 'drizzle-orm';
import { SignJWT, errors, jwtVerify } from 'jose';
import type { Db } from '../db/database.ts';
import { pushActionTokensUsed } from '../db/schema/index.ts';
import { DomainError } from '../errors.ts';
import { isUuid } from '../db/sql-values.ts';

const AUDIENCE = 'watchfloor:push-action';
const ISSUER = 'watchfloor';

export interface PushActionClaims {
  jti: string;
  userId: string;
  incidentId: string;
  expiresAt: Date;
}

/**
 * Push-action tokens: what a notification's Acknowledge button carries instead of a standing
 * credential. A JWS (HS256, signed with the server's stored secret) bound to one user and one
 * incident, valid for minutes, spent on first use (its `jti` is recorded).
 *
 * jose rather than a hand-rolled HMAC: it pins the algorithm, checks exp/aud/iss and required
 * claims, compares in constant time and gets base64url right — the details that make tokens safe.
 */
export class PushActionTokens {
  readonly #db: Db;
  readonly #secret: Uint8Array;
  readonly #ttlSeconds: number;

  constructor(db: Db, secret: Uint8Array, ttlSeconds: number) {
    if (ttlSeconds <= 0 || ttlSeconds > 15 * 60) throw new Error('push-action tokens live at most 15 minutes');
    this.#db = db;
    this.#secret = secret;
    this.#ttlSeconds = ttlSeconds;
  }

  /** A fresh token for `userId` to acknowledge `incidentId`. */
  issue(userId: string, incidentId: string, now = new Date()): Promise<string> {
    const issuedAt = Math.floor(now.getTime() / 1000);
    return new SignJWT({ inc: incidentId, act: 'acknowledge' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(userId)
      .setJti(randomUUID())
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.#ttlSeconds)
      .sign(this.#secret);
  }

  /**
   * Verifies the signature and lifetime, then spends the token: a second use of the same token is
   * refused even while it is still within its lifetime.
   * @throws DomainError unauthenticated (401) for an invalid, expired or already used token.
   */
  async redeem(token: string): Promise<PushActionClaims> {
    const claims = await this.verify(token);
    const spent = await this.#db
      .insert(pushActionTokensUsed)
      .values({ jti: claims.jti, userId: claims.userId, incidentId: claims.incidentId, expiresAt: claims.expiresAt })
      .onConflictDoNothing()
      .returning({ jti: pushActionTokensUsed.jti });
    if (spent.length === 0) throw new DomainError('unauthenticated', 'this notification was already used: open the incident in the app');
    return claims;
  }

  /** Checks a token without spending it. */
  async verify(token: string): Promise<PushActionClaims> {
    try {
      const { payload } = await jwtVerify(token, this.#secret, {
        algorithms: ['HS256'],
        audience: AUDIENCE,
        issuer: ISSUER,
        requiredClaims: ['jti', 'sub', 'exp', 'inc'],
      });
      if (payload.act !== 'acknowledge' || typeof payload.inc !== 'string' || !isUuid(payload.inc) || !isUuid(payload.sub)) {
        throw new DomainError('unauthenticated', 'this notification action is not valid');
      }
      return { jti: payload.jti!, userId: payload.sub!, incidentId: payload.inc, expiresAt: new Date(payload.exp! * 1000) };
    } catch (error) {
      if (error instanceof DomainError) throw error;
      if (error instanceof errors.JWTExpired) {
        throw new DomainError('unauthenticated', 'this notification has expired: open the incident in the app to acknowledge');
      }
      throw new DomainError('unauthenticated', 'this notification action is not valid');
    }
  }

  /** Forgets spent tokens that have expired anyway (a replay of them fails on `exp`). */
  async pruneSpent(now = new Date()): Promise<void> {
    await this.#db.delete(pushActionTokensUsed).where(lt(pushActionTokensUsed.expiresAt, sql`${now.toISOString()}::timestamptz`));
  }
}
