import { createHash, randomBytes } from 'node:crypto';

/** A new random secret (32 bytes, base64url) with an optional readable prefix. */
export function newSecret(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}

/**
 * Tokens are high-entropy random secrets, so a fast sha256 is the right hash: lookups by hash
 * compare in the database index, never character by character in JavaScript.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
