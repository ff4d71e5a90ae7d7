import { and, eq, gt, lt } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { sessions, users } from '../db/schema/index.ts';
import { hashToken, newSecret } from './tokens.ts';
import { toSessionUser } from './users.ts';
import type { SessionUser } from '../../src/lib/protocol/api.ts';

export interface ActiveSession {
  tokenHash: string;
  expiresAt: Date;
  user: SessionUser;
}

/** Starts a session; the clear token goes only into the cookie. */
export async function createSession(
  db: Db,
  userId: string,
  maxAgeMs: number,
  meta: { ip: string | null; userAgent: string | null },
): Promise<{ token: string; expiresAt: Date }> {
  const token = newSecret();
  const expiresAt = new Date(Date.now() + maxAgeMs);
  await db.insert(sessions).values({ tokenHash: hashToken(token), userId, expiresAt, ip: meta.ip, userAgent: meta.userAgent?.slice(0, 512) ?? null });
  return { token, expiresAt };
}

/** The live session behind a cookie token, or null when unknown, expired or the user is disabled. */
export async function findSession(db: Db, token: string): Promise<ActiveSession | null> {
  const tokenHash = hashToken(token);
  const rows = await db
    .select({ s: sessions, u: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.tokenHash, tokenHash), gt(sessions.expiresAt, new Date()), eq(users.disabled, false)));
  const row = rows[0];
  if (!row) return null;
  return {
    tokenHash,
    expiresAt: row.s.expiresAt,
    user: toSessionUser(row.u),
  };
}

export async function deleteSession(db: Db, tokenHash: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.tokenHash, tokenHash));
}

export async function pruneExpiredSessions(db: Db): Promise<void> {
  await db.delete(sessions).where(lt(sessions.expiresAt, new Date()));
}
