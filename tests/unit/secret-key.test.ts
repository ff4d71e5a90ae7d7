import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSecretKeys, previousSecretKeysPath, rotateKeyFile, secretKeyPath } from '../../server/auth/secret-key.ts';
import { StoredSecretError, secretKeyId } from '../../server/auth/secret-box.ts';

const folders: string[] = [];
function dataDir(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-key-'));
  folders.push(folder);
  return folder;
}
afterEach(() => {
  for (const folder of folders.splice(0)) fs.rmSync(folder, { recursive: true, force: true });
});

/** What loadSecretKeys throws (a StoredSecretError), or a failure when it does not. */
function refusal(load: () => unknown): Error {
  let error: unknown;
  try {
    load();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(StoredSecretError);
  return error as Error;
}

const keyFile = (folder: string) => ({ secretKey: null, previousSecretKeys: [], dataDir: folder });
const loadSecretKey = (config: { secretKey: Uint8Array | null; dataDir: string }) => {
  const keys = loadSecretKeys({ previousSecretKeys: [], ...config }, { generate: true });
  return { key: keys.current.key, origin: keys.current.origin, generated: keys.generated };
};

describe('loadSecretKeys', () => {
  it('takes WATCHFLOOR_SECRET_KEY (and WATCHFLOOR_SECRET_KEY_PREVIOUS) when given, and then writes no key file', () => {
    const folder = dataDir();
    const key = Buffer.alloc(32, 3);
    const previous = [Buffer.alloc(32, 4), Buffer.alloc(32, 5)];
    expect(loadSecretKeys({ secretKey: key, previousSecretKeys: previous, dataDir: folder }, { generate: true })).toEqual({
      current: { key, origin: 'WATCHFLOOR_SECRET_KEY' },
      previous: previous.map((k) => ({ key: k, origin: 'WATCHFLOOR_SECRET_KEY_PREVIOUS' })),
      storedIn: 'environment',
      generated: null,
    });
    expect(fs.existsSync(secretKeyPath(folder))).toBe(false);
  });

  it('generates the key file once (mode 0600, the text WATCHFLOOR_SECRET_KEY takes), then reads it', () => {
    const folder = path.join(dataDir(), 'not-yet-created');
    const first = loadSecretKey({ secretKey: null, dataDir: folder });
    const file = secretKeyPath(folder);
    expect(first.generated).toBe(file);
    expect(first.origin).toBe(`the key file ${file}`);
    expect(first.key).toHaveLength(32);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${Buffer.from(first.key).toString('base64url')}\n`);
    expect(fs.readdirSync(folder)).toEqual(['secret.key']); // no draft left behind

    const second = loadSecretKey({ secretKey: null, dataDir: folder });
    expect(second.generated).toBeNull();
    expect(Buffer.from(second.key)).toEqual(Buffer.from(first.key));
  });

  it('refuses a key file that holds no key, without replacing it or repeating its content', () => {
    const folder = dataDir();
    const file = secretKeyPath(folder);
    fs.writeFileSync(file, 'not-a-key-at-all\n', { mode: 0o600 });
    const error = refusal(() => loadSecretKey({ secretKey: null, dataDir: folder }));
    expect(error.message).toContain(file);
    expect(error.message).not.toContain('not-a-key-at-all');
    expect(fs.readFileSync(file, 'utf8')).toBe('not-a-key-at-all\n');
  });

  it('creates no key file without `generate` (status, rotate-key): it says there is none', () => {
    const folder = dataDir();
    const error = refusal(() => loadSecretKeys(keyFile(folder), { generate: false }));
    expect(error.message).toContain(`there is no key file ${secretKeyPath(folder)}`);
    expect(fs.readdirSync(folder)).toEqual([]);
  });

  it.runIf(process.platform !== 'win32').each([
    ['0644', 0o644],
    ['0640', 0o640],
    ['0604', 0o604],
    ['0620', 0o620],
    ['0660', 0o660],
  ])('refuses a key file with mode %s (others may read or write it), telling how to fix it', (_, mode) => {
    const folder = dataDir();
    const file = secretKeyPath(folder);
    const key = Buffer.alloc(32, 6);
    fs.writeFileSync(file, `${key.toString('base64url')}\n`);
    fs.chmodSync(file, mode);
    const error = refusal(() => loadSecretKeys(keyFile(folder), { generate: true }));
    expect(error.message).toContain(`the key file ${file} is open to other users (mode 0${mode.toString(8)})`);
    expect(error.message).toContain(`chmod 600 ${file}`);
    expect(error.message).not.toContain(key.toString('base64url'));
    // Owner-only modes are fine, read-only too.
    for (const fine of [0o600, 0o400]) {
      fs.chmodSync(file, fine);
      expect(Buffer.from(loadSecretKeys(keyFile(folder), { generate: false }).current.key)).toEqual(key);
    }
  });

  it('reads the previous keys kept in previous-secret-keys/ (*.key, each checked like the key file)', () => {
    const folder = dataDir();
    const current = Buffer.alloc(32, 1);
    fs.writeFileSync(secretKeyPath(folder), `${current.toString('base64url')}\n`, { mode: 0o600 });
    const previousFolder = previousSecretKeysPath(folder);
    fs.mkdirSync(previousFolder);
    const older = Buffer.alloc(32, 2);
    const old = Buffer.alloc(32, 3);
    fs.writeFileSync(path.join(previousFolder, 'a-older.key'), `${older.toString('base64url')}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(previousFolder, 'b-old.key'), `${old.toString('base64url')}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(previousFolder, 'README.txt'), 'not a key file');
    const keys = loadSecretKeys(keyFile(folder), { generate: false });
    expect(keys.storedIn).toBe('key files');
    expect(Buffer.from(keys.current.key)).toEqual(current);
    expect(keys.previous.map((p) => Buffer.from(p.key))).toEqual([older, old]);
    expect(keys.previous[1].origin).toBe(`the previous key file ${path.join(previousFolder, 'b-old.key')}`);

    fs.chmodSync(path.join(previousFolder, 'b-old.key'), 0o644);
    expect(refusal(() => loadSecretKeys(keyFile(folder), { generate: false })).message).toContain('b-old.key is open to other users');
  });
});

describe('rotateKeyFile', () => {
  it('puts the new key in the key file and keeps the old one as previous-secret-keys/<its id>.key, both 0600', () => {
    const folder = dataDir();
    const first = loadSecretKeys(keyFile(folder), { generate: true });
    const next = Buffer.alloc(32, 8);
    const previousFile = rotateKeyFile(folder, next, secretKeyId(first.current.key));
    expect(previousFile).toBe(path.join(previousSecretKeysPath(folder), `${secretKeyId(first.current.key)}.key`));
    for (const file of [secretKeyPath(folder), previousFile]) expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const after = loadSecretKeys(keyFile(folder), { generate: false });
    expect(Buffer.from(after.current.key)).toEqual(next);
    expect(after.previous.map((p) => Buffer.from(p.key))).toEqual([Buffer.from(first.current.key)]);
    expect(fs.readdirSync(folder).sort()).toEqual(['previous-secret-keys', 'secret.key']); // no draft left behind
  });

  it('refuses to rotate a key file that no longer holds the key the process runs with, and changes nothing', () => {
    const folder = dataDir();
    const first = loadSecretKeys(keyFile(folder), { generate: true });
    const text = fs.readFileSync(secretKeyPath(folder), 'utf8');
    let error: unknown;
    try {
      rotateKeyFile(folder, Buffer.alloc(32, 8), secretKeyId(Buffer.alloc(32, 9)));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoredSecretError);
    expect((error as Error).message).toContain(`holds key id ${secretKeyId(first.current.key)}`);
    expect(fs.readFileSync(secretKeyPath(folder), 'utf8')).toBe(text);
    expect(fs.existsSync(previousSecretKeysPath(folder))).toBe(false);
  });
});
