import { randomBytes } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import type { AlsoInTransaction, Db } from '../db/database.ts';
import { sources } from '../db/schema/index.ts';
import type { CreateSourceRequest, SourceDto } from '../../src/lib/protocol/api.ts';
import { DomainError } from '../errors.ts';
import { hashToken, newSecret } from '../auth/tokens.ts';
import type { Sealed } from '../auth/secret-box.ts';
import { noticeSourcesChanged } from './source-lookup.ts';

function toDto(row: typeof sources.$inferSelect): SourceDto {
  return {
    id: row.id,
    name: row.name,
    format: row.format,
    tokenPrefix: row.tokenPrefix,
    defaultClient: row.defaultClient,
    mapping: row.mapping,
    rateLimitPerMinute: row.rateLimitPerMinute,
    enabled: row.enabled,
    hmacSecretStatus: row.hmacSecret !== null ? 'set' : row.hmacSecretLostAt !== null ? 'lost' : 'none',
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * PagerDuty senders expect a 32-character routing key, so pagerduty sources get 128 random bits in hex;
 * the others a prefixed 256-bit token.
 */
export function newSourceToken(format: CreateSourceRequest['format']): string {
  return format === 'pagerduty' ? randomBytes(16).toString('hex') : newSecret('wfs_');
}

/** The columns that hold a source's token: its hash, and its first characters to tell sources apart. */
function tokenColumns(token: string): { tokenHash: string; tokenPrefix: string } {
  return { tokenHash: hashToken(token), tokenPrefix: token.slice(0, 8) };
}

/** A source to create: its HMAC secret, if any, already sealed for its column (`SecretBox.seal`), never in clear. */
export type NewSource = Omit<CreateSourceRequest, 'hmacSecret'> & { hmacSecret?: Sealed<'sources.hmac_secret'> };

/** Creates a source and returns its token once; only its hash is stored. */
export async function addSource(db: Db, input: NewSource, afterward?: AlsoInTransaction<SourceDto>): Promise<{ source: SourceDto; token: string }> {
  const token = newSourceToken(input.format);
  const source = await db.transaction(async (tx) => {
    const inserted = await tx
      .insert(sources)
      .values({
        name: input.name,
        format: input.format,
        ...tokenColumns(token),
        defaultClient: input.client ?? null,
        mapping: { clientLabel: input.clientLabel ?? 'client', nodeLabel: input.nodeLabel ?? 'instance', groupBy: input.groupBy ?? [] },
        rateLimitPerMinute: input.rateLimitPerMinute ?? null,
        hmacSecret: input.hmacSecret ?? null,
      })
      .onConflictDoNothing()
      .returning();
    if (inserted.length === 0) throw new DomainError('conflict', `a source named ${input.name} already exists`, 'name');
    const created = toDto(inserted[0]);
    await afterward?.(tx, created);
    return created;
  });
  return { source, token };
}

export async function listSources(db: Db): Promise<SourceDto[]> {
  return (await db.select().from(sources).orderBy(asc(sources.name))).map(toDto);
}

/** The source named `name` (names are unique), or null: the CLI names sources, the API gives their ids. */
export async function findSourceByName(db: Db, name: string): Promise<SourceDto | null> {
  const [row] = await db.select().from(sources).where(eq(sources.name, name));
  return row ? toDto(row) : null;
}

/**
 * Changes one source in a transaction that holds its row: `change` sees it as it is and returns the columns to
 * set (null: it is so already, nothing is written or recorded; or throws to refuse), then `afterward` runs in the
 * same transaction, which tells every server process to read sources afresh when it commits.
 */
async function updateSource(
  db: Db,
  id: string,
  change: (found: typeof sources.$inferSelect) => Partial<typeof sources.$inferInsert> | null,
  afterward?: AlsoInTransaction<SourceDto>,
): Promise<SourceDto> {
  return db.transaction(async (tx) => {
    const [found] = await tx.select().from(sources).where(eq(sources.id, id)).for('update');
    if (!found) throw new DomainError('not_found', 'no such source');
    const columns = change(found);
    if (columns === null) return toDto(found);
    const [updated] = await tx.update(sources).set(columns).where(eq(sources.id, id)).returning();
    await noticeSourcesChanged(tx);
    const source = toDto(updated);
    await afterward?.(tx, source);
    return source;
  });
}

/**
 * Gives a Grafana source a new HMAC secret (already sealed), replacing the one it had or the one
 * `secrets reset` cleared: the source takes webhooks signed with it again.
 */
export async function setSourceHmacSecret(
  db: Db,
  id: string,
  hmacSecret: Sealed<'sources.hmac_secret'>,
  afterward?: AlsoInTransaction<SourceDto>,
): Promise<SourceDto> {
  return updateSource(
    db,
    id,
    (found) => {
      if (found.format !== 'grafana') throw new DomainError('conflict', `only Grafana sources check an HMAC signature; this one is ${found.format}`, 'hmacSecret');
      return { hmacSecret, hmacSecretLostAt: null };
    },
    afterward,
  );
}

/**
 * Gives a source a new token (a leaked one is replaced) and returns it once; the old one stops working when
 * this commits. Senders must be given the new token.
 */
export async function rotateSourceToken(db: Db, id: string, afterward?: AlsoInTransaction<SourceDto>): Promise<{ source: SourceDto; token: string }> {
  let token = '';
  const source = await updateSource(
    db,
    id,
    (found) => {
      token = newSourceToken(found.format); // its format decides its shape (a PagerDuty routing key)
      return tokenColumns(token);
    },
    afterward,
  );
  return { source, token };
}

/**
 * Disables a source (its token is refused, nothing it sends is stored) or enables it again; its token stays the
 * same. A source that is so already is left as it is, and nothing is recorded: a retried request changes nothing.
 */
export async function setSourceEnabled(db: Db, id: string, enabled: boolean, afterward?: AlsoInTransaction<SourceDto>): Promise<SourceDto> {
  return updateSource(db, id, (found) => (found.enabled === enabled ? null : { enabled }), afterward);
}
