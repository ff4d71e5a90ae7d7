/**
 * Snoozed incidents come back by themselves: a timer finds snoozes that are due and returns those
 * incidents to the queue as triggered, with a timeline entry. Due snoozes are read from the
 * database, so a restart catches up at once; with several server processes on one Postgres, the
 * writer's advisory lock and `FOR UPDATE SKIP LOCKED` make each wake-up happen exactly once.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.ts';
import type { ChangeWriter } from '../engine/change-writer.ts';
import { insertTimeline, recordIncidentChanges } from '../db/incident-store.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { anyText } from '../db/sql-values.ts';

/** Most incidents woken in one transaction; more are woken on the next tick. */
const WAKE_BATCH = 500;

export interface SnoozeWaker {
  /** Wakes whatever is due now (also what the timer calls). Resolves with how many woke. */
  tick(): Promise<number>;
  stop(): Promise<void>;
}

export function startSnoozeWaker(options: { database: Database; writer: ChangeWriter; log: FastifyBaseLogger; intervalMs?: number }): SnoozeWaker {
  const { database, writer, log } = options;
  let running: Promise<number> | null = null;
  let stopped = false;

  async function wake(): Promise<number> {
    // A cheap look first (the partial index on snoozed_until), so the writer is only taken when there is work.
    const due = await database.rows<{ n: number }>(sql`select 1 as n from incidents where snoozed_until <= now() limit 1`);
    if (due.length === 0) return 0;
    return writer.write(async (tx) => {
      const rows = await database.rows<{ id: string; snoozed_until: Date | string }>(
        sql`select id, snoozed_until from incidents where snoozed_until <= now() and status <> 'resolved'
            order by snoozed_until limit ${WAKE_BATCH} for update skip locked`,
        tx,
      );
      // A resolved incident keeps no snooze (ingest clears it too): tidy any left over without a change.
      await database.rows(sql`update incidents set snoozed_until = null where snoozed_until <= now() and status = 'resolved'`, tx);
      if (rows.length === 0) return { result: 0, changes: [] };
      const ids = rows.map((r) => r.id);
      const list = anyText(ids);
      const now = new Date();
      const updated = await database.rows<{ id: string; number: number | string }>(
        sql`update incidents set status = 'triggered', acknowledged_at = null, snoozed_until = null, updated_at = ${now.toISOString()}::timestamptz,
              version = version + 1
            where id::text = ${list} returning id, number`,
        tx,
      );
      const untilOf = new Map(rows.map((r) => [r.id, new Date(r.snoozed_until).toISOString()]));
      await insertTimeline(
        database,
        tx,
        updated.map((r) => ({ id: randomUUID(), incidentId: r.id, at: now, actor: 'system', kind: 'snooze_ended' as const, detail: { until: untilOf.get(r.id) } })),
      );
      await recordAudit(
        database,
        tx,
        updated.map((r) => ({
          actor: 'system',
          actorName: 'Watchfloor',
          action: 'incident.snooze_ended',
          entity: 'incident',
          entityId: r.id,
          detail: { number: Number(r.number), until: untilOf.get(r.id) },
          ip: null,
          userAgent: null,
        })),
      );
      const woken = new Set(updated.map((r) => r.id));
      const changes = await recordIncidentChanges(database, tx, ids.filter((id) => woken.has(id)));
      return { result: updated.length, changes };
    });
  }

  function tick(): Promise<number> {
    running ??= wake().finally(() => (running = null));
    return running;
  }

  const timer = setInterval(() => {
    if (stopped) return;
    tick().catch((err: unknown) => log.warn({ err }, 'snooze wake-up failed'));
  }, options.intervalMs ?? 1000);
  timer.unref();
  // Catch up at once after a restart.
  tick().catch((err: unknown) => log.warn({ err }, 'snooze wake-up failed'));

  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
