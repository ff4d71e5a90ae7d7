import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';

// OWASP's argon2id baseline (19 MiB, t=2, p=1): ~30 ms here, slow enough for guessing, fast enough for sign-in.
// algorithm 2 is Argon2id (the package's Algorithm is a const enum, which type stripping cannot inline).
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes a password with argon2id (@node-rs/argon2: maintained, prebuilt binaries, no node-gyp). */
export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** Constant-time verification inside argon2; never throws on a malformed hash. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** Verified against when the email is unknown, so the response time does not reveal which emails exist. */
export const DUMMY_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$GLxnqPlevyS4YXqMKjhv3A$0k6ogru0BR2+cB7nKZKxw9PWshu/MUnqszOYRtn2vTg';

/** A one-time password people can type: 20 characters from an unambiguous alphabet (~100 bits). */
export function generatePassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}
