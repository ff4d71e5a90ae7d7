import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';
import { SecretBox, StoredSecretError, secretKeyId, type SecretKeyMaterial } from './secret-box.ts';

/** The data-encryption keys of a process: the current one, the previous ones, and where they are kept. */
export interface SecretKeys {
  current: SecretKeyMaterial;
  /** Keys rotated out: they open what they sealed, and seal nothing. */
  previous: SecretKeyMaterial[];
  /**
   * `environment`: WATCHFLOOR_SECRET_KEY and WATCHFLOOR_SECRET_KEY_PREVIOUS, which the operator owns;
   * `key files`: `<data>/secret.key` and `<data>/previous-secret-keys/*.key`, which `secrets rotate-key` rewrites.
   */
  storedIn: 'environment' | 'key files';
  /** The key file this call created (a first start), else null. */
  generated: string | null;
}

const KEY_TEXT = /^[A-Za-z0-9_-]{43}$/;

/** Where the key file lives when WATCHFLOOR_SECRET_KEY is not set. */
export function secretKeyPath(dataDir: string): string {
  return path.join(dataDir, 'secret.key');
}

/** Where the key file's previous keys live: one file per key, named `<key id>.key` by `secrets rotate-key`. */
export function previousSecretKeysPath(dataDir: string): string {
  return path.join(dataDir, 'previous-secret-keys');
}

/**
 * The keys that encrypt stored secrets: WATCHFLOOR_SECRET_KEY (and WATCHFLOOR_SECRET_KEY_PREVIOUS) when set,
 * else the key file in the data folder (and the files in previous-secret-keys/). With `generate` (the
 * server's start, and `secrets reset`) a missing key file is created (mode 0600, the key in base64url,
 * the same text WATCHFLOOR_SECRET_KEY takes); an existing one is never overwritten here: a lost or replaced
 * key makes every stored secret unreadable.
 * @throws StoredSecretError when a key file does not hold a key, is readable by other users, or (without
 *   `generate`) does not exist.
 */
