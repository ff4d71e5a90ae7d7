import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { sql } from 'drizzle-orm';
import { DATABASES, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { addSource } from '../../server/ingest/sources.ts';
import { pruneSignals } from '../../server/db/incident-store.ts';
import { postAlertmanager } from '../helpers/alertmanager.ts';

describe.each(DATABASES)('signal retention on $name', (database) => {
  let server: TestServer;
  beforeAll(async () => {
    const { url, drop } = await database.url();
    server = await startTestServer(url, {}, drop);
  });
  afterAll(async () => server?.dispose());

  it('prunes signals older than the retention period, in chunks, and keeps newer ones and the alerts', async () => {
    const { token } = await addSource(server.context.database.db, { name: 'prom', format: 'alertmanager' });
    const alerts = Array.from({ length: 25 }, (_, i) => ({ name: 'DiskFull', client: 'acme', instance: `node-${i}` }));
    expect((await postAlertmanager(server.url, token, alerts)).status).toBe(200);
    const { rows } = server.context.database;
    // Age 20 of the 25 signals past a 30-day retention.
    await rows(sql`update signals set received_at = now() - interval '40 days' where id in (select id from signals order by id limit 20)`);

    const pruned = await pruneSignals(server.context.database, new Date(Date.now() - 30 * 86_400_000), 7);
    expect(pruned).toBe(20);
    const [{ left }] = await rows<{ left: number }>(sql`select count(*)::int as left from signals`);
    expect(left).toBe(5);
    // Signals are the raw record; the alerts and incidents they built stay.
    const [{ kept }] = await rows<{ kept: number }>(sql`select count(*)::int as kept from alerts`);
    expect(kept).toBe(25);
  });

  it('lets other work run between chunks: on embedded PGlite a long prune held every webhook until it ended', async () => {
    const { rows } = server.context.database;
    await rows(sql`update signals set received_at = now() - interval '40 days'`);
    let pruned = false;
    const pruning = pruneSignals(server.context.database, new Date(Date.now() - 30 * 86_400_000), 1).then(() => (pruned = true));
    const ranDuringPrune = await new Promise<boolean>((resolve) => setTimeout(() => resolve(!pruned), 0));
    await pruning;
    expect(ranDuringPrune).toBe(true);
  });
});
