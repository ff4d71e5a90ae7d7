/**
 * `npm run bench:ingest-compare -- <checkout> <checkout> [...]`: committed signals/s of bench:ingest's mix on
 * Postgres for several checkouts of Watchfloor (each a folder with this repository and its node_modules), run in
 * alternating rounds so a noisy machine's drift falls on all of them alike (back-to-back runs of bench:ingest
 * here differed by 15 %). Each run: a fresh database, that checkout's server in its own process, 30 batches to
 * warm up, then BENCH_BATCHES (default 120) Alertmanager batches of 500, four in flight; no socket clients.
 *
 * Try a change: `git worktree add /tmp/before HEAD && ln -s "$PWD/node_modules" /tmp/before/node_modules`, make
 * the change, then `TEST_DATABASE_URL=… npm run bench:ingest-compare -- /tmp/before .`.
 * Options (env): BENCH_ROUNDS (default 4), BENCH_BATCHES (default 120).
 */
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import postgres from 'postgres';
import { makeBatchFactory } from './ingest-traffic.ts';

const checkouts = process.argv.slice(2).map((dir) => path.resolve(dir));
const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (checkouts.length === 0 || !adminUrl) {
  console.error('usage: TEST_DATABASE_URL=postgres://… npm run bench:ingest-compare -- <checkout> <checkout> [...]');
  process.exit(2);
}
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const batches = Number(process.env.BENCH_BATCHES ?? 120);
const port = 18_990;
const url = `http://127.0.0.1:${port}`;

/** Posts `count` batches of 500, four at a time; returns committed signals/s. */
async function drive(token: string, count: number): Promise<number> {
  const makeBatch = makeBatchFactory();
  const bodies = Array.from({ length: count }, (_, i) => JSON.stringify(makeBatch(500, `Compare${i}`)));
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) {
        const response = await fetch(`${url}/api/v1/ingest/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: bodies[next++] });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`ingest answered ${response.status}`);
      }
    }),
  );
  return (count * 500) / ((performance.now() - started) / 1000);
}

/** One run of `checkout`'s server on a fresh database. */
async function run(checkout: string): Promise<number> {
  const name = `wf_compare_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl!, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const database = new URL(adminUrl!);
  database.pathname = `/${name}`;
  const env = { ...process.env, DATABASE_URL: database.toString(), WATCHFLOOR_DATA: path.join('/tmp', name), PORT: String(port), HOST: '127.0.0.1', WATCHFLOOR_DEMO: 'off', LOG_LEVEL: 'warn', INGEST_RATE_LIMIT: '1000000' };
  const server = spawn(process.execPath, [path.join(checkout, 'server', 'index.ts')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (let i = 0; ; i++) {
      if (i === 300) throw new Error(`${checkout}: the server did not become ready`);
      if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const added = spawnSync(process.execPath, [path.join(checkout, 'server', 'cli.ts'), 'source', 'add', '--name', 'bench', '--format', 'alertmanager', '--json'], { env, encoding: 'utf8' });
    if (added.status !== 0) throw new Error(`source add failed: ${added.stderr}`);
    const { token } = JSON.parse(added.stdout) as { token: string };
    await drive(token, 30);
    return await drive(token, batches);
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

const results = new Map(checkouts.map((checkout) => [checkout, [] as number[]]));
for (let round = 0; round < rounds; round++) {
  for (const checkout of round % 2 ? [...checkouts].reverse() : checkouts) results.get(checkout)!.push(Math.round(await run(checkout)));
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
console.log(JSON.stringify({ bench: 'ingest-compare', rounds, batches, results: Object.fromEntries(results) }, null, 2));
console.log('\n| checkout | signals/s, median | all runs |\n| --- | ---: | --- |');
for (const [checkout, rates] of results) console.log(`| ${checkout} | ${median(rates).toLocaleString('en')} | ${rates.map((r) => r.toLocaleString('en')).join(', ')} |`);
