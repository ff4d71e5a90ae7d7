import { createHash } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, type CompactDecryptResult, type ProtectedHeaderParameters } from 'jose';

/**
 * Every column that holds a secret the server must read back in clear. Each sealed value names its
 * column in its authenticated header, so a value copied into another column does not open there.
 */
export type SecretColumn = 'push_keys.vapid_private_key' | 'push_keys.action_token_secret' | 'sources.hmac_secret';

declare const sealedFor: unique symbol;
/** A secret sealed by a SecretBox for `C`: what the secret columns hold (see their schema). */
export type Sealed<C extends SecretColumn> = string & { readonly [sealedFor]: C };

/** A stored secret this process cannot use: sealed with another key, altered, moved from another column, or a key file that holds no key. */
export class StoredSecretError extends Error {}

/** A data-encryption key (32 bytes) and where it came from, for messages ("WATCHFLOOR_SECRET_KEY", "the key file …"). */
export interface SecretKeyMaterial {
  key: Uint8Array;
  origin: string;
}

/** What an operator can do when no key of a process opens the stored secrets: the start-up refusal ends with it. */
export const ANOTHER_KEY_ADVICE =
  'give every server process the same WATCHFLOOR_SECRET_KEY, and a key replaced since as a previous key ' +
  '(WATCHFLOOR_SECRET_KEY_PREVIOUS, or a file in the data folder’s previous-secret-keys/); ' +
  'if that key is lost for good, `watchfloor secrets reset --yes` replaces what it protected';

const ALG = 'dir';
const ENC = 'A256GCM';
/** A compact JWE with direct encryption: protected header, an empty encrypted key, IV, ciphertext, tag. */
const COMPACT_DIRECT_JWE = /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/;

/**
 * True when `value` has the shape of a value a SecretBox sealed (whatever its key), false for the plain
 * text stored before secrets were encrypted. Plain secrets (base64url keys, Grafana's shared secrets)
 * are not compact JWEs whose header says `dir`/`A256GCM` and names a column.
 */
export function isSealed(value: string): boolean {
  return sealedHeader(value) !== null;
}

/**
 * The id of the key a sealed value says it was sealed with (its header's `kid`), null when `value` is not
 * sealed. Not authenticated until the value is opened: good for counting and choosing, not for trusting.
 */
export function sealedKeyId(value: string): string | null {
  const kid = sealedHeader(value)?.kid;
  return typeof kid === 'string' ? kid : null;
}

/** The (not yet authenticated) header of a sealed value; null when `value` is not one. */
function sealedHeader(value: string): ProtectedHeaderParameters | null {
  if (!COMPACT_DIRECT_JWE.test(value)) return null;
  try {
    const header = decodeProtectedHeader(value);
    return header.alg === ALG && header.enc === ENC && typeof header.col === 'string' ? header : null;
  } catch {
    return null;
  }
}

/** Identifies a key without revealing it: the same in every process that has the key. */
export function secretKeyId(key: Uint8Array): string {
  return createHash('sha256').update('watchfloor secret key id\0').update(key).digest().subarray(0, 9).toString('base64url');
}

interface RingKey {
  cryptoKey: CryptoKey;
  origin: string;
}

/**
 * Encrypts secrets for the database and opens them again: AES-256-GCM with the server's data-encryption
 * key, as a compact JWE (RFC 7516, `alg: dir`, `enc: A256GCM`) made by jose rather than by hand: a
 * standard envelope with a fresh IV per value, whose protected header is authenticated with the
 * ciphertext. The header carries the column the value belongs to (`col`) and the key's id (`kid`, a
 * hash of the key: it tells "another key" from "altered" and reveals nothing of the key).
 *
 * A key ring: the current key seals and opens; previous keys (a key being rotated out) only open. The
 * `kid` picks the one key that opens a value, so a value is never tried against every key, and a header
 * that names the wrong key fails as altered.
 *
 * Keys live in non-extractable CryptoKeys: they cannot be read back out of this object, so neither
 * this object nor a log line that includes it shows a key.
 */
export class SecretBox {
  #currentKeyId: string;
  /** Every key this box opens with, by id; the current one among them. */
  readonly #keys: Map<string, RingKey>;

  private constructor(keys: Map<string, RingKey>, currentKeyId: string) {
    this.#keys = keys;
    this.#currentKeyId = currentKeyId;
  }

