import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';
import { StoredSecretError } from './secret-box.ts';

/** The data-encryption key and where it came from. */
export interface SecretKey {
  key: Uint8Array;
  /** For messages: "WATCHFLOOR_SECRET_KEY" or "the key file …". */
  origin: string;
  /** The key file this call created (a first start), else null. */
  generated: string | null;
}

const KEY_TEXT = /^[A-Za-z0-9_-]{43}$/;

/** Where the key file lives when WATCHFLOOR_SECRET_KEY is not set. */
export function secretKeyPath(dataDir: string): string {
  return path.join(dataDir, 'secret.key');
}

/**
 * The key that encrypts stored secrets: WATCHFLOOR_SECRET_KEY when set, else the key file in the data
 * folder, created on the first start (mode 0600, the key in base64url, the same text
 * WATCHFLOOR_SECRET_KEY takes) and never overwritten: a lost or replaced key makes every stored secret
 * unreadable.
 * @throws StoredSecretError when the key file exists but does not hold a key.
 */
export function loadSecretKey(config: Pick<Config, 'secretKey' | 'dataDir'>): SecretKey {
  if (config.secretKey) return { key: config.secretKey, origin: 'WATCHFLOOR_SECRET_KEY', generated: null };
  const file = secretKeyPath(config.dataDir);
  const origin = `the key file ${file}`;
  const existing = readKeyFile(file);
  if (existing) return { key: existing, origin, generated: null };

  fs.mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(32);
  // Written completely beside the key file, then linked to its name: the link fails when the file
  // exists, so a key is never overwritten, and a process starting at the same moment reads a whole key.
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeDurably(draft, `${key.toString('base64url')}\n`);
  try {
    fs.linkSync(draft, file);
    syncFolder(config.dataDir);
    return { key, origin, generated: file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { key: readKeyFile(file)!, origin, generated: null }; // another process created it first
  } finally {
    fs.rmSync(draft, { force: true });
  }
}

function readKeyFile(file: string): Uint8Array | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StoredSecretError(`the key file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // The content is not echoed: it may be a key with a typo.
  if (!KEY_TEXT.test(text)) throw new StoredSecretError(`the key file ${file} does not hold a key (32 bytes in base64url): restore it from your copy`);
  return Buffer.from(text, 'base64url');
}

/** Creates `file` (0600) with `text` and flushes it to disk: the key must outlive a crash right after the first start. */
function writeDurably(file: string, text: string): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Flushes the folder's entries, so the key file's name is on disk too. */
function syncFolder(folder: string): void {
  const fd = fs.openSync(folder, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
