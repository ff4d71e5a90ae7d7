import { boolean, doublePrecision, index, jsonb, pgTable, real, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** A tenant of the MSP. */
export const clients = pgTable('clients', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  timezone: text('timezone').notNull().default('UTC'),
  /** Target availability in percent, e.g. 99.9. */
  uptimeTarget: real('uptime_target').notNull().default(99.9),
  isDemo: boolean('is_demo').notNull().default(false),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const sites = pgTable(
  'sites',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clientId: uuid('client_id')
      .notNull()
      .references(() => clients.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    location: text('location'),
  },
  (t) => [uniqueIndex('sites_client_name_key').on(t.clientId, t.name)],
);

export const nodes = pgTable(
  'nodes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clientId: uuid('client_id')
      .notNull()
      .references(() => clients.id, { onDelete: 'cascade' }),
    siteId: uuid('site_id').references(() => sites.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    kind: text('kind').notNull().default('server'),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    /** Dependency parent: when it is down, this node's alerts are symptoms of the parent's incident. */
    parentId: uuid('parent_id'),
    x: doublePrecision('x'),
    y: doublePrecision('y'),
  },
  (t) => [uniqueIndex('nodes_client_name_key').on(t.clientId, t.name), index('nodes_parent_idx').on(t.parentId)],
);

export const links = pgTable(
  'links',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clientId: uuid('client_id')
      .notNull()
      .references(() => clients.id, { onDelete: 'cascade' }),
    fromNodeId: uuid('from_node_id')
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    toNodeId: uuid('to_node_id')
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    capacityMbps: real('capacity_mbps'),
    utilisation: real('utilisation'),
  },
  (t) => [uniqueIndex('links_pair_key').on(t.fromNodeId, t.toNodeId)],
);
