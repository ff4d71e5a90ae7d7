import { bigint, bigserial, boolean, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from './users.ts';
import { incidents } from './incidents.ts';
import type { Sealed } from '../../auth/secret-box.ts';

/**
 * One browser's push subscription (one device of one user). The endpoint is the device's address
 * at its push service and is unique: when another user signs in on the same device and enables
 * notifications, the row moves to them.
 */
export const pushSubscriptions = pgTable(
  'push_subscriptions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    endpoint: text('endpoint').notNull().unique(),
    /** The browser's P-256 public key and auth secret (base64url), for RFC 8291 encryption. */
    p256dh: text('p256dh').notNull(),
    auth: text('auth').notNull(),
    userAgent: text('user_agent'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
    lastFailureAt: timestamp('last_failure_at', { withTimezone: true }),
    /** Consecutive failed deliveries (not counting 404/410, which remove the row). */
    failures: integer('failures').notNull().default(0),
  },
  (t) => [index('push_subscriptions_user_idx').on(t.userId)],
);

/** Per-user paging preferences. No row: the defaults (high and above, no quiet hours, UTC). */
export const pushSettings = pgTable('push_settings', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  /** The least severity that pages this user. */
  minSeverity: text('min_severity', { enum: ['critical', 'high', 'warning', 'info'] })
    .notNull()
    .default('high'),
  /** Quiet hours as 'HH:MM' in `timezone`; both null means none. The range may cross midnight. */
  quietStart: text('quiet_start'),
  quietEnd: text('quiet_end'),
  timezone: text('timezone').notNull().default('UTC'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * The server's push keys, generated on first start (one row, id 'default'): the VAPID key pair that
 * identifies this server to push services, and the secret that signs push-action tokens. VAPID keys
 * given through the environment take precedence over the stored pair. The private key and the secret
 * are stored encrypted (server/auth/secret-box.ts); rows from before are encrypted at start.
 */
export const pushKeys = pgTable('push_keys', {
  id: text('id').primaryKey(),
  vapidPublicKey: text('vapid_public_key').notNull(),
  vapidPrivateKey: text('vapid_private_key').$type<Sealed<'push_keys.vapid_private_key'>>().notNull(),
  actionTokenSecret: text('action_token_secret').$type<Sealed<'push_keys.action_token_secret'>>().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Push-action tokens already spent: a token id is accepted once. Rows go after the token expires. */
export const pushActionTokensUsed = pgTable(
  'push_action_tokens_used',
  {
    jti: text('jti').primaryKey(),
    userId: uuid('user_id').notNull(),
    incidentId: uuid('incident_id').notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('push_action_tokens_used_expires_idx').on(t.expiresAt)],
);

/**
 * Where paging stands for each incident: one page per trigger episode (a new incident, or a
 * re-trigger after acknowledge/resolve) and one more per severity escalation inside it. `armed`
 * is true while the incident stays triggered after its page; any other status disarms it, so the
 * next trigger is a new episode.
 */
export const pushPageState = pgTable('push_page_state', {
  incidentId: uuid('incident_id')
    .primaryKey()
    .references(() => incidents.id, { onDelete: 'cascade' }),
  episode: integer('episode').notNull(),
  pagedSeverity: text('paged_severity', { enum: ['critical', 'high', 'warning', 'info'] }).notNull(),
  armed: boolean('armed').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Every page sent: which incident, why, who was paged and how many devices took it. */
export const pushPages = pgTable(
  'push_pages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    episode: integer('episode').notNull(),
    reason: text('reason', { enum: ['triggered', 'retriggered', 'escalated'] }).notNull(),
    severity: text('severity').notNull(),
    /** The change that caused the page. */
    changeId: bigint('change_id', { mode: 'number' }).notNull(),
    recipients: uuid('recipients').array().notNull(),
    delivered: integer('delivered').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('push_pages_incident_idx').on(t.incidentId, t.at)],
);
