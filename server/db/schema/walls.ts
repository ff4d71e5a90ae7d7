import { sql } from 'drizzle-orm';
import { bigint, boolean, date, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { nodes, links } from './topology.ts';
import { incidents } from './incidents.ts';
import { users } from './users.ts';
import type { WallChime, WallPage } from '../../../src/lib/protocol/walls.ts';

/** A saved kiosk layout and the device token that opens it. */
export const walls = pgTable(
  'walls',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    /** Client slugs the wall shows; null means every client. */
    clients: text('clients').array(),
    /** Playlist: one page shows still; several rotate, each for its dwell time. */
    pages: jsonb('pages').$type<WallPage[]>().notNull(),
    chime: jsonb('chime').$type<WallChime>().notNull().default({ enabled: false, repeatMinutes: 5 }),
    pixelShift: boolean('pixel_shift').notNull().default(true),
    /** IANA zone the wall's heatmap counts days in; null: the server's (WATCHFLOOR_TIMEZONE). */
    timeZone: text('time_zone'),
    /** sha256 of the device token (high-entropy random secret); null once revoked. */
    tokenHash: text('token_hash'),
    tokenPrefix: text('token_prefix'),
    tokenCreatedAt: timestamp('token_created_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    version: integer('version').notNull().default(1),
  },
  (t) => [uniqueIndex('walls_token_hash_key').on(t.tokenHash)],
);

/** Nodes an operator placed by hand in /map: the automatic layout leaves them where they are. */
export const nodePins = pgTable('node_pins', {
  nodeId: uuid('node_id')
    .primaryKey()
    .references(() => nodes.id, { onDelete: 'cascade' }),
  pinnedBy: uuid('pinned_by').references(() => users.id, { onDelete: 'set null' }),
  pinnedAt: timestamp('pinned_at', { withTimezone: true }).notNull().defaultNow(),
});

/** When a link's utilisation was last reported (the value itself lives on the link). */
export const linkMetrics = pgTable('link_metrics', {
  linkId: uuid('link_id')
    .primaryKey()
    .references(() => links.id, { onDelete: 'cascade' }),
  utilisation: doublePrecision('utilisation').notNull(),
  reportedAt: timestamp('reported_at', { withTimezone: true }).notNull(),
});

/**
 * When each incident touched each node (a node named by one of its alerts): the open periods the
 * uptime roll-ups are computed from. Projected from the `changes` log by the uptime roller.
 */
export const uptimePeriods = pgTable(
  'uptime_periods',
  {
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    nodeId: uuid('node_id')
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    severity: text('severity').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    /** Null while the incident is open. */
    endedAt: timestamp('ended_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.incidentId, t.nodeId] }),
    index('uptime_periods_node_idx').on(t.nodeId, t.startedAt),
    index('uptime_periods_open_idx').on(t.nodeId).where(sql`ended_at is null`),
  ],
);

/**
 * Seconds per node and hour during which an open incident touched it: `down` while the worst was
 * critical, `degraded` while high or warning. No row = fully up. Maintained by the uptime roller
 * from incident open periods, read by the heatmap and the SLA report.
 */
export const uptimeHourly = pgTable(
  'uptime_hourly',
  {
    nodeId: uuid('node_id')
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    downSeconds: integer('down_seconds').notNull(),
    degradedSeconds: integer('degraded_seconds').notNull(),
  },
  (t) => [primaryKey({ columns: [t.nodeId, t.hour] }), index('uptime_hourly_hour_idx').on(t.hour)],
);

/**
 * The same per local day in a time zone: the sum of the hours whose start falls in that day (23 to 25
 * of them across a DST change). Kept for each zone in `uptime_daily_zones`, so each wall's 90-day
 * heatmap reads days cut at its own midnight.
 */
export const uptimeDaily = pgTable(
  'uptime_daily',
  {
    timeZone: text('time_zone').notNull(),
    nodeId: uuid('node_id')
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    day: date('day', { mode: 'string' }).notNull(),
    downSeconds: integer('down_seconds').notNull(),
    degradedSeconds: integer('degraded_seconds').notNull(),
  },
  (t) => [primaryKey({ columns: [t.timeZone, t.nodeId, t.day] }), index('uptime_daily_zone_day_idx').on(t.timeZone, t.day)],
);

/**
 * The zones whose days `uptime_daily` holds in full: the server's and those of walls that set their
 * own. The roller builds a zone's days from `uptime_hourly` when it is first wanted and drops them
 * when no longer; until then the heatmap sums the hours itself.
 */
export const uptimeDailyZones = pgTable('uptime_daily_zones', {
  timeZone: text('time_zone').primaryKey(),
  builtAt: timestamp('built_at', { withTimezone: true }).notNull().defaultNow(),
});

/** How far the roller has read the `changes` log, and when it last extended open periods to "now". */
export const uptimeRollerState = pgTable('uptime_roller_state', {
  id: text('id').primaryKey(),
  lastChangeId: bigint('last_change_id', { mode: 'number' }).notNull(),
  rolledAt: timestamp('rolled_at', { withTimezone: true }).notNull(),
});
