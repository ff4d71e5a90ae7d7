import { eq, isNotNull } from 'drizzle-orm';
import type { Database } from './database.ts';
import { pushKeys, sources } from './schema/index.ts';
import { isSealed, type SecretBox, type SecretColumn, type Sealed } from '../auth/secret-box.ts';

/**
 * The start-up step for the secret columns, in one transaction: values stored in clear by earlier
 * versions are encrypted, and every encrypted one is opened once, so a process given another key
 * than the one the stored secrets were sealed with stops here instead of failing later (or, worse,
 * generating new keys). Idempotent: a second run finds everything sealed and changes nothing. The
 * rows are locked, so several processes starting together on one Postgres encrypt them once.
 * @returns how many values were encrypted.
 * @throws StoredSecretError when a stored secret does not open with this process's key.
 */
export async function sealStoredSecrets(database: Database, secrets: SecretBox): Promise<number> {
  /** The sealed value to write in place of `value`, or null when it is sealed already (and opens). */
  async function sealIfPlain<C extends SecretColumn>(value: string, column: C): Promise<Sealed<C> | null> {
    if (!isSealed(value)) return secrets.seal(value, column);
    await secrets.open(value, column);
    return null;
  }

  return database.db.transaction(async (tx) => {
    let sealed = 0;
    for (const row of await tx.select().from(pushKeys).for('update')) {
      const vapidPrivateKey = await sealIfPlain(row.vapidPrivateKey, 'push_keys.vapid_private_key');
      const actionTokenSecret = await sealIfPlain(row.actionTokenSecret, 'push_keys.action_token_secret');
      if (vapidPrivateKey === null && actionTokenSecret === null) continue;
      await tx
        .update(pushKeys)
        .set({ vapidPrivateKey: vapidPrivateKey ?? row.vapidPrivateKey, actionTokenSecret: actionTokenSecret ?? row.actionTokenSecret })
        .where(eq(pushKeys.id, row.id));
      sealed += Number(vapidPrivateKey !== null) + Number(actionTokenSecret !== null);
    }
    const signed = await tx.select({ id: sources.id, hmacSecret: sources.hmacSecret }).from(sources).where(isNotNull(sources.hmacSecret)).for('update');
    for (const row of signed) {
      const hmacSecret = await sealIfPlain(row.hmacSecret!, 'sources.hmac_secret');
      if (hmacSecret === null) continue;
      await tx.update(sources).set({ hmacSecret }).where(eq(sources.id, row.id));
      sealed += 1;
    }
    return sealed;
  });
}
