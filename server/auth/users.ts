import { asc, eq, sql } from 'drizzle-orm';
import type { AlsoInTransaction, Db, Tx } from '../db/database.ts';
import { sessions, users } from '../db/schema/index.ts';
import { DomainError } from '../errors.ts';
import { generatePassword, hashPassword } from './passwords.ts';
import { ROLE_RANK, type CreateUserRequest, type CreatedUserDto, type Role, type SessionUser, type UpdateUserRequest, type UserDto } from '../../src/lib/protocol/api.ts';

type UserRow = typeof users.$inferSelect;

export function toUserDto(row: UserRow): UserDto {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    disabled: row.disabled,
    mustChangePassword: row.mustChangePassword,
    clients: row.clients,
    onShift: row.onShift,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Who a session belongs to, as the app and the socket see it. */
export function toSessionUser(row: UserRow): SessionUser {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    mustChangePassword: row.mustChangePassword,
    clients: row.clients,
    onShift: row.onShift,
    chime: row.chime,
  };
}

/**
 * Creates a user. Without a password, generates a one-time one, returned once and never stored in clear;
 * the user must change it after signing in.
 */
export async function addUser(db: Db, input: CreateUserRequest, afterward?: AlsoInTransaction<UserDto>): Promise<CreatedUserDto> {
  const oneTime = input.password === undefined ? generatePassword() : undefined;
  // Hashed before the transaction: argon2 takes ~100 ms, and PGlite's one connection would wait for it.
  const passwordHash = await hashPassword(input.password ?? oneTime!);
  const user = await db.transaction(async (tx) => {
    const inserted = await tx
      .insert(users)
      .values({ email: input.email, name: input.name, role: input.role, passwordHash, mustChangePassword: !!oneTime })
      .onConflictDoNothing()
      .returning();
    if (inserted.length === 0) throw new DomainError('conflict', `a user with email ${input.email} already exists`, 'email');
    const created = toUserDto(inserted[0]);
    await afterward?.(tx, created);
    return created;
  });
  return { user, ...(oneTime ? { oneTimePassword: oneTime } : {}) };
}

export async function listUsers(db: Db): Promise<UserDto[]> {
  return (await db.select().from(users).orderBy(asc(users.email))).map(toUserDto);
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  const rows = await db.select().from(users).where(sql`lower(${users.email}) = ${email.trim().toLowerCase()}`);
  return rows[0];
}

export async function countUsers(db: Db): Promise<number> {
  const rows = await db.select({ n: sql<number>`count(*)::int` }).from(users);
  return Number(rows[0].n);
}

/**
 * Sets a new password (generated and returned once when none is given) and signs the user out everywhere.
 */
export async function resetPassword(
  db: Db,
  who: { email: string } | { id: string },
  newPassword?: string,
  afterward?: AlsoInTransaction<UserDto>,
): Promise<{ user: UserDto; oneTimePassword?: string }> {
  const user = 'email' in who ? await findUserByEmail(db, who.email) : (await db.select().from(users).where(eq(users.id, who.id)))[0];
  if (!user) throw 'email' in who ? new DomainError('not_found', `no user with email ${who.email}`, 'email') : new DomainError('not_found', 'no such user');
  const oneTime = newPassword === undefined ? generatePassword() : undefined;
  const passwordHash = await hashPassword(newPassword ?? oneTime!);
  const updated = await db.transaction(async (tx) => {
    await tx.delete(sessions).where(eq(sessions.userId, user.id));
    const [row] = await tx
      .update(users)
      .set({ passwordHash, mustChangePassword: !!oneTime, updatedAt: new Date() })
      .where(eq(users.id, user.id))
      .returning();
    const dto = toUserDto(row);
    await afterward?.(tx, dto);
    return dto;
  });
  return { user: updated, ...(oneTime ? { oneTimePassword: oneTime } : {}) };
}

/**
 * Updates name, role or disabled in the caller's transaction, where its audit row goes too and, when it
 * renames, the change rows of the incidents showing the name (see Renames); refuses to leave the system
 * without an active admin.
 */
export async function updateUser(tx: Tx, id: string, patch: UpdateUserRequest): Promise<{ user: UserDto; signedOut: boolean; renamed: boolean }> {
  const [current] = await tx.select().from(users).where(eq(users.id, id)).for('update');
  if (!current) throw new DomainError('not_found', 'no such user');
  const losesAdmin = current.role === 'admin' && !current.disabled && ((patch.role && patch.role !== 'admin') || patch.disabled === true);
  if (losesAdmin) {
    const [{ n }] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(users)
      .where(sql`${users.role} = 'admin' and not ${users.disabled}`);
    if (Number(n) <= 1) throw new DomainError('conflict', 'this is the last active admin: make another admin first');
  }
  const [row] = await tx
    .update(users)
    .set({ ...patch, updatedAt: new Date() })
    .where(eq(users.id, id))
    .returning();
  // Role or access changed: sign in again (the caller closes the user's sockets too).
  const clientsChanged = patch.clients !== undefined && JSON.stringify(patch.clients) !== JSON.stringify(current.clients);
  const signedOut = patch.disabled === true || (patch.role !== undefined && patch.role !== current.role) || clientsChanged;
  if (signedOut) await tx.delete(sessions).where(eq(sessions.userId, id));
  return { user: toUserDto(row), signedOut, renamed: row.name !== current.name };
}

export function hasRole(role: Role, atLeast: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[atLeast];
}
