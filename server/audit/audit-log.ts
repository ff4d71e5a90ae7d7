/**
 * The audit log: who did what, when, from where. Append-only — this module has no update or delete,
 * and the database refuses them too (trigger in drizzle/0003_audit_append_only.sql).
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Database, Db, Tx } from '../db/database.ts';
import type { AuditEntryDto, AuditPage, AuditQuery } from '../../src/lib/protocol/console.ts';
import type { Actor } from '../incidents/actor.ts';
import { isUuid } from '../db/sql-values.ts';

/** An entry as written: everything of the entry screens read except the id and time the database gives it. */
export type AuditRecord = Omit<AuditEntryDto, 'id' | 'at'>;

/** The audit fields of a person's action. */
export function auditBy(actor: Actor): Pick<AuditRecord, 'actor' | 'actorName' | 'ip' | 'userAgent'> {
  return { actor: `user:${actor.userId}`, actorName: actor.name, ip: actor.ip, userAgent: actor.userAgent };
}

/** The audit fields of what an operator does at the command line. */
export const BY_CLI: Pick<AuditRecord, 'actor' | 'actorName' | 'ip' | 'userAgent'> = { actor: 'cli', actorName: 'CLI', ip: null, userAgent: null };

/** Appends entries; pass the transaction of the change they describe so both commit or neither. */
export async function recordAudit(database: Database, on: Db | Tx, entries: AuditRecord | AuditRecord[]): Promise<void> {
  const list = Array.isArray(entries) ? entries : [entries];
  if (list.length === 0) return;
  await database.rows(
    sql`insert into audit_log (actor, actor_name, action, entity, entity_id, detail, ip, user_agent)
        select x.actor, x."actorName", x.action, x.entity, x."entityId", x.detail, x.ip, x."userAgent"
        from jsonb_to_recordset(${JSON.stringify(list)}::jsonb)
          as x(actor text, "actorName" text, action text, entity text, "entityId" text, detail jsonb, ip text, "userAgent" text)`,
    on,
  );
}

interface AuditRow {
  id: number | string;
  at: Date | string;
  actor: string;
  actor_name: string;
  action: string;
  entity: string;
  entity_id: string | null;
  detail: Record<string, unknown>;
  ip: string | null;
  user_agent: string | null;
}

/** Newest first, filtered, paged by id. */
export async function listAudit(database: Database, query: AuditQuery): Promise<AuditPage> {
  const where: SQL[] = [sql`true`];
  if (query.actor) where.push(sql`a.actor = ${isUuid(query.actor) ? `user:${query.actor}` : query.actor}`);
  if (query.action) where.push(query.action.endsWith('.') ? sql`starts_with(a.action, ${query.action})` : sql`a.action = ${query.action}`);
  if (query.entity) where.push(sql`a.entity = ${query.entity}`);
  if (query.entityId) where.push(sql`a.entity_id = ${query.entityId}`);
  if (query.from) where.push(sql`a.at >= ${query.from}::timestamptz`);
  if (query.to) where.push(sql`a.at < ${query.to}::timestamptz`);
  if (query.before) where.push(sql`a.id < ${query.before}`);
  const rows = await database.rows<AuditRow>(
    sql`select a.* from audit_log a where ${sql.join(where, sql` and `)} order by a.id desc limit ${query.limit + 1}`,
  );
  const page = rows.slice(0, query.limit).map(toAuditDto);
  return { entries: page, nextBefore: rows.length > query.limit ? page[page.length - 1].id : null };
}

function toAuditDto(r: AuditRow): AuditEntryDto {
  return {
    id: Number(r.id),
    at: (r.at instanceof Date ? r.at : new Date(r.at)).toISOString(),
    actor: r.actor,
    actorName: r.actor_name,
    action: r.action,
    entity: r.entity,
    entityId: r.entity_id,
    detail: r.detail,
    ip: r.ip,
    userAgent: r.user_agent,
  };
}
