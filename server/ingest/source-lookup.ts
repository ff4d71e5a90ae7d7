import { eq } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { sources } from '../db/schema/index.ts';
import { hashToken } from '../auth/tokens.ts';
import type { SecretBox } from '../auth/secret-box.ts';

/** A source as ingest uses it: its HMAC secret opened (decrypted) once per read, not per request. */
export type IngestingSource = Omit<typeof sources.$inferSelect, 'hmacSecret'> & { hmacSecret: string | null };

/**
 * How long a source looked up by token is trusted before it is read again. This process forgets its copies
 * when a source changes here; other server processes on the same database see a change after this long.
 */
export const SOURCE_CACHE_MS = 5000;

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
  /** Counts `forget()` calls: a read that began before one must not cache what it read. */
  #generation = 0;

  constructor(database: Database, secrets: SecretBox) {
    this.#database = database;
    this.#secrets = secrets;
  }

  /** The source whose token this is (enabled or not), or null for a token no source has. */
  async byToken(token: string): Promise<IngestingSource | null> {
    const tokenHash = hashToken(token);
    const hit = this.#cache.get(tokenHash);
    if (hit && Date.now() - hit.at < SOURCE_CACHE_MS) return hit.source;
    const generation = this.#generation;
    const [row] = await this.#database.db.select().from(sources).where(eq(sources.tokenHash, tokenHash));
    const source = row ? { ...row, hmacSecret: row.hmacSecret && (await this.#secrets.open(row.hmacSecret, 'sources.hmac_secret')) } : null;
    if (generation !== this.#generation) return source;
    if (this.#cache.size > MAX_CACHED) this.#cache.clear();
    this.#cache.set(tokenHash, { source, at: Date.now() });
    return source;
  }

  /** A source was changed in this process (token, enabled, HMAC secret): read every source afresh. */
  forget(): void {
    this.#generation += 1;
    this.#cache.clear();
  }
}
