import { boolean, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

import { SOURCE_FORMATS } from '../../../src/lib/protocol/api.ts';
import type { Sealed } from '../../auth/secret-box.ts';

export { SOURCE_FORMATS, type SourceFormat } from '../../../src/lib/protocol/api.ts';

/** An inbound integration. Its bearer token is stored only as a sha256 hash. */
export const sources = pgTable('sources', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique(),
  format: text('format', { enum: SOURCE_FORMATS }).notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  /** First characters of the token, to recognise it in lists without revealing it. */
  tokenPrefix: text('token_prefix').notNull(),
  defaultClient: text('default_client'),
  /** Label names that carry the client slug and the node name, and the labels incidents are grouped by. */
  mapping: jsonb('mapping')
    .$type<{ clientLabel: string; nodeLabel: string; groupBy: string[] }>()
    .notNull()
    .default({ clientLabel: 'client', nodeLabel: 'instance', groupBy: [] }),
  /** Grafana's webhook HMAC secret, encrypted (server/auth/secret-box.ts): verifying signatures needs it in clear. */
  hmacSecret: text('hmac_secret').$type<Sealed<'sources.hmac_secret'>>(),
  /**
   * Set when `secrets reset` cleared a Grafana source's HMAC secret (the key that opened it was lost): the
   * source refuses every webhook until an admin gives it a new secret, rather than take unsigned ones.
   */
  hmacSecretLostAt: timestamp('hmac_secret_lost_at', { withTimezone: true }),
  rateLimitPerMinute: integer('rate_limit_per_minute'),
  enabled: boolean('enabled').notNull().default(true),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
