import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql } from 'drizzle-orm';
import { DATABASES } from '../helpers/test-server.ts';
import { openDatabase, type Database } from '../../server/db/database.ts';
import { ChangeWriter } from '../../server/engine/change-writer.ts';
import { IngestPipeline, type IngestSource } from '../../server/ingest/ingest-pipeline.ts';
import { addSource } from '../../server/ingest/sources.ts';
import { createMetrics } from '../../server/metrics.ts';
import type { Signal } from '../../server/engine/types.ts';

const mapping = { clientLabel: 'client', nodeLabel: 'instance', groupBy: [], defaultClient: null };

/** How many ingest transactions were worked out ahead (while the one before wrote) and how many inside their transaction. */
async function workedOut(metrics: ReturnType<typeof createMetrics>): Promise<{ ahead: number; inTransaction: number }> {
  const { values } = await metrics.ingestBatches.get();
  const count = (where: string) => values.find((v) => v.labels.worked_out === where)?.value ?? 0;
  return { ahead: count('ahead'), inTransaction: count('in_transaction') };
}

/** Signals over few fingerprints and alert names, so consecutive batches keep touching the same alerts and incidents. */
function traffic(client: string, jobs: number): Signal[][] {
  let seed = 7;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const base = Date.now() - 3_600_000;
  return Array.from({ length: jobs }, (_, job) =>
    Array.from({ length: 1 + Math.floor(next() * 12) }, () => {
      const node = `n${Math.floor(next() * 5)}`;
      const alertname = ['Down', 'Disk', 'CPU', 'Memory'][Math.floor(next() * 4)];
      const resolved = next() < 0.45;
      return {
        ...firing(node),
        fingerprint: `${client}-${alertname}-${node}`,
        status: resolved ? 'resolved' : 'firing',
        action: resolved ? 'resolve' : 'trigger',
        severity: (['critical', 'warning', 'info'] as const)[Math.floor(next() * 3)],
        labels: { alertname, client, instance: node },
        client,
        // Every few jobs a new occurrence, so resolved alerts fire again and incidents reopen.
        startsAt: new Date(base + Math.floor(job / 5) * 60_000),
        endsAt: resolved ? new Date(base + job * 1000) : null,
      } satisfies Signal;
    }),
  );
}

/** A client's alerts and incidents with ids replaced by the order incidents were opened in. */
async function committedState(database: Database, client: string) {
  const incidents = await database.rows<{ id: string; group_key: string; status: string; severity: string; alert_count: number; open_alert_count: number; nodes: string[] }>(
    sql`select id::text, group_key, status, severity, alert_count, open_alert_count, nodes from incidents where client = ${client} order by number`,
  );
  const ordinal = new Map(incidents.map((i, index) => [i.id, index]));
  const alerts = await database.rows<{ fingerprint: string; status: string; severity: string; count: number; incident_id: string | null }>(
    sql`select fingerprint, status, severity, count, incident_id::text from alerts where client = ${client} order by fingerprint`,
  );
  return {
    incidents: incidents.map(({ id: _id, group_key, nodes, ...rest }) => ({ ...rest, key: group_key.replace(client, ''), nodes: [...nodes].sort() })),
    alerts: alerts.map(({ incident_id, fingerprint, ...rest }) => ({ ...rest, fingerprint: fingerprint.replace(client, ''), incident: incident_id === null ? null : ordinal.get(incident_id) })),
  };
}

function firing(fingerprint: string): Signal {
  return {
    fingerprint,
    status: 'firing',
    action: 'trigger',
    severity: 'critical',
    summary: `down: ${fingerprint}`,
    labels: { alertname: 'Down', client: 'acme', instance: fingerprint },
    annotations: {},
    links: [],
    startsAt: new Date(),
    endsAt: null,
    client: 'acme',
    node: fingerprint,
    groupKey: null,
  };
}

