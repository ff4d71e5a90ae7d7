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

/**
 * Encrypts secrets for the database and opens them again: AES-256-GCM with the server's data-encryption
 * key, as a compact JWE (RFC 7516, `alg: dir`, `enc: A256GCM`) made by jose rather than by hand: a
 * standard envelope with a fresh IV per value, whose protected header is authenticated with the
 * ciphertext. The header carries the column the value belongs to (`col`) and the key's id (`kid`, a
 * hash of the key: it tells "another key" from "altered" and reveals nothing of the key).
 *
 * The key lives in a non-extractable CryptoKey: it cannot be read back out of this object, so
 * neither this object nor a log line that includes it shows the key.
 */
export class SecretBox {
  /** Identifies the key without revealing it; the same in every process that shares the key. */
  readonly keyId: string;
  /** Where this process's key came from, for messages ("WATCHFLOOR_SECRET_KEY", "the key file …"). */
  readonly keyOrigin: string;
  readonly #key: CryptoKey;

  private constructor(key: CryptoKey, keyId: string, keyOrigin: string) {
    this.#key = key;
    this.keyId = keyId;
    this.keyOrigin = keyOrigin;
  }

  /**
   * A box for a 32-byte key.
   * @param keyOrigin where the key came from, named in error messages.
   */
  static async create(key: Uint8Array, keyOrigin: string): Promise<SecretBox> {
    if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
    const keyId = createHash('sha256').update('watchfloor secret key id\0').update(key).digest().subarray(0, 9).toString('base64url');
    const cryptoKey = await crypto.subtle.importKey('raw', new Uint8Array(key), 'AES-GCM', false, ['encrypt', 'decrypt']);
    return new SecretBox(cryptoKey, keyId, keyOrigin);
  }

  /** Encrypts `plain` for `column`. Every call gives a different value (fresh IV). */
  async seal<C extends SecretColumn>(plain: string, column: C): Promise<Sealed<C>> {
    const sealed = await new CompactEncrypt(new TextEncoder().encode(plain))
      .setProtectedHeader({ alg: ALG, enc: ENC, kid: this.keyId, col: column })
      .encrypt(this.#key);
    return sealed as Sealed<C>;
  }

  /**
   * Decrypts a value `seal` made for `column`.
   * @throws StoredSecretError when it was sealed with another key, sealed for another column, altered,
   *   or is not a sealed value at all.
   */
  async open(sealed: string, column: SecretColumn): Promise<string> {
    const header = sealedHeader(sealed);
    if (header === null) throw new StoredSecretError(`the value in ${column} is not an encrypted secret`);
    const { kid } = header;
    if (kid !== this.keyId) {
      throw new StoredSecretError(
        `the stored secrets were encrypted with another key (key id ${String(kid)}; this process's key, from ${this.keyOrigin}, ` +
          `has key id ${this.keyId}): give every server process the same WATCHFLOOR_SECRET_KEY`,
      );
    }
    let opened: CompactDecryptResult;
    try {
      opened = await compactDecrypt(sealed, this.#key, {
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
