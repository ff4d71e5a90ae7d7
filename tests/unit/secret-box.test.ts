import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { CompactEncrypt } from 'jose';
import { SecretBox, StoredSecretError, isSealed, sealedKeyId, secretKeyId } from '../../server/auth/secret-box.ts';

const key = randomBytes(32);
const box = await SecretBox.create(key, 'the test key');

/** Flips one bit of the base64url part `part` (0 header, 2 IV, 3 ciphertext, 4 tag) of a compact JWE. */
function flipBit(sealed: string, part: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part], 'base64url');
  bytes[0] ^= 1;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

async function refusal(promise: Promise<unknown>): Promise<StoredSecretError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoredSecretError);
  return error as StoredSecretError;
}

describe('SecretBox', () => {
  it('round-trips any text, and never shows it in the sealed value', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }), async (plain) => {
        const sealed = await box.seal(plain, 'sources.hmac_secret');
        expect(isSealed(sealed)).toBe(true);
        if (plain.length >= 16) expect(sealed).not.toContain(plain);
        expect(await box.open(sealed, 'sources.hmac_secret')).toBe(plain);
      }),
      { numRuns: 100 },
    );
  });

  it('seals the same text differently each time (a fresh IV)', async () => {
    const a = await box.seal('same secret', 'push_keys.action_token_secret');
    const b = await box.seal('same secret', 'push_keys.action_token_secret');
    expect(a).not.toBe(b);
  });

  it('is a standard compact JWE (dir, A256GCM) naming its column and its key id, not the key', async () => {
    const sealed = await box.seal('x', 'push_keys.vapid_private_key');
    const header = JSON.parse(Buffer.from(sealed.split('.')[0], 'base64url').toString('utf8'));
    expect(header).toEqual({ alg: 'dir', enc: 'A256GCM', kid: box.keyId, col: 'push_keys.vapid_private_key' });
    expect(sealed.split('.')[1]).toBe(''); // direct encryption: no encrypted key
    expect(box.keyId).not.toContain(key.toString('base64url').slice(0, 8));
    expect(JSON.stringify(box)).not.toContain(key.toString('base64url'));
  });

  it('refuses a tampered value: header, IV, ciphertext or tag', async () => {
    const sealed = await box.seal('grafana-shared-secret', 'sources.hmac_secret');
    for (const part of [2, 3, 4]) {
      const error = await refusal(box.open(flipBit(sealed, part), 'sources.hmac_secret'));
      expect(error.message).toContain('altered');
    }
    // A header rewritten to claim another column still fails: the header is authenticated with the ciphertext.
    const parts = sealed.split('.');
    parts[0] = Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: box.keyId, col: 'push_keys.action_token_secret' })).toString('base64url');
    await refusal(box.open(parts.join('.'), 'push_keys.action_token_secret'));
  });

  it('refuses a value moved to another column', async () => {
    const sealed = await box.seal('grafana-shared-secret', 'sources.hmac_secret');
    const error = await refusal(box.open(sealed, 'push_keys.action_token_secret'));
    expect(error.message).toContain('sources.hmac_secret');
    expect(error.message).not.toContain('grafana-shared-secret');
  });

  it('refuses a value sealed with another key, telling the operator to give every process the same key', async () => {
    const other = await SecretBox.create(randomBytes(32), 'WATCHFLOOR_SECRET_KEY');
    expect(other.keyId).not.toBe(box.keyId);
    const sealed = await box.seal('grafana-shared-secret', 'sources.hmac_secret');
    const error = await refusal(other.open(sealed, 'sources.hmac_secret'));
    expect(error.message).toContain('encrypted with another key');
    expect(error.message).toContain('give every server process the same WATCHFLOOR_SECRET_KEY');
    expect(error.message).toContain(box.keyId);
    // … and what to do when that key is gone.
    expect(error.message).toContain('WATCHFLOOR_SECRET_KEY_PREVIOUS');
    expect(error.message).toContain('`watchfloor secrets reset --yes`');
    // The same key in another process (another box) opens it.
    const again = await SecretBox.create(key, 'the key file');
    expect(again.keyId).toBe(box.keyId);
    expect(await again.open(sealed, 'sources.hmac_secret')).toBe('grafana-shared-secret');
  });

  it('tells plain secrets stored before from sealed ones by shape', async () => {
    for (const plain of [randomBytes(32).toString('base64url'), 'grafana-shared-secret', 'a.b.c.d.e', 'eyJhbGciOiJIUzI1NiJ9..aa.bb.cc', '']) {
      expect(isSealed(plain), plain).toBe(false);
    }
    await refusal(box.open('grafana-shared-secret', 'sources.hmac_secret'));
  });
});

