import { eq, isNotNull, sql } from 'drizzle-orm';
import type { Database, Tx } from './database.ts';
import { pushKeys, sources } from './schema/index.ts';
import { isSealed, sealedKeyId, type SecretBox, type SecretColumn, type Sealed } from '../auth/secret-box.ts';
import { recordAudit } from '../audit/audit-log.ts';

/** What a pass over the secret columns did. */
export interface ResealedSecrets {
  /** Values stored in clear by earlier versions, now encrypted. */
  encrypted: number;
  /** Values sealed with a previous key, now sealed with the current one. */
  resealed: number;
  /** The previous keys those values were sealed with. */
  fromKeyIds: string[];
}

/**
 * In `tx`, every secret column brought under `secrets`' current key: values in clear are sealed, values
 * sealed with a previous key are opened with it (chosen by their key id) and sealed again with the
 * current key, and values already sealed with the current key are opened once, as a check. The rows are
 * locked, so several processes starting together on one Postgres re-seal them once.
 * @throws StoredSecretError when a value does not open with any key of `secrets`: the transaction is then
 *   rolled back by the caller, and nothing has changed.
 */
export async function resealStoredSecrets(tx: Tx, secrets: SecretBox): Promise<ResealedSecrets> {
  const done: ResealedSecrets = { encrypted: 0, resealed: 0, fromKeyIds: [] };
  /** The sealed value to write in place of `value`, or null when it is sealed with the current key already (and opens). */
  async function bringUnderCurrentKey<C extends SecretColumn>(value: string, column: C): Promise<Sealed<C> | null> {
    if (!isSealed(value)) {
      done.encrypted += 1;
      return secrets.seal(value, column);
    }
    const plain = await secrets.open(value, column);
    if (!secrets.sealedWithAnotherKey(value)) return null;
    done.resealed += 1;
    const from = sealedKeyId(value)!;
    if (!done.fromKeyIds.includes(from)) done.fromKeyIds.push(from);
    return secrets.seal(plain, column);
  }

  for (const row of await tx.select().from(pushKeys).for('update')) {
    const vapidPrivateKey = await bringUnderCurrentKey(row.vapidPrivateKey, 'push_keys.vapid_private_key');
    const actionTokenSecret = await bringUnderCurrentKey(row.actionTokenSecret, 'push_keys.action_token_secret');
    if (vapidPrivateKey === null && actionTokenSecret === null) continue;
    await tx
      .update(pushKeys)
      .set({ vapidPrivateKey: vapidPrivateKey ?? row.vapidPrivateKey, actionTokenSecret: actionTokenSecret ?? row.actionTokenSecret })
      .where(eq(pushKeys.id, row.id));
  }
  const signed = await tx.select({ id: sources.id, hmacSecret: sources.hmacSecret }).from(sources).where(isNotNull(sources.hmacSecret)).for('update');
  for (const row of signed) {
    const hmacSecret = await bringUnderCurrentKey(row.hmacSecret!, 'sources.hmac_secret');
    if (hmacSecret !== null) await tx.update(sources).set({ hmacSecret }).where(eq(sources.id, row.id));
  }
  return done;
}

/**
 * The start-up step for the secret columns, in one transaction (resealStoredSecrets): a process given
 * another key than the one the stored secrets were sealed with stops here instead of failing later (or,
 * worse, generating new keys), and one given a new current key with the old one as previous re-seals
 * everything under the new key, recorded in the audit log. Idempotent: a second run changes nothing.
 * @throws StoredSecretError when a stored secret does not open with this process's keys.
 */
export async function sealStoredSecrets(database: Database, secrets: SecretBox): Promise<ResealedSecrets> {
  return database.db.transaction(async (tx) => {
    const done = await resealStoredSecrets(tx, secrets);
    if (done.resealed > 0) {
      await recordAudit(database, tx, {
        actor: 'system',
        actorName: 'Watchfloor',
        action: 'secrets.reseal',
        entity: 'secret_key',
        entityId: secrets.keyId,
        detail: { resealed: done.resealed, fromKeyIds: done.fromKeyIds, keyFrom: secrets.keyOrigin },
        ip: null,
        userAgent: null,
      });
    }
    return done;
  });
}

/** How many values of one secret column are sealed with one key (`keyId` null: stored in clear). */
export interface StoredSecretCount {
  column: SecretColumn;
  keyId: string | null;
  count: number;
}

/** Which keys the stored secrets are sealed with, by column, as their headers say (nothing is opened). */
export async function countStoredSecretsByKey(database: Database): Promise<StoredSecretCount[]> {
  const rows = await database.rows<{ column: SecretColumn; value: string }>(sql`
    select 'push_keys.vapid_private_key' as "column", vapid_private_key as value from push_keys
    union all select 'push_keys.action_token_secret', action_token_secret from push_keys
    union all select 'sources.hmac_secret', hmac_secret from sources where hmac_secret is not null`);
  const counts: StoredSecretCount[] = [];
  for (const { column, value } of rows) {
    const keyId = isSealed(value) ? sealedKeyId(value) : null;
    const found = counts.find((c) => c.column === column && c.keyId === keyId);
    if (found) found.count += 1;
    else counts.push({ column, keyId, count: 1 });
  }
  return counts;
}
