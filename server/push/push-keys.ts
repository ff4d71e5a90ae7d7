import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import webpush from 'web-push';
import type { Db } from '../db/database.ts';
import { pushKeys } from '../db/schema/index.ts';
import type { Config } from '../config.ts';

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
 */
export async function loadPushKeys(db: Db, config: Config['push']): Promise<PushKeys> {
  const generated = webpush.generateVAPIDKeys();
  await db
    .insert(pushKeys)
    .values({
      id: ROW_ID,
      vapidPublicKey: generated.publicKey,
      vapidPrivateKey: generated.privateKey,
      actionTokenSecret: randomBytes(32).toString('base64url'),
    })
    .onConflictDoNothing();
  const [row] = await db.select().from(pushKeys).where(eq(pushKeys.id, ROW_ID));
  return {
    vapidPublicKey: config.vapidPublicKey ?? row.vapidPublicKey,
    vapidPrivateKey: config.vapidPrivateKey ?? row.vapidPrivateKey,
    vapidSubject: config.vapidSubject,
    actionTokenSecret: Buffer.from(row.actionTokenSecret, 'base64url'),
  };
}
