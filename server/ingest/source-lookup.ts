import { eq, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.ts';
import { sources } from '../db/schema/index.ts';
import { hashToken } from '../auth/tokens.ts';
import type { SecretBox } from '../auth/secret-box.ts';

/** A source as ingest uses it: its HMAC secret opened (decrypted) once per read, not per request. */
export type IngestingSource = Omit<typeof sources.$inferSelect, 'hmacSecret'> & { hmacSecret: string | null };

/**
 * How long a source looked up by token is trusted before it is read again (`SOURCE_CACHE_MS`). Every process
 * forgets its copies when a source changes, told by {@link SOURCES_CHANNEL}; this bounds a lost notice.
 */
export const SOURCE_CACHE_MS = 5000;

/** The channel on which a process that changed a source (its token, enabled, HMAC secret) tells the others. */
export const SOURCES_CHANNEL = 'watchfloor_sources_changed';

/** Tells every server process on the database to read sources afresh (a no-op on PGlite: no other process). */
export async function announceSourcesChanged(database: Database): Promise<void> {
  if (database.kind !== 'postgres') return;
  await database.rows(sql`select pg_notify(${SOURCES_CHANNEL}, 'changed')`);
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
  readonly #log: FastifyBaseLogger;
  readonly #cacheMs: number;
  /** Counts `forget()` calls: a read that began before one must not cache what it read. */
  #generation = 0;

  constructor(options: { database: Database; secrets: SecretBox; log: FastifyBaseLogger; cacheMs?: number }) {
    this.#database = options.database;
    this.#secrets = options.secrets;
    this.#log = options.log;
    this.#cacheMs = options.cacheMs ?? SOURCE_CACHE_MS;
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

  /**
   * A source was changed in this process (token, enabled, HMAC secret): read every source afresh, here at once
   * and in the other server processes as soon as they hear of it. Never throws: the change is committed, and
   * the others read sources again within their cache's lifetime anyway.
   */
  async changed(): Promise<void> {
    this.forget();
    try {
      await announceSourcesChanged(this.#database);
    } catch (error) {
      this.#log.warn({ err: error }, 'could not tell the other server processes that a source changed');
    }
  }

  /** Reads every source afresh: a source changed (in any process), or notices of it may have been lost. */
  forget(): void {
    this.#generation += 1;
    this.#cache.clear();
  }
}
