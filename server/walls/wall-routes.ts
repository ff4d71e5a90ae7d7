import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../http/app-context.ts';
import { DomainError, parseOrThrow } from '../errors.ts';
import { sessionOf } from '../auth/authenticate.ts';
import { clients } from '../db/schema/index.ts';
import {
  createWallRequest,
  updateWallRequest,
  type WallDisplayDto,
  type WallDto,
  type WallWithTokenDto,
} from '../../src/lib/protocol/walls.ts';
import {
  createWall,
  deleteWall,
  getWallRow,
  isWallId,
  listWalls,
  revokeWallToken,
  rotateWallToken,
  toWallDto,
  updateWall,
  wallCookieName,
  wallForToken,
} from './wall-store.ts';
import { wallScope } from './wall-auth.ts';
import type { Tx } from '../db/database.ts';
import { auditBy, recordAudit } from '../audit/audit-log.ts';
import { actorFromRequest } from '../incidents/actor.ts';
import { databaseKnowsTimeZone } from '../uptime/uptime-days.ts';

const idParams = z.object({ id: z.string().uuid('must be a wall id') });
const openQuery = z.object({ token: z.string().min(1).max(200).optional() });

/** Chrome keeps cookies at most 400 days; the wall is re-opened with its link after that. */
const WALL_COOKIE_MAX_AGE_S = 400 * 86_400;

/**
 * Walls: admins and leads manage them; a wall screen opens with its device token once
 * (`GET /wall/<id>?token=…` → HttpOnly cookie → 303 to `/wall/<id>`), and reads what its panels need.
 */