describe.each(DATABASES)('group commit isolation on $name', (target) => {
  let database: Database;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const fresh = await target.url();
    drop = fresh.drop;
    database = await openDatabase({ url: fresh.url, dataDir: '' });
    await database.migrate();
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  it("commits the other senders' signals when one sender's part of a shared batch fails", async () => {
    const { source } = await addSource(database.db, { name: 'prom', format: 'alertmanager' });
    const real: IngestSource = { id: source.id, name: source.name, mapping };
    // A source deleted while its webhook was in flight: its new alert rows violate the foreign key.
    const vanished: IngestSource = { id: '00000000-0000-4000-8000-000000000000', name: 'gone', mapping };
    const pipeline = new IngestPipeline({ database, writer: new ChangeWriter(database, () => {}), metrics: createMetrics(), reopenWindowMs: 600_000 });

    // The first submit occupies the writer, so the next two queue up and share one transaction.
    const first = pipeline.submit(real, [firing('node-1')]);
    const doomed = pipeline.submit(vanished, [firing('node-2')]);
    const bystander = pipeline.submit(real, [firing('node-3')]);
    await first;
    await expect(doomed).rejects.toThrow();
    await expect(bystander).resolves.toBeUndefined();

    const rows = await database.rows<{ node: string }>(sql`select node from alerts where client = 'acme' order by node`);
    expect(rows.map((r) => r.node)).toEqual(['node-1', 'node-3']);
  });

  it('batches that overlap (the next worked out while the one before writes) commit what batches one at a time do', async () => {
    const { source } = await addSource(database.db, { name: 'overlap', format: 'alertmanager' });
    const real: IngestSource = { id: source.id, name: source.name, mapping };
    const metrics = createMetrics();
    const pipeline = new IngestPipeline({ database, writer: new ChangeWriter(database, () => {}), metrics, reopenWindowMs: 600_000 });

    for (const signals of traffic('one-by-one', 80)) await pipeline.submit(real, signals);
    const before = await workedOut(metrics);
    const pending: Promise<void>[] = [];
    for (const [index, signals] of traffic('together', 80).entries()) {
      pending.push(pipeline.submit(real, signals));
      // A few at a time, each few sent once the batch before has reached its transaction: many batches, each
      // finding the one before it still writing, however fast the machine.
      if (index % 3 === 2) {
        const { ahead, inTransaction } = await workedOut(metrics);
        while ((await workedOut(metrics).then((now) => now.ahead + now.inTransaction)) === ahead + inTransaction) {
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
    }
    await Promise.all(pending);

    const together = await committedState(database, 'together');
    // The traffic went through the transitions that depend on state read: incidents resolved and reopened.
    const kinds = await database.rows<{ kind: string }>(sql`select distinct t.kind from timeline t join incidents i on i.id = t.incident_id where i.client = 'together'`);
    expect(kinds.map((k) => k.kind)).toEqual(expect.arrayContaining(['triggered', 'alert_joined', 'alert_resolved', 'resolved', 'reopened', 'alert_refired']));
    expect(together).toEqual(await committedState(database, 'one-by-one'));
    const after = await workedOut(metrics);
    // Only Postgres overlaps batches; embedded PGlite runs one statement at a time anyway.
    if (database.kind === 'postgres') expect(after.ahead - before.ahead).toBeGreaterThan(5);
    else expect(after.ahead).toBe(0);
  });

  it('a batch worked out ahead is worked out again when another write came between it and the batch before', async () => {
    const { source } = await addSource(database.db, { name: 'between', format: 'alertmanager' });
    const real: IngestSource = { id: source.id, name: source.name, mapping };
    const metrics = createMetrics();
    const writer = new ChangeWriter(database, () => {});
    const pipeline = new IngestPipeline({ database, writer, metrics, reopenWindowMs: 600_000 });
    const signal = (node: string) => ({ ...firing(node), labels: { alertname: 'Down', client: 'between', instance: node }, client: 'between' });
    await pipeline.submit(real, [signal('b1')]);
    const [{ id }] = await database.rows<{ id: string }>(sql`select id::text from incidents where client = 'between'`);

    // The second batch writes while the third is worked out ahead on top of it: the incident is triggered there.
    const second = pipeline.submit(real, [signal('b2')]);
    const third = pipeline.submit(real, [signal('b3')]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    // Someone acknowledges between the two: the third's plan must not write "triggered" back.
    const acknowledged = writer.write(async (tx) => {
      await database.rows(sql`update incidents set status = 'acknowledged', acknowledged_at = now(), version = version + 1 where id = ${id}::uuid`, tx);
      return { result: undefined, changes: [] };
    });
    await Promise.all([second, third, acknowledged]);

    const [incident] = await database.rows<{ status: string; alert_count: number }>(sql`select status, alert_count from incidents where id = ${id}::uuid`);
    expect(incident).toEqual({ status: 'acknowledged', alert_count: 3 });
    expect((await workedOut(metrics)).ahead).toBe(0);
  });
});
