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
    // A source deleted while its webhook was in flight: its signal rows violate the foreign key.
    const vanished: IngestSource = { id: '00000000-0000-4000-8000-000000000000', name: 'gone', mapping };
    const pipeline = new IngestPipeline({ database, writer: new ChangeWriter(database, () => {}), metrics: createMetrics(), reopenWindowMs: 600_000 });

    // The first submit occupies the writer, so the next two queue up and share one transaction.
    const first = pipeline.submit(real, [firing('node-1')]);
    const doomed = pipeline.submit(vanished, [firing('node-2')]);
    const bystander = pipeline.submit(real, [firing('node-3')]);
    await first;
    await expect(doomed).rejects.toThrow();
    await expect(bystander).resolves.toBeUndefined();

    const rows = await database.rows<{ node: string }>(sql`select node from alerts order by node`);
    expect(rows.map((r) => r.node)).toEqual(['node-1', 'node-3']);
  });
});