export function wallRoutes(app: FastifyInstance, context: AppContext): void {
  const { database, revocations, news } = context;
  const db = database.db;
  /** The audit row of a lead's action on a wall, written in the change's own transaction (`tx`). */
  const audit = (request: FastifyRequest, tx: Tx, action: string, wall: WallDto, detail: Record<string, unknown> = {}) =>
    recordAudit(database, tx, { ...auditBy(actorFromRequest(request)), action, entity: 'wall', entityId: wall.id, detail });
  const lead = { config: { role: 'lead' as const } };
  const params = (request: FastifyRequest) => parseOrThrow(idParams, request.params, 'path').id;
  // The schema asked Intl; the roller will ask Postgres to cut days in it.
  const checkTimeZone = async (zone: string | null | undefined) => {
    if (zone && !(await databaseKnowsTimeZone(database, zone))) throw new DomainError('validation_failed', `timeZone: the database does not know the time zone ${zone}`, 'timeZone');
  };
  const withToken = (wall: WallDto, token: string): WallWithTokenDto => ({ wall, token, openPath: `/wall/${wall.id}?token=${encodeURIComponent(token)}` });

  app.get('/api/v1/walls', lead, async () => ({ walls: await listWalls(db) }));

  app.post('/api/v1/walls', lead, async (request, reply) => {
    const input = parseOrThrow(createWallRequest, request.body);
    await checkTimeZone(input.timeZone);
    const { wall, token } = await createWall(db, input, sessionOf(request).user.id, (tx, created) =>
      audit(request, tx, 'wall.create', created, { name: created.name, clients: created.clients, timeZone: created.timeZone }),
    );
    return reply.status(201).send(withToken(wall, token));
  });

  app.get('/api/v1/walls/:id', lead, async (request) => toWallDto(await getWallRow(db, params(request))));

  app.patch('/api/v1/walls/:id', lead, async (request) => {
    const id = params(request);
    const input = parseOrThrow(updateWallRequest, request.body);
    await checkTimeZone(input.timeZone);
    const summary = (w: WallDto) => ({ name: w.name, clients: w.clients, pages: w.pages.length, timeZone: w.timeZone });
    const { before, after: wall } = await updateWall(db, id, input, (tx, { before, after }) =>
      audit(request, tx, 'wall.update', after, { before: summary(before), after: summary(after) }),
    );
    // Its screens, on every server process, load the new layout; other clients need sockets scoped anew, so
    // those screens reconnect instead (and load the layout as they do).
    if (JSON.stringify(before.clients) !== JSON.stringify(wall.clients)) await revocations.end({ wallId: id, rescope: true, version: wall.version });
    else await news.tell({ kind: 'wall:changed', wallId: id, version: wall.version });
    return wall;
  });

  app.delete('/api/v1/walls/:id', lead, async (request, reply) => {
    const wall = await deleteWall(db, params(request), (tx, deleted) => audit(request, tx, 'wall.delete', deleted));
    // Past its last version: every screen of it ends, wherever it was opened.
    await revocations.end({ wallId: wall.id, reason: 'deleted', version: wall.version + 1 });
    return reply.status(204).send();
  });

  /** Rotate: a new device token (shown once); screens holding the old one, on every server process, are disconnected. */
  app.post('/api/v1/walls/:id/token', lead, async (request, reply) => {
    const { wall, token } = await rotateWallToken(db, params(request), (tx, rotated) =>
      audit(request, tx, 'wall.token_rotate', rotated, { tokenPrefix: rotated.tokenPrefix }),
    );
    await revocations.end({ wallId: wall.id, reason: 'rotated', version: wall.version });
    return reply.status(201).send(withToken(wall, token));
  });

  /** Revoke: no token opens the wall until a new one is issued; its screens, on every server process, are disconnected. */
  app.delete('/api/v1/walls/:id/token', lead, async (request) => {
    const wall = await revokeWallToken(db, params(request), (tx, revoked) => audit(request, tx, 'wall.token_revoke', revoked));
    await revocations.end({ wallId: wall.id, reason: 'revoked', version: wall.version });
    return wall;
  });

  /** What a wall screen loads first: its layout, its clients' names and targets. */
  app.get('/api/v1/walls/:id/display', { config: { wall: true } }, async (request): Promise<WallDisplayDto> => {
    const scope = await wallScope(db, request);
    const row = await getWallRow(db, scope.wallId);
    const clientRows = await db
      .select({ slug: clients.slug, name: clients.name, uptimeTarget: clients.uptimeTarget })
      .from(clients)
      .where(scope.clients === null ? sql`true` : scope.clients.length === 0 ? sql`false` : inArray(clients.slug, scope.clients))
      .orderBy(clients.name);
    const [{ demo }] = await database.rows<{ demo: boolean }>(sql`select exists (select 1 from clients where is_demo) as demo`);
    return {
      id: row.id,
      name: row.name,
      clients: scope.clients,
      pages: row.pages,
      chime: row.chime,
      pixelShift: row.pixelShift,
      clientInfo: clientRows,
      demo,
      serverTime: new Date().toISOString(),
    };
  });

  /**
   * The link a screen is opened with. The token becomes an HttpOnly cookie for this wall and leaves the
   * address bar at once (303), so the page's JavaScript never sees it and it is not kept in history.
   */
  app.get(
    '/wall/:id',
    { config: { public: true, rateLimit: { max: 30, timeWindow: 60_000 } } },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const { id } = request.params as { id: string };
      const { token } = parseOrThrow(openQuery, request.query, 'query');
      if (token === undefined) return reply.callNotFound(); // the app itself (the SPA shell)
      if (!isWallId(id)) throw new DomainError('not_found', 'no such wall');
      const wall = await wallForToken(db, id, token);
      void reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      if (!wall) {
        request.log.info({ wallId: id }, 'wall link refused');
        return reply
          .status(401)
          .type('text/html; charset=utf-8')
          .send(
            '<!doctype html><meta charset="utf-8"><title>Watchfloor wall</title><body style="background:#0b0f14;color:#e6edf3;font:24px system-ui;display:grid;place-items:center;height:100vh;margin:0">' +
              '<div><h1>This wall link is not valid</h1><p>The device token was revoked or replaced. Ask an admin or lead for the wall\'s current link.</p></div>',
          );
      }
      void reply.setCookie(wallCookieName(id), token, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: request.protocol === 'https',
        maxAge: WALL_COOKIE_MAX_AGE_S,
      });
      return reply.redirect(`/wall/${id}`, 303);
    },
  );
}
