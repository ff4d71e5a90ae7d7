import { randomBytes } from 'node:crypto';
import { serverConnections, type Database } from '../db/database.ts';
import { resealStoredSecrets } from '../db/seal-stored-secrets.ts';
import { BY_CLI, recordAudit } from '../audit/audit-log.ts';
import { DomainError } from '../errors.ts';
import { rotateKeyFile, secretKeyPath, type SecretsSetup } from './secret-key.ts';

/** What `watchfloor secrets rotate-key` did. */
export interface KeyRotation {
  keyId: string;
  keyFile: string;
  previousKeyId: string;
  previousKeyFile: string;
  /** Stored secrets now sealed with the new key (all of them). */
  resealed: number;
}

/**
 * What an operator whose key is in WATCHFLOOR_SECRET_KEY does instead of `rotate-key`: the variable is theirs
 * to change. The order never leaves a process unable to read: every process learns the new key (as a
 * previous key) before any process seals with it.
 */
export const ROTATE_WITH_VARIABLES = `WATCHFLOOR_SECRET_KEY is set, so the key is yours to change: this command rewrites only the data folder's key file. To rotate:
  1. Make a new key: openssl rand -base64 32 | tr '+/' '-_' | tr -d '='
  2. Give every server process WATCHFLOOR_SECRET_KEY_PREVIOUS=<new key>, the current key unchanged, and restart them one by one.
     (With a single server process, skip this step.)
  3. Give every server process WATCHFLOOR_SECRET_KEY=<new key> and WATCHFLOOR_SECRET_KEY_PREVIOUS=<old key>, and restart them
     one by one: each re-seals the stored secrets with the new key as it starts, and those not yet restarted still open them.
  4. When \`watchfloor secrets status\` shows nothing sealed with the old key, remove WATCHFLOOR_SECRET_KEY_PREVIOUS
     and restart. Keep the old key as long as you keep database backups from before the rotation: restoring one needs it.`;

/**
 * Rotates the key file's key: a new key becomes current, the old one is kept as a previous key
 * (previous-secret-keys/<id>.key), and every stored secret is re-sealed with the new key in one
 * transaction, with its audit row. The key files are written last inside that transaction: if anything
 * fails before, nothing has changed (no row, no file). Should the commit itself fail after they were
 * written, the old key is among the previous keys, so nothing is unreadable and the next start re-seals.
 *
 * In a running server (the admin socket, on PGlite) its ring opens with the new key before the
 * transaction and seals with it after the commit, so its requests never meet a value they cannot open.
 * @throws DomainError when the key comes from WATCHFLOOR_SECRET_KEY, or servers run on this Postgres.
 * @throws StoredSecretError when a stored secret does not open with the current keys.
 */
export async function rotateSecretKey(database: Database, setup: SecretsSetup): Promise<KeyRotation> {
  if (setup.storedIn === 'environment') throw new DomainError('conflict', ROTATE_WITH_VARIABLES);
  const connected = await serverConnections(database);
  if (connected > 0) {
    // They hold the old key in memory and cannot be told the new one: they would stop opening what this re-seals.
    throw new DomainError(
      'conflict',
      `Watchfloor servers are connected to this database (${connected} connections): stop those that use this key file, rotate, then start them again. ` +
        'To rotate without stopping, give the servers their keys in WATCHFLOOR_SECRET_KEY and WATCHFLOOR_SECRET_KEY_PREVIOUS (README: Secrets at rest).',
    );
  }
  const { secrets, dataDir } = setup;
  const previousKeyId = secrets.keyId;
  const keyFile = secretKeyPath(dataDir);
  const newKey = randomBytes(32);
  const keyId = await secrets.acceptKey(newKey, `the key file ${keyFile}`);
  const { resealed, previousKeyFile } = await database.db.transaction(async (tx) => {
    const done = await resealStoredSecrets(tx, secrets.sealingWith(keyId));
    const resealed = done.resealed + done.encrypted;
    await recordAudit(database, tx, { ...BY_CLI, action: 'secrets.rotate_key', entity: 'secret_key', entityId: keyId, detail: { previousKeyId, resealed } });
    return { resealed, previousKeyFile: rotateKeyFile(dataDir, newKey, previousKeyId) };
  });
  secrets.useKey(keyId);
  return { keyId, keyFile, previousKeyId, previousKeyFile, resealed };
}
