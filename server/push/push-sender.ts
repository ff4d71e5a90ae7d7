import fs from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { eq, sql } from 'drizzle-orm';
import webpush from 'web-push';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/database.ts';
import { pushSubscriptions } from '../db/schema/index.ts';
import type { PushPayload } from '../../src/lib/protocol/push.ts';
import type { PushKeys } from './push-keys.ts';
import { refusingPrivateLookup } from './endpoint-policy.ts';

export type SubscriptionRow = typeof pushSubscriptions.$inferSelect;
export type DeliveryOutcome = 'delivered' | 'gone' | 'failed';

export interface SendOptions {
  /** Seconds the push service keeps the message for an offline device. */
  ttlSeconds: number;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
  /** Replaces an undelivered message with the same topic at the push service (≤ 32 base64url characters). */
  topic?: string;
}

/**
 * Sends one encrypted push (RFC 8291 aes128gcm, VAPID RFC 8292) through `web-push`, and keeps the
 * subscription table honest: 404/410 from the push service means the device is gone and its row goes.
 */
export class PushSender {
  readonly #db: Db;
  readonly #keys: PushKeys;
  readonly #agent: https.Agent;
  readonly #log: FastifyBaseLogger;

  constructor(options: { db: Db; keys: PushKeys; log: FastifyBaseLogger; testCaFile: string | null; allowLoopback: boolean }) {
    this.#db = options.db;
    this.#keys = options.keys;
    this.#log = options.log;
    this.#agent = new https.Agent({
      keepAlive: true,
      // Endpoints come from browsers: never let one make the server POST into its own network.
      lookup: refusingPrivateLookup({ allowLoopback: options.allowLoopback }),
      // Tests run a push service on loopback with a self-signed certificate: trust its CA on top of the system's.
      ...(options.testCaFile ? { ca: [...tls.rootCertificates, fs.readFileSync(options.testCaFile, 'utf8')] } : {}),
    });
  }

  async send(subscription: SubscriptionRow, payload: PushPayload, options: SendOptions): Promise<DeliveryOutcome> {
    try {
      await webpush.sendNotification(
        { endpoint: subscription.endpoint, keys: { p256dh: subscription.p256dh, auth: subscription.auth } },
        JSON.stringify(payload),
        {
          vapidDetails: { subject: this.#keys.vapidSubject, publicKey: this.#keys.vapidPublicKey, privateKey: this.#keys.vapidPrivateKey },
          TTL: options.ttlSeconds,
          urgency: options.urgency,
          ...(options.topic ? { topic: options.topic } : {}),
          contentEncoding: 'aes128gcm',
          timeout: 10_000,
          agent: this.#agent,
        },
      );
      await this.#db
        .update(pushSubscriptions)
        .set({ lastSuccessAt: new Date(), failures: 0 })
        .where(eq(pushSubscriptions.id, subscription.id));
      return 'delivered';
    } catch (error) {
      const status = error instanceof webpush.WebPushError ? error.statusCode : null;
      if (status === 404 || status === 410) {
        await this.#db.delete(pushSubscriptions).where(eq(pushSubscriptions.id, subscription.id));
        this.#log.info({ subscriptionId: subscription.id, userId: subscription.userId, status }, 'push subscription gone: removed');
        return 'gone';
      }
      // The endpoint URL is a capability: log its service only.
      this.#log.warn(
        { subscriptionId: subscription.id, service: new URL(subscription.endpoint).host, status, err: status === null ? error : undefined },
        'push delivery failed',
      );
      await this.#db
        .update(pushSubscriptions)
        .set({ lastFailureAt: new Date(), failures: sql`${pushSubscriptions.failures} + 1` })
        .where(eq(pushSubscriptions.id, subscription.id));
      return 'failed';
    }
  }

  close(): void {
    this.#agent.destroy();
  }
}
