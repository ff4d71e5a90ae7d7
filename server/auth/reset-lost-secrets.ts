import { randomBytes } from 'node:crypto';
import { eq, isNotNull, sql } from 'drizzle-orm';
import webpush from 'web-push';
import { serverConnections, type Database } from '../db/database.ts';
import { pushKeys, pushSubscriptions, sources } from '../db/schema/index.ts';
import { BY_CLI, recordAudit, type AuditRecord } from '../audit/audit-log.ts';
import { DomainError } from '../errors.ts';
import { isSealed, StoredSecretError, type SecretBox, type SecretColumn } from './secret-box.ts';
import type { SecretsSetup } from './secret-key.ts';
import { noticeSourcesChanged } from '../ingest/source-lookup.ts';

/** What `watchfloor secrets reset` replaced and cleared. */
export interface SecretsReset {
  /** The key the new secrets are sealed with. */
  keyId: string;
  /** A new VAPID key pair was generated: phones must subscribe again. */
  vapidKeysReplaced: boolean;
  /** Device subscriptions deleted: they were made for the lost VAPID key and can receive nothing now. */
  devicesRemoved: number;
  /** A new push-action secret: Acknowledge links in notifications already sent no longer work. */
  actionSecretReplaced: boolean;
  /** Sources whose HMAC secret was cleared, by name: Grafana ones refuse webhooks until given a new one. */
  sourcesWithoutSecret: string[];
}

/** True when `value` can be used: stored in clear (the start seals it), or sealed with a key of `secrets`. */
async function opens(secrets: SecretBox, value: string, column: SecretColumn): Promise<boolean> {
  if (!isSealed(value)) return true;
  try {
    await secrets.open(value, column);
    return true;
  } catch (error) {
    if (error instanceof StoredSecretError) return false;
    throw error;
  }
}

/**
 * After the key that sealed the stored secrets is lost: replaces, in one transaction, every stored secret
 * that no key of `setup` opens, and only those. What can be regenerated is (a VAPID key pair, the
 * push-action secret); what cannot is cleared (Grafana's HMAC secrets, which live in Grafana too). Device
 * subscriptions made for the lost VAPID key are deleted: push services refuse pushes signed by another key,
 * and a phone that sees no subscription of its own offers to enable notifications again. Audit rows record it.
 * @throws DomainError when every stored secret opens (nothing is lost), or servers run on this Postgres.
 */
export async function resetLostSecrets(database: Database, setup: SecretsSetup): Promise<SecretsReset> {
  const connected = await serverConnections(database);
  if (connected > 0) {
    // A server that started opened the stored secrets: its key may be the one this would throw away.
    throw new DomainError(
      'conflict',
      `Watchfloor servers are connected to this database (${connected} connections), so their key opens the stored secrets: ` +
        'give this command the same key (WATCHFLOOR_SECRET_KEY) instead of resetting, or stop them if their key is the lost one',
    );
  }
  const { secrets } = setup;
  return database.db.transaction(async (tx) => {
    const done: SecretsReset = { keyId: secrets.keyId, vapidKeysReplaced: false, devicesRemoved: 0, actionSecretReplaced: false, sourcesWithoutSecret: [] };
    const audit: AuditRecord[] = [];
    for (const row of await tx.select().from(pushKeys).for('update')) {
      const vapidLost = !(await opens(secrets, row.vapidPrivateKey, 'push_keys.vapid_private_key'));
      const actionLost = !(await opens(secrets, row.actionTokenSecret, 'push_keys.action_token_secret'));
      if (!vapidLost && !actionLost) continue;
      const vapid = vapidLost ? webpush.generateVAPIDKeys() : null;
      await tx
        .update(pushKeys)
        .set({
          ...(vapid ? { vapidPublicKey: vapid.publicKey, vapidPrivateKey: await secrets.seal(vapid.privateKey, 'push_keys.vapid_private_key') } : {}),
          ...(actionLost ? { actionTokenSecret: await secrets.seal(randomBytes(32).toString('base64url'), 'push_keys.action_token_secret') } : {}),
        })
        .where(eq(pushKeys.id, row.id));
      done.vapidKeysReplaced ||= vapidLost;
      done.actionSecretReplaced ||= actionLost;
    }
    // With VAPID keys from the environment the stored pair signs nothing, and the phones' subscriptions still hold.
    if (done.vapidKeysReplaced && !setup.vapidFromEnvironment) {
      done.devicesRemoved = (await tx.delete(pushSubscriptions).returning({ id: pushSubscriptions.id })).length;
    }
    const signed = await tx
      .select({ id: sources.id, name: sources.name, format: sources.format, hmacSecret: sources.hmacSecret })
      .from(sources)
      .where(isNotNull(sources.hmacSecret))
      .orderBy(sources.name)
      .for('update');
    for (const source of signed) {
      if (await opens(secrets, source.hmacSecret!, 'sources.hmac_secret')) continue;
      // Only Grafana checks the secret; another format's was never used, so it need not refuse anything.
      await tx
        .update(sources)
        .set({ hmacSecret: null, hmacSecretLostAt: source.format === 'grafana' ? sql`now()` : null })
        .where(eq(sources.id, source.id));
      done.sourcesWithoutSecret.push(source.name);
      audit.push({ ...BY_CLI, action: 'source.hmac_secret_lost', entity: 'source', entityId: source.id, detail: { name: source.name, keyId: secrets.keyId } });
    }
    // Servers must not go on checking Grafana's signatures with the secrets they hold.
    if (done.sourcesWithoutSecret.length > 0) await noticeSourcesChanged(tx);
    if (!done.vapidKeysReplaced && !done.actionSecretReplaced && done.sourcesWithoutSecret.length === 0) {
      throw new DomainError(
        'conflict',
        `every stored secret opens with this process's keys (key id ${secrets.keyId}, from ${secrets.keyOrigin}): nothing is lost, nothing was reset. ` +
          'To replace the key, use `watchfloor secrets rotate-key`',
      );
    }
    const { keyId, ...what } = done;
    audit.unshift({ ...BY_CLI, action: 'secrets.reset', entity: 'secret_key', entityId: keyId, detail: what });
    await recordAudit(database, tx, audit);
    return done;
  });
}
