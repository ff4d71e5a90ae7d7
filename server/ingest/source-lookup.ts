import { eq, sql } from 'drizzle-orm';
import type { Database, Tx } from '../db/database.ts';
import { sources } from '../db/schema/index.ts';
import { hashToken } from '../auth/tokens.ts';
import type { SecretBox } from '../auth/secret-box.ts';

/** A source as ingest uses it: its HMAC secret opened (decrypted) once per read, not per request. */
export type IngestingSource = Omit<typeof sources.$inferSelect, 'hmacSecret'> & { hmacSecret: string | null };

/** The channel on which the transaction that changed a source (its token, enabled, HMAC secret) tells every server process. */
export const SOURCES_CHANNEL = 'watchfloor_sources_changed';

/**
 * Sent inside the transaction that changes sources, so every server process listening on Postgres hears of it
 * when, and only if, it commits, whoever made the change (a route, the CLI, `secrets reset`). The process that
 * made it forgets at once besides ({@link SourceLookup.forget}): on PGlite nobody listens.
 */
export async function noticeSourcesChanged(tx: Tx): Promise<void> {
  await tx.execute(sql`select pg_notify(${SOURCES_CHANNEL}, 'changed')`);
}

/** Unknown tokens are remembered too (a flood of bad ones costs no queries), so the copies are capped. */
const MAX_CACHED = 10_000;

/**
 * Sources by token, for ingest: a webhook storm must not read the sources table per request. Disabled sources
 * are found too, so ingest can say why it refuses them.
 */
export class SourceLookup {
  readonly #database: Database;
  readonly #secrets: SecretBox;
  readonly #cache = new Map<string, { source: IngestingSource | null; at: number }>();
  /**
   * How long a source looked up by token is trusted before it is read again (`SOURCE_CACHE_MS`). Every process
   * forgets its copies when a source changes, told by {@link SOURCES_CHANNEL}; this bounds a lost notice.
   */
  readonly #cacheMs: number;
  /** Counts `forget()` calls: a read that began before one must not cache what it read. */
  #generation = 0;

  constructor(options: { database: Database; secrets: SecretBox; cacheMs: number }) {
    this.#database = options.database;
    this.#secrets = options.secrets;
    this.#cacheMs = options.cacheMs;
  }

  /** The source whose token this is (enabled or not), or null for a token no source has. */
  async byToken(token: string): Promise<IngestingSource | null> {
    const tokenHash = hashToken(token);
    const hit = this.#cache.get(tokenHash);
    if (hit && Date.now() - hit.at < this.#cacheMs) return hit.source;
    const generation = this.#generation;
    const [row] = await this.#database.db.select().from(sources).where(eq(sources.tokenHash, tokenHash));
    const source = row ? { ...row, hmacSecret: row.hmacSecret && (await this.#secrets.open(row.hmacSecret, 'sources.hmac_secret')) } : null;
    if (generation !== this.#generation) return source;
    if (this.#cache.size > MAX_CACHED) this.#cache.clear();
    this.#cache.set(tokenHash, { source, at: Date.now() });
    return source;
  }

  /** Reads every source afresh: a source changed (in any process), or notices of it may have been lost. */
  forget(): void {
    this.#generation += 1;
    this.#cache.clear();
  }
}
