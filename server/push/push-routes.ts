import { and, desc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../http/app-context.ts';
import { DomainError, parseOrThrow } from '../errors.ts';
import { sessionOf } from '../auth/authenticate.ts';
import { incidents, timeline, users } from '../db/schema/index.ts';
import type { Actor } from '../incidents/actor.ts';
import {
  deleteSubscriptionRequest,
  pushAcknowledgeRequest,
  pushSettingsRequest,
  pushSubscriptionRequest,
  type PushAcknowledgeResponse,
  type PushPublicKeyResponse,
} from '../../src/lib/protocol/push.ts';

const idParams = z.object({ id: z.uuid('must be a device id') });

/** Acknowledge attempts per minute per address: a token is 256 bits of HMAC, this only keeps noise down. */
const ACK_RATE_LIMIT = 60;

/**
 * /api/v1/push: the VAPID public key, my devices, my paging settings, a test notification, and the
 * notification's Acknowledge (public: the single-use push-action token is the credential).
 */
export function pushRoutes(app: FastifyInstance, { database, commands, push }: AppContext): void {
  const { db } = database;

  app.get('/api/v1/push/public-key', async () => {
    const response: PushPublicKeyResponse = { publicKey: push.keys.vapidPublicKey };
    return response;
  });

  app.get('/api/v1/push/subscriptions', async (request) => push.devices(sessionOf(request).user.id));

  app.post('/api/v1/push/subscriptions', async (request, reply) => {
    const session = sessionOf(request);
    const body = parseOrThrow(pushSubscriptionRequest, request.body);
    const device = await push.subscribe(session.user.id, body, request.headers['user-agent'] ?? null);
    return reply.status(201).send(device);
  });

  app.delete('/api/v1/push/subscriptions', async (request, reply) => {
    const { endpoint } = parseOrThrow(deleteSubscriptionRequest, request.body);
    await push.unsubscribe(sessionOf(request).user.id, { endpoint });
    return reply.status(204).send();
  });

  app.delete('/api/v1/push/subscriptions/:id', async (request, reply) => {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    await push.unsubscribe(sessionOf(request).user.id, { id });
    return reply.status(204).send();
  });

  app.post('/api/v1/push/test', { config: { rateLimit: { max: 10, timeWindow: 60_000 } } }, async (request) =>
    push.sendTest(sessionOf(request).user.id),
  );

  app.get('/api/v1/push/settings', async (request) => push.settings(sessionOf(request).user.id));

  app.put('/api/v1/push/settings', async (request) => {
    const body = parseOrThrow(pushSettingsRequest, request.body);
    return push.saveSettings(sessionOf(request).user.id, body);
  });

  app.post(
    '/api/v1/push/actions/acknowledge',
    { config: { public: true, rateLimit: { max: ACK_RATE_LIMIT, timeWindow: 60_000 } } },
    async (request) => {
      const { token } = parseOrThrow(pushAcknowledgeRequest, request.body);
      // Spent before acting: a replay racing the first use finds it spent and changes nothing.
      const claims = await push.tokens.redeem(token);
      const [user] = await db.select().from(users).where(eq(users.id, claims.userId));
      if (!user || user.disabled) throw new DomainError('unauthenticated', 'this notification belongs to an account that is no longer active');
      const actor: Actor = {
        userId: user.id,
        name: user.name,
        role: user.role,
        clients: user.clients,
        via: 'push',
        ip: request.ip,
        userAgent: request.headers['user-agent']?.slice(0, 512) ?? null,
      };
      try {
        const incident = await commands.acknowledge(actor, claims.incidentId, {});
        const response: PushAcknowledgeResponse = { result: 'acknowledged', incidentId: incident.id, number: incident.number, message: 'Acknowledged by you' };
        return response;
      } catch (error) {
        if (!(error instanceof DomainError) || error.code !== 'conflict') throw error;
        return explainConflict(claims.incidentId, user.id, error);
      }
    },
  );

  /** Why an acknowledgement could not happen, in words for the notification that replaces the page. */
  async function explainConflict(incidentId: string, userId: string, original: DomainError): Promise<PushAcknowledgeResponse> {
    const [incident] = await db
      .select({ id: incidents.id, number: incidents.number, status: incidents.status })
      .from(incidents)
      .where(eq(incidents.id, incidentId));
    if (!incident) throw original;
    if (incident.status === 'resolved') throw new DomainError('conflict', `#${incident.number} is already resolved`);
    if (incident.status !== 'acknowledged') throw original;
    const [last] = await db
      .select({ actor: timeline.actor, detail: timeline.detail })
      .from(timeline)
      .where(and(eq(timeline.incidentId, incidentId), eq(timeline.kind, 'acknowledged')))
      .orderBy(desc(timeline.at))
      .limit(1);
    const byId = last?.actor.startsWith('user:') ? last.actor.slice('user:'.length) : null;
    if (byId === userId) {
      return { result: 'already_acknowledged_by_you', incidentId, number: incident.number, message: 'Already acknowledged by you' };
    }
    const [by] = byId ? await db.select({ name: users.name }).from(users).where(eq(users.id, byId)) : [];
    const name = by?.name ?? (last ? last.actor.replace(/^source:/, '') : 'someone else');
    throw new DomainError('conflict', `#${incident.number} was already acknowledged by ${name}`);
  }
}
