import type { FastifyInstance } from 'fastify';
import { sql } from 'drizzle-orm';
import type { AppContext } from '../http/app-context.ts';
import { parseOrThrow } from '../errors.ts';
import { updateMeRequest } from '../../src/lib/protocol/console.ts';
import type { SessionResponse } from '../../src/lib/protocol/api.ts';
import { sessionOf } from '../auth/authenticate.ts';
import { auditBy, recordAudit } from '../audit/audit-log.ts';
import { actorFromRequest } from '../incidents/actor.ts';

/** A user's own settings: on shift (the lead sees it), chime for new criticals. */
export function meRoutes(app: FastifyInstance, { database }: AppContext): void {
  app.patch('/api/v1/session/me', async (request) => {
    const session = sessionOf(request);
    const patch = parseOrThrow(updateMeRequest, request.body);
    const [row] = await database.db.transaction(async (tx) => {
      const rows = await database.rows<{ on_shift: boolean; chime: boolean }>(
        sql`update users set on_shift = coalesce(${patch.onShift ?? null}::boolean, on_shift), chime = coalesce(${patch.chime ?? null}::boolean, chime),
              updated_at = now()
            where id = ${session.user.id}::uuid returning on_shift, chime`,
        tx,
      );
      await recordAudit(database, tx, { ...auditBy(actorFromRequest(request)), action: 'user.preferences', entity: 'user', entityId: session.user.id, detail: { changed: patch } });
      return rows;
    });
    const response: SessionResponse = {
      user: { ...session.user, onShift: row.on_shift, chime: row.chime },
      expiresAt: session.expiresAt.toISOString(),
    };
    return response;
  });
}
