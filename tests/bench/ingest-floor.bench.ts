/**
 * `npm run bench:ingest-floor`: the database's own limit for what bench:ingest stores. With no HTTP, no
 * validation, no engine and no reads, it writes on Postgres (TEST_DATABASE_URL or BENCH_DATABASE_URL) the rows
 * bench:ingest's mix leaves behind per 500 signals: 500 signal rows, 200 new alerts, 300 alerts updated (seen
 * again or resolved), 170 incidents updated with their 170 change rows (documents of ~1 KB) and 200 timeline
 * rows, durably, each batch one transaction of statements sent in one round trip (pipelined). It prints the
 * signals/s that reaches and the CPU it takes (Postgres's processes and this one), which bounds what the
 * server can do on the same machine: the server does all this and more.
 *
 * Options (env): BENCH_SECONDS (default 10), BENCH_WRITERS (default 1: transactions in flight at once).
 */
import os from 'node:os';
import fs from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase } from '../../server/db/database.ts';

const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!adminUrl) {
  console.error('bench:ingest-floor needs a Postgres server: set TEST_DATABASE_URL (or BENCH_DATABASE_URL)');
  process.exit(2);
}
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const writers = Number(process.env.BENCH_WRITERS ?? 1);

/** CPU seconds so far of every process named postgres on this machine (the server's backends among them). */
function postgresCpuSeconds(): number {
  let ticks = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).startsWith('postgres')) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100;
}

const name = `wf_floor_${randomBytes(4).toString('hex')}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
try {
  const database = await openDatabase({ url: url.toString(), dataDir: '' });
  await database.migrate();
  await database.close();

  const sql = postgres(url.toString(), { max: writers, onnotice: () => {} });
  const [{ id: sourceId }] = await sql<{ id: string }[]>`insert into sources (name, format, token_hash, token_prefix) values ('floor', 'alertmanager', ${randomUUID()}, 'floor') returning id`;
  const incidentIds = Array.from({ length: 1000 }, () => randomUUID()).sort();
  await sql`insert into incidents (id, group_key, client, status, severity, summary, alert_count, open_alert_count, created_at, updated_at)
    select x, 'client-1|Alert' || x, 'client-1', 'triggered', 'warning', 'Alert on node', 1, 1, now(), now() from unnest(${incidentIds}::uuid[]) x`;

  const live: string[] = [];
  let seq = 0;
  const labels = (fp: string) => JSON.stringify({ alertname: 'Alert17', client: 'client-1', instance: `node-${fp}` });
  const nodes = Array.from({ length: 25 }, (_, i) => `node-${String(i).padStart(8, '0')}`);
  const document = (id: string, now: string) =>
    JSON.stringify({ id, number: 1, status: 'triggered', severity: 'warning', summary: 'Alert17 on node-00001234', client: 'client-1', clientName: null, groupKey: 'client-1|Alert17', alertCount: 30, openAlertCount: 20, assigneeId: null, assigneeName: null, teamId: null, teamName: null, snoozedUntil: null, mergedIntoId: null, labels: { alertname: 'Alert17', client: 'client-1', instance: 'node-00001234' }, nodes, createdAt: now, acknowledgedAt: null, resolvedAt: null, updatedAt: now, version: 7 });
  const detail = JSON.stringify({ alertId: randomUUID(), fingerprint: '00001234', summary: 'Alert17 on node-00001234', severity: 'warning' });

  /** One batch of 500 signals' rows in one transaction, its statements pipelined. */
  async function batch(): Promise<void> {
    const now = new Date();
    const iso = now.toISOString();
    const fresh = Array.from({ length: 200 }, () => ({ id: randomUUID(), fp: (seq++).toString(16).padStart(8, '0') }));
    // Rows in one order in every transaction, so two in flight cannot deadlock.
    const updated = [...new Set(Array.from({ length: 300 }, () => live[Math.floor(Math.random() * live.length)]).filter(Boolean))].sort();
    const touched = [...new Set(Array.from({ length: 170 }, () => incidentIds[Math.floor(Math.random() * incidentIds.length)]))].sort();
    const fingerprints = [...fresh.map((a) => a.fp), ...Array.from({ length: 300 }, (_, i) => `seen-${i}`)];
    await sql.begin((tx) => [
      tx`insert into signals (source_id, fingerprint, status, severity, summary, labels, received_at)
        select ${sourceId}::uuid, f, 'firing', 'warning', 'Alert17 on node-' || f, l::jsonb, ${now} from unnest(${fingerprints}::text[], ${fingerprints.map(labels)}::text[]) as t(f, l)`,
      tx`insert into alerts (id, source_id, fingerprint, incident_id, status, severity, summary, labels, annotations, links, client, node, starts_at, first_seen_at, last_seen_at, count)
        select id, ${sourceId}::uuid, f, ${incidentIds[0]}::uuid, 'firing', 'warning', 'Alert17 on node-' || f, l::jsonb, '{"summary":"Alert17"}', '[]', 'client-1', 'node-' || f, ${now}, ${now}, ${now}, 1
        from unnest(${fresh.map((a) => a.id)}::uuid[], ${fresh.map((a) => a.fp)}::text[], ${fresh.map((a) => labels(a.fp))}::text[]) as t(id, f, l)`,
      tx`update alerts a set last_seen_at = ${now}, count = a.count + 1 from unnest(${updated}::uuid[]) as t(id) where a.id = t.id`,
      tx`update incidents i set alert_count = alert_count + 1, open_alert_count = open_alert_count + 1, updated_at = ${now}, version = version + 1
        from unnest(${touched}::uuid[]) as t(id) where i.id = t.id`,
      tx`insert into timeline (id, incident_id, at, actor, kind, detail)
        select gen_random_uuid(), i, ${now}, 'source:floor', 'alert_joined', ${detail}::jsonb from unnest(${[...touched, ...touched.slice(0, 30)]}::uuid[]) as t(i)`,
      tx`insert into changes (entity, entity_id, data) select 'incident', i, d::jsonb from unnest(${touched}::text[], ${touched.map((id) => document(id, iso))}::text[]) as t(i, d)`,
    ]);
    live.push(...fresh.map((a) => a.id));
  }

  for (let i = 0; i < 20; i++) await batch(); // warm up
  let signals = 0;
  const cpuBefore = { postgres: postgresCpuSeconds(), own: process.cpuUsage() };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() - started < seconds * 1000) {
        await batch();
        signals += 500;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const own = process.cpuUsage(cpuBefore.own);
  const result = {
    bench: 'ingest-floor',
    cpus: os.cpus().length,
    writers,
    seconds: Number(elapsed.toFixed(1)),
    signalsPerSecond: Math.round(signals / elapsed),
    /** Share of one core, over the run. */
    postgresCpu: Number(((postgresCpuSeconds() - cpuBefore.postgres) / elapsed).toFixed(2)),
    benchCpu: Number(((own.user + own.system) / 1e6 / elapsed).toFixed(2)),
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`\n| writers | signals/s | Postgres CPU (cores) | this process (cores) | Postgres µs per signal |\n| ---: | ---: | ---: | ---: | ---: |`);
  console.log(`| ${writers} | ${result.signalsPerSecond.toLocaleString('en')} | ${result.postgresCpu} | ${result.benchCpu} | ${Math.round((result.postgresCpu / result.signalsPerSecond) * 1e6)} |`);
  await sql.end();
} finally {
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