export function loadSecretKeys(config: Pick<Config, 'secretKey' | 'previousSecretKeys' | 'dataDir'>, { generate }: { generate: boolean }): SecretKeys {
  if (config.secretKey) {
    return {
      current: { key: config.secretKey, origin: 'WATCHFLOOR_SECRET_KEY' },
      previous: config.previousSecretKeys.map((key) => ({ key, origin: 'WATCHFLOOR_SECRET_KEY_PREVIOUS' })),
      storedIn: 'environment',
      generated: null,
    };
  }
  const file = secretKeyPath(config.dataDir);
  const keys = (current: Uint8Array, generated: string | null): SecretKeys => ({
    current: { key: current, origin: `the key file ${file}` },
    previous: readPreviousKeyFiles(config.dataDir),
    storedIn: 'key files',
    generated,
  });
  const existing = readKeyFile(file);
  if (existing) return keys(existing, null);
  if (!generate) throw new StoredSecretError(`there is no key file ${file}: the server creates it at its first start`);

  fs.mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(32);
  // Written completely beside the key file, then linked to its name: the link fails when the file
  // exists, so a key is never overwritten, and a process starting at the same moment reads a whole key.
  const draft = draftPath(file);
  writeDurably(draft, keyText(key));
  try {
    fs.linkSync(draft, file);
    syncFolder(config.dataDir);
    return keys(key, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return keys(readKeyFile(file)!, null); // another process created it first
  } finally {
    fs.rmSync(draft, { force: true });
  }
}

/**
 * Makes `newKey` the key file's key and keeps the key it replaces in previous-secret-keys/<its id>.key, both
 * 0600 and flushed to disk. The previous key is written first and the key file replaced by a rename, so
 * at every moment the old key is on disk, in one place or the other, and the key file holds one whole key.
 * @param oldKeyId the id of the key the file must hold now (the process's current key).
 * @returns the previous key's file.
 */
export function rotateKeyFile(dataDir: string, newKey: Uint8Array, oldKeyId: string): string {
  const file = secretKeyPath(dataDir);
  const oldKey = readKeyFile(file);
  if (!oldKey) throw new StoredSecretError(`there is no key file ${file}: the server creates it at its first start`);
  // Replaced behind the running process's back: rotating would throw away a key nobody has checked.
  if (secretKeyId(oldKey) !== oldKeyId) {
    throw new StoredSecretError(`the key file ${file} holds key id ${secretKeyId(oldKey)}, not the key this process runs with (key id ${oldKeyId}): restart the server, then rotate`);
  }
  const folder = previousSecretKeysPath(dataDir);
  fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
  const previousFile = path.join(folder, `${secretKeyId(oldKey)}.key`);
  let madePreviousFile = false;
  try {
    writeDurably(previousFile, keyText(oldKey));
    madePreviousFile = true;
    syncFolder(folder);
  } catch (error) {
    // Kept there already (put back by hand after a rotation): the same key, nothing to write.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !Buffer.from(readKeyFile(previousFile) ?? []).equals(Buffer.from(oldKey))) throw error;
  }
  const draft = draftPath(file);
  try {
    writeDurably(draft, keyText(newKey));
    fs.renameSync(draft, file);
  } catch (error) {
    // Not renamed, so the key file still holds the old key: a failed rotation leaves no file behind.
    if (madePreviousFile) fs.rmSync(previousFile, { force: true });
    throw error;
  } finally {
    fs.rmSync(draft, { force: true });
  }
  syncFolder(dataDir);
  return previousFile;
}

function readPreviousKeyFiles(dataDir: string): SecretKeyMaterial[] {
  const folder = previousSecretKeysPath(dataDir);
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StoredSecretError(`the folder of previous keys ${folder} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return names
    .filter((name) => name.endsWith('.key'))
    .sort()
    .flatMap((name) => {
      const file = path.join(folder, name);
      const key = readKeyFile(file);
      return key ? [{ key, origin: `the previous key file ${file}` }] : []; // gone since the listing
    });
}

function readKeyFile(file: string): Uint8Array | null {
  let text: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      refuseIfOthersMayRead(file, fs.fstatSync(fd).mode);
      text = fs.readFileSync(fd, 'utf8').trim();
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    if (error instanceof StoredSecretError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StoredSecretError(`the key file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // The content is not echoed: it may be a key with a typo.
  if (!KEY_TEXT.test(text)) throw new StoredSecretError(`the key file ${file} does not hold a key (32 bytes in base64url): restore it from your copy`);
  return Buffer.from(text, 'base64url');
}

/**
 * A key file that the group or everyone may read (or write) is refused, as ssh refuses such a private key
 * and Postgres such a server key: a key others can read protects nothing, and a warning in a log nobody
 * reads would leave it so. Checked on the open file, so what is checked is what is read. Windows has no
 * such mode bits.
 */
function refuseIfOthersMayRead(file: string, mode: number): void {
  if (process.platform === 'win32' || (mode & 0o077) === 0) return;
  throw new StoredSecretError(
    `the key file ${file} is open to other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): anyone who can read it can read the stored secrets. ` +
      `Allow its owner only (\`chmod 600 ${file}\`) and start again`,
  );
}

const keyText = (key: Uint8Array) => `${Buffer.from(key).toString('base64url')}\n`;
const draftPath = (file: string) => `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;

/** Creates `file` (0600) with `text` and flushes it to disk: a key must outlive a crash right after it is written. */
function writeDurably(file: string, text: string): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Flushes the folder's entries, so a key file's name is on disk too. */
function syncFolder(folder: string): void {
  const fd = fs.openSync(folder, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A process's secret keys as the `secrets …` commands work with them: a running server's own ring (so a
 * rotation it runs takes effect in it at once), or the ring the CLI loaded for the command.
 */
export interface SecretsSetup {
  secrets: SecretBox;
  storedIn: SecretKeys['storedIn'];
  dataDir: string;
  /** The key file the CLI created for this command (`secrets reset` with no key file), else null. */
  generated: string | null;
  /** VAPID_PUBLIC_KEY/VAPID_PRIVATE_KEY are set: phones' subscriptions do not depend on the stored pair. */
  vapidFromEnvironment: boolean;
  /** The ring is a running server's: what a command changes in it takes effect there at once. */
  runningServer: boolean;
}

/** Loads the keys `config` names into a SecretBox: what the server does at start and the CLI for `secrets …`. */
export async function openSecretKeys(config: Pick<Config, 'secretKey' | 'previousSecretKeys' | 'dataDir' | 'push'>, options: { generate: boolean }): Promise<SecretsSetup> {
  const keys = loadSecretKeys(config, options);
  return {
    secrets: await SecretBox.create(keys.current.key, keys.current.origin, keys.previous),
    storedIn: keys.storedIn,
    dataDir: config.dataDir,
    generated: keys.generated,
    vapidFromEnvironment: config.push.vapidPrivateKey !== null,
    runningServer: false,
  };
}
