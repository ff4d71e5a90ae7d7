import { timingSafeEqual } from 'node:crypto';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { AlsoInTransaction, Db } from '../db/database.ts';
import { clients, walls } from '../db/schema/index.ts';
import { hashToken, newSecret } from '../auth/tokens.ts';
import { DomainError } from '../errors.ts';
import type { CreateWallRequest, UpdateWallRequest, WallDto } from '../../src/lib/protocol/walls.ts';
import { isUuid } from '../db/sql-values.ts';

type WallRow = typeof walls.$inferSelect;

/** Device tokens carry a readable prefix, so a leaked one is recognisable in a log or a chat. */
const TOKEN_PREFIX = 'wfw_';

/** What a wall screen is allowed: read-only, its own clients. */
export interface WallPrincipal {
  wallId: string;
  name: string;
  /** Client slugs the wall covers; null = every client. */
  clients: string[] | null;
  /** The hash of the device token that opened it: a screen holding an older one must end (rotated). */
  tokenHash: string;
  /** The wall's version when the token was checked: later changes of token or clients concern this screen. */
  version: number;
}

export function toWallDto(row: WallRow): WallDto {
  return {
    id: row.id,
    name: row.name,
    clients: row.clients ?? null,
    pages: row.pages,
    chime: row.chime,
    pixelShift: row.pixelShift,
    timeZone: row.timeZone,
    tokenPrefix: row.tokenHash === null ? null : row.tokenPrefix,
    tokenCreatedAt: row.tokenHash === null || row.tokenCreatedAt === null ? null : row.tokenCreatedAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    version: row.version,
  };
}

/** Refuses client slugs that name no client: a wall for a typo would show nothing, silently. */
async function checkClients(db: Db, slugs: string[] | null | undefined): Promise<void> {
  if (!slugs || slugs.length === 0) return;
  const found = await db.select({ slug: clients.slug }).from(clients).where(inArray(clients.slug, slugs));
  const known = new Set(found.map((c) => c.slug));
  const unknown = slugs.filter((s) => !known.has(s));
  if (unknown.length > 0) throw new DomainError('validation_failed', `clients: unknown client ${unknown.map((s) => JSON.stringify(s)).join(', ')}`, 'clients');
}

/** Panels that name a client must name one the wall covers. */
function checkPanelClients(pages: CreateWallRequest['pages'], wallClients: string[] | null): void {
  if (wallClients === null) return;
  pages.forEach((page, p) =>
    page.panels.forEach((panel, i) => {
      if (panel.client && !wallClients.includes(panel.client)) {
        throw new DomainError('validation_failed', `pages[${p}].panels[${i}].client: ${panel.client} is not one of the wall's clients`, `pages[${p}].panels[${i}].client`);
      }
    }),
  );
}

function newDeviceToken(): { token: string; tokenHash: string; tokenPrefix: string } {
  const token = newSecret(TOKEN_PREFIX);
  return { token, tokenHash: hashToken(token), tokenPrefix: token.slice(0, TOKEN_PREFIX.length + 4) };
}

/**
 * Every change to a wall takes `afterward`: more to write in its transaction (the audit row), so there is
 * never a change without its record, nor a record of a change that was refused.
 */
export async function createWall(db: Db, input: CreateWallRequest, createdBy: string | null, afterward?: AlsoInTransaction<WallDto>): Promise<{ wall: WallDto; token: string }> {
  const clientList = input.clients ? [...new Set(input.clients)].sort() : null;
  const { token, tokenHash, tokenPrefix } = newDeviceToken();
  const wall = await db.transaction(async (tx) => {
    await checkClients(tx, clientList);
    checkPanelClients(input.pages, clientList);
    const [row] = await tx
      .insert(walls)
      .values({
        name: input.name,
        clients: clientList,
        pages: input.pages,
        chime: input.chime ?? { enabled: false, repeatMinutes: 5 },
        pixelShift: input.pixelShift ?? true,
        timeZone: input.timeZone ?? null,
        tokenHash,
        tokenPrefix,
        tokenCreatedAt: new Date(),
        createdBy,
      })
      .returning();
    const created = toWallDto(row);
    await afterward?.(tx, created);
    return created;
  });
  return { wall, token };
}

export async function listWalls(db: Db): Promise<WallDto[]> {
  return (await db.select().from(walls).orderBy(asc(walls.name), asc(walls.createdAt))).map(toWallDto);
}

export async function getWallRow(db: Db, id: string): Promise<WallRow> {
  const [row] = await db.select().from(walls).where(eq(walls.id, id));
  if (!row) throw new DomainError('not_found', 'no such wall');
  return row;
}

