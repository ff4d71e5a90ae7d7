import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import webpush from 'web-push';
import type { Db } from '../db/database.ts';
import { pushKeys } from '../db/schema/index.ts';
import type { Config } from '../config.ts';
import type { SecretBox } from '../auth/secret-box.ts';

export interface PushKeys {
  vapidPublicKey: string;
  vapidPrivateKey: string;
  vapidSubject: string;
  /** HMAC key that signs push-action tokens. */
  actionTokenSecret: Uint8Array;
}

const ROW_ID = 'default';

/**
 * The server's push keys: VAPID from the environment when given, else the pair generated on the
 * first start and stored (several servers starting together agree on one: insert-if-absent, then read).
 * The action-token secret is always the stored one, so every server process verifies every token.
 * The private key and the secret are stored sealed by `secrets`.
 * @throws StoredSecretError when the stored keys were sealed with another key.
 */
export async function loadPushKeys(db: Db, secrets: SecretBox, config: Config['push']): Promise<PushKeys> {
  const generated = webpush.generateVAPIDKeys();
  await db
    .insert(pushKeys)
    .values({
      id: ROW_ID,
      vapidPublicKey: generated.publicKey,
      vapidPrivateKey: await secrets.seal(generated.privateKey, 'push_keys.vapid_private_key'),
      actionTokenSecret: await secrets.seal(randomBytes(32).toString('base64url'), 'push_keys.action_token_secret'),
    })
    .onConflictDoNothing();
  const [row] = await db.select().from(pushKeys).where(eq(pushKeys.id, ROW_ID));
  return {
    vapidPublicKey: config.vapidPublicKey ?? row.vapidPublicKey,
    vapidPrivateKey: config.vapidPrivateKey ?? (await secrets.open(row.vapidPrivateKey, 'push_keys.vapid_private_key')),
    vapidSubject: config.vapidSubject,
    actionTokenSecret: Buffer.from(await secrets.open(row.actionTokenSecret, 'push_keys.action_token_secret'), 'base64url'),
  };
}
