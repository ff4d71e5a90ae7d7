import type { Db } from '../db/database.ts';
import { addUser, countUsers } from './users.ts';

export const FIRST_ADMIN_EMAIL = 'admin@watchfloor.local';

/**
 * On an empty database, creates the first admin with a one-time password and prints it once
 * (to the terminal, not the log). It must be changed at the first sign-in.
 */
export async function ensureFirstAdmin(db: Db, print: (line: string) => void): Promise<void> {
  if ((await countUsers(db)) > 0) return;
  const { oneTimePassword } = await addUser(db, { email: FIRST_ADMIN_EMAIL, name: 'Administrator', role: 'admin' });
  print('');
  print('  First start: an admin account was created.');
  print(`    email:    ${FIRST_ADMIN_EMAIL}`);
  print(`    password: ${oneTimePassword}   (one-time: you choose a new one after signing in)`);
  print('  Lost it? `npm run cli -- user reset-password --email admin@watchfloor.local`');
  print('');
}