describe('SecretBox as a key ring: a current key and previous keys', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  it('opens values sealed with a previous key, and seals only with the current one', async () => {
    const before = await SecretBox.create(oldKey, 'the old key');
    const sealedBefore = await before.seal('grafana-shared-secret', 'sources.hmac_secret');
    const ring = await SecretBox.create(newKey, 'WATCHFLOOR_SECRET_KEY', [{ key: oldKey, origin: 'WATCHFLOOR_SECRET_KEY_PREVIOUS' }]);
    expect(ring.keyId).not.toBe(before.keyId);
    expect(ring.previousKeyIds).toEqual([before.keyId]);
    expect(await ring.open(sealedBefore, 'sources.hmac_secret')).toBe('grafana-shared-secret');
    expect(ring.sealedWithAnotherKey(sealedBefore)).toBe(true);

    const sealedNow = await ring.seal('grafana-shared-secret', 'sources.hmac_secret');
    expect(sealedKeyId(sealedNow)).toBe(ring.keyId);
    expect(ring.sealedWithAnotherKey(sealedNow)).toBe(false);
    // What the ring seals, the old key alone cannot open: the new key must reach every process first.
    await refusal(before.open(sealedNow, 'sources.hmac_secret'));
  });

  it('picks the key by the value’s key id and tries no other: a value whose header names one key of the ring but that another key sealed does not open', async () => {
    const ring = await SecretBox.create(newKey, 'current', [{ key: oldKey, origin: 'previous' }]);
    // Sealed (validly, header included) with the current key, under a header that names the previous one.
    const mislabelled = await new CompactEncrypt(new TextEncoder().encode('secret'))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: secretKeyId(oldKey), col: 'push_keys.action_token_secret' })
      .encrypt(new Uint8Array(newKey));
    // Trying every key would open it with the current key; picking by kid uses the previous key, which fails.
    const error = await refusal(ring.open(mislabelled, 'push_keys.action_token_secret'));
    expect(error.message).toContain('altered');
    // Labelled right, the same envelope opens.
    const labelled = await new CompactEncrypt(new TextEncoder().encode('secret'))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: ring.keyId, col: 'push_keys.action_token_secret' })
      .encrypt(new Uint8Array(newKey));
    expect(await ring.open(labelled, 'push_keys.action_token_secret')).toBe('secret');
  });

  it('names its previous keys when a value needs a key it lacks', async () => {
    const stranger = await SecretBox.create(randomBytes(32), 'a lost key');
    const sealed = await stranger.seal('x', 'push_keys.vapid_private_key');
    const ring = await SecretBox.create(newKey, 'WATCHFLOOR_SECRET_KEY', [{ key: oldKey, origin: 'WATCHFLOOR_SECRET_KEY_PREVIOUS' }]);
    const error = await refusal(ring.open(sealed, 'push_keys.vapid_private_key'));
    expect(error.message).toContain(`key id ${stranger.keyId}`);
    expect(error.message).toContain(`has key id ${ring.keyId}, its previous keys ${ring.previousKeyIds[0]}`);
  });

  it('takes the current key given among the previous ones as current only', async () => {
    const ring = await SecretBox.create(newKey, 'current', [{ key: newKey, origin: 'previous' }, { key: oldKey, origin: 'previous' }, { key: oldKey, origin: 'again' }]);
    expect(ring.keyOrigin).toBe('current');
    expect(ring.previousKeyIds).toHaveLength(1);
  });

  it('rotates in place: an accepted key opens at once, seals only once it is made current, and the old key keeps opening', async () => {
    const ring = await SecretBox.create(oldKey, 'old');
    const oldId = ring.keyId;
    const sealedOld = await ring.seal('old secret', 'sources.hmac_secret');
    const newId = await ring.acceptKey(newKey, 'new');
    expect(ring.keyId).toBe(oldId); // accepted: opens, does not seal yet
    const staged = ring.sealingWith(newId);
    const sealedNew = await staged.seal('new secret', 'sources.hmac_secret');
    expect(sealedKeyId(sealedNew)).toBe(newId);
    expect(await ring.open(sealedNew, 'sources.hmac_secret')).toBe('new secret');
    expect(sealedKeyId(await ring.seal('x', 'sources.hmac_secret'))).toBe(oldId);

    ring.useKey(newId);
    expect(ring.keyId).toBe(newId);
    expect(ring.previousKeyIds).toEqual([oldId]);
    expect(sealedKeyId(await ring.seal('x', 'sources.hmac_secret'))).toBe(newId);
    expect(await ring.open(sealedOld, 'sources.hmac_secret')).toBe('old secret');
    expect(() => ring.useKey('not-a-key-id')).toThrow();
  });
});
