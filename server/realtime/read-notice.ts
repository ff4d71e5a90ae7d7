import type { z } from 'zod';
import type { FastifyBaseLogger } from 'fastify';

/**
 * A notice heard from another process (a `pg_notify` payload), read against its schema: null, and a warning, when
 * it is not one (another version's notice, or anything else sent on the channel). Notices are input like any other.
 */
export function readNotice<T>(payload: string, schema: z.ZodType<T>, log: FastifyBaseLogger, what: string): T | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    parsed = undefined;
  }
  const notice = schema.safeParse(parsed);
  if (notice.success) return notice.data;
  log.warn({ payload: payload.slice(0, 100) }, `unreadable ${what} notice`);
  return null;
}
