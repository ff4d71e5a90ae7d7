import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSecretKey, secretKeyPath } from '../../server/auth/secret-key.ts';
import { StoredSecretError } from '../../server/auth/secret-box.ts';

const folders: string[] = [];
function dataDir(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-key-'));
  folders.push(folder);
  return folder;
}
afterEach(() => {
  for (const folder of folders.splice(0)) fs.rmSync(folder, { recursive: true, force: true });
});

describe('loadSecretKey', () => {
  it('takes WATCHFLOOR_SECRET_KEY when given, and then writes no key file', () => {
    const folder = dataDir();
    const key = Buffer.alloc(32, 3);
    expect(loadSecretKey({ secretKey: key, dataDir: folder })).toEqual({ key, origin: 'WATCHFLOOR_SECRET_KEY', generated: null });
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
    let error: unknown;
    try {
      loadSecretKey({ secretKey: null, dataDir: folder });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoredSecretError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).not.toContain('not-a-key-at-all');
    expect(fs.readFileSync(file, 'utf8')).toBe('not-a-key-at-all\n');
  });
});