/** Changes a wall; `before` is the wall as this change found it (what the audit row and the screens compare with). */
export async function updateWall(
  db: Db,
  id: string,
  input: UpdateWallRequest,
  afterward?: AlsoInTransaction<{ before: WallDto; after: WallDto }>,
): Promise<{ before: WallDto; after: WallDto }> {
  return db.transaction(async (tx) => {
    const current = await getWallRow(tx, id);
    if (input.version !== undefined && input.version !== current.version) {
      throw new DomainError('conflict', `the wall was changed by someone else (version ${current.version}, you edited ${input.version}): reload it`);
    }
    const clientList = input.clients === undefined ? current.clients : input.clients === null ? null : [...new Set(input.clients)].sort();
    if (input.clients !== undefined) await checkClients(tx, clientList);
    checkPanelClients(input.pages ?? current.pages, clientList);
    const [row] = await tx
      .update(walls)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.clients !== undefined ? { clients: clientList } : {}),
        ...(input.pages !== undefined ? { pages: input.pages } : {}),
        ...(input.chime !== undefined ? { chime: input.chime } : {}),
        ...(input.pixelShift !== undefined ? { pixelShift: input.pixelShift } : {}),
        ...(input.timeZone !== undefined ? { timeZone: input.timeZone } : {}),
        updatedAt: new Date(),
        version: sql`${walls.version} + 1`,
      })
      .where(and(eq(walls.id, id), eq(walls.version, current.version)))
      .returning();
    if (!row) throw new DomainError('conflict', 'the wall was changed by someone else meanwhile: reload it');
    const changed = { before: toWallDto(current), after: toWallDto(row) };
    await afterward?.(tx, changed);
    return changed;
  });
}

export async function deleteWall(db: Db, id: string, afterward?: AlsoInTransaction<WallDto>): Promise<WallDto> {
  return db.transaction(async (tx) => {
    const [row] = await tx.delete(walls).where(eq(walls.id, id)).returning();
    if (!row) throw new DomainError('not_found', 'no such wall');
    const deleted = toWallDto(row);
    await afterward?.(tx, deleted);
    return deleted;
  });
}

/** A new device token; the previous one stops working at once. */
export async function rotateWallToken(db: Db, id: string, afterward?: AlsoInTransaction<WallDto>): Promise<{ wall: WallDto; token: string }> {
  const { token, tokenHash, tokenPrefix } = newDeviceToken();
  const wall = await changeToken(db, id, { tokenHash, tokenPrefix, tokenCreatedAt: new Date(), revokedAt: null }, afterward);
  return { wall, token };
}

/** No token opens the wall any more until a new one is issued. */
export function revokeWallToken(db: Db, id: string, afterward?: AlsoInTransaction<WallDto>): Promise<WallDto> {
  return changeToken(db, id, { tokenHash: null, revokedAt: new Date() }, afterward);
}

/** Sets a wall's token fields as one new version of it; an unknown wall is "not found". */
function changeToken(db: Db, id: string, set: Partial<typeof walls.$inferInsert>, afterward?: AlsoInTransaction<WallDto>): Promise<WallDto> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(walls)
      .set({ ...set, updatedAt: new Date(), version: sql`${walls.version} + 1` })
      .where(eq(walls.id, id))
      .returning();
    if (!row) throw new DomainError('not_found', 'no such wall');
    const wall = toWallDto(row);
    await afterward?.(tx, wall);
    return wall;
  });
}

/**
 * The wall a device token opens, or null. The row is found by id; the token's hash is then compared
 * in constant time, so neither the lookup nor the comparison tells an attacker how close a guess was.
 */
export async function wallForToken(db: Db, wallId: string, token: string | undefined): Promise<WallPrincipal | null> {
  if (!token || token.length > 200 || !isUuid(wallId)) return null;
  const [row] = await db
    .select({ id: walls.id, name: walls.name, clients: walls.clients, tokenHash: walls.tokenHash, version: walls.version })
    .from(walls)
    .where(eq(walls.id, wallId));
  if (!row || row.tokenHash === null) return null;
  const presented = hashToken(token);
  if (!sameTokenHash(presented, row.tokenHash)) return null;
  return { wallId: row.id, name: row.name, clients: row.clients ?? null, tokenHash: row.tokenHash, version: row.version };
}

/** Whether two device-token hashes (hex) are the same, compared in constant time. */
export function sameTokenHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** What a wall's screens are checked against: its token, clients and version now (see checkWallScreens). */
export interface WallStanding {
  /** Null once the token is revoked. */
  tokenHash: string | null;
  clients: string[] | null;
  version: number;
}

/** The standing of these walls; a wall missing from the map was deleted. */
export async function wallStandings(db: Db, wallIds: readonly string[]): Promise<Map<string, WallStanding>> {
  if (wallIds.length === 0) return new Map();
  const rows = await db
    .select({ id: walls.id, tokenHash: walls.tokenHash, clients: walls.clients, version: walls.version })
    .from(walls)
    .where(inArray(walls.id, [...wallIds]));
  return new Map(rows.map((row) => [row.id, { tokenHash: row.tokenHash, clients: row.clients ?? null, version: row.version }]));
}

/** The cookie that carries one wall's device token (one per wall, so a browser can hold several). */
export function wallCookieName(wallId: string): string {
  return `wf_wall_${wallId}`;
}

/** A wall id is a uuid: anything else names no wall (and never reaches a query). */
export function isWallId(value: unknown): value is string {
  return isUuid(value);
}