  /**
   * A box for a 32-byte key, which seals and opens, and previous keys, which only open.
   * @param keyOrigin where the key came from, named in error messages.
   */
  static async create(key: Uint8Array, keyOrigin: string, previous: SecretKeyMaterial[] = []): Promise<SecretBox> {
    const keys = new Map<string, RingKey>();
    const box = new SecretBox(keys, '');
    for (const old of previous) await box.acceptKey(old.key, old.origin);
    box.#currentKeyId = secretKeyId(key);
    keys.delete(box.#currentKeyId); // the current key given as previous too: it is current
    await box.acceptKey(key, keyOrigin);
    return box;
  }

  /** The current key's id: the key `seal` uses. */
  get keyId(): string {
    return this.#currentKeyId;
  }

  /** Where the current key came from. */
  get keyOrigin(): string {
    return this.#keys.get(this.#currentKeyId)!.origin;
  }

  /** The previous keys' ids: they open what they sealed before, and seal nothing. */
  get previousKeyIds(): string[] {
    return [...this.#keys.keys()].filter((id) => id !== this.#currentKeyId);
  }

  /** True when this box has the key `keyId` (current or previous). */
  hasKey(keyId: string): boolean {
    return this.#keys.has(keyId);
  }

  /**
   * Opens values sealed with `key` from now on, as a previous key: a rotation's new key, accepted before
   * anything is sealed with it, so values re-sealed with it open here the moment they commit.
   * @returns the key's id.
   */
  async acceptKey(key: Uint8Array, origin: string): Promise<string> {
    if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
    const keyId = secretKeyId(key);
    if (!this.#keys.has(keyId)) {
      const cryptoKey = await crypto.subtle.importKey('raw', new Uint8Array(key), 'AES-GCM', false, ['encrypt', 'decrypt']);
      this.#keys.set(keyId, { cryptoKey, origin });
    }
    return keyId;
  }

  /** Seals with the accepted key `keyId` from now on; the key that sealed until now stays, for opening. */
  useKey(keyId: string): void {
    if (!this.#keys.has(keyId)) throw new Error(`no key with id ${keyId} was accepted`);
    this.#currentKeyId = keyId;
  }

  /**
   * Another box on the same keys (as they are now) that seals with `keyId`: what a rotation re-seals with
   * before the new key becomes this box's current one.
   */
  sealingWith(keyId: string): SecretBox {
    if (!this.#keys.has(keyId)) throw new Error(`no key with id ${keyId} was accepted`);
    return new SecretBox(new Map(this.#keys), keyId);
  }

  /** True when `sealed` is sealed with another key than the current one (a previous key, or one this box lacks). */
  sealedWithAnotherKey(sealed: string): boolean {
    const keyId = sealedKeyId(sealed);
    return keyId !== null && keyId !== this.#currentKeyId;
  }

  /** Encrypts `plain` for `column` with the current key. Every call gives a different value (fresh IV). */
  async seal<C extends SecretColumn>(plain: string, column: C): Promise<Sealed<C>> {
    const sealed = await new CompactEncrypt(new TextEncoder().encode(plain))
      .setProtectedHeader({ alg: ALG, enc: ENC, kid: this.#currentKeyId, col: column })
      .encrypt(this.#keys.get(this.#currentKeyId)!.cryptoKey);
    return sealed as Sealed<C>;
  }

  /**
   * Decrypts a value `seal` made for `column`, with the key its header names: the current key or a previous one.
   * @throws StoredSecretError when it was sealed with a key this box does not have, sealed for another column,
   *   altered, or is not a sealed value at all.
   */
  async open(sealed: string, column: SecretColumn): Promise<string> {
    const header = sealedHeader(sealed);
    if (header === null) throw new StoredSecretError(`the value in ${column} is not an encrypted secret`);
    const { kid } = header;
    const key = typeof kid === 'string' ? this.#keys.get(kid) : undefined;
    if (key === undefined) {
      const previous = this.previousKeyIds;
      throw new StoredSecretError(
        `the stored secrets were encrypted with another key (key id ${String(kid)}; this process's key, from ${this.keyOrigin}, ` +
          `has key id ${this.#currentKeyId}${previous.length ? `, its previous keys ${previous.join(', ')}` : ''}): ${ANOTHER_KEY_ADVICE}`,
      );
    }
    let opened: CompactDecryptResult;
    try {
      opened = await compactDecrypt(sealed, key.cryptoKey, {
        keyManagementAlgorithms: [ALG],
        contentEncryptionAlgorithms: [ENC],
        maxDecompressedLength: 0,
      });
    } catch {
      throw new StoredSecretError(`the encrypted secret in ${column} does not decrypt: it was altered`);
    }
    // Checked after decryption: only then is the header known to be the one sealed with the value.
    const sealedColumn = (opened.protectedHeader as { col?: unknown }).col;
    if (sealedColumn !== column) {
      throw new StoredSecretError(`the value in ${column} was encrypted for ${String(sealedColumn)}: a secret does not move between columns`);
    }
    return new TextDecoder('utf-8', { fatal: true }).decode(opened.plaintext);
  }
}
