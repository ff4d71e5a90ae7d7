import { bigserial, index, integer, jsonb, pgSequence, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { sources } from './sources.ts';

/**
 * Append-only record of every normalised observation; pruned after the retention period.
 *
 * `source_id` names the source but is no foreign key: Postgres checks a foreign key once per inserted row, which
 * cost 8–13 % of the database's time per signal (bench:ingest-compare, bench:ingest-floor), for a cascade that never runs (sources are
 * disabled, never deleted) on rows nothing reads but the pruning job.
 */
export const signals = pgTable(
  'signals',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sourceId: uuid('source_id').notNull(),
    fingerprint: text('fingerprint').notNull(),
    status: text('status').notNull(),
    severity: text('severity').notNull(),
    summary: text('summary').notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('signals_received_idx').on(t.receivedAt)],
);

export const incidents = pgTable(
  'incidents',
  {
    id: uuid('id').primaryKey(),
    /** Short human number (#123) for people talking about an incident. */
    number: bigserial('number', { mode: 'number' }).notNull(),
    groupKey: text('group_key').notNull(),
    clientId: uuid('client_id'),
    client: text('client'),
    status: text('status', { enum: ['triggered', 'acknowledged', 'resolved'] }).notNull(),
    severity: text('severity').notNull(),
    summary: text('summary').notNull(),
    alertCount: integer('alert_count').notNull(),
    openAlertCount: integer('open_alert_count').notNull(),
    assigneeId: uuid('assignee_id'),
    /** Assigned to a team (alone or together with a person of it). */
    teamId: uuid('team_id'),
    /** Snoozed incidents leave the queue until this time, then return by themselves. */
    snoozedUntil: timestamp('snoozed_until', { withTimezone: true }),
    /** Set when merged into another incident; the merged one is resolved. */
    mergedIntoId: uuid('merged_into_id'),
    /** Distinct node names of member alerts, for the topology map. */
    nodes: text('nodes').array().notNull().default(sql`'{}'::text[]`),
    /** Labels of the alert that opened the incident: the console filters and shows them. */
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true }),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
    /** Optimistic concurrency: every write bumps it. */
    version: integer('version').notNull().default(1),
  },
  (t) => [
    index('incidents_open_idx').on(t.status, t.clientId).where(sql`status <> 'resolved'`),
    index('incidents_group_idx').on(t.groupKey, t.createdAt),
    uniqueIndex('incidents_number_key').on(t.number),
    // The wake-up timer looks for due snoozes.
    index('incidents_snoozed_idx').on(t.snoozedUntil).where(sql`snoozed_until is not null`),
    // Resolved lists, newest first (the queue's resolved state, the lead's handover): all clients, and
    // per client for a scoped list (see newestResolved in incident-queries.ts).
    index('incidents_resolved_idx').on(t.resolvedAt).where(sql`status = 'resolved'`),
    index('incidents_client_resolved_idx').on(t.client, t.resolvedAt).where(sql`status = 'resolved'`),
  ],
);

export const alerts = pgTable(
  'alerts',
  {
    id: uuid('id').primaryKey(),
    sourceId: uuid('source_id')
      .notNull()
      .references(() => sources.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    incidentId: uuid('incident_id').references(() => incidents.id, { onDelete: 'set null' }),
    status: text('status', { enum: ['firing', 'resolved'] }).notNull(),
    severity: text('severity').notNull(),
    summary: text('summary').notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    annotations: jsonb('annotations').$type<Record<string, string>>().notNull(),
    links: jsonb('links').$type<{ href: string; text: string }[]>().notNull(),
    client: text('client'),
    node: text('node'),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    count: integer('count').notNull(),
  },
  (t) => [uniqueIndex('alerts_source_fingerprint_key').on(t.sourceId, t.fingerprint), index('alerts_incident_idx').on(t.incidentId)],
);

export const timeline = pgTable(
  'timeline',
  {
    id: uuid('id').primaryKey(),
    incidentId: uuid('incident_id')
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true }).notNull(),
    actor: text('actor').notNull(),
    kind: text('kind').notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull(),
    /** Insertion order: entries of one change share `at` and must still read in the order they were written. */
    seq: bigserial('seq', { mode: 'number' }).notNull(),
  },
  (t) => [index('timeline_incident_idx').on(t.incidentId, t.at)],
);

/**
 * The global order of every state change. Written in the same transaction as the change;
 * its id tags snapshots and deltas so clients can detect gaps.
 */
export const changes = pgTable(
  'changes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    entity: text('entity').notNull(),
    entityId: text('entity_id').notNull(),
    clientId: uuid('client_id'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index('changes_at_idx').on(t.at)],
);

/** One number per change-writing transaction, in lock order (see ChangeWriter): tells whether another writer came between two. */
export const writerTurns = pgSequence('writer_turns');

export type ChangeId = typeof changes.$inferSelect.id;
