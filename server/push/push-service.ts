import { and, desc, eq } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { pushSettings, pushSubscriptions } from '../db/schema/index.ts';
import { DomainError } from '../errors.ts';
import type { IncidentChange } from '../realtime/coalesce.ts';
import {
  DEFAULT_PUSH_SETTINGS,
  PUSH_ACTION_TOKEN_TTL_SECONDS,
  type PushPayload,
  type PushSettings,
  type PushSubscriptionDto,
  type PushSubscriptionRequest,
  type PushTestResponse,
} from '../../src/lib/protocol/push.ts';
import { PushActionTokens } from './action-tokens.ts';
import { checkPushEndpoint } from './endpoint-policy.ts';
import { Pager, mapLimited } from './pager.ts';
import { loadPushKeys, type PushKeys } from './push-keys.ts';
import { PushSender } from './push-sender.ts';
import type { SecretBox } from '../auth/secret-box.ts';

type SubscriptionRow = typeof pushSubscriptions.$inferSelect;

function toSubscriptionDto(row: SubscriptionRow): PushSubscriptionDto {
  return {
    id: row.id,
    service: new URL(row.endpoint).host,
    userAgent: row.userAgent,
    createdAt: row.createdAt.toISOString(),
    lastSuccessAt: row.lastSuccessAt?.toISOString() ?? null,
  };
}

/**
 * Web Push for the phone: the server's keys, people's devices and paging settings, the pager that
 * follows committed incident changes, and the push-action tokens of the notifications' Acknowledge.
 */
export class PushService {
  readonly keys: PushKeys;
  readonly tokens: PushActionTokens;
  readonly pager: Pager;
  readonly #database: Database;
  readonly #sender: PushSender;
  readonly #allowLoopback: boolean;
  readonly #housekeeping: ReturnType<typeof setInterval>;

  private constructor(database: Database, keys: PushKeys, config: Config['push'], log: FastifyBaseLogger) {
    this.#database = database;
    this.keys = keys;
    this.#allowLoopback = config.allowLoopbackEndpoints;
    this.tokens = new PushActionTokens(database.db, keys.actionTokenSecret, PUSH_ACTION_TOKEN_TTL_SECONDS);
    this.#sender = new PushSender({ db: database.db, keys, log, testCaFile: config.testCaFile, allowLoopback: config.allowLoopbackEndpoints });
    this.pager = new Pager({ database, sender: this.#sender, tokens: this.tokens, log });
    this.#housekeeping = setInterval(() => {
      this.tokens.pruneSpent().catch((error: unknown) => log.warn({ err: error }, 'pruning spent push tokens failed'));
    }, 3600_000);
    this.#housekeeping.unref();
  }

  /** Loads (or, on the first start, generates and stores) the keys; `secrets` seals and opens the stored ones. */
  static async start(database: Database, secrets: SecretBox, config: Config['push'], log: FastifyBaseLogger): Promise<PushService> {
    return new PushService(database, await loadPushKeys(database.db, secrets, config), config, log);
  }

  /** Hand every committed change here, in commit order (next to the feed's publish). */
  committed(changes: IncidentChange[]): void {
    this.pager.committed(changes);
  }

  /**
   * Stores this device for `userId`. The endpoint identifies the device: subscribing again (new keys
   * after a browser refresh, or another user signing in on the same phone) replaces the row.
   */
  async subscribe(userId: string, request: PushSubscriptionRequest, userAgent: string | null): Promise<PushSubscriptionDto> {
    checkPushEndpoint(request.endpoint, { allowLoopback: this.#allowLoopback });
    const values = {
      userId,
      endpoint: request.endpoint,
      p256dh: request.keys.p256dh,
      auth: request.keys.auth,
      userAgent: userAgent?.slice(0, 512) ?? null,
    };
    const [row] = await this.#database.db
      .insert(pushSubscriptions)
      .values(values)
      .onConflictDoUpdate({
        target: pushSubscriptions.endpoint,
        set: { ...values, createdAt: new Date(), lastSuccessAt: null, lastFailureAt: null, failures: 0 },
      })
      .returning();
    return toSubscriptionDto(row);
  }

  /** Removes one of my devices by its endpoint (the browser knows it) or by id. */
  async unsubscribe(userId: string, which: { endpoint: string } | { id: string }): Promise<void> {
    const match = 'id' in which ? eq(pushSubscriptions.id, which.id) : eq(pushSubscriptions.endpoint, which.endpoint);
    const deleted = await this.#database.db
      .delete(pushSubscriptions)
      .where(and(match, eq(pushSubscriptions.userId, userId)))
      .returning({ id: pushSubscriptions.id });
    if (deleted.length === 0) throw new DomainError('not_found', 'no such device among yours');
  }

  async devices(userId: string): Promise<PushSubscriptionDto[]> {
    const rows = await this.#database.db
      .select()
      .from(pushSubscriptions)
      .where(eq(pushSubscriptions.userId, userId))
      .orderBy(desc(pushSubscriptions.createdAt));
    return rows.map(toSubscriptionDto);
  }

  /** A test notification to every device of mine. */
  async sendTest(userId: string): Promise<PushTestResponse> {
    const rows = await this.#database.db.select().from(pushSubscriptions).where(eq(pushSubscriptions.userId, userId));
    if (rows.length === 0) throw new DomainError('conflict', 'no device of yours receives notifications yet: enable them on your phone first');
    const payload: PushPayload = {
      v: 1,
      kind: 'test',
      title: 'Watchfloor test notification',
      body: 'Pages for your incidents will arrive like this.',
      tag: 'watchfloor-test',
      url: '/m',
      sentAt: new Date().toISOString(),
    };
    const outcomes = await mapLimited(rows, 8, (row) => this.#sender.send(row, payload, { ttlSeconds: 300, urgency: 'normal' }));
    return {
      delivered: outcomes.filter((o) => o === 'delivered').length,
      failed: outcomes.filter((o) => o === 'failed').length,
      removed: outcomes.filter((o) => o === 'gone').length,
    };
  }

  async settings(userId: string): Promise<PushSettings> {
    const [row] = await this.#database.db.select().from(pushSettings).where(eq(pushSettings.userId, userId));
    if (!row) return DEFAULT_PUSH_SETTINGS;
    return {
      minSeverity: row.minSeverity,
      quietHours: row.quietStart !== null && row.quietEnd !== null ? { start: row.quietStart, end: row.quietEnd } : null,
      timezone: row.timezone,
    };
  }

  async saveSettings(userId: string, settings: PushSettings): Promise<PushSettings> {
    const values = {
      minSeverity: settings.minSeverity,
      quietStart: settings.quietHours?.start ?? null,
      quietEnd: settings.quietHours?.end ?? null,
      timezone: settings.timezone,
      updatedAt: new Date(),
    };
    await this.#database.db
      .insert(pushSettings)
      .values({ userId, ...values })
      .onConflictDoUpdate({ target: pushSettings.userId, set: values });
    return settings;
  }

  async close(): Promise<void> {
    clearInterval(this.#housekeeping);
    await this.pager.close();
    this.#sender.close();
  }
}
